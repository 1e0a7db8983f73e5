//! Palisade's one clock. Nothing in Palisade reads the wall clock except through a [`Clock`],
//! which the binary makes once and hands to every part (store, gateways, monitoring, web), so
//! that a test sets the time of a whole server. Schools in England run on UK time: the times a
//! profile names (digest time, time rules) are in [`SCHOOL_TIME_ZONE`], Europe/London, and so
//! follow British Summer Time; everything stored is UTC.
//!
//! One exception is deliberate: the validity of the certificates Palisade makes (the school CA,
//! the proxy's minted certificates) is dated by the system's clock, because browsers check it
//! against their own clocks, not against a test's.

// The one place that reads the system's clock (clippy.toml forbids it everywhere else).
#![allow(clippy::disallowed_methods)]

use chrono::{DateTime, LocalResult, NaiveDate, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use std::sync::{Arc, Mutex};

/// The time zone of every time of day a profile names: UK time, with British Summer Time.
pub const SCHOOL_TIME_ZONE: Tz = chrono_tz::Europe::London;

/// The environment variable that starts a debug build of Palisade at a chosen instant (an
/// RFC 3339 time); release builds ignore it, so a production server never runs on a false
/// clock.
pub const TEST_CLOCK_VAR: &str = "PALISADE_TEST_CLOCK";

/// A time that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// Not an RFC 3339 instant such as `2026-03-29T00:30:00Z`.
    #[error("`{value}` is not a time like 2026-03-29T00:30:00Z: {message}")]
    BadInstant { value: String, message: String },
}

/// Where the time comes from. Cheap to clone; clones share a manual clock's setting.
#[derive(Clone, Debug, Default)]
pub struct Clock(Source);

#[derive(Clone, Debug, Default)]
enum Source {
    /// The system's clock.
    #[default]
    System,
    /// The system's clock moved by a fixed amount: it runs at the real rate from a chosen
    /// start, so that timers, timeouts and sleeps behave as they do in production.
    Shifted(TimeDelta),
    /// A clock that stands still until it is set or advanced (unit tests).
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// The system's clock: what production runs on.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that reads `start` now and runs on from it at the real rate.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock(Source::Shifted(start - Utc::now()))
    }

    /// A clock that reads `at` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock(Source::Manual(Arc::new(Mutex::new(at))))
    }

    /// Whether this is the system's clock (and not a test's).
    pub fn is_system(&self) -> bool {
        matches!(self.0, Source::System)
    }

    /// Now, in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Shifted(by) => Utc::now() + *by,
            Source::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Now, in the school's time zone.
    pub fn school_now(&self) -> DateTime<Tz> {
        school_time(self.now())
    }

    /// The minute of the school's day now (0 to 1439), which time rules are written in.
    pub fn minute_of_school_day(&self) -> u16 {
        minute_of_day(self.school_now())
    }

    /// Sets a manual clock to `at`; other clocks are not moved (returns false).
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        match &self.0 {
            Source::Manual(t) => {
                *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
                true
            }
            _ => false,
        }
    }

    /// Moves a manual clock on by `by`; other clocks are not moved (returns false).
    pub fn advance(&self, by: TimeDelta) -> bool {
        let at = self.now() + by;
        self.set(at)
    }
}

/// `t` in the school's time zone.
pub fn school_time(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&SCHOOL_TIME_ZONE)
}

/// The minute of the day (0 to 1439) of a local time.
pub fn minute_of_day<T: Timelike>(t: T) -> u16 {
    // At most 23 * 60 + 59: fits.
    u16::try_from(t.hour() * 60 + t.minute()).unwrap_or(0)
}

/// The instant the school's day `date` starts (its local midnight, in UTC).
pub fn start_of_school_day(date: NaiveDate) -> DateTime<Utc> {
    at_school_minute(date, 0)
}

/// The instant of `minute` (minutes after local midnight) on the school's day `date`. A time
/// that does not exist on that day (the hour skipped when British Summer Time starts) is the
/// first instant after the gap; one that happens twice (when it ends) is the first of the two.
pub fn at_school_minute(date: NaiveDate, minute: u32) -> DateTime<Utc> {
    let naive = date.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(i64::from(minute));
    let mut probe = naive;
    // A gap is at most an hour: step past it a minute at a time.
    for _ in 0..=120 {
        match SCHOOL_TIME_ZONE.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => probe += TimeDelta::minutes(1),
        }
    }
    // Not reached for Europe/London; read the naive time as UTC rather than fail.
    Utc.from_utc_datetime(&naive)
}

/// Reads an RFC 3339 instant (`2026-03-29T00:30:00Z`, or with an offset).
pub fn parse_instant(value: &str) -> Result<DateTime<Utc>, ClockError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ClockError::BadInstant {
            value: value.to_string(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_clones_share_it() {
        let clock = Clock::manual(utc("2026-12-01T15:59:00Z"));
        let other = clock.clone();
        assert_eq!(clock.now(), utc("2026-12-01T15:59:00Z"));
        assert!(other.advance(TimeDelta::minutes(2)));
        assert_eq!(clock.now(), utc("2026-12-01T16:01:00Z"));
        assert!(!Clock::system().set(utc("2000-01-01T00:00:00Z")));
    }

    #[test]
    fn a_clock_started_at_a_time_runs_on_from_it() {
        let clock = Clock::starting_at(utc("2026-03-29T00:30:00Z"));
        let read = clock.now();
        assert!(read >= utc("2026-03-29T00:30:00Z"));
        assert!(read < utc("2026-03-29T00:31:00Z"));
    }

    #[test]
    fn school_time_is_gmt_in_winter_and_bst_in_summer() {
        // 1 December: GMT, the same as UTC.
        assert_eq!(
            minute_of_day(school_time(utc("2026-12-01T16:05:00Z"))),
            16 * 60 + 5
        );
        // 1 July: BST, an hour ahead of UTC.
        assert_eq!(
            minute_of_day(school_time(utc("2026-07-01T15:05:00Z"))),
            16 * 60 + 5
        );
    }

    #[test]
    fn the_school_day_starts_at_local_midnight_across_both_changes() {
        for (day, starts_at) in [
            // BST starts 29 March 2026 at 01:00 UTC; the day still starts at 00:00 GMT.
            (date(2026, 3, 29), "2026-03-29T00:00:00Z"),
            // The next day starts at 00:00 BST, 23:00 UTC the evening before.
            (date(2026, 3, 30), "2026-03-29T23:00:00Z"),
            // BST ends 25 October 2026 at 01:00 UTC: that day starts at 00:00 BST.
            (date(2026, 10, 25), "2026-10-24T23:00:00Z"),
            (date(2026, 10, 26), "2026-10-26T00:00:00Z"),
        ] {
            assert_eq!(start_of_school_day(day), utc(starts_at), "{day}");
        }
    }

    #[test]
    fn a_time_skipped_or_repeated_by_the_change_is_read_once() {
        // 01:30 does not happen on 29 March 2026 (clocks go from 01:00 to 02:00 GMT/BST).
        assert_eq!(
            at_school_minute(date(2026, 3, 29), 90),
            utc("2026-03-29T01:00:00Z")
        );
        // 01:30 happens twice on 25 October 2026: the first (BST) is taken.
        assert_eq!(
            at_school_minute(date(2026, 10, 25), 90),
            utc("2026-10-25T00:30:00Z")
        );
        // 16:00 in summer is 15:00 UTC.
        assert_eq!(
            at_school_minute(date(2026, 7, 1), 16 * 60),
            utc("2026-07-01T15:00:00Z")
        );
    }

    #[test]
    fn a_bad_instant_is_named() {
        match parse_instant("tomorrow at four") {
            Err(e) => assert!(e.to_string().contains("`tomorrow at four`"), "{e}"),
            Ok(t) => panic!("read as {t}"),
        }
    }
}

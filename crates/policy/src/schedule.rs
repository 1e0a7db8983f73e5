//! When the school's daily mail is due: the safeguarding leads' digest and the reminder of
//! untriaged concerns go once a day at the profile's `digest_time`, in UK time (see the `clock`
//! crate), so 16:00 is 16:00 GMT in winter and 16:00 BST (15:00 UTC) in summer.
//!
//! A server that starts, or was down, after today's time and has not sent today's mail sends
//! it once at once (a restart after a crash at 15:55 still gets the DSL today's digest); the
//! mail of a day that is over is not sent (the next day's digest covers its last 24 hours).

use chrono::{DateTime, TimeDelta, Utc};

/// What the daily mail's task should do at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daily {
    /// Send today's mail now.
    Now,
    /// Nothing to send before this instant.
    At(DateTime<Utc>),
}

/// The daily mail's next step at `now`, for a digest at `digest_minute` (minutes after local
/// midnight) and whether today's mail (since [`start_of_today`]) has gone already.
pub fn daily_mail(now: DateTime<Utc>, digest_minute: u32, sent_today: bool) -> Daily {
    let today = clock::school_time(now).date_naive();
    let due_today = clock::at_school_minute(today, digest_minute);
    if now >= due_today && !sent_today {
        return Daily::Now;
    }
    if now < due_today {
        return Daily::At(due_today);
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    Daily::At(clock::at_school_minute(tomorrow, digest_minute))
}

/// The instant the school's day that holds `now` started (local midnight, in UTC): what
/// "today's mail" and "reported today" are counted from.
pub fn start_of_today(now: DateTime<Utc>) -> DateTime<Utc> {
    clock::start_of_school_day(clock::school_time(now).date_naive())
}

/// How far back the digest looks: the 24 hours before it is made.
pub const DIGEST_COVERS: TimeDelta = TimeDelta::hours(24);

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        clock::parse_instant(s).unwrap_or_else(|e| panic!("{e}"))
    }

    const FOUR_PM: u32 = 16 * 60;

    #[test]
    fn the_digest_waits_until_its_time_and_goes_at_it() {
        assert_eq!(
            daily_mail(utc("2026-12-01T15:59:59Z"), FOUR_PM, false),
            Daily::At(utc("2026-12-01T16:00:00Z"))
        );
        assert_eq!(
            daily_mail(utc("2026-12-01T16:00:00Z"), FOUR_PM, false),
            Daily::Now
        );
        assert_eq!(
            daily_mail(utc("2026-12-01T08:00:00Z"), FOUR_PM, false),
            Daily::At(utc("2026-12-01T16:00:00Z"))
        );
    }

    #[test]
    fn a_server_started_after_the_time_sends_the_missed_digest_once() {
        assert_eq!(
            daily_mail(utc("2026-12-01T16:05:00Z"), FOUR_PM, false),
            Daily::Now
        );
        assert_eq!(
            daily_mail(utc("2026-12-01T16:05:00Z"), FOUR_PM, true),
            Daily::At(utc("2026-12-02T16:00:00Z"))
        );
    }

    #[test]
    fn just_before_and_after_midnight_utc_nothing_is_due_until_the_afternoon() {
        // Winter: 23:58 UTC is 23:58 GMT, after today's digest, which went.
        assert_eq!(
            daily_mail(utc("2026-12-01T23:58:00Z"), FOUR_PM, true),
            Daily::At(utc("2026-12-02T16:00:00Z"))
        );
        // Just after midnight it is a new day: nothing was sent today, and nothing is due.
        assert_eq!(
            daily_mail(utc("2026-12-02T00:01:00Z"), FOUR_PM, false),
            Daily::At(utc("2026-12-02T16:00:00Z"))
        );
        // Summer: 23:58 UTC is 00:58 BST of the next day, whose digest is at 15:00 UTC.
        assert_eq!(
            daily_mail(utc("2026-07-01T23:58:00Z"), FOUR_PM, false),
            Daily::At(utc("2026-07-02T15:00:00Z"))
        );
        assert_eq!(
            start_of_today(utc("2026-07-01T23:58:00Z")),
            utc("2026-07-01T23:00:00Z")
        );
        assert_eq!(
            start_of_today(utc("2026-12-01T23:58:00Z")),
            utc("2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn the_digest_is_at_four_in_uk_time_on_the_days_summer_time_starts_and_ends() {
        // 29 March 2026: BST from 01:00 UTC; 00:30 UTC is still GMT, the day began at 00:00 UTC.
        let start = utc("2026-03-29T00:30:00Z");
        assert_eq!(start_of_today(start), utc("2026-03-29T00:00:00Z"));
        assert_eq!(
            daily_mail(start, FOUR_PM, false),
            Daily::At(utc("2026-03-29T15:00:00Z"))
        );
        assert_eq!(
            daily_mail(utc("2026-03-29T15:00:00Z"), FOUR_PM, false),
            Daily::Now
        );
        // 25 October 2026: GMT from 01:00 UTC; 00:30 UTC is 01:30 BST, the day began 23:00 UTC.
        let end = utc("2026-10-25T00:30:00Z");
        assert_eq!(start_of_today(end), utc("2026-10-24T23:00:00Z"));
        assert_eq!(
            daily_mail(end, FOUR_PM, false),
            Daily::At(utc("2026-10-25T16:00:00Z"))
        );
        // The day before it ends, 16:00 BST is 15:00 UTC.
        assert_eq!(
            daily_mail(utc("2026-10-24T15:30:00Z"), FOUR_PM, true),
            Daily::At(utc("2026-10-25T16:00:00Z"))
        );
    }
}

//! When the weekly monitoring report (issue 19, part 4) goes and which week it covers: weeks
//! run Monday to Sunday in UK time; the report of the last full week goes on Monday at the
//! profile's `digest_time`. As with the daily mail ([`crate::schedule`]), a server that was down
//! at the time sends the week's report once when it starts later that Monday, and never a
//! second.

use crate::schedule::Daily;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

/// The Monday of the week (Monday to Sunday) that holds `day`.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The Monday of the last full week before the one that holds `today`.
pub fn last_full_week(today: NaiveDate) -> NaiveDate {
    week_of(today) - TimeDelta::days(7)
}

/// The instants a week starting on `monday` runs between (local midnights, in UTC): from the
/// first, up to but not including the second.
pub fn week_bounds(monday: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        clock::start_of_school_day(monday),
        clock::start_of_school_day(monday + TimeDelta::days(7)),
    )
}

/// The weekly report's next step at `now`, for a report at `minute` (minutes after local
/// midnight) on Mondays, and whether this week's report (since the start of this week) went.
/// As with the daily mail, a Monday that is over without it sends none: the page keeps every
/// week's report.
pub fn weekly_mail(now: DateTime<Utc>, minute: u32, sent_this_week: bool) -> Daily {
    let today = clock::school_time(now).date_naive();
    let monday = week_of(today);
    let due = clock::at_school_minute(monday, minute);
    if today == monday && now >= due && !sent_this_week {
        return Daily::Now;
    }
    if now < due {
        return Daily::At(due);
    }
    Daily::At(clock::at_school_minute(monday + TimeDelta::days(7), minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        clock::parse_instant(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    const FOUR_PM: u32 = 16 * 60;

    #[test]
    fn weeks_run_monday_to_sunday_and_the_last_full_one_is_before_this() {
        // Thursday 3 December 2026.
        assert_eq!(week_of(day("2026-12-03")), day("2026-11-30"));
        assert_eq!(week_of(day("2026-11-30")), day("2026-11-30"));
        assert_eq!(week_of(day("2026-12-06")), day("2026-11-30"));
        assert_eq!(last_full_week(day("2026-12-03")), day("2026-11-23"));
        assert_eq!(last_full_week(day("2026-11-30")), day("2026-11-23"));
    }

    #[test]
    fn a_summer_week_starts_at_local_midnight() {
        let (from, to) = week_bounds(day("2026-06-01"));
        assert_eq!(from, utc("2026-05-31T23:00:00Z"));
        assert_eq!(to, utc("2026-06-07T23:00:00Z"));
    }

    #[test]
    fn the_report_goes_on_monday_at_the_digest_time_once() {
        assert_eq!(
            weekly_mail(utc("2026-11-30T15:59:00Z"), FOUR_PM, false),
            Daily::At(utc("2026-11-30T16:00:00Z"))
        );
        assert_eq!(
            weekly_mail(utc("2026-11-30T16:00:00Z"), FOUR_PM, false),
            Daily::Now
        );
        // Down at the time: a start later that Monday sends it once; sent, none till next week.
        assert_eq!(
            weekly_mail(utc("2026-11-30T21:00:00Z"), FOUR_PM, false),
            Daily::Now
        );
        assert_eq!(
            weekly_mail(utc("2026-11-30T21:00:00Z"), FOUR_PM, true),
            Daily::At(utc("2026-12-07T16:00:00Z"))
        );
        // A Monday that is over sends none: Thursday waits for next Monday.
        assert_eq!(
            weekly_mail(utc("2026-12-03T09:00:00Z"), FOUR_PM, false),
            Daily::At(utc("2026-12-07T16:00:00Z"))
        );
    }
}

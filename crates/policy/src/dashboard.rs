//! What is due or overdue (issue 18, part 7): the rule that turns a due date into "due" or
//! "overdue" for the leaders' home page, the dashboard API and the daily mail, and who sees the
//! policy's own review date.

use crate::Role;
use chrono::NaiveDate;

/// How many days ahead something counts as due.
pub const DUE_WITHIN_DAYS: i64 = 30;

/// Who sees when the online safety policy is due for review: the school's leaders and its
/// governors, who approve it.
pub const POLICY_REVIEWERS: [Role; 6] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::ChairOfGovernors,
    Role::Governor,
];

/// Where something due stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DueStatus {
    /// Due within [`DUE_WITHIN_DAYS`] (or waiting now, with nothing late).
    Due,
    /// Past its date.
    Overdue,
}

impl DueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DueStatus::Due => "due",
            DueStatus::Overdue => "overdue",
        }
    }
}

/// Something due on `due`, seen on `today`: overdue once the day has passed, due from
/// [`DUE_WITHIN_DAYS`] before it, nothing before that.
pub fn due_status(due: NaiveDate, today: NaiveDate) -> Option<DueStatus> {
    if due < today {
        Some(DueStatus::Overdue)
    } else if (due - today).num_days() <= DUE_WITHIN_DAYS {
        Some(DueStatus::Due)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn a_date_is_due_thirty_days_ahead_and_overdue_once_past() {
        let today = day("2026-12-02");
        assert_eq!(
            due_status(day("2021-09-01"), today),
            Some(DueStatus::Overdue)
        );
        assert_eq!(
            due_status(day("2026-12-01"), today),
            Some(DueStatus::Overdue)
        );
        assert_eq!(due_status(day("2026-12-02"), today), Some(DueStatus::Due));
        assert_eq!(due_status(day("2027-01-01"), today), Some(DueStatus::Due));
        assert_eq!(due_status(day("2027-01-02"), today), None);
    }
}

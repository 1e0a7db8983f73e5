//! The training register's rules (issue 18, part 1): the courses a profile names (`[[training]]`),
//! who must take each, how long a completion lasts, and where a person stands on each course on
//! a given day. A completion is recorded for one person or for everyone at a staff meeting; the
//! expiry is never stored, it follows from the profile.

use crate::dashboard::{DueStatus, due_status};
use crate::roles::{Role, RoleSet};
use crate::{PolicyError, ProfileProblem};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// One course of the profile's `[[training]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    /// Short key, used in the register and the API (`dsl`, `prevent`...).
    pub id: String,
    pub title: String,
    /// Every member of staff takes it.
    #[serde(default)]
    pub all_staff: bool,
    /// The roles that take it (besides all staff, when `all_staff`).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// How long a completion lasts; absent, it never runs out.
    #[serde(default)]
    pub valid_months: Option<u32>,
    /// Part of induction: due on a new member of staff's start date.
    #[serde(default)]
    pub at_induction: bool,
}

impl Course {
    /// Whether a person holding `roles` must take the course.
    pub fn required_of(&self, roles: RoleSet) -> bool {
        (self.all_staff && roles.any(Role::is_staff))
            || self.roles.iter().any(|r| roles.contains(*r))
    }

    /// When a completion on `done` runs out, if it does.
    pub fn expires(&self, done: NaiveDate) -> Option<NaiveDate> {
        let months = self.valid_months?;
        done.checked_add_months(Months::new(months))
    }

    /// Where a person who must take the course stands on `today`: `last` is their latest
    /// completion, `started` the day they joined. Never taken: an induction course is due on
    /// the start date, any other within the first term ([`FIRST_TERM_MONTHS`] after it).
    pub fn standing(
        &self,
        last: Option<NaiveDate>,
        started: NaiveDate,
        today: NaiveDate,
    ) -> Standing {
        match last {
            None => {
                let due_on = if self.at_induction {
                    started
                } else {
                    started
                        .checked_add_months(Months::new(FIRST_TERM_MONTHS))
                        .unwrap_or(started)
                };
                Standing::Missing {
                    due_on,
                    status: due_status(due_on, today).unwrap_or(DueStatus::Due),
                }
            }
            Some(done) => match self.expires(done) {
                None => Standing::Current { until: None },
                Some(until) => match due_status(until, today) {
                    None => Standing::Current { until: Some(until) },
                    Some(status) => Standing::Expiring { until, status },
                },
            },
        }
    }
}

/// How long after their start date a new member of staff has for training that is not part of
/// induction.
pub const FIRST_TERM_MONTHS: u32 = 3;

/// Where one person stands on one course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Done, and good until `until` (further than the dashboard looks ahead), or for good.
    Current { until: Option<NaiveDate> },
    /// Done, and running out within the dashboard's window, or already run out (overdue).
    Expiring { until: NaiveDate, status: DueStatus },
    /// Never done.
    Missing {
        due_on: NaiveDate,
        status: DueStatus,
    },
}

impl Standing {
    /// The date and status to show on a dashboard, when something is to be done.
    pub fn due(&self) -> Option<(NaiveDate, DueStatus)> {
        match *self {
            Standing::Current { .. } => None,
            Standing::Expiring { until, status } => Some((until, status)),
            Standing::Missing { due_on, status } => Some((due_on, status)),
        }
    }

    /// A word for the register's page and the API.
    pub fn label(&self) -> &'static str {
        match self {
            Standing::Current { .. } => "current",
            Standing::Expiring {
                status: DueStatus::Due,
                ..
            } => "expiring",
            Standing::Expiring { .. } => "expired",
            Standing::Missing { .. } => "not done",
        }
    }
}

/// Who keeps the training register and sees where everyone stands: the school's leaders of
/// safeguarding and online safety (the Headteacher makes sure "all staff receive suitable
/// training"), and the data manager who keeps the school's records.
pub const TRAINING_LEADS: [Role; 5] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::DataManager,
];

/// The largest number of people one session records (a whole staff meeting).
pub const MAX_ATTENDEES: usize = 500;

/// A completion as entered (a form, the API): a course, the day, who took it, and a note.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub course: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    /// The people who took it (one, or a staff meeting).
    pub people: Vec<i64>,
    /// Evidence as a note: who ran it, the certificate's number...
    #[serde(default)]
    pub note: String,
}

/// A completion that passed [`NewSession::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSession {
    pub course: String,
    pub held_on: NaiveDate,
    pub people: Vec<i64>,
    pub note: String,
}

impl NewSession {
    /// Checks the entry against the profile's courses, naming the first field that is wrong: a
    /// course of the profile, a real date not after `today`, one to [`MAX_ATTENDEES`] people
    /// (each once), a note of sensible length. Whether each person exists and must take the
    /// course is the store's and [`check_attendee`]'s.
    pub fn check(
        &self,
        courses: &[Course],
        today: NaiveDate,
    ) -> Result<CheckedSession, PolicyError> {
        let course = self.course.trim();
        if !courses.iter().any(|c| c.id == course) {
            let known: Vec<&str> = courses.iter().map(|c| c.id.as_str()).collect();
            return Err(PolicyError::invalid(
                "course",
                format!(
                    "`{course}` is not a course of the profile ({})",
                    known.join(", ")
                ),
            ));
        }
        let held_on = NaiveDate::parse_from_str(self.held_on.trim(), "%Y-%m-%d").map_err(|_| {
            PolicyError::invalid(
                "held_on",
                format!("`{}` is not a date like 2026-09-01", self.held_on.trim()),
            )
        })?;
        if held_on > today {
            return Err(PolicyError::invalid(
                "held_on",
                format!("{held_on} is in the future: record training once it has happened"),
            ));
        }
        let mut people = Vec::new();
        for p in &self.people {
            if !people.contains(p) {
                people.push(*p);
            }
        }
        if people.is_empty() || people.len() > MAX_ATTENDEES {
            return Err(PolicyError::invalid(
                "people",
                format!("name 1 to {MAX_ATTENDEES} people who took it"),
            ));
        }
        let note = self.note.trim();
        if note.chars().count() > 2000 || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(PolicyError::invalid(
                "note",
                "give at most 2000 characters of text",
            ));
        }
        Ok(CheckedSession {
            course: course.to_string(),
            held_on,
            people,
            note: note.to_string(),
        })
    }
}

/// Refuses an attendee who is not on the school's staff and does not hold a role the course is
/// for (a pupil, a parent), naming them.
pub fn check_attendee(course: &Course, name: &str, roles: RoleSet) -> Result<(), PolicyError> {
    if course.required_of(roles)
        || roles.any(Role::is_staff)
        || roles.contains(Role::Governor)
        || roles.contains(Role::ChairOfGovernors)
    {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            "people",
            format!(
                "{name} is not a member of staff or a governor, who take {}",
                course.title
            ),
        ))
    }
}

/// The problems of a profile's `[[training]]`: ids unique and short, titles given, somebody
/// to take each course, a sensible validity.
pub fn problems(courses: &[Course]) -> Vec<ProfileProblem> {
    let mut out = Vec::new();
    for (i, c) in courses.iter().enumerate() {
        let key = |k: &str| format!("training[{i}].{k}");
        let id_ok = !c.id.is_empty()
            && c.id.len() <= 40
            && c.id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !id_ok {
            out.push(ProfileProblem {
                key: key("id"),
                message: format!("`{}` must be 1 to 40 of a-z, 0-9 and _", c.id),
            });
        }
        if courses[..i].iter().any(|o| o.id == c.id) {
            out.push(ProfileProblem {
                key: key("id"),
                message: format!("`{}` names two courses", c.id),
            });
        }
        if c.title.trim().is_empty() {
            out.push(ProfileProblem {
                key: key("title"),
                message: "must not be empty".into(),
            });
        }
        if !c.all_staff && c.roles.is_empty() {
            out.push(ProfileProblem {
                key: key("roles"),
                message: "name who takes it, or set all_staff = true".into(),
            });
        }
        if c.valid_months.is_some_and(|m| m == 0 || m > 120) {
            out.push(ProfileProblem {
                key: key("valid_months"),
                message: "must be 1 to 120 months, or absent for training that does not run out"
                    .into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn dsl() -> Course {
        Course {
            id: "dsl".into(),
            title: "DSL training".into(),
            all_staff: false,
            roles: vec![Role::Dsl, Role::DeputyDsl],
            valid_months: Some(24),
            at_induction: false,
        }
    }

    #[test]
    fn dsl_training_25_months_old_is_overdue_and_23_months_old_is_expiring() {
        let today = day("2026-12-02");
        let started = day("2020-01-06");
        let old = dsl().standing(Some(day("2024-11-02")), started, today);
        assert_eq!(
            old,
            Standing::Expiring {
                until: day("2026-11-02"),
                status: DueStatus::Overdue
            }
        );
        assert_eq!(old.label(), "expired");
        let soon = dsl().standing(Some(day("2025-01-01")), started, today);
        assert_eq!(soon.label(), "expiring");
        let fresh = dsl().standing(Some(day("2026-06-01")), started, today);
        assert_eq!(fresh.due(), None);
    }

    #[test]
    fn a_new_member_of_staff_is_due_their_induction_on_their_start_date() {
        let induction = Course {
            id: "induction".into(),
            title: "Induction".into(),
            all_staff: true,
            roles: vec![],
            valid_months: None,
            at_induction: true,
        };
        let s = induction.standing(None, day("2026-12-07"), day("2026-12-02"));
        assert_eq!(s.due(), Some((day("2026-12-07"), DueStatus::Due)));
        let late = induction.standing(None, day("2026-11-02"), day("2026-12-02"));
        assert_eq!(late.due(), Some((day("2026-11-02"), DueStatus::Overdue)));
        // Training outside induction is due by the end of the first term.
        let prevent = Course {
            at_induction: false,
            ..induction.clone()
        };
        let s = prevent.standing(None, day("2026-11-02"), day("2026-12-02"));
        assert_eq!(s.due(), Some((day("2027-02-02"), DueStatus::Due)));
        assert!(induction.required_of(RoleSet::of(Role::Teacher)));
        assert!(!induction.required_of(RoleSet::of(Role::Pupil)));
        assert!(!dsl().required_of(RoleSet::of(Role::Teacher)));
    }

    #[test]
    fn a_session_names_a_known_course_a_past_day_and_somebody() {
        let today = day("2026-12-02");
        let ok = NewSession {
            course: "dsl".into(),
            held_on: "2026-11-30".into(),
            people: vec![3, 3, 4],
            note: "Local authority course".into(),
        };
        let checked = ok.check(&[dsl()], today);
        assert_eq!(checked.map(|c| c.people).ok(), Some(vec![3, 4]));
        let field = |s: NewSession| match s.check(&[dsl()], today) {
            Err(PolicyError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        let mut bad = ok.clone();
        bad.course = "juggling".into();
        assert_eq!(field(bad), "course");
        let mut bad = ok.clone();
        bad.held_on = "2027-01-01".into();
        assert_eq!(field(bad), "held_on");
        let mut bad = ok.clone();
        bad.people.clear();
        assert_eq!(field(bad), "people");
    }

    #[test]
    fn a_course_without_takers_or_with_a_silly_validity_is_a_profile_problem() {
        let mut c = dsl();
        c.roles.clear();
        c.valid_months = Some(0);
        let keys: Vec<String> = problems(&[c.clone(), c])
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert!(keys.contains(&"training[0].roles".to_string()));
        assert!(keys.contains(&"training[0].valid_months".to_string()));
        assert!(keys.contains(&"training[1].id".to_string()));
    }
}

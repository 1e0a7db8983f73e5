//! How long a person's records are kept after they leave (`[retention]`), and whether they may
//! be erased today. Pure: the store gathers the facts, this decides, the store erases.
//!
//! The figures are the Information and Records Management Society's *Information Management
//! Toolkit for Schools* (IRMS, 2019 edition, kept in its later revisions) and, for allegations
//! about adults, *Keeping Children Safe in Education* (KCSIE, Part four):
//! - a pupil's child protection and safeguarding records: the pupil's date of birth + 25 years
//!   (IRMS 1.2, "Child protection information held on pupil file");
//! - a member of staff's personnel records: termination of employment + 6 years (IRMS 3.1,
//!   "Staff personnel file"), used here for every adult's records (staff, governors, visitors,
//!   and parents with no child whose records are still kept);
//! - an allegation of a child protection nature about an adult: until the person reaches normal
//!   pension age, or 10 years from the allegation if that is longer (KCSIE; IRMS 3.1.5).
//!
//! A record whose rule runs from a date of birth is kept while no date of birth is recorded:
//! without it nobody can say that its time has passed.

use crate::ProfileProblem;
use crate::people::PersonKind;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// Years from the allegation an allegation about an adult is kept at least (KCSIE, Part four).
pub const ALLEGATION_YEARS: u32 = 10;
/// The normal pension age an allegation about an adult is kept to (KCSIE, Part four): the UK
/// State Pension age, 67 for everyone reaching it from 2028.
pub const NORMAL_PENSION_AGE: u32 = 67;

/// The profile's `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Years from a pupil's date of birth their child protection and safeguarding records are
    /// kept (IRMS: 25).
    #[serde(default = "default_safeguarding_years")]
    pub safeguarding_years_from_birth: u32,
    /// Years after leaving a member of staff's (and any other adult's) records are kept
    /// (IRMS: 6).
    #[serde(default = "default_staff_years")]
    pub staff_years_after_leaving: u32,
}

fn default_safeguarding_years() -> u32 {
    25
}

fn default_staff_years() -> u32 {
    6
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            safeguarding_years_from_birth: default_safeguarding_years(),
            staff_years_after_leaving: default_staff_years(),
        }
    }
}

impl RetentionPolicy {
    /// What is wrong with the figures, each named by its key.
    pub fn problems(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        // Erasing a child's safeguarding records before they are an adult (or, at the other
        // end, keeping them past any life) is a typing slip, not a policy.
        if !(18..=100).contains(&self.safeguarding_years_from_birth) {
            out.push(ProfileProblem {
                key: "retention.safeguarding_years_from_birth".into(),
                message: format!(
                    "{} must be between 18 and 100 (the IRMS toolkit's figure is 25)",
                    self.safeguarding_years_from_birth
                ),
            });
        }
        if !(1..=50).contains(&self.staff_years_after_leaving) {
            out.push(ProfileProblem {
                key: "retention.staff_years_after_leaving".into(),
                message: format!(
                    "{} must be between 1 and 50 (the IRMS toolkit's figure is 6)",
                    self.staff_years_after_leaving
                ),
            });
        }
        out
    }
}

/// What the decision needs to know of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: PersonKind,
    pub date_of_birth: Option<NaiveDate>,
    /// The day they left (`None`: still at school).
    pub left_on: Option<NaiveDate>,
    /// The day of the latest concern about them: for an adult, an allegation.
    pub latest_concern: Option<NaiveDate>,
    /// For a parent or carer: where each linked child's records stand (a parent's details are
    /// part of their child's file, and are kept as long as it is).
    pub children: Vec<Standing>,
}

/// Where a person's records stand on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Past retention since `since`: they may be erased.
    Erasable { since: NaiveDate, rule: String },
    /// Kept until `until`, under `rule`.
    KeptUntil { until: NaiveDate, rule: String },
    /// Kept with no end date yet: `why` (still at school, no date of birth).
    Kept { why: String },
}

impl Standing {
    /// Whether the records may be erased.
    pub fn erasable(&self) -> bool {
        matches!(self, Standing::Erasable { .. })
    }

    /// The day from which the records may be erased, when it is known.
    pub fn erasable_from(&self) -> Option<NaiveDate> {
        match self {
            Standing::Erasable { since, .. } => Some(*since),
            Standing::KeptUntil { until, .. } => Some(*until),
            Standing::Kept { .. } => None,
        }
    }

    /// One sentence for the page and the refusal.
    pub fn sentence(&self) -> String {
        match self {
            Standing::Erasable { since, rule } => {
                format!("Past retention since {since} ({rule}): the records may be erased.")
            }
            Standing::KeptUntil { until, rule } => {
                format!("Kept until {until} ({rule}); they may be erased from that day.")
            }
            Standing::Kept { why } => format!("Kept: {why}."),
        }
    }
}

/// `day` plus `years` (29 February goes to 28 February), or `None` past the calendar.
fn plus_years(day: NaiveDate, years: u32) -> Option<NaiveDate> {
    day.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// Where the records of the person `facts` describes stand on `today` under `policy`.
pub fn standing(policy: &RetentionPolicy, facts: &Facts, today: NaiveDate) -> Standing {
    let kept = |why: &str| Standing::Kept { why: why.into() };
    let Some(left) = facts.left_on else {
        return kept("they are still at the school");
    };
    let (until, rule) = match facts.kind {
        PersonKind::Pupil => {
            let Some(born) = facts.date_of_birth else {
                return kept(&format!(
                    "no date of birth is recorded, and a pupil's safeguarding records are kept \
                     until their date of birth + {} years",
                    policy.safeguarding_years_from_birth
                ));
            };
            let rule = format!(
                "date of birth + {} years",
                policy.safeguarding_years_from_birth
            );
            (plus_years(born, policy.safeguarding_years_from_birth), rule)
        }
        PersonKind::Parent if !facts.children.is_empty() => {
            let mut until = left;
            for child in &facts.children {
                match child.erasable_from() {
                    Some(day) => until = until.max(day),
                    None => return kept("a child of theirs is still kept on the school's records"),
                }
            }
            (
                Some(until),
                "kept as long as their children's records".into(),
            )
        }
        PersonKind::Staff | PersonKind::Governor | PersonKind::Visitor | PersonKind::Parent => {
            let mut until = plus_years(left, policy.staff_years_after_leaving);
            let mut rule = format!("leaving date + {} years", policy.staff_years_after_leaving);
            if let Some(allegation) = facts.latest_concern {
                let Some(born) = facts.date_of_birth else {
                    return kept(&format!(
                        "an allegation about them is kept to normal pension age ({NORMAL_PENSION_AGE}) \
                         or {ALLEGATION_YEARS} years, and no date of birth is recorded"
                    ));
                };
                let longest = [
                    until,
                    plus_years(allegation, ALLEGATION_YEARS),
                    plus_years(born, NORMAL_PENSION_AGE),
                ];
                until = longest.into_iter().try_fold(left, |a, b| Some(a.max(b?)));
                rule = format!(
                    "an allegation about them: to pension age ({NORMAL_PENSION_AGE}) or \
                     {ALLEGATION_YEARS} years from it, whichever is later, and at least {rule}"
                );
            }
            (until, rule)
        }
    };
    match until {
        Some(until) if until <= today => Standing::Erasable { since: until, rule },
        Some(until) => Standing::KeptUntil { until, rule },
        None => kept("the retention period runs past the calendar"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn facts(kind: PersonKind, born: Option<&str>, left: Option<&str>) -> Facts {
        Facts {
            kind,
            date_of_birth: born.map(day),
            left_on: left.map(day),
            latest_concern: None,
            children: Vec::new(),
        }
    }

    #[test]
    fn a_pupil_is_kept_to_twenty_five_from_birth_and_only_after_leaving() {
        let p = RetentionPolicy::default();
        let pupil = facts(PersonKind::Pupil, Some("2015-03-01"), Some("2026-07-20"));
        assert_eq!(
            standing(&p, &pupil, day("2040-02-28")),
            Standing::KeptUntil {
                until: day("2040-03-01"),
                rule: "date of birth + 25 years".into()
            }
        );
        assert!(standing(&p, &pupil, day("2040-03-01")).erasable());
        let at_school = facts(PersonKind::Pupil, Some("1990-01-01"), None);
        assert!(matches!(
            standing(&p, &at_school, day("2040-03-01")),
            Standing::Kept { .. }
        ));
    }

    #[test]
    fn a_pupil_without_a_date_of_birth_is_kept() {
        let p = RetentionPolicy::default();
        let s = standing(
            &p,
            &facts(PersonKind::Pupil, None, Some("2000-07-20")),
            day("2090-01-01"),
        );
        assert!(matches!(&s, Standing::Kept { why } if why.contains("no date of birth")));
        assert!(s.sentence().contains("date of birth + 25 years"));
    }

    #[test]
    fn staff_are_kept_six_years_after_leaving_and_allegations_to_pension_age() {
        let p = RetentionPolicy::default();
        let mut staff = facts(PersonKind::Staff, None, Some("2026-08-31"));
        assert!(standing(&p, &staff, day("2032-08-31")).erasable());
        assert!(!standing(&p, &staff, day("2032-08-30")).erasable());
        staff.latest_concern = Some(day("2026-01-10"));
        // No date of birth: the pension age cannot be told, so the record is kept.
        assert!(matches!(
            standing(&p, &staff, day("2080-01-01")),
            Standing::Kept { .. }
        ));
        staff.date_of_birth = Some(day("1980-05-05"));
        assert_eq!(
            standing(&p, &staff, day("2040-01-01")).erasable_from(),
            Some(day("2047-05-05"))
        );
        staff.date_of_birth = Some(day("1955-05-05"));
        assert_eq!(
            standing(&p, &staff, day("2030-01-01")).erasable_from(),
            Some(day("2036-01-10"))
        );
    }

    #[test]
    fn a_parent_is_kept_as_long_as_their_children() {
        let p = RetentionPolicy::default();
        let mut parent = facts(PersonKind::Parent, None, Some("2027-07-20"));
        parent.children = vec![
            Standing::KeptUntil {
                until: day("2045-01-01"),
                rule: String::new(),
            },
            Standing::Erasable {
                since: day("2040-01-01"),
                rule: String::new(),
            },
        ];
        assert_eq!(
            standing(&p, &parent, day("2044-01-01")).erasable_from(),
            Some(day("2045-01-01"))
        );
        parent.children.push(Standing::Kept { why: "x".into() });
        assert!(matches!(
            standing(&p, &parent, day("2090-01-01")),
            Standing::Kept { .. }
        ));
        parent.children.clear();
        assert!(standing(&p, &parent, day("2033-07-20")).erasable());
    }

    #[test]
    fn figures_out_of_range_are_named_by_their_key() {
        let p = RetentionPolicy {
            safeguarding_years_from_birth: 5,
            staff_years_after_leaving: 0,
        };
        let keys: Vec<String> = p.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "retention.safeguarding_years_from_birth",
                "retention.staff_years_after_leaving"
            ]
        );
        assert!(RetentionPolicy::default().problems().is_empty());
    }
}

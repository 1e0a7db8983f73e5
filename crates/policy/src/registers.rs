//! The compliance registers' rules: what a register's entry must hold, checked before anything
//! is stored. The data processors register (issue 18, part 5) keeps the third parties that hold
//! personal data for the school, as a profile with `[registers] data_processors = true` says it
//! must ("All ongoing data sharing relationships with third parties (Data Processors) are
//! recorded", Coleridge).

use crate::PolicyError;
use chrono::NaiveDate;

/// Whose personal data a processor may hold.
pub const DATA_SUBJECTS: [&str; 5] = ["pupils", "parents", "staff", "governors", "visitors"];

/// A data processor as entered (a form, the API): every field as given.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProcessor {
    pub name: String,
    pub purpose: String,
    pub data_shared: String,
    /// Some of [`DATA_SUBJECTS`].
    pub whose_data: Vec<String>,
    /// When the data processing agreement was signed, `YYYY-MM-DD`.
    pub agreement_on: String,
    /// When it must be renewed (empty: it runs until ended).
    #[serde(default)]
    pub renewal_on: String,
    /// How data reaches the processor (S2S, Egress, an upload over HTTPS...).
    pub transfer: String,
    /// Where the processor keeps it (UK, EU, a named data centre...).
    pub stored_where: String,
    #[serde(default)]
    pub dpia_done: bool,
    /// When the school next reviews the relationship, `YYYY-MM-DD`.
    pub review_on: String,
}

/// A data processor that passed [`NewProcessor::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProcessor {
    pub name: String,
    pub purpose: String,
    pub data_shared: String,
    pub whose_data: Vec<String>,
    pub agreement_on: NaiveDate,
    pub renewal_on: Option<NaiveDate>,
    pub transfer: String,
    pub stored_where: String,
    pub dpia_done: bool,
    pub review_on: NaiveDate,
}

fn text(field: &str, value: &str, max: usize) -> Result<String, PolicyError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(PolicyError::invalid(
            field,
            format!("give 1 to {max} characters of text"),
        ));
    }
    Ok(v.to_string())
}

fn date(field: &str, value: &str) -> Result<NaiveDate, PolicyError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        PolicyError::invalid(
            field,
            format!("`{}` is not a date like 2026-09-01", value.trim()),
        )
    })
}

impl NewProcessor {
    /// Checks every field, naming the first that is wrong: texts of sensible length, whose
    /// data from [`DATA_SUBJECTS`], real dates, and a renewal and a review not before the
    /// agreement.
    pub fn check(&self) -> Result<CheckedProcessor, PolicyError> {
        let mut whose: Vec<String> = Vec::new();
        for w in &self.whose_data {
            let w = w.trim().to_ascii_lowercase();
            if !DATA_SUBJECTS.contains(&w.as_str()) {
                return Err(PolicyError::invalid(
                    "whose_data",
                    format!("`{w}` is not one of {}", DATA_SUBJECTS.join(", ")),
                ));
            }
            if !whose.contains(&w) {
                whose.push(w);
            }
        }
        if whose.is_empty() {
            return Err(PolicyError::invalid(
                "whose_data",
                format!("name whose data it holds: {}", DATA_SUBJECTS.join(", ")),
            ));
        }
        let agreement_on = date("agreement_on", &self.agreement_on)?;
        let renewal_on = match self.renewal_on.trim() {
            "" => None,
            s => Some(date("renewal_on", s)?),
        };
        let review_on = date("review_on", &self.review_on)?;
        if renewal_on.is_some_and(|r| r <= agreement_on) {
            return Err(PolicyError::invalid(
                "renewal_on",
                "must come after the agreement was signed",
            ));
        }
        if review_on < agreement_on {
            return Err(PolicyError::invalid(
                "review_on",
                "must not come before the agreement was signed",
            ));
        }
        Ok(CheckedProcessor {
            name: text("name", &self.name, 200)?,
            purpose: text("purpose", &self.purpose, 2000)?,
            data_shared: text("data_shared", &self.data_shared, 2000)?,
            whose_data: whose,
            agreement_on,
            renewal_on,
            transfer: text("transfer", &self.transfer, 200)?,
            stored_where: text("stored_where", &self.stored_where, 200)?,
            dpia_done: self.dpia_done,
            review_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arbor() -> NewProcessor {
        NewProcessor {
            name: "Arbor MIS".into(),
            purpose: "The school's management information system".into(),
            data_shared: "Names, dates of birth, attendance, contacts".into(),
            whose_data: vec!["pupils".into(), "Parents".into(), "pupils".into()],
            agreement_on: "2024-09-01".into(),
            renewal_on: "2027-08-31".into(),
            transfer: "S2S".into(),
            stored_where: "UK".into(),
            dpia_done: true,
            review_on: "2026-09-01".into(),
        }
    }

    #[test]
    fn a_processor_is_checked_field_by_field() {
        let ok = arbor().check();
        assert_eq!(
            ok.as_ref().map(|p| p.whose_data.clone()).ok(),
            Some(vec!["pupils".to_string(), "parents".to_string()])
        );
        let field = |p: NewProcessor| match p.check() {
            Err(PolicyError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        for (p, want) in [
            (
                NewProcessor {
                    name: " ".into(),
                    ..arbor()
                },
                "name",
            ),
            (
                NewProcessor {
                    whose_data: vec!["cats".into()],
                    ..arbor()
                },
                "whose_data",
            ),
            (
                NewProcessor {
                    whose_data: vec![],
                    ..arbor()
                },
                "whose_data",
            ),
            (
                NewProcessor {
                    agreement_on: "2024-02-30".into(),
                    ..arbor()
                },
                "agreement_on",
            ),
            (
                NewProcessor {
                    renewal_on: "2024-08-31".into(),
                    ..arbor()
                },
                "renewal_on",
            ),
            (
                NewProcessor {
                    review_on: "2023-01-01".into(),
                    ..arbor()
                },
                "review_on",
            ),
            (
                NewProcessor {
                    transfer: "x".repeat(201),
                    ..arbor()
                },
                "transfer",
            ),
        ] {
            assert_eq!(field(p), want);
        }
        let open_ended = NewProcessor {
            renewal_on: String::new(),
            ..arbor()
        };
        assert_eq!(open_ended.check().ok().and_then(|p| p.renewal_on), None);
    }
}

/// A person as the role holders' check needs them.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub username: &'a str,
    pub roles: crate::RoleSet,
    pub active: bool,
}

/// A holder the profile names who is not an active person holding the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderProblem {
    pub role: crate::Role,
    /// The username as the profile gives it.
    pub name: String,
    pub problem: crate::ProfileProblem,
}

/// Every holder the profile names (`[roles.X] holders`, by username) who is not an active
/// person holding that role among `people`, each named by its key.
pub fn holder_problems(profile: &crate::Profile, people: &[Holder<'_>]) -> Vec<HolderProblem> {
    let mut out = Vec::new();
    for (role, entry) in &profile.roles {
        for (i, name) in entry.holders.iter().enumerate() {
            let key = format!("roles.{}.holders[{i}]", role.as_str());
            let message = match people.iter().find(|p| p.username == name) {
                None => format!("`{name}` is not a person in the database"),
                Some(p) if !p.active => format!("`{name}` has left"),
                Some(p) if !p.roles.contains(*role) => {
                    format!("`{name}` does not hold the role {}", role.as_str())
                }
                Some(_) => continue,
            };
            out.push(HolderProblem {
                role: *role,
                name: name.clone(),
                problem: crate::ProfileProblem { key, message },
            });
        }
    }
    out
}

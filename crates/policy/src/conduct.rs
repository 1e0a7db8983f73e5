//! Policies and sign-offs (issue 18, part 2): the documents a school keeps as versions (the
//! online safety policy, the codes of conduct for staff, pupils, parents and visitors), who must
//! acknowledge which, when an acknowledgement still counts, and the gate that shows a member of
//! staff the staff code before any other page where the profile says they sign it before use.

use crate::PolicyError;
use crate::consent::school_year_start;
use crate::people::PersonKind;
use crate::roles::{Role, RoleSet};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What staff must do with the code of conduct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StaffConductRule {
    /// Staff abide by it (Coleridge): asked to acknowledge each version, never stopped.
    #[default]
    Abide,
    /// Staff sign it before using any school technology (Holt): until they have signed the
    /// current version, every page of Palisade is the code.
    SignBeforeUse,
}

/// Code of conduct (acceptable use) rules.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CodeOfConduct {
    #[serde(default)]
    pub staff: StaffConductRule,
    /// Pupils and parents acknowledge the code again each school year (Holt: "discussed with
    /// pupils ... at the start of each year"): an acknowledgement from an earlier school year
    /// no longer counts for them.
    #[serde(default)]
    pub discussed_each_year: bool,
    /// Pupils and parents are asked to acknowledge their code on entry; otherwise only staff
    /// and governors are asked.
    #[serde(default)]
    pub issued_on_entry: bool,
    /// The code's version before the school keeps its codes in Palisade: what the proxy's
    /// click-through asks for while the register holds no code for a person's audience.
    #[serde(default)]
    pub aup_version: Option<String>,
}

/// The kinds of document the register keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    OnlineSafetyPolicy,
    StaffCode,
    PupilCode,
    ParentCode,
    VisitorCode,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::OnlineSafetyPolicy,
        DocumentKind::StaffCode,
        DocumentKind::PupilCode,
        DocumentKind::ParentCode,
        DocumentKind::VisitorCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::OnlineSafetyPolicy => "online_safety_policy",
            DocumentKind::StaffCode => "staff_code",
            DocumentKind::PupilCode => "pupil_code",
            DocumentKind::ParentCode => "parent_code",
            DocumentKind::VisitorCode => "visitor_code",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::OnlineSafetyPolicy => "Online safety policy",
            DocumentKind::StaffCode => "Staff code of conduct",
            DocumentKind::PupilCode => "Pupil code of conduct",
            DocumentKind::ParentCode => "Parent code of conduct",
            DocumentKind::VisitorCode => "Visitor code of conduct",
        }
    }

    /// The audience a code is for (`None` for the policy, which staff acknowledge with their
    /// code).
    pub fn audience(self) -> Option<Audience> {
        match self {
            DocumentKind::OnlineSafetyPolicy => None,
            DocumentKind::StaffCode => Some(Audience::Staff),
            DocumentKind::PupilCode => Some(Audience::Pupils),
            DocumentKind::ParentCode => Some(Audience::Parents),
            DocumentKind::VisitorCode => Some(Audience::Visitors),
        }
    }
}

impl std::str::FromStr for DocumentKind {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        DocumentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                let all: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.as_str()).collect();
                PolicyError::invalid("kind", format!("`{s}` is not one of {}", all.join(", ")))
            })
    }
}

/// Who a code of conduct is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Staff and governors.
    Staff,
    Pupils,
    Parents,
    Visitors,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Staff => "staff",
            Audience::Pupils => "pupils",
            Audience::Parents => "parents",
            Audience::Visitors => "visitors",
        }
    }

    /// The code this audience signs.
    pub fn code(self) -> DocumentKind {
        match self {
            Audience::Staff => DocumentKind::StaffCode,
            Audience::Pupils => DocumentKind::PupilCode,
            Audience::Parents => DocumentKind::ParentCode,
            Audience::Visitors => DocumentKind::VisitorCode,
        }
    }

    /// The audience of a person of `kind` holding `roles`: staff roles sign the staff code
    /// whatever their record says.
    pub fn of(kind: PersonKind, roles: RoleSet) -> Audience {
        if roles.any(Role::is_staff) {
            return Audience::Staff;
        }
        match kind {
            PersonKind::Staff | PersonKind::Governor => Audience::Staff,
            PersonKind::Pupil => Audience::Pupils,
            PersonKind::Parent => Audience::Parents,
            PersonKind::Visitor => Audience::Visitors,
        }
    }
}

impl CodeOfConduct {
    /// Whether `audience` is asked to acknowledge its code (and counted while it has not): staff
    /// always, pupils and parents where the code is issued on entry.
    pub fn asks(&self, audience: Audience) -> bool {
        match audience {
            Audience::Staff => true,
            Audience::Pupils | Audience::Parents => self.issued_on_entry,
            Audience::Visitors => false,
        }
    }

    /// Whether every page of Palisade is the code until the person has signed it.
    pub fn gates(&self, audience: Audience) -> bool {
        audience == Audience::Staff && self.staff == StaffConductRule::SignBeforeUse
    }

    /// From when an acknowledgement counts on `today`: the start of this school year for
    /// pupils and parents where the code is discussed each year, any time (`None`) otherwise.
    pub fn counts_from(&self, audience: Audience, today: NaiveDate) -> Option<NaiveDate> {
        let yearly =
            self.discussed_each_year && matches!(audience, Audience::Pupils | Audience::Parents);
        yearly.then(|| school_year_start(today))
    }

    /// Whether an acknowledgement of the current version made on `on` still counts on `today`.
    pub fn still_counts(&self, audience: Audience, on: NaiveDate, today: NaiveDate) -> bool {
        self.counts_from(audience, today)
            .is_none_or(|from| on >= from)
    }
}

/// Who keeps the policies and codes (adds versions) and sees who has not signed: the
/// Headteacher, the safeguarding leads and the online safety coordinator, who revise them.
pub const DOCUMENT_KEEPERS: [Role; 4] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
];

/// A new version of a document as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    pub kind: String,
    pub version: String,
    pub title: String,
    /// The text people read and sign.
    pub body: String,
    #[serde(default)]
    pub revised_by: String,
    /// When the governors approved it, `YYYY-MM-DD` (empty: not yet).
    #[serde(default)]
    pub approved_on: String,
    /// The governors' minute that approved it.
    #[serde(default)]
    pub minute_ref: String,
    /// When it is next reviewed (empty: the profile's cycle from approval, or from today).
    #[serde(default)]
    pub review_on: String,
}

/// A version that passed [`NewDocument::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDocument {
    pub kind: DocumentKind,
    pub version: String,
    pub title: String,
    pub body: String,
    pub revised_by: String,
    pub approved_on: Option<NaiveDate>,
    pub minute_ref: String,
    pub review_on: NaiveDate,
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, PolicyError> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min || n > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(PolicyError::invalid(
            field,
            format!("give {min} to {max} characters of text"),
        ));
    }
    Ok(v.to_string())
}

fn day(field: &str, value: &str) -> Result<Option<NaiveDate>, PolicyError> {
    match value.trim() {
        "" => Ok(None),
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                PolicyError::invalid(field, format!("`{v}` is not a date like 2026-09-01"))
            }),
    }
}

impl NewDocument {
    /// Checks a new version: a known kind, a short version label, a title and a text, an
    /// approval not in the future, and a review after the approval (given, or
    /// `review_every_months` from the approval or `today`).
    pub fn check(
        &self,
        review_every_months: Option<u32>,
        today: NaiveDate,
    ) -> Result<CheckedDocument, PolicyError> {
        let kind: DocumentKind = self.kind.parse()?;
        let version = text("version", &self.version, 1, 40)?;
        let title = text("title", &self.title, 1, 200)?;
        let body = text("body", &self.body, 1, 200_000)?;
        let revised_by = text("revised_by", &self.revised_by, 0, 200)?;
        let minute_ref = text("minute_ref", &self.minute_ref, 0, 200)?;
        let approved_on = day("approved_on", &self.approved_on)?;
        if approved_on.is_some_and(|a| a > today) {
            return Err(PolicyError::invalid("approved_on", "is in the future"));
        }
        let from = approved_on.unwrap_or(today);
        let review_on = match day("review_on", &self.review_on)? {
            Some(r) => r,
            None => review_every_months
                .and_then(|m| from.checked_add_months(Months::new(m)))
                .ok_or_else(|| {
                    PolicyError::invalid(
                        "review_on",
                        "give the date of the next review (the profile sets no review cycle)",
                    )
                })?,
        };
        if review_on <= from {
            return Err(PolicyError::invalid(
                "review_on",
                format!("{review_on} must come after {from}"),
            ));
        }
        Ok(CheckedDocument {
            kind,
            version,
            title,
            body,
            revised_by,
            approved_on,
            minute_ref,
            review_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn holt() -> CodeOfConduct {
        CodeOfConduct {
            staff: StaffConductRule::SignBeforeUse,
            discussed_each_year: true,
            issued_on_entry: true,
            aup_version: Some("2023".into()),
        }
    }

    #[test]
    fn each_code_of_conduct_key_changes_who_is_asked_gated_and_how_long_it_counts() {
        let coleridge = CodeOfConduct::default();
        assert!(holt().gates(Audience::Staff) && !coleridge.gates(Audience::Staff));
        assert!(!holt().gates(Audience::Pupils));
        assert!(holt().asks(Audience::Parents) && !coleridge.asks(Audience::Parents));
        assert!(coleridge.asks(Audience::Staff));
        let today = d("2026-12-02");
        assert!(!holt().still_counts(Audience::Pupils, d("2026-06-01"), today));
        assert!(holt().still_counts(Audience::Staff, d("2026-06-01"), today));
        assert!(coleridge.still_counts(Audience::Pupils, d("2020-06-01"), today));
    }

    #[test]
    fn staff_roles_sign_the_staff_code_whatever_their_record() {
        assert_eq!(
            Audience::of(PersonKind::Visitor, RoleSet::of(Role::Teacher)),
            Audience::Staff
        );
        assert_eq!(
            Audience::of(PersonKind::Parent, RoleSet::of(Role::Parent)).code(),
            DocumentKind::ParentCode
        );
    }

    #[test]
    fn a_version_needs_a_known_kind_text_and_a_review_after_its_approval() {
        let today = d("2026-12-02");
        let v = NewDocument {
            kind: "staff_code".into(),
            version: "2026".into(),
            title: "Staff code of conduct".into(),
            body: "I will...".into(),
            approved_on: "2026-11-20".into(),
            ..NewDocument::default()
        };
        let checked = v.check(Some(24), today);
        assert_eq!(checked.map(|c| c.review_on).ok(), Some(d("2028-11-20")));
        let field = |r: Result<CheckedDocument, PolicyError>| match r {
            Err(PolicyError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        assert_eq!(field(v.check(None, today)), "review_on");
        let mut wrong = v.clone();
        wrong.review_on = "2026-01-01".into();
        assert_eq!(field(wrong.check(None, today)), "review_on");
        let mut wrong = v.clone();
        wrong.kind = "menu".into();
        assert_eq!(field(wrong.check(None, today)), "kind");
        let mut wrong = v;
        wrong.body = String::new();
        assert_eq!(field(wrong.check(None, today)), "body");
    }
}

//! The vocabulary of the safeguarding log: statuses, severities, timeline entries, agencies;
//! what a report must hold, which files it may carry, and who may handle it.

use serde::{Deserialize, Serialize};

mod assign;
mod attachment;
mod report;

pub use assign::{
    Candidate, NotAssignable, assignable, check_assignee, filing_mail, first_assignee,
    told_on_filing,
};
pub use attachment::{ALLOWED_CONTENT_TYPES, NewAttachment, check_attachment, verified_filename};
pub use report::NewConcern;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $id:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The identifier used in the database and the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id,)+ }
            }

            /// Words for people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// Parses the identifier written by `as_str`.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($id => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Where a concern is in its life.
    ConcernStatus {
        New => "new", "New, not yet triaged";
        InProgress => "in_progress", "Being dealt with";
        Monitoring => "monitoring", "Being monitored";
        Closed => "closed", "Closed";
    }
}

string_enum! {
    /// How serious the first point of contact judges a concern to be.
    Severity {
        Low => "low", "Low";
        Medium => "medium", "Medium";
        High => "high", "High";
        Critical => "critical", "Critical";
    }
}

string_enum! {
    /// A kind of entry on a concern's timeline. The first five are added by staff; the others are
    /// written by Palisade as the concern moves.
    ActionKind {
        Note => "note", "Note";
        ParentsInformed => "parents_informed", "Parents/carers informed";
        Sanction => "sanction", "Sanction applied";
        Police => "police", "Police contacted";
        Referral => "referral", "Referral made";
        Reported => "reported", "Reported";
        Triaged => "triaged", "Triaged";
        Attachment => "attachment", "File attached";
        Closed => "closed", "Closed";
        Reopened => "reopened", "Reopened";
    }
}

impl ActionKind {
    /// Whether staff add this kind through the timeline form (the rest are written by Palisade).
    pub fn is_manual(self) -> bool {
        matches!(
            self,
            ActionKind::Note
                | ActionKind::ParentsInformed
                | ActionKind::Sanction
                | ActionKind::Police
                | ActionKind::Referral
        )
    }

    /// Whether a reporter who is not on the concern's team may see entries of this kind.
    pub fn visible_to_reporter(self) -> bool {
        matches!(
            self,
            ActionKind::Reported | ActionKind::Closed | ActionKind::Reopened
        )
    }
}

string_enum! {
    /// Outside agencies a concern can be referred to.
    Agency {
        Iwf => "iwf", "Internet Watch Foundation (IWF)";
        Ceop => "ceop", "CEOP";
        LocalAuthority => "local_authority", "Local authority";
        Lado => "lado", "Local Authority Designated Officer (LADO)";
        Prevent => "prevent", "Prevent";
        ChildrensSocialCare => "childrens_social_care", "Children's social care";
    }
}

string_enum! {
    /// How parents or carers were told.
    Channel {
        InPerson => "in_person", "In person";
        Phone => "phone", "Phone";
        Letter => "letter", "Letter";
        Email => "email", "Email";
        Meeting => "meeting", "Meeting";
    }
}

/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// Longest free text (details, notes, outcomes), in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most people one concern can be about.
pub const MAX_SUBJECTS: usize = 20;

/// Checks a required free-text field: not blank, not longer than `max` characters.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), crate::PolicyError> {
    if value.trim().is_empty() {
        return Err(crate::PolicyError::invalid(field, "must not be empty"));
    }
    check_optional_text(field, value, max)
}

/// Checks an optional free-text field's length.
pub fn check_optional_text(field: &str, value: &str, max: usize) -> Result<(), crate::PolicyError> {
    let n = value.chars().count();
    if n > max {
        return Err(crate::PolicyError::invalid(
            field,
            format!("is {n} characters long; at most {max}"),
        ));
    }
    Ok(())
}

/// A timeline entry as staff submit it (the JSON API's body and the forms' fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionInput {
    Note {
        text: String,
        /// The earlier entry this one corrects (entries are never edited).
        #[serde(default)]
        corrects: Option<i64>,
    },
    ParentsInformed {
        /// Who was told.
        who: String,
        /// When, as the person recording it says (date or date and time).
        when: String,
        how: Channel,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        corrects: Option<i64>,
    },
    Sanction {
        /// A sanction id from the profile's range.
        sanction: String,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        corrects: Option<i64>,
    },
    Police {
        text: String,
        #[serde(default)]
        reference: Option<String>,
        #[serde(default)]
        corrects: Option<i64>,
    },
    Referral {
        agency: Agency,
        reference: String,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        corrects: Option<i64>,
    },
}

impl ActionInput {
    /// The timeline kind this input records.
    pub fn kind(&self) -> ActionKind {
        match self {
            ActionInput::Note { .. } => ActionKind::Note,
            ActionInput::ParentsInformed { .. } => ActionKind::ParentsInformed,
            ActionInput::Sanction { .. } => ActionKind::Sanction,
            ActionInput::Police { .. } => ActionKind::Police,
            ActionInput::Referral { .. } => ActionKind::Referral,
        }
    }

    /// The entry this one corrects, if any.
    pub fn corrects(&self) -> Option<i64> {
        match self {
            ActionInput::Note { corrects, .. }
            | ActionInput::ParentsInformed { corrects, .. }
            | ActionInput::Sanction { corrects, .. }
            | ActionInput::Police { corrects, .. }
            | ActionInput::Referral { corrects, .. } => *corrects,
        }
    }

    /// Checks every field against the profile, naming the first that is wrong.
    pub fn validate(&self, profile: &crate::Profile) -> Result<(), crate::PolicyError> {
        let opt = |field: &str, v: &Option<String>, max: usize| match v {
            Some(v) => check_optional_text(field, v, max),
            None => Ok(()),
        };
        match self {
            ActionInput::Note { text, .. } => check_text("text", text, MAX_TEXT_CHARS),
            ActionInput::ParentsInformed {
                who, when, text, ..
            } => {
                check_text("who", who, 200)?;
                check_text("when", when, 50)?;
                opt("text", text, MAX_TEXT_CHARS)
            }
            ActionInput::Sanction { sanction, text, .. } => {
                if profile.sanction(sanction).is_none() {
                    return Err(crate::PolicyError::invalid(
                        "sanction",
                        format!("`{sanction}` is not in the school's range of sanctions"),
                    ));
                }
                opt("text", text, MAX_TEXT_CHARS)
            }
            ActionInput::Police {
                text, reference, ..
            } => {
                check_text("text", text, MAX_TEXT_CHARS)?;
                opt("reference", reference, 100)
            }
            ActionInput::Referral {
                reference, text, ..
            } => {
                check_text("reference", reference, 100)?;
                opt("text", text, MAX_TEXT_CHARS)
            }
        }
    }
}

/// Why a concern cannot be closed yet, if it cannot.
pub fn close_blocker(
    lado_required: bool,
    referrals: &[Agency],
    outcome: &str,
) -> Result<(), crate::PolicyError> {
    check_text("outcome", outcome, MAX_TEXT_CHARS)?;
    if lado_required && !referrals.contains(&Agency::Lado) {
        return Err(crate::PolicyError::invalid(
            "outcome",
            "the school's policy requires a referral to the LADO to be recorded before this concern is closed",
        ));
    }
    Ok(())
}

/// Which form a concern came through: the words and fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportForm {
    Staff,
    Pupil,
    Parent,
}

impl ReportForm {
    /// The identifier stored with the concern.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportForm::Staff => "staff",
            ReportForm::Pupil => "pupil",
            ReportForm::Parent => "parent",
        }
    }

    /// Whether a person holding `roles` may be chosen on this form as "a grown-up at school"
    /// the concern is about: on the pupil and parent forms, which name nobody else, any adult in
    /// a position of trust (so that the concern takes the route for concerns about staff, or
    /// about the Headteacher). Staff name anyone from the directory instead.
    pub fn may_name_as_grown_up(self, roles: crate::RoleSet) -> bool {
        self != ReportForm::Staff && roles.any(crate::Role::is_adult_in_position_of_trust)
    }

    /// The form a person with these roles uses. Visitors use the community (parent) form:
    /// they describe people in their own words rather than browsing the school's directory.
    pub fn for_roles(roles: crate::RoleSet) -> ReportForm {
        if roles.contains(crate::Role::Pupil) {
            ReportForm::Pupil
        } else if roles.any(|r| {
            r.is_staff() || matches!(r, crate::Role::Governor | crate::Role::ChairOfGovernors)
        }) {
            ReportForm::Staff
        } else {
            ReportForm::Parent
        }
    }
}

//! The Palisade domain: school profiles, roles, the permission matrix, concern routing and the
//! vocabulary of the safeguarding log. Pure: takes values, returns values, does no I/O.

pub mod alerts;
pub mod backup;
pub mod concern;
pub mod conduct;
pub mod consent;
pub mod dashboard;
pub mod explain;
pub mod filtering_review;
pub mod import;
pub mod leavers;
pub mod people;
pub mod permissions;
pub mod profile;
pub mod registers;
pub mod retention;
pub mod roles;
pub mod routing;
pub mod schedule;
pub mod school;
pub mod sign_in;
pub mod subject_access;
pub mod training;
pub mod trust;
pub mod weekly;

pub use concern::{ActionInput, ActionKind, Agency, ConcernStatus, ReportForm, Severity};
pub use people::PersonKind;
pub use permissions::{
    Action, Actor, Audiences, ConcernFacts, Decision, Object, Permit, Sight, Target, can, permit,
};
pub use profile::Profile;
pub use roles::{Role, RoleSet};
pub use routing::{Route, RouteKind, route};

use std::fmt;

/// Everything that can go wrong in the domain.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The profile is not valid TOML or does not match the schema; `message` has line and key.
    #[error("{source_name}: {message}")]
    ProfileSyntax {
        source_name: String,
        message: String,
    },
    /// The profile parsed but its values contradict each other.
    #[error("{source_name}: {}", ProfileProblems(problems))]
    ProfileInvalid {
        source_name: String,
        problems: Vec<ProfileProblem>,
    },
    /// A value from outside (form, API, CSV) is not acceptable.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// An export to import has problems, each naming its row and column; nothing was imported.
    #[error("{}", ImportProblems(problems))]
    Import { problems: Vec<import::Problem> },
}

impl PolicyError {
    /// An invalid-input error for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
        PolicyError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One thing wrong with a profile, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProblem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The problems shown in one message: the first [`SHOWN_PROBLEMS`], then how many more.
struct ImportProblems<'a>(&'a [import::Problem]);

/// How many of an export's problems its error message lists.
pub const SHOWN_PROBLEMS: usize = 20;

impl fmt::Display for ImportProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().take(SHOWN_PROBLEMS).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        if self.0.len() > SHOWN_PROBLEMS {
            write!(f, "; and {} more", self.0.len() - SHOWN_PROBLEMS)?;
        }
        Ok(())
    }
}

struct ProfileProblems<'a>(&'a [ProfileProblem]);

impl fmt::Display for ProfileProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

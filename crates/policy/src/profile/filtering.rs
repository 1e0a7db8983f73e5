//! The `[filtering]` section of a profile: groups, lists and categories for the gateways.
//! Owned by the filter engine work (issue 4); empty until then.

use crate::ProfileProblem;
use serde::{Deserialize, Serialize};

/// How the school filters internet access, per group.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FilteringPolicy {}

impl FilteringPolicy {
    /// Cross-reference checks for this section, each naming its key.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        Vec::new()
    }
}

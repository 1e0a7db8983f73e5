//! Where a new concern goes, from the profile and the roles of the people it is about.

use crate::profile::ConcernPolicy;
use crate::roles::{Role, RoleSet};
use serde::{Deserialize, Serialize};

/// Which of the profile's routes a concern took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// About pupils or others: the general safeguarding queue.
    Safeguarding,
    /// About a member of staff, a governor or another adult in a position of trust.
    AboutStaff,
    /// About the Headteacher.
    AboutHeadteacher,
}

impl RouteKind {
    /// The identifier stored with the concern.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Safeguarding => "safeguarding",
            RouteKind::AboutStaff => "about_staff",
            RouteKind::AboutHeadteacher => "about_headteacher",
        }
    }

    /// Parses the identifier written by [`RouteKind::as_str`].
    pub fn parse(s: &str) -> Option<RouteKind> {
        [
            RouteKind::Safeguarding,
            RouteKind::AboutStaff,
            RouteKind::AboutHeadteacher,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The decision for one concern, fixed when it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// Roles that see and handle the concern (its subjects excepted).
    pub audience: RoleSet,
    /// The role whose holder is assigned first.
    pub first_contact: Role,
    /// Whether a LADO referral must be recorded before closing.
    pub lado_required: bool,
}

/// Routes a concern about people holding `subject_roles` (one set per subject).
///
/// A concern about the Headteacher goes to the Chair of Governors (and the LADO where the
/// profile says so); about any other adult in a position of trust, to the Headteacher; about
/// anyone else, to the first point of contact and the safeguarding team.
pub fn route(policy: &ConcernPolicy, subject_roles: &[RoleSet]) -> Route {
    let about_head = subject_roles.iter().any(|r| r.contains(Role::Headteacher));
    let about_adult = subject_roles
        .iter()
        .any(|r| r.any(Role::is_adult_in_position_of_trust));
    let (kind, escalation) = if about_head {
        (RouteKind::AboutHeadteacher, Some(&policy.about_headteacher))
    } else if about_adult {
        (RouteKind::AboutStaff, Some(&policy.about_staff))
    } else {
        (RouteKind::Safeguarding, None)
    };
    match escalation {
        Some(e) => Route {
            kind,
            audience: e.route_to.iter().copied().collect(),
            first_contact: e.route_to.first().copied().unwrap_or(Role::Headteacher),
            lado_required: e.lado_required,
        },
        None => Route {
            kind,
            audience: policy.team.iter().copied().collect(),
            first_contact: policy.first_contact,
            lado_required: false,
        },
    }
}

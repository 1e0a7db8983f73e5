//! Where a new concern goes, from the profile and the roles of the people it is about.

use crate::PolicyError;
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
    /// Roles that see and handle the concern (its subjects excepted). Never only roles that its
    /// subjects hold.
    pub audience: RoleSet,
    /// The role whose holder is assigned first.
    pub first_contact: Role,
    /// Whether a LADO referral must be recorded before closing.
    pub lado_required: bool,
    /// Whether the route's own audience were all subjects, so the profile's
    /// `concerns.fallback` took it.
    pub fallback: bool,
}

/// Routes a concern about people holding `subject_roles` (one set per subject).
///
/// A concern about the Headteacher goes to the Chair of Governors (and the LADO where the
/// profile says so); about any other adult in a position of trust, to the Headteacher; about
/// anyone else, to the first point of contact and the safeguarding team. Where every role of
/// that audience is held by a subject (the Headteacher and the Chair both named), it goes to the
/// profile's `concerns.fallback` instead, with the LADO step if either asks for it; where that
/// too is only subjects, or the profile has none, the concern is refused with the reason, since
/// filed it would reach nobody.
pub fn route(policy: &ConcernPolicy, subject_roles: &[RoleSet]) -> Result<Route, PolicyError> {
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
    let route = match escalation {
        Some(e) => Route {
            kind,
            audience: e.route_to.iter().copied().collect(),
            first_contact: e.route_to.first().copied().unwrap_or(Role::Headteacher),
            lado_required: e.lado_required,
            fallback: false,
        },
        None => Route {
            kind,
            audience: policy.team.iter().copied().collect(),
            first_contact: policy.first_contact,
            lado_required: false,
            fallback: false,
        },
    };
    let held: RoleSet = subject_roles.iter().flat_map(|r| r.iter()).collect();
    let others = |roles: RoleSet| roles.iter().filter(|r| !held.contains(*r));
    if others(route.audience).next().is_some() {
        return Ok(route);
    }
    let names = |roles: RoleSet| {
        roles
            .iter()
            .map(Role::default_title)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(fallback) = &policy.fallback else {
        return Err(PolicyError::invalid(
            "subjects",
            format!(
                "this concern is about everyone the school's policy sends it to ({}), and the \
                 profile names no other route (concerns.fallback): it was not filed. Report it \
                 to the Local Authority Designated Officer (LADO) directly",
                names(route.audience)
            ),
        ));
    };
    let audience: RoleSet = fallback.route_to.iter().copied().collect();
    let Some(first_contact) = fallback
        .route_to
        .iter()
        .copied()
        .find(|r| !held.contains(*r))
    else {
        return Err(PolicyError::invalid(
            "subjects",
            format!(
                "this concern is about everyone the school's policy sends it to ({}) and \
                 everyone its fallback names ({}): it was not filed. Report it to the Local \
                 Authority Designated Officer (LADO) directly",
                names(route.audience),
                names(audience)
            ),
        ));
    };
    Ok(Route {
        kind: route.kind,
        audience,
        first_contact,
        lado_required: route.lado_required || fallback.lado_required,
        fallback: true,
    })
}

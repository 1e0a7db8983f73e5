//! Who may handle a concern: the first point of contact assigned when it is filed, and the
//! people a triager may choose. One rule for both, and for the API.

use crate::routing::Route;
use crate::{PersonKind, PolicyError, Role, RoleSet};

/// What the assignment rule needs to know of a person.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub id: i64,
    pub kind: PersonKind,
    pub roles: RoleSet,
    pub active: bool,
}

/// Why a person cannot handle a concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAssignable {
    /// The concern is about them.
    Subject,
    /// They are not an active member of staff (a pupil, parent, visitor or someone who left).
    NotActiveStaff,
}

/// Whether `who` may handle a concern about `subjects`: an active member of staff (no pupil,
/// parent or visitor) who is not one of its subjects.
pub fn assignable(who: &Candidate, subjects: &[i64]) -> Result<(), NotAssignable> {
    if subjects.contains(&who.id) {
        return Err(NotAssignable::Subject);
    }
    let staff = who.active
        && who.kind != PersonKind::Pupil
        && who.kind != PersonKind::Parent
        && !who.roles.contains(Role::Visitor);
    if staff {
        Ok(())
    } else {
        Err(NotAssignable::NotActiveStaff)
    }
}

/// [`assignable`] as the error a form or the API shows, naming the person as they were asked for.
pub fn check_assignee(who: &Candidate, subjects: &[i64], asked: &str) -> Result<(), PolicyError> {
    assignable(who, subjects).map_err(|why| {
        let message = match why {
            NotAssignable::Subject => {
                format!("`{asked}` is a subject of this concern and cannot handle it")
            }
            NotAssignable::NotActiveStaff => format!("`{asked}` is not an active member of staff"),
        };
        PolicyError::invalid("assignee", message)
    })
}

/// The person a newly routed concern is assigned to: the first (by id) holder of the route's
/// first point of contact who may handle it, or nobody when none may.
pub fn first_assignee(
    route: &Route,
    candidates: impl IntoIterator<Item = Candidate>,
    subjects: &[i64],
) -> Option<i64> {
    candidates
        .into_iter()
        .filter(|c| c.roles.contains(route.first_contact) && assignable(c, subjects).is_ok())
        .map(|c| c.id)
        .min()
}

/// Who is told at once that a concern was filed: every holder of the route's first point of
/// contact who may handle it (never a subject), by id.
pub fn told_on_filing(
    route: &Route,
    candidates: impl IntoIterator<Item = Candidate>,
    subjects: &[i64],
) -> Vec<i64> {
    let mut ids: Vec<i64> = candidates
        .into_iter()
        .filter(|c| c.roles.contains(route.first_contact) && assignable(c, subjects).is_ok())
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids
}

/// The mail that tells the first point of contact of a new concern: that one came and where
/// to find it, never who it is about, who reported it or what happened (mail leaves the school).
pub fn filing_mail(id: i64, route: crate::RouteKind) -> (String, String) {
    let what = match route {
        crate::RouteKind::Safeguarding => "A safeguarding concern",
        crate::RouteKind::AboutStaff => "A concern about a member of staff",
        crate::RouteKind::AboutHeadteacher => "A concern about the Headteacher",
    };
    (
        format!("[Palisade] New concern #{id} to triage"),
        format!(
            "{what} (#{id}) was reported to you and waits for triage.\n\nSign in to Palisade to \
             read it: it is on your home page and in the concerns list. Nothing about it is in \
             this mail.\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RouteKind;

    #[test]
    fn the_filing_mail_says_a_concern_came_and_nothing_of_it() {
        let (subject, body) = filing_mail(12, RouteKind::AboutStaff);
        assert_eq!(subject, "[Palisade] New concern #12 to triage");
        assert!(
            body.contains("member of staff") && body.contains("#12"),
            "{body}"
        );
    }

    fn person(id: i64, kind: PersonKind, roles: &[Role]) -> Candidate {
        Candidate {
            id,
            kind,
            roles: roles.iter().copied().collect(),
            active: true,
        }
    }

    fn route(first_contact: Role) -> Route {
        Route {
            kind: RouteKind::Safeguarding,
            first_contact,
            audience: [Role::Dsl].into_iter().collect(),
            lado_required: false,
            fallback: false,
        }
    }

    #[test]
    fn a_subject_is_never_assigned_even_as_first_contact() {
        let dsl = person(1, PersonKind::Staff, &[Role::Dsl]);
        let deputy = person(2, PersonKind::Staff, &[Role::Dsl]);
        assert_eq!(assignable(&dsl, &[1]), Err(NotAssignable::Subject));
        assert_eq!(
            first_assignee(&route(Role::Dsl), [deputy, dsl], &[1]),
            Some(2)
        );
        assert_eq!(first_assignee(&route(Role::Dsl), [dsl], &[1]), None);
    }

    #[test]
    fn pupils_parents_visitors_and_leavers_cannot_handle_a_concern() {
        let pupil = person(3, PersonKind::Pupil, &[Role::Pupil]);
        let parent = person(4, PersonKind::Parent, &[Role::Parent]);
        let visitor = person(5, PersonKind::Staff, &[Role::Visitor]);
        let mut leaver = person(6, PersonKind::Staff, &[Role::Teacher]);
        leaver.active = false;
        for who in [pupil, parent, visitor, leaver] {
            assert_eq!(
                assignable(&who, &[]),
                Err(NotAssignable::NotActiveStaff),
                "{who:?}"
            );
        }
        let teacher = person(7, PersonKind::Staff, &[Role::Teacher]);
        assert_eq!(assignable(&teacher, &[]), Ok(()));
        let Err(e) = check_assignee(&pupil, &[], "p.pupil") else {
            panic!("a pupil was accepted as an assignee");
        };
        assert_eq!(
            e.to_string(),
            "assignee: `p.pupil` is not an active member of staff"
        );
    }

    #[test]
    fn the_first_holder_by_id_of_the_first_contact_role_is_assigned() {
        let teacher = person(1, PersonKind::Staff, &[Role::Teacher]);
        let head = person(9, PersonKind::Staff, &[Role::Headteacher]);
        let dsl_b = person(8, PersonKind::Staff, &[Role::Dsl]);
        let dsl_a = person(5, PersonKind::Staff, &[Role::Dsl]);
        assert_eq!(
            first_assignee(&route(Role::Dsl), [teacher, head, dsl_b, dsl_a], &[]),
            Some(5)
        );
        assert_eq!(
            first_assignee(&route(Role::Headteacher), [teacher, head, dsl_b], &[]),
            Some(9)
        );
    }
}

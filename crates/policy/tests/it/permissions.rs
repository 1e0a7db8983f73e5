//! The permission table: every role against every action, written out as the school expects it
//! rather than derived from the code under test.

use policy::{Action, Actor, ConcernFacts, ConcernStatus, Decision, Object, Role, RoleSet, can};

const ME: i64 = 1;
const SOMEONE: i64 = 2;

fn actor(role: Role) -> Actor {
    Actor {
        person_id: ME,
        roles: RoleSet::of(role),
    }
}

/// School-level actions: which roles may do each.
fn expected_school(role: Role, action: Action) -> Decision {
    use Role::*;
    let allowed: &[Role] = match action {
        Action::ReportConcern | Action::ListConcerns | Action::RequestReview => &Role::ALL,
        // Asked about the profile's filtering, never the school at large (below).
        Action::ChangeFiltering => &[],
        Action::ManageDevices => &[NetworkManager],
        Action::ManageSignIns => &[Headteacher, NetworkManager],
        Action::HandleAlerts => &[Dsl, DeputyDsl],
        Action::ViewChronology => &[Headteacher, Dsl, DeputyDsl, OnlineSafetyCoordinator],
        Action::ViewPeople => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
            DataManager,
            Teacher,
            Staff,
            Governor,
            ChairOfGovernors,
        ],
        Action::ManagePeople | Action::ManageAccounts => &[Headteacher, DataManager],
        Action::ViewAudit => &[Headteacher, Dsl],
        Action::ViewAccessLog => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
        ],
        // Concern actions need a concern.
        _ => &[],
    };
    if allowed.contains(&role) {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

#[test]
fn every_role_against_every_school_level_action() {
    for role in Role::ALL {
        for action in Action::ALL {
            assert_eq!(
                can(&actor(role), action, Object::School),
                expected_school(role, action),
                "{role} {action:?}"
            );
        }
    }
}

fn concern(
    audience: RoleSet,
    reporter: i64,
    subjects: Vec<i64>,
    status: ConcernStatus,
) -> ConcernFacts {
    ConcernFacts {
        reporter,
        subjects,
        audience,
        status,
    }
}

#[test]
fn every_role_against_every_concern_action() {
    let audience: RoleSet = [Role::Dsl, Role::DeputyDsl].into_iter().collect();
    for role in Role::ALL {
        for status in [ConcernStatus::New, ConcernStatus::Closed] {
            for action in Action::ALL.into_iter().filter(|a| a.is_about_a_concern()) {
                let on_team = audience.contains(role);
                // Unrelated: the team may act; everyone else must not learn it exists.
                let c = concern(audience, SOMEONE, vec![3], status);
                let got = can(&actor(role), action, Object::Concern(&c));
                let want = match action {
                    Action::ViewOwnReport if on_team => Decision::Deny,
                    Action::CloseConcern if on_team && status == ConcernStatus::Closed => {
                        Decision::Deny
                    }
                    Action::ReopenConcern if on_team && status != ConcernStatus::Closed => {
                        Decision::Deny
                    }
                    _ if on_team => Decision::Allow,
                    _ => Decision::Hide,
                };
                assert_eq!(got, want, "unrelated {role} {action:?} {status}");

                // The subject never sees it, whatever role they hold.
                let c = concern(audience, SOMEONE, vec![ME], status);
                let got = can(&actor(role), action, Object::Concern(&c));
                assert_eq!(got, Decision::Hide, "subject {role} {action:?}");

                // The reporter sees their own report; the team's work only if on the team.
                let c = concern(audience, ME, vec![3], status);
                let got = can(&actor(role), action, Object::Concern(&c));
                let want = match action {
                    Action::ViewOwnReport => Decision::Allow,
                    Action::CloseConcern if on_team && status == ConcernStatus::Closed => {
                        Decision::Deny
                    }
                    Action::ReopenConcern if on_team && status != ConcernStatus::Closed => {
                        Decision::Deny
                    }
                    _ if on_team => Decision::Allow,
                    _ => Decision::Deny,
                };
                assert_eq!(got, want, "reporter {role} {action:?} {status}");
            }
        }
    }
}

#[test]
fn filtering_is_changed_by_the_roles_the_profile_names_or_else_the_network_manager() {
    use Role::*;
    let holt = [NetworkManager, Headteacher];
    let cases: [(&[Role], &[Role]); 3] = [
        (&[], &[NetworkManager]),
        (&[NetworkManager], &[NetworkManager]),
        (&holt, &holt),
    ];
    for (changes_by, allowed) in cases {
        for role in Role::ALL {
            let want = if allowed.contains(&role) {
                Decision::Allow
            } else {
                Decision::Deny
            };
            let object = Object::Filtering { changes_by };
            assert_eq!(
                can(&actor(role), Action::ChangeFiltering, object),
                want,
                "{role} with changes_by {changes_by:?}"
            );
            // The filtering's rule widens nothing else: every other action is answered as
            // for the school at large.
            for other in Action::ALL
                .into_iter()
                .filter(|a| *a != Action::ChangeFiltering)
            {
                assert_eq!(
                    can(&actor(role), other, object),
                    expected_school(role, other),
                    "{role} {other:?}"
                );
            }
        }
    }
}

#[test]
fn an_account_without_roles_may_do_nothing() {
    let nobody = Actor {
        person_id: ME,
        roles: RoleSet::EMPTY,
    };
    let c = concern(RoleSet::of(Role::Dsl), ME, vec![], ConcernStatus::New);
    for action in Action::ALL {
        assert_ne!(can(&nobody, action, Object::School), Decision::Allow);
        assert_ne!(can(&nobody, action, Object::Concern(&c)), Decision::Allow);
        let anyone = Object::Filtering {
            changes_by: &Role::ALL,
        };
        assert_ne!(can(&nobody, action, anyone), Decision::Allow);
    }
}

#[test]
fn a_headteacher_who_is_the_subject_gets_hide_even_with_the_audience_role() {
    let head = Actor {
        person_id: ME,
        roles: [Role::Headteacher, Role::ChairOfGovernors]
            .into_iter()
            .collect(),
    };
    let c = concern(
        RoleSet::of(Role::ChairOfGovernors),
        SOMEONE,
        vec![ME],
        ConcernStatus::New,
    );
    assert_eq!(
        can(&head, Action::ViewConcern, Object::Concern(&c)),
        Decision::Hide
    );
}

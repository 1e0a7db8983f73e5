//! The permission table: every role against every action, written out as the school expects it
//! rather than derived from the code under test.

use policy::{
    Action, Actor, ConcernFacts, ConcernStatus, Decision, Object, Role, RoleSet, Target, can,
};

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
        // Pupils follow their own reports from the home page instead.
        Action::BrowseConcerns => &[
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
            Parent,
            Visitor,
        ],
        // Asked about the queue and its team, never the school at large (below).
        Action::ViewConcernQueue => &[],
        // Asked about the profile's filtering, never the school at large (below).
        Action::ChangeFiltering => &[],
        Action::ManageDevices => &[NetworkManager],
        Action::ManageSignIns | Action::ForcePasswordChange => &[Headteacher, NetworkManager],
        // Asked about one's own account, never the school at large (below).
        Action::ReportOwnPasswordKnown => &[],
        // Asked about the inbox or an alert, with the profile's readers (below).
        Action::HandleAlerts => &[],
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
        Action::ManagePeople | Action::ManageAccounts | Action::ImportPeople => {
            &[Headteacher, DataManager]
        }
        Action::ViewAudit => &[Headteacher, Dsl],
        Action::ViewRoleChanges => &[Headteacher, Dsl, ChairOfGovernors],
        Action::ViewAccessLog => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
        ],
        Action::ViewPolicyReview => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            Governor,
            ChairOfGovernors,
        ],
        Action::ManageTraining => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            DataManager,
        ],
        Action::ManageDocuments => &[Headteacher, Dsl, DeputyDsl, OnlineSafetyCoordinator],
        Action::RecordPaperSignOff => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            Teacher,
        ],
        Action::ManageConsents => &[Headteacher, DataManager],
        Action::ViewConsents => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
            DataManager,
            Teacher,
            Staff,
        ],
        Action::ViewFilteringRecords => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
            Governor,
            ChairOfGovernors,
        ],
        Action::KeepFilteringRecords => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
        ],
        // The first point of contact reads it too, asked about the queue (below).
        Action::ViewWeeklyReport => &[Headteacher, Dsl, DeputyDsl],
        Action::RunFilterTest => &[
            Headteacher,
            Dsl,
            DeputyDsl,
            OnlineSafetyCoordinator,
            NetworkManager,
        ],
        // Asked about the profile's `guests.created_by`, never the school at large (below).
        Action::CreateGuest => &[],
        Action::ManageLeavers => &[Headteacher, DataManager, NetworkManager],
        Action::ViewBackups => &[Headteacher, NetworkManager],
        // Concern actions need a concern; the registers' actions, the register (below).
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
        id: 7,
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

/// Holt's audiences: the DSL and deputy read the safeguarding queue, the Headteacher the
/// concerns about staff, the Chair of Governors the concerns about the Headteacher.
fn holt() -> policy::Audiences {
    use Role::*;
    policy::Audiences {
        safeguarding: [Dsl, DeputyDsl].into_iter().collect(),
        about_staff: RoleSet::of(Headteacher),
        about_headteacher: RoleSet::of(ChairOfGovernors),
    }
}

#[test]
fn the_shipped_profiles_give_the_audiences_these_tables_assume() {
    assert_eq!(crate::shipped("holt").concerns.audiences(), holt());
    let coleridge = crate::shipped("coleridge").concerns.audiences();
    assert!(
        coleridge
            .safeguarding_roles()
            .contains(Role::OnlineSafetyCoordinator)
    );
    assert!(!coleridge.safeguarding_roles().contains(Role::Headteacher));
    assert!(coleridge.concern_readers().contains(Role::Headteacher));
}

/// Which roles each role may give to someone else under Holt's routes, written out.
fn expected_grants(by: Role) -> &'static [Role] {
    use Role::*;
    match by {
        // Everything that reads no concern and sees nothing the Headteacher cannot; never the
        // DSL, deputy or Chair (who reads the concerns about the Headteacher), nor another
        // Headteacher (a role that reads concerns, and the Headteacher holds no safeguarding
        // role): the operator bootstraps those.
        Headteacher => &[
            OnlineSafetyCoordinator,
            NetworkManager,
            DataManager,
            Teacher,
            Staff,
            Governor,
            Pupil,
            Parent,
            Visitor,
        ],
        // The safeguarding roles hand on what they see, and nothing else.
        Dsl => &[Dsl, DeputyDsl],
        DeputyDsl => &[DeputyDsl],
        ChairOfGovernors => &[ChairOfGovernors],
        // The Data Manager gives only roles that see nothing confidential.
        DataManager => &[
            DataManager,
            Teacher,
            Staff,
            Governor,
            Pupil,
            Parent,
            Visitor,
        ],
        _ => &[],
    }
}

/// Which roles each role may take from someone else under Holt's routes, written out.
fn expected_removals(by: Role) -> &'static [Role] {
    use Role::*;
    match by {
        Headteacher | DataManager => &[
            OnlineSafetyCoordinator,
            NetworkManager,
            DataManager,
            Teacher,
            Staff,
            Governor,
            Pupil,
            Parent,
            Visitor,
        ],
        Dsl => &[Dsl, DeputyDsl],
        DeputyDsl => &[DeputyDsl],
        ChairOfGovernors => &[ChairOfGovernors],
        _ => &[],
    }
}

/// Roles that read concerns under Holt's routes: never given to or taken from oneself.
fn reads_concerns(r: Role) -> bool {
    use Role::*;
    matches!(r, Headteacher | Dsl | DeputyDsl | ChairOfGovernors)
}

fn roles_object(holder: Option<i64>, role: Role) -> Object<'static> {
    Object::Roles {
        holder,
        roles: RoleSet::of(role),
        audiences: holt(),
    }
}

fn allow(ok: bool) -> Decision {
    if ok { Decision::Allow } else { Decision::Deny }
}

#[test]
fn every_role_against_granting_and_removing_every_role() {
    for by in Role::ALL {
        for role in Role::ALL {
            let grant = expected_grants(by).contains(&role);
            let remove = expected_removals(by).contains(&role);
            let me = actor(by);
            // To someone else, and to a person being created.
            for holder in [Some(SOMEONE), None] {
                assert_eq!(
                    can(&me, Action::GrantRole, roles_object(holder, role)),
                    allow(grant),
                    "{by} grants {role} to {holder:?}"
                );
                assert_eq!(
                    can(&me, Action::ReactivateAccount, roles_object(holder, role)),
                    allow(grant),
                    "{by} reactivates a {role} ({holder:?})"
                );
            }
            assert_eq!(
                can(
                    &me,
                    Action::ResetSecondFactor,
                    roles_object(Some(SOMEONE), role)
                ),
                allow(grant),
                "{by} resets the second factor of a {role}"
            );
            assert_eq!(
                can(&me, Action::RemoveRole, roles_object(Some(SOMEONE), role)),
                allow(remove),
                "{by} removes {role}"
            );
            assert_eq!(
                can(
                    &me,
                    Action::DeactivateAccount,
                    roles_object(Some(SOMEONE), role)
                ),
                allow(remove),
                "{by} deactivates a {role}"
            );
            // To oneself: never a role that reads concerns; and nobody switches themselves off.
            let to_self = |ok: bool| allow(ok && !reads_concerns(role));
            assert_eq!(
                can(&me, Action::GrantRole, roles_object(Some(ME), role)),
                to_self(grant),
                "{by} grants {role} to themselves"
            );
            assert_eq!(
                can(&me, Action::RemoveRole, roles_object(Some(ME), role)),
                to_self(remove),
                "{by} removes {role} from themselves"
            );
            assert_eq!(
                can(&me, Action::DeactivateAccount, roles_object(Some(ME), role)),
                Decision::Deny,
                "{by} deactivates themselves"
            );
            assert_eq!(
                can(&me, Action::ResetSecondFactor, roles_object(Some(ME), role)),
                Decision::Deny,
                "{by} resets their own second factor"
            );
        }
    }
}

#[test]
fn a_change_of_several_roles_needs_every_one_allowed_and_no_roles_is_the_admins() {
    use Role::*;
    let both: RoleSet = [Teacher, DeputyDsl].into_iter().collect();
    for by in Role::ALL {
        let me = actor(by);
        for action in [
            Action::GrantRole,
            Action::RemoveRole,
            Action::DeactivateAccount,
            Action::ReactivateAccount,
            Action::ResetSecondFactor,
        ] {
            let object = |roles| Object::Roles {
                holder: Some(SOMEONE),
                roles,
                audiences: holt(),
            };
            // Nobody at Holt both gives teachers and deputies.
            assert_eq!(can(&me, action, object(both)), Decision::Deny, "{by}");
            assert_eq!(
                can(&me, action, object(RoleSet::EMPTY)),
                allow(matches!(by, Headteacher | DataManager)),
                "{by} {action:?} with no roles"
            );
        }
    }
}

#[test]
fn role_changes_need_the_roles_and_the_roles_widen_nothing_else() {
    let c = concern(RoleSet::of(Role::Dsl), SOMEONE, vec![3], ConcernStatus::New);
    for by in Role::ALL {
        for action in Action::ALL.into_iter().filter(|a| a.is_about_roles()) {
            assert_eq!(can(&actor(by), action, Object::School), Decision::Deny);
            assert_eq!(can(&actor(by), action, Object::Concern(&c)), Decision::Deny);
        }
        for other in Action::ALL
            .into_iter()
            .filter(|a| !a.is_about_roles() && !a.is_about_a_concern())
            .filter(|a| *a != Action::ChangeFiltering)
        {
            assert_eq!(
                can(&actor(by), other, roles_object(Some(SOMEONE), Role::Dsl)),
                expected_school(by, other),
                "{by} {other:?}"
            );
        }
    }
}

#[test]
fn where_the_online_safety_coordinator_is_first_contact_it_is_a_safeguarding_role() {
    use Role::*;
    // Coleridge's routes: the coordinator triages every concern about a pupil.
    let coleridge = policy::Audiences {
        safeguarding: [OnlineSafetyCoordinator, Dsl, DeputyDsl]
            .into_iter()
            .collect(),
        about_staff: RoleSet::of(Headteacher),
        about_headteacher: RoleSet::of(ChairOfGovernors),
    };
    let object = |role| Object::Roles {
        holder: Some(SOMEONE),
        roles: RoleSet::of(role),
        audiences: coleridge,
    };
    let osc = object(OnlineSafetyCoordinator);
    assert_eq!(
        can(&actor(Headteacher), Action::GrantRole, osc),
        Decision::Deny
    );
    assert_eq!(
        can(&actor(DataManager), Action::DeactivateAccount, osc),
        Decision::Deny
    );
    assert_eq!(can(&actor(Dsl), Action::GrantRole, osc), Decision::Allow);
    assert_eq!(
        can(&actor(OnlineSafetyCoordinator), Action::GrantRole, osc),
        Decision::Allow
    );
    // The coordinator sees no alerts and no audit trail, so gives no DSL.
    assert_eq!(
        can(
            &actor(OnlineSafetyCoordinator),
            Action::GrantRole,
            object(Dsl)
        ),
        Decision::Deny
    );
}

#[test]
fn the_operator_permit_names_no_actor() {
    let p = policy::Permit::for_operator(Action::GrantRole);
    assert_eq!(p.actor_id(), None);
    assert_eq!(p.action(), Action::GrantRole);
    let Ok(p) = policy::permit(
        &actor(Role::Dsl),
        Action::GrantRole,
        roles_object(Some(SOMEONE), Role::DeputyDsl),
    ) else {
        panic!("the DSL may give a deputy");
    };
    assert_eq!(p.actor_id(), Some(ME));
    // It covers the roles and the person it was asked about, and nothing else.
    let roles = |holder, roles| Target::Roles { holder, roles };
    let grant = Action::GrantRole;
    assert!(p.covers(grant, roles(Some(SOMEONE), RoleSet::of(Role::DeputyDsl))));
    assert!(p.covers(grant, roles(Some(SOMEONE), RoleSet::EMPTY)));
    assert!(!p.covers(grant, roles(Some(SOMEONE), RoleSet::of(Role::Dsl))));
    assert!(!p.covers(grant, roles(Some(3), RoleSet::of(Role::DeputyDsl))));
    assert!(!p.covers(grant, roles(None, RoleSet::of(Role::DeputyDsl))));
    assert!(policy::Permit::for_operator(grant).covers(grant, roles(None, RoleSet::of(Role::Dsl))));
}

#[test]
fn a_permit_covers_its_action_and_its_object_and_nothing_else() {
    let dsl = actor(Role::Dsl);
    let a = concern(RoleSet::of(Role::Dsl), SOMEONE, vec![3], ConcernStatus::New);
    let b = ConcernFacts { id: 8, ..a.clone() };
    let Ok(p) = policy::permit(&dsl, Action::TriageConcern, Object::Concern(&a)) else {
        panic!("the DSL triages a concern routed to the DSL");
    };
    assert_eq!(p.target(), Target::Concern(7));
    assert!(p.covers(Action::TriageConcern, Target::Concern(a.id)));
    // Another concern, even one the DSL could triage too, needs a permit of its own.
    assert!(!p.covers(Action::TriageConcern, Target::Concern(b.id)));
    // Another action on the same concern needs its own permit.
    assert!(!p.covers(Action::CloseConcern, Target::Concern(a.id)));
    assert!(!p.covers(Action::TriageConcern, Target::School));

    let readers = RoleSet::of(Role::Dsl);
    let one = |id| Object::Alert {
        id,
        readers,
        about: None,
    };
    let Ok(alert) = policy::permit(&dsl, Action::HandleAlerts, one(4)) else {
        panic!("the DSL handles alerts");
    };
    assert!(alert.covers(Action::HandleAlerts, Target::Alert(4)));
    assert!(!alert.covers(Action::HandleAlerts, Target::Alert(5)));
    assert!(!alert.covers(Action::HandleAlerts, Target::School));

    let head = actor(Role::Headteacher);
    let Ok(person) = policy::permit(&head, Action::ManagePeople, Object::Person(SOMEONE)) else {
        panic!("the Headteacher manages people");
    };
    assert!(person.covers(Action::ManagePeople, Target::Person(SOMEONE)));
    assert!(!person.covers(Action::ManagePeople, Target::Person(3)));
    assert!(!person.covers(Action::ManageSignIns, Target::Person(SOMEONE)));

    // The operator's covers any object of its action, and no other action.
    let op = policy::Permit::for_operator(Action::ManagePeople);
    assert!(op.covers(Action::ManagePeople, Target::Person(3)));
    assert!(!op.covers(Action::ManageAccounts, Target::Person(3)));
}

#[test]
fn everyone_keeps_their_own_account_and_nobody_elses() {
    for role in Role::ALL {
        let me = actor(role);
        assert_eq!(
            can(&me, Action::ManageOwnAccount, Object::Person(ME)),
            Decision::Allow,
            "{role}"
        );
        assert_eq!(
            can(&me, Action::ManageOwnAccount, Object::Person(SOMEONE)),
            Decision::Deny,
            "{role}"
        );
    }
}

#[test]
fn everyone_reports_their_own_password_known_and_only_sign_in_admins_force_it_on_others() {
    for role in Role::ALL {
        let me = actor(role);
        assert_eq!(
            can(&me, Action::ReportOwnPasswordKnown, Object::Person(ME)),
            Decision::Allow,
            "{role}"
        );
        assert_eq!(
            can(&me, Action::ReportOwnPasswordKnown, Object::Person(SOMEONE)),
            Decision::Deny,
            "{role}"
        );
        let force = if matches!(role, Role::Headteacher | Role::NetworkManager) {
            Decision::Allow
        } else {
            Decision::Deny
        };
        for whom in [ME, SOMEONE] {
            assert_eq!(
                can(&me, Action::ForcePasswordChange, Object::Person(whom)),
                force,
                "{role} on {whom}"
            );
        }
    }
    // A permit for one person's account is not spent on another's.
    let head = actor(Role::Headteacher);
    let Ok(p) = policy::permit(&head, Action::ForcePasswordChange, Object::Person(SOMEONE)) else {
        panic!("the Headteacher forces a new password");
    };
    assert!(p.covers(Action::ForcePasswordChange, Target::Person(SOMEONE)));
    assert!(!p.covers(Action::ForcePasswordChange, Target::Person(3)));
    assert!(!p.covers(Action::ReportOwnPasswordKnown, Target::Person(SOMEONE)));
}

#[test]
fn the_queue_is_seen_by_its_team_only() {
    let team: RoleSet = [Role::Dsl, Role::DeputyDsl].into_iter().collect();
    for role in Role::ALL {
        assert_eq!(
            can(
                &actor(role),
                Action::ViewConcernQueue,
                Object::Queue { team }
            ),
            if team.contains(role) {
                Decision::Allow
            } else {
                Decision::Deny
            },
            "{role}"
        );
    }
}

/// The inbox and each alert are the readers' that the profile gives the alert's audience, and
/// an alert about a person is hidden from that person even when they would read its audience
/// (the Headteacher's own traffic).
#[test]
fn each_alert_is_read_by_its_audiences_readers_only_and_never_by_its_subject() {
    use policy::alerts::AlertAudience;
    for name in ["holt", "coleridge"] {
        let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let profile = policy::Profile::from_toml(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        let readers = profile.concerns.alert_readers();
        for role in Role::ALL {
            let inbox = can(&actor(role), Action::HandleAlerts, Object::Alerts(readers));
            let want = if readers.any().contains(role) {
                Decision::Allow
            } else {
                Decision::Deny
            };
            assert_eq!(inbox, want, "{name} {role} inbox");
            for audience in AlertAudience::ALL {
                let of = readers.of(audience);
                let about_other = Object::Alert {
                    id: 1,
                    readers: of,
                    about: Some(SOMEONE),
                };
                let want = if of.contains(role) {
                    Decision::Allow
                } else {
                    Decision::Hide
                };
                let got = can(&actor(role), Action::HandleAlerts, about_other);
                assert_eq!(got, want, "{name} {role} {audience:?}");
                let about_me = Object::Alert {
                    id: 1,
                    readers: of,
                    about: Some(ME),
                };
                let got = can(&actor(role), Action::HandleAlerts, about_me);
                assert_eq!(got, Decision::Hide, "{name} {role} {audience:?} about me");
            }
        }
    }
}

#[test]
fn a_register_is_the_people_administrators_where_the_profile_keeps_it_and_hidden_elsewhere() {
    for role in Role::ALL {
        let kept = can(
            &actor(role),
            Action::ManageDataProcessors,
            Object::Register { kept: true },
        );
        let want = if matches!(role, Role::Headteacher | Role::DataManager) {
            Decision::Allow
        } else {
            Decision::Deny
        };
        assert_eq!(kept, want, "{role}");
        let absent = can(
            &actor(role),
            Action::ManageDataProcessors,
            Object::Register { kept: false },
        );
        assert_eq!(absent, Decision::Hide, "{role}");
    }
}

/// A parent answers photo consent for their own child only; nobody else does it this way.
#[test]
fn only_a_parent_answers_consent_and_only_for_their_own_child() {
    for role in Role::ALL {
        for own in [true, false] {
            let got = can(
                &actor(role),
                Action::AnswerConsentForChild,
                Object::Child {
                    pupil: SOMEONE,
                    own,
                },
            );
            let want = if own && role == Role::Parent {
                Decision::Allow
            } else {
                Decision::Deny
            };
            assert_eq!(got, want, "{role} own={own}");
        }
    }
}

/// The weekly monitoring report: the DSL, deputies and Headteacher always, and the profile's
/// first point of contact (asked about the queue with that role as its team).
#[test]
fn the_weekly_report_is_read_by_the_leads_the_head_and_the_first_point_of_contact() {
    let first_contact = RoleSet::of(Role::OnlineSafetyCoordinator);
    for role in Role::ALL {
        let want = matches!(
            role,
            Role::Dsl | Role::DeputyDsl | Role::Headteacher | Role::OnlineSafetyCoordinator
        );
        assert_eq!(
            can(
                &actor(role),
                Action::ViewWeeklyReport,
                Object::Queue {
                    team: first_contact
                }
            ),
            if want {
                Decision::Allow
            } else {
                Decision::Deny
            },
            "{role}"
        );
    }
}

#[test]
fn guest_accounts_are_made_by_the_roles_the_profile_names() {
    let named = [Role::DataManager, Role::Staff];
    for role in Role::ALL {
        let got = can(
            &actor(role),
            Action::CreateGuest,
            Object::Guests { created_by: &named },
        );
        let want = if named.contains(&role) {
            Decision::Allow
        } else {
            Decision::Deny
        };
        assert_eq!(got, want, "{role}");
    }
}

#[test]
fn subject_access_is_exported_by_the_data_manager_and_head_and_erased_by_the_data_manager() {
    for role in Role::ALL {
        let export = matches!(role, Role::DataManager | Role::Headteacher);
        let erase = role == Role::DataManager;
        for (action, allowed) in [
            (Action::ExportSubjectAccess, export),
            (Action::EraseRecords, erase),
        ] {
            let want = if allowed {
                Decision::Allow
            } else {
                Decision::Hide
            };
            assert_eq!(
                can(&actor(role), action, Object::Person(SOMEONE)),
                want,
                "{role} {action:?}"
            );
            // Their own record goes through the school like anyone's: not found.
            assert_eq!(
                can(&actor(role), action, Object::Person(ME)),
                Decision::Hide,
                "{role} {action:?} of themself"
            );
            // Without a person there is nothing to export (the school-level table says Deny).
            assert_eq!(can(&actor(role), action, Object::School), Decision::Deny);
        }
    }
}

/// An import gives its new people their roles: asked about them, the people administrators may
/// import whom they may give (pupils, parents, teachers, staff); a role that reads anything
/// they cannot read, or a concern reader, only as `grant_decision` says.
#[test]
fn an_import_is_allowed_the_roles_its_importer_may_give() {
    use Role::*;
    let object = |roles: &[Role]| Object::Roles {
        holder: None,
        roles: roles.iter().copied().collect(),
        audiences: holt(),
    };
    let everyday = [Pupil, Parent, Teacher, Staff];
    for by in Role::ALL {
        let admin = matches!(by, Headteacher | DataManager);
        assert_eq!(
            can(&actor(by), Action::ImportPeople, object(&everyday)),
            allow(admin),
            "{by}"
        );
        assert_eq!(
            can(&actor(by), Action::ImportPeople, object(&[])),
            allow(admin),
            "{by} with nobody new"
        );
        // Nobody imports a DSL; the network manager (who reads the access log) only the
        // Headteacher, who reads it too.
        assert_eq!(
            can(&actor(by), Action::ImportPeople, object(&[Teacher, Dsl])),
            Decision::Deny,
            "{by}"
        );
        assert_eq!(
            can(&actor(by), Action::ImportPeople, object(&[NetworkManager])),
            allow(by == Headteacher),
            "{by}"
        );
    }
    // The permit covers the roles asked about and fewer, for no one already there.
    let Ok(p) = policy::permit(&actor(DataManager), Action::ImportPeople, object(&everyday)) else {
        panic!("the data manager may import");
    };
    let roles = |roles: &[Role]| Target::Roles {
        holder: None,
        roles: roles.iter().copied().collect(),
    };
    assert!(p.covers(Action::ImportPeople, roles(&[Pupil, Parent])));
    assert!(!p.covers(Action::ImportPeople, roles(&[Dsl])));
    assert!(!p.covers(Action::GrantRole, roles(&[Pupil])));
}

use crate::shipped;
use policy::{Role, RoleSet, RouteKind, route};

#[test]
fn a_concern_about_a_pupil_goes_to_the_first_point_of_contact() {
    let holt = route(&shipped("holt").concerns, &[RoleSet::of(Role::Pupil)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(holt.kind, RouteKind::Safeguarding);
    assert_eq!(holt.first_contact, Role::Dsl);
    assert!(holt.audience.contains(Role::Dsl));
    let col = route(&shipped("coleridge").concerns, &[RoleSet::of(Role::Pupil)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(col.first_contact, Role::OnlineSafetyCoordinator);
    assert!(col.audience.contains(Role::OnlineSafetyCoordinator));
}

#[test]
fn a_concern_about_staff_goes_to_the_headteacher_only() {
    for name in ["holt", "coleridge"] {
        let r = route(
            &shipped(name).concerns,
            &[RoleSet::of(Role::Pupil), RoleSet::of(Role::Teacher)],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.kind, RouteKind::AboutStaff);
        assert_eq!(r.audience, RoleSet::of(Role::Headteacher));
        assert!(!r.audience.contains(Role::Dsl));
    }
}

#[test]
fn a_concern_about_the_headteacher_goes_to_the_chair_and_lado_where_the_profile_says() {
    let col = route(
        &shipped("coleridge").concerns,
        &[RoleSet::of(Role::Headteacher)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(col.kind, RouteKind::AboutHeadteacher);
    assert_eq!(col.audience, RoleSet::of(Role::ChairOfGovernors));
    assert!(col.lado_required);
    let holt = route(&shipped("holt").concerns, &[RoleSet::of(Role::Headteacher)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(holt.audience, RoleSet::of(Role::ChairOfGovernors));
    assert!(!holt.lado_required);
}

#[test]
fn a_headteacher_who_is_also_dsl_is_still_routed_as_headteacher() {
    let both: RoleSet = [Role::Headteacher, Role::Dsl].into_iter().collect();
    let r = route(&shipped("holt").concerns, &[both]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.kind, RouteKind::AboutHeadteacher);
}

/// Every case where the route's own audience are all subjects, for both shipped profiles.
#[test]
fn no_route_is_left_with_only_its_subjects_in_the_audience() {
    let head = RoleSet::of(Role::Headteacher);
    let chair = RoleSet::of(Role::ChairOfGovernors);
    let governor = RoleSet::of(Role::Governor);
    let teacher = RoleSet::of(Role::Teacher);
    let pupil = RoleSet::of(Role::Pupil);
    let head_and_chair: RoleSet = [Role::Headteacher, Role::ChairOfGovernors]
        .into_iter()
        .collect();
    // (subjects, a role of the audience expected and whether the fallback took it); None:
    // refused.
    type Case<'a> = (&'a [RoleSet], Option<(Role, bool)>);
    let table: [Case; 7] = [
        (&[pupil], Some((Role::Dsl, false))),
        (&[teacher], Some((Role::Headteacher, false))),
        (&[head], Some((Role::ChairOfGovernors, false))),
        (&[head, chair], Some((Role::Governor, true))),
        (&[chair, head, pupil], Some((Role::Governor, true))),
        (&[head_and_chair], Some((Role::Governor, true))),
        (&[head, chair, governor], None),
    ];
    for name in ["holt", "coleridge"] {
        let concerns = shipped(name).concerns;
        for (subjects, expected) in table {
            let got = route(&concerns, subjects);
            match (got, expected) {
                (Ok(r), Some((role, fallback))) => {
                    assert!(r.audience.contains(role), "{name} {subjects:?}: {r:?}");
                    assert_eq!(r.fallback, fallback, "{name} {subjects:?}");
                    let held: RoleSet = subjects.iter().flat_map(|s| s.iter()).collect();
                    assert!(
                        r.audience.iter().any(|a| !held.contains(a)),
                        "{name} {subjects:?}: {r:?}"
                    );
                    assert!(!held.contains(r.first_contact), "{name} {subjects:?}");
                    if fallback {
                        assert!(r.lado_required, "{name}: the fallback keeps the LADO step");
                        assert_eq!(r.kind, RouteKind::AboutHeadteacher);
                        assert_eq!(r.first_contact, Role::Governor);
                    }
                }
                (Err(e), None) => {
                    let e = e.to_string();
                    assert!(e.starts_with("subjects:") && e.contains("LADO"), "{e}");
                }
                (got, expected) => panic!("{name} {subjects:?}: {got:?}, expected {expected:?}"),
            }
        }
    }
}

#[test]
fn a_concern_about_the_head_and_the_chair_is_refused_with_the_reason_without_a_fallback() {
    let mut concerns = shipped("holt").concerns;
    concerns.fallback = None;
    let err = route(
        &concerns,
        &[
            RoleSet::of(Role::Headteacher),
            RoleSet::of(Role::ChairOfGovernors),
        ],
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains("Chair of Governors") && err.contains("concerns.fallback"),
        "{err}"
    );
    // A concern about the head alone still goes to the chair.
    assert!(route(&concerns, &[RoleSet::of(Role::Headteacher)]).is_ok());
}

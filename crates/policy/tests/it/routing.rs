use crate::shipped;
use policy::{Role, RoleSet, RouteKind, route};

#[test]
fn a_concern_about_a_pupil_goes_to_the_first_point_of_contact() {
    let holt = route(&shipped("holt").concerns, &[RoleSet::of(Role::Pupil)]);
    assert_eq!(holt.kind, RouteKind::Safeguarding);
    assert_eq!(holt.first_contact, Role::Dsl);
    assert!(holt.audience.contains(Role::Dsl));
    let col = route(&shipped("coleridge").concerns, &[RoleSet::of(Role::Pupil)]);
    assert_eq!(col.first_contact, Role::OnlineSafetyCoordinator);
    assert!(col.audience.contains(Role::OnlineSafetyCoordinator));
}

#[test]
fn a_concern_about_staff_goes_to_the_headteacher_only() {
    for name in ["holt", "coleridge"] {
        let r = route(
            &shipped(name).concerns,
            &[RoleSet::of(Role::Pupil), RoleSet::of(Role::Teacher)],
        );
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
    );
    assert_eq!(col.kind, RouteKind::AboutHeadteacher);
    assert_eq!(col.audience, RoleSet::of(Role::ChairOfGovernors));
    assert!(col.lado_required);
    let holt = route(&shipped("holt").concerns, &[RoleSet::of(Role::Headteacher)]);
    assert_eq!(holt.audience, RoleSet::of(Role::ChairOfGovernors));
    assert!(!holt.lado_required);
}

#[test]
fn a_headteacher_who_is_also_dsl_is_still_routed_as_headteacher() {
    let both: RoleSet = [Role::Headteacher, Role::Dsl].into_iter().collect();
    let r = route(&shipped("holt").concerns, &[both]);
    assert_eq!(r.kind, RouteKind::AboutHeadteacher);
}

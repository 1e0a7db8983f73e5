//! Repository tests; every one runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod audit;
mod concerns;
mod gaps;
mod people;
mod reviews;

use policy::{PersonKind, Profile, Role, RoleSet};
use store::{NewPerson, Store};

/// The server operator's permit to give any role (as `palisade user add` does).
pub fn operator() -> policy::Permit {
    policy::Permit::for_operator(policy::Action::GrantRole)
}

/// The server operator's permit for `action` on anything.
pub fn operator_for(action: policy::Action) -> policy::Permit {
    policy::Permit::for_operator(action)
}

/// The permit person `id` files a report with (anyone signed in may).
pub fn reporting(id: i64) -> policy::Permit {
    let reporter = policy::Actor {
        person_id: id,
        roles: RoleSet::of(Role::Staff),
    };
    policy::permit(
        &reporter,
        policy::Action::ReportConcern,
        policy::Object::School,
    )
    .unwrap()
}

pub fn profile(name: &str) -> Profile {
    let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Profile::from_toml(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

pub async fn person(store: &Store, username: &str, kind: PersonKind, role: Role) -> i64 {
    store
        .create_person(
            &operator(),
            RoleSet::EMPTY,
            &NewPerson {
                username: username.into(),
                display_name: format!("{username} Example"),
                kind,
                roles: RoleSet::of(role),
                year_group: (kind == PersonKind::Pupil).then(|| "Year 5".into()),
                class_name: (kind == PersonKind::Pupil).then(|| "5B".into()),
            },
        )
        .await
        .unwrap()
}

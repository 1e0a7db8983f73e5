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

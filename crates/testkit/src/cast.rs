//! One cast of people for repository tests, made through the store's own API with the
//! operator's permits, and the permits and profiles those tests use.

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

/// A shipped profile (`holt`, `coleridge`), parsed.
pub fn profile(name: &str) -> Profile {
    let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Profile::from_toml(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

/// The Chair of Governors, `chair`.
pub async fn chair(store: &Store) -> i64 {
    let kind = PersonKind::Governor;
    person(store, "chair", kind, Role::ChairOfGovernors).await
}

/// The cast most concern tests need, created in this order: a DSL (`dsl`), a teacher who
/// reports (`teacher1`) and a pupil the reports are about (`pupil1`), under Holt's profile.
pub struct Cast {
    pub holt: Profile,
    pub dsl: i64,
    pub teacher: i64,
    pub pupil: i64,
}

impl Cast {
    pub async fn new(store: &Store) -> Cast {
        Cast {
            holt: profile("holt"),
            dsl: person(store, "dsl", PersonKind::Staff, Role::Dsl).await,
            teacher: person(store, "teacher1", PersonKind::Staff, Role::Teacher).await,
            pupil: person(store, "pupil1", PersonKind::Pupil, Role::Pupil).await,
        }
    }

    /// A staff report by the teacher about the pupil; its id.
    pub async fn file(&self, store: &Store, report: &store::NewConcern) -> i64 {
        let permit = reporting(self.teacher);
        store
            .create_concern(&permit, &self.holt.concerns, report)
            .await
            .unwrap()
    }
}

/// Adds a person of `kind` holding `role` with the operator's permit (a pupil in Year 5, class
/// 5B); their id.
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

//! The compliance registers' storage, on both backends.

use crate::person;
use policy::registers::NewProcessor;
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet};
use store::both_backends;

/// A data manager's permit for the data processors register of a school that keeps one.
pub fn register_permit(id: i64) -> policy::Permit {
    let actor = Actor {
        person_id: id,
        roles: RoleSet::of(Role::DataManager),
    };
    policy::permit(
        &actor,
        Action::ManageDataProcessors,
        Object::Register { kept: true },
    )
    .unwrap()
}

/// A processor as a form would send it.
pub fn arbor() -> NewProcessor {
    NewProcessor {
        name: "Arbor MIS".into(),
        purpose: "Management information system".into(),
        data_shared: "Names, attendance, contacts".into(),
        whose_data: vec!["pupils".into(), "parents".into()],
        agreement_on: "2024-09-01".into(),
        renewal_on: "2027-08-31".into(),
        transfer: "S2S".into(),
        stored_where: "UK".into(),
        dpia_done: true,
        review_on: "2026-09-01".into(),
    }
}

both_backends!(
    a_data_processor_is_added_with_its_permit_and_audited,
    |store, _db| {
        let dm = person(&store, "dm", PersonKind::Staff, Role::DataManager).await;
        let id = store
            .add_processor(&register_permit(dm), &arbor().check().unwrap())
            .await
            .unwrap();
        let second = NewProcessor {
            name: "Accident Book Online".into(),
            renewal_on: String::new(),
            dpia_done: false,
            whose_data: vec!["staff".into()],
            ..arbor()
        };
        store
            .add_processor(&register_permit(dm), &second.check().unwrap())
            .await
            .unwrap();
        let all = store.processors().await.unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Accident Book Online", "Arbor MIS"]);
        let stored = all.iter().find(|p| p.id == id).unwrap();
        assert_eq!(stored.whose_data, "pupils,parents");
        assert_eq!(stored.renewal_on.as_deref(), Some("2027-08-31"));
        assert!(stored.dpia_done && !all[0].dpia_done);
        assert_eq!(all[0].renewal_on, None);
        let audit = store
            .audit_of("data_processor", &id.to_string())
            .await
            .unwrap();
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].action, "data_processor.added");
        assert!(audit[0].details.contains("pupils,parents"), "{audit:?}");
        // A permit for anything else is refused, and nothing is stored.
        let other = crate::operator_for(Action::ManageDevices);
        assert!(
            store
                .add_processor(&other, &arbor().check().unwrap())
                .await
                .is_err()
        );
        assert_eq!(store.processors().await.unwrap().len(), 2);
    }
);

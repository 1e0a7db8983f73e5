use crate::person;
use policy::{PersonKind, Role, RoleSet};
use store::{NewPerson, StoreError, both_backends};

both_backends!(people_are_created_found_and_listed, |store, _db| {
    let id = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
    let p = store.person_by_username("pupil1").await.unwrap().unwrap();
    assert_eq!(p.id, id);
    assert_eq!(p.kind, PersonKind::Pupil);
    assert!(p.roles.contains(Role::Pupil));
    assert_eq!(p.class_name.as_deref(), Some("5B"));
    assert!(p.active);
    person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
    assert_eq!(store.people(None).await.unwrap().len(), 2);
    assert_eq!(
        store.people(Some(PersonKind::Staff)).await.unwrap().len(),
        1
    );
});

both_backends!(
    a_taken_username_is_a_conflict_and_adds_nothing,
    |store, _db| {
        person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let again = NewPerson {
            username: "dsl".into(),
            display_name: "Another".into(),
            kind: PersonKind::Staff,
            roles: RoleSet::of(Role::Teacher),
            year_group: None,
            class_name: None,
        };
        assert!(matches!(
            store.create_person(None, &again).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.people(None).await.unwrap().len(), 1);
    }
);

both_backends!(bad_people_are_refused_naming_the_field, |store, _db| {
    let bad = NewPerson {
        username: "Bad Name".into(),
        display_name: "x".into(),
        kind: PersonKind::Pupil,
        roles: RoleSet::of(Role::Pupil),
        year_group: None,
        class_name: None,
    };
    let err = store
        .create_person(None, &bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("username"), "{err}");
    let pupil_as_head = NewPerson {
        username: "p".into(),
        roles: RoleSet::of(Role::Headteacher),
        ..bad
    };
    let err = store
        .create_person(None, &pupil_as_head)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("roles"), "{err}");
    assert!(store.people(None).await.unwrap().is_empty());
});

both_backends!(parents_are_linked_to_their_children_only, |store, _db| {
    let child = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
    let parent = person(&store, "parent1", PersonKind::Parent, Role::Parent).await;
    store.link_parent(None, parent, child).await.unwrap();
    store.link_parent(None, parent, child).await.unwrap();
    let kids = store.children_of(parent).await.unwrap();
    assert_eq!(kids.iter().map(|p| p.id).collect::<Vec<_>>(), vec![child]);
    assert_eq!(store.parents_of(child).await.unwrap()[0].id, parent);
    assert!(store.link_parent(None, child, parent).await.is_err());
});

both_backends!(
    five_failed_logins_lock_an_account_for_fifteen_minutes,
    |store, _db| {
        let id = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        store.create_account(None, id, "hash").await.unwrap();
        for _ in 0..4 {
            assert!(!store.record_failed_login(id, 5, 15).await.unwrap());
        }
        assert!(store.record_failed_login(id, 5, 15).await.unwrap());
        let acc = store.account(id).await.unwrap().unwrap();
        let now = store.now_utc();
        assert!(acc.locked_at(now + chrono::Duration::minutes(14)));
        assert!(!acc.locked_at(now + chrono::Duration::minutes(16)));
    }
);

both_backends!(sessions_end_when_the_account_is_disabled, |store, _db| {
    let id = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
    let admin = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
    store.create_account(None, id, "hash").await.unwrap();
    store
        .start_session(id, "tokhash", "csrf", chrono::Duration::hours(8))
        .await
        .unwrap();
    assert!(store.session("tokhash").await.unwrap().is_some());
    store.set_account_active(admin, id, false).await.unwrap();
    assert!(store.session("tokhash").await.unwrap().is_none());
});

both_backends!(
    sessions_and_lockouts_end_by_the_stores_clock_across_midnight,
    |_store, db| {
        // Just before midnight UTC: a session for eight hours and a lockout for fifteen minutes
        // run on into the next day by the store's clock, not the machine's.
        let clock = store::Clock::manual(clock::parse_instant("2026-12-01T23:58:00Z").unwrap());
        let store = db.store_on(clock.clone()).await;
        let id = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        store
            .create_account(
                None,
                id,
                &store::passwords::hash("a long password").unwrap(),
            )
            .await
            .unwrap();
        store
            .start_session(id, "tokhash", "csrf", chrono::Duration::hours(8))
            .await
            .unwrap();
        clock.advance(chrono::Duration::hours(7) + chrono::Duration::minutes(59));
        assert!(store.session("tokhash").await.unwrap().is_some());
        clock.advance(chrono::Duration::minutes(2));
        assert!(store.session("tokhash").await.unwrap().is_none());
        for _ in 0..5 {
            let _ = store.record_failed_login(id, 5, 15).await.unwrap();
        }
        let locked = |store: store::Store| async move {
            matches!(
                store
                    .check_credentials("teacher1", "a long password", 5, 15)
                    .await
                    .unwrap(),
                Err(store::passwords::LoginFailure::Locked)
            )
        };
        clock.advance(chrono::Duration::minutes(14));
        assert!(locked(store.clone()).await, "locked for 15 minutes");
        clock.advance(chrono::Duration::minutes(2));
        assert!(!locked(store.clone()).await, "free after 15 minutes");
        store.close().await;
    }
);

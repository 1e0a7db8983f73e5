use crate::{operator, operator_for, person, profile};
use policy::{PersonKind, Role, RoleSet};
use store::{NewPerson, RoleChange, StoreError, both_backends};

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
            store
                .create_person(&operator(), RoleSet::EMPTY, &again)
                .await,
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
        .create_person(&operator(), RoleSet::EMPTY, &bad)
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
        .create_person(&operator(), RoleSet::EMPTY, &pupil_as_head)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("roles"), "{err}");
    assert!(store.people(None).await.unwrap().is_empty());
});

both_backends!(parents_are_linked_to_their_children_only, |store, _db| {
    let child = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
    let parent = person(&store, "parent1", PersonKind::Parent, Role::Parent).await;
    let link = policy::Permit::for_operator(policy::Action::ManagePeople);
    store.link_parent(&link, parent, child).await.unwrap();
    store.link_parent(&link, parent, child).await.unwrap();
    let kids = store.children_of(parent).await.unwrap();
    assert_eq!(kids.iter().map(|p| p.id).collect::<Vec<_>>(), vec![child]);
    assert_eq!(store.parents_of(child).await.unwrap()[0].id, parent);
    assert!(store.link_parent(&link, child, parent).await.is_err());
});

both_backends!(
    five_failed_logins_lock_an_account_for_fifteen_minutes,
    |store, _db| {
        let id = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        store.create_account(&operator(), id, "hash").await.unwrap();
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
    store.create_account(&operator(), id, "hash").await.unwrap();
    store
        .start_session(id, "tokhash", "csrf", chrono::Duration::hours(8))
        .await
        .unwrap();
    assert!(store.session("tokhash").await.unwrap().is_some());
    let head = policy::Actor {
        person_id: admin,
        roles: RoleSet::of(Role::Headteacher),
    };
    let audiences = profile("holt").concerns.audiences();
    let permit = policy::permit(
        &head,
        policy::Action::DeactivateAccount,
        policy::Object::Roles {
            holder: Some(id),
            roles: RoleSet::of(Role::Teacher),
            audiences,
        },
    )
    .unwrap();
    store
        .set_account_active(&permit, audiences.safeguarding_roles(), id, false)
        .await
        .unwrap();
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
                &operator(),
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

both_backends!(
    a_safeguarding_role_given_is_audited_and_mailed_to_the_dsl_and_the_chair,
    |store, _db| {
        let audiences = profile("holt").concerns.audiences();
        let safeguarding = audiences.safeguarding_roles();
        let dsl = person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let chair = crate::chair(&store).await;
        let teacher = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        store
            .set_email(
                &operator_for(policy::Action::ManagePeople),
                dsl,
                Some("dsl@school.example"),
            )
            .await
            .unwrap();
        store
            .set_email(
                &operator_for(policy::Action::ManagePeople),
                chair,
                Some("chair@school.example"),
            )
            .await
            .unwrap();
        store
            .set_email(
                &operator_for(policy::Action::ManagePeople),
                teacher,
                Some("t1@school.example"),
            )
            .await
            .unwrap();
        let actor = policy::Actor {
            person_id: dsl,
            roles: RoleSet::of(Role::Dsl),
        };
        let deputy = RoleSet::of(Role::DeputyDsl);
        let permit = policy::permit(
            &actor,
            policy::Action::GrantRole,
            policy::Object::Roles {
                holder: None,
                roles: deputy,
                audiences,
            },
        )
        .unwrap();
        // A permit for something else is refused before anything changes.
        let wrong = policy::Permit::for_operator(policy::Action::RemoveRole);
        let new = NewPerson {
            username: "deputy".into(),
            display_name: "New Deputy".into(),
            kind: PersonKind::Staff,
            roles: deputy,
            year_group: None,
            class_name: None,
        };
        assert!(
            store
                .create_person(&wrong, safeguarding, &new)
                .await
                .is_err()
        );
        let id = store
            .create_person(&permit, safeguarding, &new)
            .await
            .unwrap();
        let audit = store.audit_role_changes(None, 10).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "person.created"
                && e.actor_id == Some(dsl)
                && e.object_id == id.to_string()
                && e.details.contains("deputy_dsl")),
            "{audit:?}"
        );
        let mut to: Vec<String> = store
            .due_mail(10)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "role_change")
            .map(|m| m.recipient)
            .collect();
        to.sort();
        assert_eq!(to, ["chair@school.example", "dsl@school.example"]);
        // A role that is not a safeguarding role is audited and mails nobody.
        let permit = policy::permit(
            &policy::Actor {
                person_id: dsl,
                roles: RoleSet::of(Role::DataManager),
            },
            policy::Action::GrantRole,
            policy::Object::Roles {
                holder: Some(teacher),
                roles: RoleSet::of(Role::Staff),
                audiences,
            },
        )
        .unwrap();
        store
            .change_roles(
                &permit,
                safeguarding,
                teacher,
                RoleChange::Granted(RoleSet::of(Role::Staff)),
            )
            .await
            .unwrap();
        let p = store.person(teacher).await.unwrap().unwrap();
        assert!(p.roles.contains(Role::Staff) && p.roles.contains(Role::Teacher));
        let audit = store.audit_role_changes(None, 1).await.unwrap();
        assert_eq!(audit[0].action, "role.granted");
        assert_eq!(audit[0].object_id, teacher.to_string());
        assert_eq!(store.due_mail(10).await.unwrap().len(), 2);
        store.verify_audit().await.unwrap();
    }
);

both_backends!(
    a_welcome_link_sets_the_first_password_once_and_not_after_it_expires,
    |store, _db| {
        let id = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let late = person(&store, "teacher2", PersonKind::Staff, Role::Teacher).await;
        let now = store.now_utc();
        let at = store::timestamp(now);
        let week = store::timestamp(now + chrono::Duration::days(7));
        store
            .invite_account(&operator(), id, "tokenhash1", &at, &week)
            .await
            .unwrap();
        store
            .invite_account(&operator(), late, "tokenhash2", &at, &week)
            .await
            .unwrap();
        let acc = store.account(id).await.unwrap().unwrap();
        assert!(!store::passwords::verify("", &acc.password_hash));
        assert_eq!(
            store
                .welcome_for("tokenhash1", &at)
                .await
                .unwrap()
                .map(|p| p.id),
            Some(id)
        );
        assert_eq!(store.welcome_for("nope", &at).await.unwrap(), None);
        assert_eq!(
            store
                .accept_welcome("tokenhash1", "newhash", &at)
                .await
                .unwrap(),
            Some(id)
        );
        assert_eq!(
            store.account(id).await.unwrap().unwrap().password_hash,
            "newhash"
        );
        // Used once: never again.
        assert_eq!(
            store
                .accept_welcome("tokenhash1", "other", &at)
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.welcome_for("tokenhash1", &at).await.unwrap(), None);
        // Expired: refused.
        let later = store::timestamp(now + chrono::Duration::days(8));
        assert_eq!(store.welcome_for("tokenhash2", &later).await.unwrap(), None);
        assert_eq!(
            store
                .accept_welcome("tokenhash2", "h", &later)
                .await
                .unwrap(),
            None
        );
        store.verify_audit().await.unwrap();
    }
);

both_backends!(
    a_permit_for_one_person_is_refused_for_another,
    |store, _db| {
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let t1 = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let t2 = person(&store, "teacher2", PersonKind::Staff, Role::Teacher).await;
        let pupil1 = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let pupil2 = person(&store, "pupil2", PersonKind::Pupil, Role::Pupil).await;
        let parent = person(&store, "parent1", PersonKind::Parent, Role::Parent).await;
        let headteacher = policy::Actor {
            person_id: head,
            roles: RoleSet::of(Role::Headteacher),
        };
        let ask =
            |action, id| policy::permit(&headteacher, action, policy::Object::Person(id)).unwrap();
        // Linking a parent to pupil1 does not link them to pupil2.
        let link = ask(policy::Action::ManagePeople, pupil1);
        assert!(matches!(
            store.link_parent(&link, parent, pupil2).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.children_of(parent).await.unwrap().is_empty());
        store.link_parent(&link, parent, pupil1).await.unwrap();
        // A mail address, and an unlock, for one person only.
        assert!(matches!(
            store
                .set_email(&link, pupil2, Some("x@school.example"))
                .await,
            Err(StoreError::Conflict(_))
        ));
        store.create_account(&operator(), t2, "hash").await.unwrap();
        let unlock = ask(policy::Action::ManageSignIns, t1);
        assert!(matches!(
            store.unlock_account(&unlock, t2).await,
            Err(StoreError::Conflict(_))
        ));
        // One's own password is one's own.
        let me = policy::Actor {
            person_id: t1,
            roles: RoleSet::of(Role::Teacher),
        };
        let own = policy::permit(
            &me,
            policy::Action::ManageOwnAccount,
            policy::Object::Person(t1),
        )
        .unwrap();
        assert!(matches!(
            store.set_password(&own, t2, "other").await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.account(t2).await.unwrap().unwrap().password_hash,
            "hash"
        );
    }
);

both_backends!(
    the_people_list_filters_pages_and_joins_accounts_in_one_read,
    |store, _db| {
        // 25 pupils in two year groups, three staff (one with an account), a parent called
        // "100% Parent" whose `%` must be matched as itself.
        for i in 0..25 {
            let year = if i % 2 == 0 { "Year 10" } else { "Year 2" };
            store
                .create_person(
                    &operator(),
                    RoleSet::EMPTY,
                    &NewPerson {
                        username: format!("pupil{i:02}"),
                        display_name: format!("Pupil Number{i:02}"),
                        kind: PersonKind::Pupil,
                        roles: RoleSet::of(Role::Pupil),
                        year_group: Some(year.into()),
                        class_name: None,
                    },
                )
                .await
                .unwrap();
        }
        let teacher = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        person(&store, "teacher2", PersonKind::Staff, Role::Teacher).await;
        person(&store, "office", PersonKind::Staff, Role::DataManager).await;
        let hash = store::passwords::hash("correct horse battery").unwrap();
        store
            .create_account(&operator(), teacher, &hash)
            .await
            .unwrap();
        store
            .create_person(
                &operator(),
                RoleSet::EMPTY,
                &NewPerson {
                    username: "parent1".into(),
                    display_name: "100% Parent".into(),
                    kind: PersonKind::Parent,
                    roles: RoleSet::of(Role::Parent),
                    year_group: None,
                    class_name: None,
                },
            )
            .await
            .unwrap();
        let page = |q: store::PeopleQuery| {
            let store = store.clone();
            async move { store.people_page(&q).await.unwrap() }
        };
        let all = page(store::PeopleQuery {
            limit: 10,
            ..Default::default()
        })
        .await;
        assert_eq!(all.total, 29);
        assert_eq!(all.people.len(), 10);
        // The last page holds what is left, in the same order as the whole list.
        let last = page(store::PeopleQuery {
            offset: 20,
            limit: 10,
            ..Default::default()
        })
        .await;
        assert_eq!(last.people.len(), 9);
        let whole: Vec<i64> = store
            .people(None)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        let mut paged = Vec::new();
        for offset in [0, 10, 20] {
            let p = page(store::PeopleQuery {
                offset,
                limit: 10,
                ..Default::default()
            })
            .await;
            paged.extend(p.people.iter().map(|l| l.person.id));
        }
        assert_eq!(paged, whole);
        // Kind, year and text, in any case; each person's account comes with them.
        let staff = page(store::PeopleQuery {
            kind: Some(PersonKind::Staff),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(staff.total, 3);
        let with_accounts: Vec<&str> = staff
            .people
            .iter()
            .filter(|l| l.account.as_ref().is_some_and(|a| a.is_active()))
            .map(|l| l.person.username.as_str())
            .collect();
        assert_eq!(with_accounts, ["teacher1"]);
        let year2 = page(store::PeopleQuery {
            year_group: Some("Year 2".into()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(year2.total, 12);
        let found = page(store::PeopleQuery {
            text: Some("NUMBER0".into()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(found.total, 10);
        let percent = page(store::PeopleQuery {
            text: Some("100%".into()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(percent.total, 1, "`%` is matched as itself");
        let underscore = page(store::PeopleQuery {
            text: Some("_".into()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(underscore.total, 0, "`_` is matched as itself");
        // The year filter offers the years in their order.
        assert_eq!(store.year_groups().await.unwrap(), ["Year 2", "Year 10"]);
    }
);

both_backends!(
    people_by_ids_come_in_the_order_asked_and_skip_the_unknown,
    |store, _db| {
        let a = person(&store, "first", PersonKind::Staff, Role::Teacher).await;
        let b = person(&store, "second", PersonKind::Pupil, Role::Pupil).await;
        let found = store.people_by_ids(&[b, 999_999, a, b]).await.unwrap();
        let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
        assert_eq!(ids, [b, a, b]);
        // More ids than one statement takes.
        let many: Vec<i64> = (0..1_200)
            .map(|i| if i == 1_100 { a } else { -i })
            .collect();
        let found = store.people_by_ids(&many).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].username, "first");
    }
);

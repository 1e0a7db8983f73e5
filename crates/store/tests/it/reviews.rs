use crate::person;
use policy::profile::monitoring::AlertSeverity;
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, permit};
use store::{
    AuditVerdict, FilteringChangedBy, FilteringRecorded, NewFilterEntry, NewReview, ReviewDecision,
    StoreError, both_backends,
};

fn permit_for(id: i64, role: Role, action: Action) -> policy::Permit {
    let actor = Actor {
        person_id: id,
        roles: RoleSet::of(role),
    };
    // Changing the filtering is asked about the profile's filtering (nobody named: the
    // network manager).
    let object = match action {
        Action::ChangeFiltering => Object::Filtering { changes_by: &[] },
        _ => Object::School,
    };
    permit(&actor, action, object).unwrap()
}

/// The DSL's permit to handle alert `alert`.
fn alert_permit(dsl: i64, alert: i64) -> policy::Permit {
    let actor = Actor {
        person_id: dsl,
        roles: RoleSet::of(Role::Dsl),
    };
    let object = Object::Alert {
        id: alert,
        readers: RoleSet::of(Role::Dsl),
        about: None,
    };
    permit(&actor, Action::HandleAlerts, object).unwrap()
}

/// Person `id`'s permit to keep their own account (accept the AUP).
fn blocked(reason: &str) -> NewReview {
    NewReview {
        url: "http://www.gaming-site.example/maths-game".into(),
        host: "www.gaming-site.example".into(),
        category: Some("gaming".into()),
        rule: Some("www.gaming-site.example".into()),
        group_name: "ks2".into(),
        client_ip: "10.1.2.40".into(),
        reason: reason.into(),
    }
}

both_backends!(
    a_request_is_approved_once_into_the_allow_list_with_the_decision_on_record,
    |store, _db| {
        let pupil = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let ask = permit_for(pupil, Role::Pupil, Action::RequestReview);
        let decide = permit_for(netman, Role::NetworkManager, Action::ChangeFiltering);
        let id = store
            .request_review(&ask, &blocked("Our maths homework uses it"))
            .await
            .unwrap();
        let r = store.review(id).await.unwrap();
        assert_eq!(r.status, "pending");
        assert_eq!(r.requester_name, "pupil1 Example");
        assert_eq!(store.reviews_by(pupil, 10).await.unwrap().len(), 1);
        // The wrong permit is refused.
        assert!(matches!(
            store
                .decide_review(&ask, id, &ReviewDecision::Decline { note: "no".into() })
                .await,
            Err(StoreError::Conflict(_))
        ));
        let approve = ReviewDecision::Approve {
            group: "ks2".into(),
            note: "Used in Year 5 maths".into(),
        };
        store.decide_review(&decide, id, &approve).await.unwrap();
        let r = store.review(id).await.unwrap();
        assert_eq!(r.status, "approved");
        assert_eq!(r.decider_name.as_deref(), Some("netman Example"));
        let entries = store.filter_entries().await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].host, "www.gaming-site.example");
        assert_eq!(entries[0].group_name, "ks2");
        assert_eq!(entries[0].review_id, Some(id));
        // Deciding again is a conflict and adds nothing.
        assert!(matches!(
            store.decide_review(&decide, id, &approve).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.filter_entries().await.unwrap().len(), 1);
        // Removal takes it out of force and is on record with the reason.
        store
            .remove_filter_entry(&decide, entries[0].id, "Maths unit finished")
            .await
            .unwrap();
        assert!(store.filter_entries().await.unwrap().is_empty());
        let log = store.audit_of("review", &id.to_string()).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["review.requested", "review.approved"]);
        assert!(log[1].details.contains("Used in Year 5 maths"));
        let removed = store
            .audit_of("allow_entry", &entries[0].id.to_string())
            .await
            .unwrap();
        assert_eq!(removed[0].action, "allowlist.removed");
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    empty_reasons_and_unknown_requests_are_refused_without_change,
    |store, _db| {
        let pupil = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let ask = permit_for(pupil, Role::Pupil, Action::RequestReview);
        let decide = permit_for(netman, Role::NetworkManager, Action::ChangeFiltering);
        let err = store
            .request_review(&ask, &blocked("   "))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("reason"), "{err}");
        assert!(store.reviews(10).await.unwrap().is_empty());
        let id = store
            .request_review(&ask, &blocked("homework"))
            .await
            .unwrap();
        let err = store
            .decide_review(&decide, id, &ReviewDecision::Decline { note: "".into() })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("note"), "{err}");
        assert_eq!(store.review(id).await.unwrap().status, "pending");
        assert!(matches!(
            store
                .decide_review(
                    &decide,
                    id + 100,
                    &ReviewDecision::Decline { note: "x".into() }
                )
                .await,
            Err(StoreError::NotFound { .. })
        ));
        store
            .decide_review(
                &decide,
                id,
                &ReviewDecision::Decline {
                    note: "Not for school".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(store.review(id).await.unwrap().status, "declined");
        assert!(store.filter_entries().await.unwrap().is_empty());
    }
);

fn hit(rule: &str, subject: &str, count: i64) -> store::AlertHit {
    store::AlertHit {
        severity: AlertSeverity::High,
        rule: rule.into(),
        subject: subject.into(),
        count,
        audience: policy::alerts::AlertAudience::Safeguarding,
        event: store::AccessEvent {
            qtype: Some("A".into()),
            category: Some("selfharm".into()),
            rule: Some("selfharm-demo.example".into()),
            ..store::AccessEvent::new(
                store::stamp(store::testing::school_day()),
                "dns",
                "10.1.2.40".into(),
                "ks2".into(),
                "selfharm-demo.example".into(),
                events::LogVerdict::Block,
            )
        },
    }
}

both_backends!(
    a_batch_of_hits_is_recorded_together_as_one_by_one,
    |store, _db| {
        // As the gateways record them: on a connection of the writer's own.
        let mut writer = store.alert_writer();
        let recorded = writer
            .record(
                &[
                    hit("r", "device 10.1.2.40", 3),
                    hit("s", "device 10.1.2.40", 1),
                    hit("r", "device 10.1.2.40", 2),
                    hit("r", "pupil9", 1),
                ],
                60,
            )
            .await
            .unwrap();
        assert_eq!(recorded.len(), 4);
        let [(r, r_new), (s, s_new), (r_again, r_again_new), (p, p_new)] = recorded[..] else {
            panic!("{recorded:?}")
        };
        assert!(r_new && s_new && p_new && !r_again_new);
        assert_eq!(r_again, r);
        assert!(r != s && r != p && s != p);
        assert_eq!(store.alert(r).await.unwrap().count, 5);
        assert!(writer.record(&[], 60).await.unwrap().is_empty());
        // A later batch adds to the same open alert, by either path.
        let later = store
            .record_alert_hits(&[hit("r", "device 10.1.2.40", 4)], 60)
            .await
            .unwrap();
        assert_eq!(later, [(r, false)]);
        assert_eq!(store.alert(r).await.unwrap().count, 9);
        let last = writer
            .record(&[hit("r", "device 10.1.2.40", 1)], 60)
            .await
            .unwrap();
        assert_eq!(last, [(r, false)]);
        assert_eq!(store.alert(r).await.unwrap().count, 10);
    }
);

both_backends!(
    hits_of_one_rule_by_one_subject_add_up_to_one_alert_until_it_is_dismissed,
    |store, _db| {
        let dsl = person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let (a, new) = store
            .record_alert_hit(&hit("r", "device 10.1.2.40", 10), 60)
            .await
            .unwrap();
        assert!(new);
        for _ in 0..40 {
            let (b, new) = store
                .record_alert_hit(&hit("r", "device 10.1.2.40", 1), 60)
                .await
                .unwrap();
            assert_eq!((b, new), (a, false));
        }
        let (other, new) = store
            .record_alert_hit(&hit("r", "pupil9", 1), 60)
            .await
            .unwrap();
        assert!(new && other != a);
        let alert = store.alert(a).await.unwrap();
        assert_eq!(alert.count, 50);
        assert_eq!(alert.events().len(), store::alerts::MAX_EVIDENCE);
        let open = store
            .alerts(
                &store::AlertFilter {
                    status: Some("open".into()),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(open.len(), 2);
        let handle = alert_permit(dsl, a);
        store
            .act_on_alert(&handle, a, &store::AlertAction::Acknowledge)
            .await
            .unwrap();
        let err = store
            .act_on_alert(
                &handle,
                a,
                &store::AlertAction::Dismiss { reason: " ".into() },
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("reason"), "{err}");
        store
            .act_on_alert(
                &handle,
                a,
                &store::AlertAction::Dismiss {
                    reason: "Known, handled in class".into(),
                },
            )
            .await
            .unwrap();
        // A dismissed alert takes no more hits: the next one starts a new alert.
        let (c, new) = store
            .record_alert_hit(&hit("r", "device 10.1.2.40", 1), 60)
            .await
            .unwrap();
        assert!(new && c != a);
        let log = store.audit_of("alert", &a.to_string()).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["alert.acknowledged", "alert.dismissed"]);
    }
);

both_backends!(
    the_inbox_filters_alerts_by_year_group_and_severity,
    |store, _db| {
        let pupil = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await; // Year 5
        let mut about_pupil = hit("high-risk category: selfharm", "pupil1", 1);
        about_pupil.event.person_id = Some(pupil);
        about_pupil.event.username = Some("pupil1".into());
        store.record_alert_hit(&about_pupil, 60).await.unwrap();
        let mut device = hit("repeated blocked attempts", "device 10.1.2.40", 10);
        device.severity = AlertSeverity::Medium;
        store.record_alert_hit(&device, 60).await.unwrap();
        assert_eq!(store.alert_year_groups().await.unwrap(), ["Year 5"]);
        let by_year = store
            .alerts(
                &store::AlertFilter {
                    year_group: Some("Year 5".into()),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(by_year.len(), 1);
        assert_eq!(by_year[0].subject, "pupil1");
        let medium = store
            .alerts(
                &store::AlertFilter {
                    severity: Some(AlertSeverity::Medium),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(medium.len(), 1);
        assert_eq!(medium[0].count, 10);
    }
);

both_backends!(
    the_inbox_shows_only_the_audiences_a_reader_reads_and_never_alerts_about_the_reader,
    |store, _db| {
        use policy::alerts::AlertAudience;
        let teacher = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let mut about_staff = hit("mandatory list: iwf", "teacher1", 1);
        about_staff.audience = AlertAudience::Staff;
        about_staff.event.person_id = Some(teacher);
        about_staff.event.group_name = "staff".into();
        store.record_alert_hit(&about_staff, 60).await.unwrap();
        store
            .record_alert_hit(
                &hit("high-risk category: selfharm", "device 10.1.2.40", 1),
                60,
            )
            .await
            .unwrap();
        let of = |audiences: Vec<AlertAudience>, not_about: Option<i64>| {
            let store = store.clone();
            async move {
                let filter = store::AlertFilter {
                    audiences: Some(audiences),
                    not_about,
                    ..Default::default()
                };
                let alerts = store.alerts(&filter, 10).await.unwrap();
                alerts.into_iter().map(|a| a.subject).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            of(vec![AlertAudience::Safeguarding], None).await,
            ["device 10.1.2.40"]
        );
        assert_eq!(of(vec![AlertAudience::Staff], None).await, ["teacher1"]);
        assert!(
            of(vec![AlertAudience::Staff], Some(teacher))
                .await
                .is_empty()
        );
        assert!(of(vec![], None).await.is_empty());
        let since = store::stamp(store::testing::school_day() - chrono::Duration::days(1));
        let counts = store
            .alert_counts_since(&since, &[AlertAudience::Safeguarding])
            .await
            .unwrap();
        assert_eq!(counts, [("high".to_string(), 1)]);
        let staff = store.alerts(&Default::default(), 10).await.unwrap();
        assert!(staff.iter().any(|a| a.audience == AlertAudience::Staff));
        // A staff alert about the Headteacher's own traffic takes the Headteacher's route.
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let mut about_head = hit("mandatory list: iwf", "head", 1);
        about_head.audience = AlertAudience::Staff;
        about_head.event.person_id = Some(head);
        store.record_alert_hit(&about_head, 60).await.unwrap();
        assert_eq!(
            of(vec![AlertAudience::AboutHeadteacher], None).await,
            ["head"]
        );
        assert_eq!(of(vec![AlertAudience::Staff], None).await, ["teacher1"]);
    }
);

fn entry(kind: &str, host: &str, reason: &str) -> NewFilterEntry {
    NewFilterEntry {
        kind: kind.into(),
        host: host.into(),
        group_name: "ks2".into(),
        reason: reason.into(),
    }
}

both_backends!(
    a_site_is_blocked_directly_once_and_removed_with_who_and_why_on_record,
    |store, _db| {
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let pupil = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let change = permit_for(netman, Role::NetworkManager, Action::ChangeFiltering);
        let ask = permit_for(pupil, Role::Pupil, Action::RequestReview);
        let block = entry("block", "www.new-game.example", "Pupils found it at break");
        // The wrong permit, an unknown kind and a missing reason are refused; nothing is kept.
        assert!(matches!(
            store.add_filter_entry(&ask, &block).await,
            Err(StoreError::Conflict(_))
        ));
        for bad in [
            entry("deny", "www.new-game.example", "why"),
            entry("block", " ", "why"),
            entry("block", "www.new-game.example", "  "),
        ] {
            assert!(
                matches!(
                    store.add_filter_entry(&change, &bad).await,
                    Err(StoreError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(store.filter_entries().await.unwrap().is_empty());
        let id = store.add_filter_entry(&change, &block).await.unwrap();
        // The same entry twice is a conflict; allowing the same host is another entry.
        assert!(matches!(
            store.add_filter_entry(&change, &block).await,
            Err(StoreError::Conflict(_))
        ));
        store
            .add_filter_entry(
                &change,
                &entry("allow", "www.maths.example", "Year 5 maths"),
            )
            .await
            .unwrap();
        let entries = store.filter_entries().await.unwrap();
        let kinds: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.kind.as_str(), e.host.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("allow", "www.maths.example"),
                ("block", "www.new-game.example")
            ]
        );
        assert_eq!(entries[1].added_by_name, "netman Example");
        store
            .remove_filter_entry(&change, id, "The game was taken down")
            .await
            .unwrap();
        assert_eq!(store.filter_entries().await.unwrap().len(), 1);
        let log = store
            .audit_of("block_entry", &id.to_string())
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["blocklist.added", "blocklist.removed"]);
        assert!(log.iter().all(|e| e.actor_id == Some(netman)));
        assert!(log[0].details.contains("Pupils found it at break"));
        assert!(log[1].details.contains("The game was taken down"));
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    each_version_of_the_profiles_filtering_is_recorded_once_with_what_changed,
    |store, _db| {
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let change = permit_for(netman, Role::NetworkManager, Action::ChangeFiltering);
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../profiles/holt.toml"
        ))
        .unwrap();
        let holt = policy::Profile::from_toml(&text, "holt.toml").unwrap();
        let start = FilteringChangedBy::Operator { via: "start" };
        let first = store
            .record_filtering(start, &holt.filtering, "")
            .await
            .unwrap();
        assert!(
            matches!(first, FilteringRecorded::First { .. }),
            "{first:?}"
        );
        // The same section again (a restart) records nothing.
        assert_eq!(
            store
                .record_filtering(start, &holt.filtering, "")
                .await
                .unwrap(),
            FilteringRecorded::Unchanged
        );
        let mut edited = holt.filtering.clone();
        edited.groups[1].block_categories.retain(|c| c != "gaming");
        let FilteringRecorded::Changed { audit_id, changes } = store
            .record_filtering(
                FilteringChangedBy::User(&change),
                &edited,
                "Gaming club uses it in ICT",
            )
            .await
            .unwrap()
        else {
            panic!("expected a change");
        };
        assert_eq!(changes, ["group `ks2`: no longer blocks `gaming`"]);
        // The decision log holds both versions and a direct entry, newest first.
        let entry_id = store
            .add_filter_entry(&change, &entry("block", "www.x.example", "why not"))
            .await
            .unwrap();
        let log = store.filtering_decisions(10).await.unwrap();
        let rows: Vec<(&str, Option<i64>)> = log
            .iter()
            .map(|e| (e.action.as_str(), e.actor_id))
            .collect();
        assert_eq!(
            rows,
            [
                ("blocklist.added", Some(netman)),
                ("filtering.changed", Some(netman)),
                ("filtering.first_recorded", None),
            ]
        );
        assert_eq!(log[0].object_id, entry_id.to_string());
        assert_eq!(log[1].id, audit_id);
        for want in [
            "\"via\":\"web\"",
            "Gaming club uses it in ICT",
            "no longer blocks",
        ] {
            assert!(
                log[1].details.contains(want),
                "{want} not in {}",
                log[1].details
            );
        }
        assert!(log[2].details.contains("\"via\":\"start\""));
    }
);

both_backends!(
    a_permit_for_one_alert_is_refused_for_another,
    |store, _db| {
        let dsl = person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let (a, _) = store
            .record_alert_hit(&hit("r", "device 10.1.2.40", 1), 60)
            .await
            .unwrap();
        let (b, _) = store
            .record_alert_hit(&hit("r", "pupil9", 1), 60)
            .await
            .unwrap();
        let handle_a = alert_permit(dsl, a);
        let err = store
            .act_on_alert(&handle_a, b, &store::AlertAction::Acknowledge)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(store.alert(b).await.unwrap().status, "open");
        store
            .act_on_alert(&handle_a, a, &store::AlertAction::Acknowledge)
            .await
            .unwrap();
        assert_eq!(store.alert(a).await.unwrap().status, "acknowledged");
    }
);

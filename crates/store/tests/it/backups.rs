//! The `backups` table: each daily backup's outcome recorded with its audit row, the newest
//! and the newest verified read back, on both backends; and a SQLite copy's facts.

use store::{AuditHead, both_backends};

both_backends!(
    a_backup_outcome_is_recorded_with_its_audit_row_and_the_newest_verified_read_back,
    |store, _db| {
        assert_eq!(store.last_backup().await.unwrap(), None);
        assert_eq!(store.last_verified_backup().await.unwrap(), None);
        let head = AuditHead {
            count: 3,
            hash: "ab".repeat(32),
        };
        let made = store
            .record_backup("/b/palisade-backup-20261103T100000Z.tar", Ok((7, &head)))
            .await
            .unwrap();
        assert!(made.verified && made.error.is_none());
        assert!(made.made_at <= store.now());
        store.clock().advance(chrono::TimeDelta::hours(24));
        let failed = store
            .record_backup("/b/palisade-backup-20261104T100000Z.tar", Err("disk full"))
            .await
            .unwrap();
        assert!(!failed.verified);
        assert_eq!(store.last_backup().await.unwrap(), Some(failed.clone()));
        assert_eq!(
            store.last_verified_backup().await.unwrap(),
            Some(made.clone())
        );
        assert!(store.backup_tried_since(&failed.made_at).await.unwrap());
        store.clock().advance(chrono::TimeDelta::minutes(1));
        assert!(!store.backup_tried_since(&store.now()).await.unwrap());

        let trail = store
            .audit_of("backup", &made.id.to_string())
            .await
            .unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, "backup.made");
        assert!(
            trail[0].details.contains(&head.to_string()),
            "{}",
            trail[0].details
        );
        let trail = store
            .audit_of("backup", &failed.id.to_string())
            .await
            .unwrap();
        assert_eq!(trail[0].action, "backup.failed");
        assert!(trail[0].details.contains("disk full"));
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
        // Another school sees none of them.
        if store.backend() == store::Backend::Postgres {
            let other = store.add_school("coleridge", "Coleridge").await.unwrap();
            assert_eq!(store.in_school(other.id).last_backup().await.unwrap(), None);
        }
    }
);

both_backends!(
    a_copy_s_facts_count_the_main_tables_and_walk_the_chain,
    |store, _db| {
        let facts = store.backup_facts().await.unwrap();
        assert_eq!(
            facts.schema_version,
            store::latest_schema_version(store.backend())
        );
        for table in store::COUNTED_TABLES {
            assert!(facts.rows.contains_key(*table), "{table}");
        }
        assert_eq!(facts.audit_head, store.audit_head().await.unwrap());
    }
);

both_backends!(
    a_failed_backup_s_alert_goes_to_its_readers_and_a_second_failure_adds_to_it,
    |store, _db| {
        let (id, new) = store
            .raise_backup_alert("the daily backup failed: disk full")
            .await
            .unwrap();
        assert!(new);
        let alert = store.alert(id).await.unwrap();
        assert_eq!(alert.audience, policy::alerts::AlertAudience::Backup);
        assert_eq!(alert.rule, store::backup::BACKUP_RULE);
        assert_eq!(
            alert.severity,
            policy::profile::monitoring::AlertSeverity::High
        );
        // Within the day, another failure adds to the same alert.
        store.clock().advance(chrono::TimeDelta::hours(2));
        let (again, new) = store.raise_backup_alert("again").await.unwrap();
        assert_eq!((again, new), (id, false));
        // The alert's readers: the Headteacher and the network manager, not the teachers.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../profiles/holt.toml"
        ))
        .unwrap();
        let profile = policy::Profile::from_toml(&text, "holt.toml").unwrap();
        let readers = profile.concerns.alert_readers();
        let of = readers.of(policy::alerts::AlertAudience::Backup);
        assert!(of.contains(policy::Role::Headteacher));
        assert!(of.contains(policy::Role::NetworkManager));
        assert!(!of.contains(policy::Role::Teacher));
        let mine = store
            .alerts(
                &store::AlertFilter {
                    audiences: Some(vec![policy::alerts::AlertAudience::Backup]),
                    ..store::AlertFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
    }
);

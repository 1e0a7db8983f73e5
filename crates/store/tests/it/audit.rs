use crate::person;
use policy::{PersonKind, Role};
use store::{AuditVerdict, Backend, both_backends};

both_backends!(the_chain_verifies_and_names_a_changed_row, |store, db| {
    for i in 0..6 {
        person(&store, &format!("pupil{i}"), PersonKind::Pupil, Role::Pupil).await;
    }
    match store.verify_audit().await.unwrap() {
        AuditVerdict::Intact { rows, .. } => assert_eq!(rows, 6),
        broken => panic!("{broken:?}"),
    }
    // Tamper with row 4 the way someone with the database file or a superuser login would:
    // the append-only trigger is removed first, then one byte of the details changes.
    match store.backend() {
        Backend::Sqlite => {
            store.close().await;
            testkit::tamper(db, TAMPER);
            let store = db.store().await;
            assert_broken_at(&store, 4).await;
        }
        Backend::Postgres => {
            testkit::tamper(db, TAMPER);
            assert_broken_at(&store, 4).await;
        }
    }
});

/// One byte of row 4's details changed.
const TAMPER: &str =
    "UPDATE audit_log SET details = replace(details, 'pupil3', 'pupil8') WHERE id = 4;";

async fn assert_broken_at(store: &store::Store, row: i64) {
    match store.verify_audit().await.unwrap() {
        AuditVerdict::Broken { row_id, reason } => {
            assert_eq!(row_id, row, "{reason}");
        }
        intact => panic!("tampering not detected: {intact:?}"),
    }
}

both_backends!(the_audit_log_refuses_updates_and_deletes, |store, _db| {
    person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
    let pool_url = _db.url.clone();
    let pool = sqlx::AnyPool::connect(&pool_url).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET action = 'x'")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&pool)
            .await
            .is_err()
    );
    pool.close().await;
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditVerdict::Intact { rows: 1, .. }
    ));
});

both_backends!(concurrent_writers_never_fork_the_chain, |store, _db| {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            person(&s, &format!("p{i}"), PersonKind::Pupil, Role::Pupil).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditVerdict::Intact { rows: 24, .. }
    ));
});

//! Schools are rows: a database made before them (by the commit named in the fixtures) upgrades
//! into school 1 with every row kept and its audit chain intact, on SQLite and PostgreSQL.

use store::testing::TestDb;
use store::{AuditVerdict, Backend, Store};

/// Every table a school owns, as migration 0016 lists them.
pub const SCHOOL_TABLES: [&str; 22] = [
    "people",
    "accounts",
    "parent_links",
    "sessions",
    "concerns",
    "concern_subjects",
    "concern_actions",
    "blobs",
    "attachments",
    "audit_log",
    "access_log",
    "access_daily",
    "review_requests",
    "allow_entries",
    "aup_acceptances",
    "alerts",
    "mail_outbox",
    "devices",
    "filtering_versions",
    "access_days_counted",
    "account_welcomes",
    "sign_in_failures",
];

async fn raw(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    sqlx::AnyConnection::connect(&url).await.unwrap()
}

async fn count(conn: &mut sqlx::AnyConnection, sql: String) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn rows_per_table(url: &str) -> Vec<(&'static str, i64)> {
    use sqlx::Connection;
    let mut conn = raw(url).await;
    let mut counts = Vec::new();
    for t in SCHOOL_TABLES {
        counts.push((
            t,
            count(&mut conn, format!("SELECT COUNT(*) FROM {t}")).await,
        ));
    }
    conn.close().await.unwrap();
    counts
}

async fn upgrades_into_school_one(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dump = match backend {
        Backend::Sqlite => include_str!("../data/before-schools.sqlite.dump"),
        Backend::Postgres => include_str!("../data/before-schools.postgres.dump"),
    };
    {
        use sqlx::Connection;
        let mut conn = raw(&db.url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let before = rows_per_table(&db.url).await;
    let first_audit_at: String = {
        use sqlx::Connection;
        let mut conn = raw(&db.url).await;
        let at = sqlx::query_scalar("SELECT MIN(at) FROM audit_log")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        at
    };
    assert_eq!(before[0], ("people", 59), "the fixture as made");
    let clock = clock::Clock::manual(store::testing::school_day());
    let store = Store::open(&db.url, clock).await.unwrap();
    // Every row kept, every row school 1's.
    assert_eq!(rows_per_table(&db.url).await, before);
    {
        use sqlx::Connection;
        let mut conn = raw(&db.url).await;
        for t in SCHOOL_TABLES {
            let sql = format!("SELECT COUNT(*) FROM {t} WHERE school_id <> 1");
            assert_eq!(count(&mut conn, sql).await, 0, "{t}");
        }
        conn.close().await.unwrap();
    }
    // The chain the old code wrote still verifies, row for row.
    let audit_rows = before.iter().find(|(t, _)| *t == "audit_log").map(|c| c.1);
    let verdict = store.verify_audit().await.unwrap();
    assert!(
        matches!(verdict, AuditVerdict::Intact { rows, .. } if Some(rows as i64) == audit_rows),
        "{verdict:?}"
    );
    let schools = store.schools().await.unwrap();
    assert_eq!(schools.len(), 1);
    let first = &schools[0];
    assert_eq!(
        (first.id, first.slug.as_str(), first.name.as_str()),
        (1, "school-1", "")
    );
    assert_eq!((first.people, first.concerns), (59, 4));
    // The first start names it after its profile, once, and audits that on the same chain.
    let named = store
        .name_first_school("Holt Primary")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (named.slug.as_str(), named.name.as_str()),
        ("holt-primary", "Holt Primary")
    );
    // It began with its first audit row.
    assert_eq!(named.created_at, first_audit_at);
    assert!(
        store
            .name_first_school("Another Name")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.schools().await.unwrap()[0].name, "Holt Primary");
    let verdict = store.verify_audit().await.unwrap();
    assert!(
        matches!(verdict, AuditVerdict::Intact { rows, .. } if Some(rows as i64 - 1) == audit_rows),
        "{verdict:?}"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_made_before_schools_upgrades_into_school_one_on_sqlite() {
    upgrades_into_school_one(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_made_before_schools_upgrades_into_school_one_on_postgres() {
    upgrades_into_school_one(Backend::Postgres).await;
}

store::both_backends!(
    a_new_database_is_school_one_named_at_first_start,
    |store, _db| {
        let schools = store.schools().await.unwrap();
        assert_eq!(schools.len(), 1);
        assert_eq!(
            (schools[0].slug.as_str(), schools[0].created_at.as_str()),
            ("school-1", "")
        );
        let named = store
            .name_first_school("Coleridge Primary School")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(named.slug, "coleridge-primary-school");
        // A new database has no audit row before it: its school begins now, by Palisade's clock.
        assert!(
            named.created_at.starts_with("2026-11-03T10:0"),
            "{}",
            named.created_at
        );
    }
);

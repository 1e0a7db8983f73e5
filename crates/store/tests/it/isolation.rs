//! Row-level security on PostgreSQL (issue 17, part 2): connected as the service's role with
//! raw SQL, a transaction without a school sees no row of any school-owned table and can add
//! none; with school A's setting it sees none of school B's rows and cannot write one for B.

use crate::{Cast, person, profile, reporting};
use policy::concern::ReportForm;
use policy::{PersonKind, Role};
use sqlx::Connection;
use store::testing::TestDb;
use store::{Backend, NewAttachment, NewConcern, Store};

/// Every table with a `school_id` column, from the catalog: a table added later is checked
/// without anyone listing it here.
async fn school_tables(conn: &mut sqlx::AnyConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_name = c.table_name AND t.table_schema = c.table_schema
         WHERE c.table_schema = 'public' AND c.column_name = 'school_id'
           AND t.table_type = 'BASE TABLE' AND c.table_name <> 'logins'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// School-owned tables `two_schools` leaves empty for school 2.
const NOT_SEEDED_IN_SCHOOL_2: [&str; 8] = [
    "parent_links",
    "review_requests",
    "allow_entries",
    "aup_acceptances",
    "alerts",
    "devices",
    "filtering_versions",
    "account_welcomes",
];

async fn scalar(conn: &mut sqlx::AnyConnection, sql: String) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .unwrap()
}

/// As the service's role, in a transaction acting for `school` (none: no setting at all).
async fn as_service(url: &str, school: Option<i64>) -> sqlx::AnyConnection {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET ROLE {}; BEGIN",
        store::SERVICE_ROLE
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    if let Some(id) = school {
        sqlx::query(
            "SELECT set_config('palisade.school', $1, true), set_config('palisade.schools', $2, true)",
        )
        .bind(id.to_string())
        .bind(format!("{{{id}}}"))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn
}

/// School 1 as the fixture left it, and school 2 with a cast, a concern with evidence, a
/// session, mail, access-log rows counted into days, an alert and a failed sign-in.
async fn two_schools(db: &TestDb) -> Store {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "../data/before-schools.postgres.dump"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let store = db.store().await;
    let school = store
        .add_school("coleridge", "Coleridge Primary School")
        .await
        .unwrap();
    assert_eq!(school.id, 2);
    let b = store.in_school(2);
    let cast = Cast {
        holt: profile("coleridge"),
        dsl: person(&b, "coleridge.dsl", PersonKind::Staff, Role::Dsl).await,
        teacher: person(&b, "coleridge.teacher1", PersonKind::Staff, Role::Teacher).await,
        pupil: person(&b, "coleridge.pupil1", PersonKind::Pupil, Role::Pupil).await,
    };
    let report = NewConcern {
        reporter_id: cast.teacher,
        form: ReportForm::Staff,
        subjects: vec![cast.pupil],
        category: "contact.online_bullying".into(),
        summary: "Unkind messages".into(),
        details: "Seen at lunch.".into(),
        about_text: None,
        occurred_at: None,
        platform: None,
        attachments: vec![NewAttachment {
            filename: "note.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"evidence".to_vec(),
        }],
    };
    let concern = b
        .create_concern(&reporting(cast.teacher), &cast.holt.concerns, &report)
        .await
        .unwrap();
    assert!(concern > 0);
    b.create_account(&crate::operator(), cast.dsl, "hash")
        .await
        .unwrap();
    b.start_session(
        cast.dsl,
        "coleridge-token",
        "csrf",
        chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    b.enqueue_mail("dsl@coleridge.example", "Digest", "body", "digest")
        .await
        .unwrap();
    let event = store::AccessEvent::new(
        "2026-11-02T09:00:00.000Z".into(),
        "dns",
        "10.2.0.5".into(),
        "ks2".into(),
        "coleridge.example".into(),
        events::LogVerdict::Allow,
    );
    b.access_writer().write(&[event]).await.unwrap();
    assert_eq!(b.count_access_days("2026-11-03").await.unwrap(), 1);
    let dm = person(&b, "coleridge.dm", PersonKind::Staff, Role::DataManager).await;
    b.add_processor(
        &crate::registers::register_permit(dm),
        &crate::registers::arbor().check().unwrap(),
    )
    .await
    .unwrap();
    b.record_sign_in_failure(
        store::sign_ins::FailureReason::UnknownOrWrong,
        None,
        Some("nobody"),
        None,
    )
    .await
    .unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_sees_and_writes_only_the_schools_its_transaction_names() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = two_schools(&db).await;
    let mut owner = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let tables = school_tables(&mut owner).await;
    assert!(tables.len() >= 22, "{tables:?}");
    // The role owns nothing, cannot bypass row-level security, and every table forces it.
    let role: (bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'palisade_app'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(role, (false, false));
    for t in &tables {
        let (on, forced, app_owns): (bool, bool, bool) = sqlx::query_as(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) = 'palisade_app'
             FROM pg_class c WHERE c.relname = $1 AND c.relkind = 'r'",
        )
        .bind(t)
        .fetch_one(&mut owner)
        .await
        .unwrap();
        assert!(
            on && forced && !app_owns,
            "{t}: rls {on}, forced {forced}, owned {app_owns}"
        );
    }
    // Both schools hold rows in (at least) these tables, so that the checks below mean something.
    let mut both = Vec::new();
    for t in &tables {
        let a = scalar(
            &mut owner,
            format!("SELECT COUNT(*) FROM {t} WHERE school_id = 1"),
        )
        .await;
        let b = scalar(
            &mut owner,
            format!("SELECT COUNT(*) FROM {t} WHERE school_id = 2"),
        )
        .await;
        if b > 0 {
            both.push((t.clone(), a, b));
        }
    }
    let held: Vec<&str> = both.iter().map(|(t, ..)| t.as_str()).collect();
    for t in crate::schools::SCHOOL_TABLES
        .into_iter()
        .filter(|t| !NOT_SEEDED_IN_SCHOOL_2.contains(t))
    {
        assert!(held.contains(&t), "school 2 has no rows in {t}: {held:?}");
    }

    // No setting: no rows, of either school, in any table; and nothing may be added.
    let mut none = as_service(&db.url, None).await;
    for t in &tables {
        assert_eq!(
            scalar(&mut none, format!("SELECT COUNT(*) FROM {t}")).await,
            0,
            "{t}"
        );
    }
    let refused = sqlx::query(
        "INSERT INTO sign_in_failures (at, reason) VALUES ('2026-11-03T10:00:00Z', 'denied')",
    )
    .execute(&mut none)
    .await;
    assert!(refused.is_err(), "a row with no school was added");
    drop(none);

    // School 1's setting: all of school 1's rows, none of school 2's.
    for (acting, other) in [(1_i64, 2_i64), (2, 1)] {
        let mut conn = as_service(&db.url, Some(acting)).await;
        for (t, a, b) in &both {
            let mine = if acting == 1 { a } else { b };
            let sql = format!("SELECT COUNT(*) FROM {t} WHERE school_id = {acting}");
            assert_eq!(
                scalar(&mut conn, sql).await,
                *mine,
                "{t} as school {acting}"
            );
            let sql = format!("SELECT COUNT(*) FROM {t} WHERE school_id <> {acting}");
            assert_eq!(scalar(&mut conn, sql).await, 0, "{t} as school {acting}");
            // Updates and deletes of the other school's rows touch nothing.
            if t != "audit_log" {
                let sql = format!("UPDATE {t} SET school_id = school_id WHERE school_id = {other}");
                let touched = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected();
                assert_eq!(touched, 0, "{t} as school {acting}");
            }
        }
        // A row for the other school is refused, whichever table.
        for sql in [
            format!(
                "INSERT INTO sign_in_failures (at, reason, school_id)
                 VALUES ('2026-11-03T10:00:00Z', 'denied', {other})"
            ),
            format!(
                "INSERT INTO people (username, display_name, kind, roles, active, created_at, school_id)
                 VALUES ('intruder{acting}', 'Intruder', 'staff', '', 1, '2026-11-03', {other})"
            ),
            format!(
                "INSERT INTO audit_log (id, at, action, object_type, object_id, details, prev_hash, hash, school_id)
                 VALUES (999, 'x', 'x', 'x', 'x', '{{}}', 'x', 'x', {other})"
            ),
        ] {
            sqlx::query("SAVEPOINT s").execute(&mut conn).await.unwrap();
            let err = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await
                .expect_err(&sql);
            assert!(
                err.to_string().contains("row-level security"),
                "{sql}: {err}"
            );
            sqlx::query("ROLLBACK TO SAVEPOINT s")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        // Moving one of its own rows to the other school is refused too.
        let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE people SET school_id = {other} WHERE school_id = {acting}"
        )))
        .execute(&mut conn)
        .await;
        assert!(moved.is_err(), "a row was moved to school {other}");
    }
    owner.close().await.unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_school_keeps_its_own_audit_chain() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = two_schools(&db).await;
    let a = store.verify_audit().await.unwrap();
    let b = store.in_school(2).verify_audit().await.unwrap();
    let (
        store::AuditVerdict::Intact { rows: a_rows, .. },
        store::AuditVerdict::Intact { rows: b_rows, .. },
    ) = (&a, &b)
    else {
        panic!("{a:?} {b:?}")
    };
    assert!(*a_rows > 50 && *b_rows >= 5, "{a_rows} {b_rows}");
    let first = store.in_school(2).audit_page(None, 1000).await.unwrap();
    assert_eq!(
        first.last().map(|e| e.action.as_str()),
        Some("school.added")
    );
    // Altering one of school 2's rows breaks school 2's chain at that row; school 1's holds.
    testkit::tamper(
        &db,
        "UPDATE audit_log SET details = '{\"x\":1}' WHERE school_id = 2 AND id = 3;",
    );
    assert!(matches!(
        store.in_school(2).verify_audit().await.unwrap(),
        store::AuditVerdict::Broken { row_id: 3, .. }
    ));
    assert_eq!(store.verify_audit().await.unwrap(), a);
    // A SQLite file holds one school.
    let lite = TestDb::new(Backend::Sqlite).await;
    let one = lite.store().await;
    assert!(matches!(
        one.add_school("coleridge", "Coleridge").await,
        Err(store::StoreError::Unsupported(_))
    ));
    one.close().await;
    store.close().await;
}

/// One access log for a trust's gateways: its writer acts across the schools, each event lands
/// in the school it names, and a writer whose scope does not hold a school cannot write there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_access_log_writes_each_event_in_its_own_school() {
    use events::{AccessEvent, AccessSink, LogVerdict};
    let db = TestDb::new(Backend::Postgres).await;
    let store = two_schools(&db).await;
    let event = |ip: &str| {
        AccessEvent::new(
            "2026-12-02T10:00:00Z".into(),
            "dns",
            ip.into(),
            "pupils".into(),
            "example.com".into(),
            LogVerdict::Allow,
        )
    };
    let (logger, writer) = store::AccessLogger::start(
        store.scoped(store::Scope::across(1, &[2])),
        store::AccessLogConfig::default(),
    );
    for _ in 0..3 {
        logger.for_school(1).send(event("10.1.1.5"));
        logger.for_school(2).send(event("10.20.0.5"));
    }
    logger.for_school(2).send(event("10.20.0.6"));
    drop(logger);
    writer.await.unwrap();
    let everything = store::AccessFilter::default();
    // The events above (both schools hold rows of their own from before).
    let ips = |rows: Vec<store::AccessRow>| {
        rows.into_iter()
            .map(|r| r.event.client_ip)
            .filter(|ip| ip.starts_with("10.1.1.") || ip.starts_with("10.20."))
            .collect::<Vec<_>>()
    };
    let a = ips(store.access_log(&everything, 100).await.unwrap());
    let b = ips(store
        .in_school(2)
        .access_log(&everything, 100)
        .await
        .unwrap());
    assert_eq!(a, ["10.1.1.5"; 3]);
    assert_eq!(b.len(), 4, "{b:?}");
    assert!(b.iter().all(|ip| ip.starts_with("10.20.")), "{b:?}");
    // A writer acting for school 1 alone cannot put an event in school 2: the batch is refused
    // whole, and counted as dropped.
    let (logger, writer) =
        store::AccessLogger::start(store.clone(), store::AccessLogConfig::default());
    let stats = logger.shared_stats();
    logger.for_school(2).send(event("10.20.0.7"));
    drop(logger);
    writer.await.unwrap();
    assert_eq!(stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
    let b = ips(store
        .in_school(2)
        .access_log(&everything, 100)
        .await
        .unwrap());
    assert_eq!(b.len(), 4, "{b:?}");
    let a = ips(store.access_log(&everything, 100).await.unwrap());
    assert_eq!(a.len(), 3, "{a:?}");
    store.close().await;
}

/// The service's own login: a member of the service role that owns nothing. Palisade migrates
/// as the owner and then connects only as it, so that SQL smuggled into a query cannot `RESET
/// ROLE` back to the owner; a login that could reach past row-level security is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_login_of_its_own_cannot_leave_row_level_security() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = two_schools(&db).await;
    store.close().await;
    let login = format!(
        "palisade_web_{}",
        store::testing::random_suffix() % 1_000_000_000
    );
    let (_, rest) = db.url.split_once("://").unwrap();
    let (_, host_db) = rest.split_once('@').unwrap();
    let service_url = format!("postgres://{login}@{host_db}");
    let mut owner = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    run(format!("CREATE ROLE {login} LOGIN"))
        .execute(&mut owner)
        .await
        .unwrap();
    // Not yet a member of the service role: refused, saying what to grant.
    let clock = store::Clock::manual(store::testing::school_day());
    let err = Store::open_as_service(&db.url, &service_url, clock.clone())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("GRANT palisade_app TO"), "{err}");
    // The owner (here a superuser) as the service's login: refused.
    let err = Store::open_as_service(&db.url, &db.url, clock.clone())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("superuser"), "{err}");
    run(format!("GRANT palisade_app TO {login}"))
        .execute(&mut owner)
        .await
        .unwrap();
    let service = Store::open_as_service(&db.url, &service_url, clock)
        .await
        .unwrap();
    // It works as the school's store does, each school alone.
    let holt = service.people(None).await.unwrap();
    let school2 = service.in_school(2).people(None).await.unwrap();
    assert!(!holt.is_empty() && !school2.is_empty());
    assert!(holt.iter().all(|p| !school2.iter().any(|q| q.id == p.id)));
    // As that login with raw SQL: RESET ROLE leaves it itself, which sees no row without a
    // school's setting, may not switch row-level security off, and cannot become the owner.
    let mut conn = sqlx::AnyConnection::connect(&service_url).await.unwrap();
    run("RESET ROLE".into()).execute(&mut conn).await.unwrap();
    let me: String = sqlx::query_scalar("SELECT session_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(me, login);
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(seen, 0);
    for sql in [
        "ALTER TABLE people DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE people NO FORCE ROW LEVEL SECURITY",
        "SET ROLE postgres",
        "DROP POLICY IF EXISTS school_rows ON people",
    ] {
        assert!(run(sql.into()).execute(&mut conn).await.is_err(), "{sql}");
    }
    conn.close().await.unwrap();
    service.close().await;
    run(format!("DROP ROLE {login}"))
        .execute(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();
}

//! `palisade audit verify` on the demo school: it passes, and changing one byte of one audit row
//! (as someone with the database file or a superuser login could) makes it fail naming the row.

use crate::BIN;
use std::process::Command;
use testkit::{Backend, Server, tamper};

fn verify(url: &str) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify", "--database-url", url])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_one_byte_of_one_audit_row_is_detected_and_named_sqlite() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let (ok, out) = server.audit_verify();
    assert!(ok && out.contains("intact"), "{out}");
    let db = server.kill();
    // Row 7 is a person's creation; change one character of its details.
    tamper(
        &db,
        "UPDATE audit_log SET details = replace(details, '\"staff\"', '\"stafg\"') WHERE id = 7;",
    );
    let (ok, out) = verify(&db.url);
    assert!(!ok, "tampering not detected: {out}");
    assert!(out.contains("row 7"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_one_byte_of_one_audit_row_is_detected_and_named_postgres() {
    let server = Server::start(BIN, Backend::Postgres, "holt").await;
    let (ok, out) = server.audit_verify();
    assert!(ok && out.contains("intact"), "{out}");
    tamper(
        &server.db,
        "UPDATE audit_log SET actor_id = 2 WHERE id = 12;",
    );
    let (ok, out) = verify(&server.db.url);
    assert!(!ok, "tampering not detected: {out}");
    assert!(out.contains("row 12"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_audit_row_is_detected() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let db = server.kill();
    tamper(&db, "DELETE FROM audit_log WHERE id = 5;");
    let (ok, out) = verify(&db.url);
    assert!(!ok && out.contains("row 5"), "{out}");
}

/// Runs the binary with `args`; returns (success, stdout, stderr).
fn palisade(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `palisade audit head --json` on `url`: the head as `COUNT:HASH` and its count.
fn head_of(url: &str) -> (String, u64) {
    let (ok, out, err) = palisade(&["audit", "head", "--json", "--database-url", url]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let head = v["head"].as_str().unwrap().to_string();
    let count = v["count"].as_u64().unwrap();
    assert_eq!(head, format!("{count}:{}", v["hash"].as_str().unwrap()));
    (head, count)
}

fn verify_expecting(url: &str, head: &str) -> (bool, String) {
    let (ok, out, err) = palisade(&["audit", "verify", "--database-url", url, "--expect", head]);
    (ok, format!("{out}{err}"))
}

#[test]
fn audit_verify_refuses_a_missing_sqlite_database_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere").join("palisade.db");
    let url = format!("sqlite://{}", path.display());
    for cmd in ["verify", "head"] {
        let (ok, out, err) = palisade(&["audit", cmd, "--database-url", &url]);
        assert!(!ok, "audit {cmd} passed on a missing database: {out}");
        assert!(!out.contains("intact"), "{out}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains("no database file"),
            "{err}"
        );
    }
    assert!(!path.exists() && !dir.path().join("nowhere").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_refuses_an_empty_postgres_database_and_creates_nothing() {
    let db = testkit::TestDb::new(testkit::Backend::Postgres).await;
    let (ok, out, err) = palisade(&["audit", "verify", "--database-url", &db.url]);
    assert!(!ok, "{out}");
    assert!(err.contains("not a Palisade database"), "{err}");
    let out = Command::new("psql")
        .arg(&db.url)
        .args([
            "-tAc",
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

async fn intact_chain_holds_its_head(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let (head, count) = head_of(&server.db.url);
    assert!(count > 10, "{head}");
    let (ok, out) = verify_expecting(&server.db.url, &head);
    assert!(ok && out.contains("holds the recorded head"), "{out}");
    // The trail grows after the head was recorded (a sign-in is audited): still intact.
    let _dsl = server.login("dsl").await;
    let (_, grown) = head_of(&server.db.url);
    assert!(grown > count);
    let (ok, out) = verify_expecting(&server.db.url, &head);
    assert!(ok, "{out}");
    // A head that was never this trail's is refused.
    let other = format!("{count}:{}", "ab".repeat(32));
    let (ok, out) = verify_expecting(&server.db.url, &other);
    assert!(!ok && out.contains(&format!("row {count}")), "{out}");
    // A malformed head is a clear error, not a panic.
    let (ok, out) = verify_expecting(&server.db.url, "12:xyz");
    assert!(!ok && out.contains("not a SHA-256 hash"), "{out}");
}

both_backends!(
    an_intact_audit_trail_holds_its_recorded_head,
    intact_chain_holds_its_head
);

async fn cut_tail(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let db = server.kill();
    let (head, count) = head_of(&db.url);
    tamper(
        &db,
        &format!("DELETE FROM audit_log WHERE id > {};", count - 3),
    );
    // The chain that is left is intact in itself: only the recorded head shows the cut.
    let (ok, out) = verify(&db.url);
    assert!(ok, "{out}");
    let (ok, out) = verify_expecting(&db.url, &head);
    assert!(!ok, "a cut tail went unseen: {out}");
    assert!(
        out.contains(&format!("BROKEN at row {}", count - 2))
            && out.contains("deleted from the end"),
        "{out}"
    );
}

both_backends!(
    rows_cut_from_the_end_of_the_audit_trail_are_caught_by_the_recorded_head,
    cut_tail
);

async fn wiped(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let db = server.kill();
    let (head, _) = head_of(&db.url);
    tamper(&db, "DELETE FROM audit_log;");
    let (ok, out) = verify_expecting(&db.url, &head);
    assert!(!ok, "a wiped trail went unseen: {out}");
    assert!(out.contains("BROKEN at row 1"), "{out}");
    // Without a recorded head too: people whose creation left no trail.
    let (ok, out) = verify(&db.url);
    assert!(!ok && out.contains("the trail was wiped"), "{out}");
}

both_backends!(a_wiped_audit_trail_is_caught_by_the_recorded_head, wiped);

/// The first mail to the Chair (the daily mail, with the audit head), waiting up to 15 s.
async fn chairs_daily_mail(sink: &testkit::smtp::SmtpSink) -> testkit::smtp::Received {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let chair = sink
            .received()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t == "chair@school.example"));
        if let Some(m) = chair {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to the chair: {:?}",
            sink.received()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The daily mail goes at the profile's `digest_time`; at "00:00" it is due as soon as Palisade
/// starts, whatever the time of day, so this test needs no settable clock.
async fn chairs_mail_carries_the_head(backend: Backend) {
    let sink = testkit::smtp::SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = crate::holt_with_digest_at_midnight(dir.path());
    // Mail runs with the gateways: DNS on loopback to a stub upstream, no proxy.
    let up = testkit::dns::StubUpstream::start().await;
    let upstream = up.addr.to_string();
    let args = testkit::smtp::dns_and_mail_args(&upstream, sink.addr);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(
        BIN,
        testkit::TestDb::new(backend).await,
        &profile.to_string_lossy(),
        &args,
    );
    let mail = chairs_daily_mail(&sink).await;
    assert!(mail.data.contains("Audit trail record"), "{}", mail.data);
    let recorded =
        store::AuditHead::find_in(&mail.data).unwrap_or_else(|| panic!("no head in {}", mail.data));
    // The recorded head is the trail's (the trail may have grown since).
    let db = server.kill();
    let (_, count) = head_of(&db.url);
    assert!(recorded.count > 10 && recorded.count <= count, "{recorded}");
    let (ok, out, err) = palisade(&["audit", "verify", "--since-mail", "--database-url", &db.url]);
    assert!(
        ok && out.contains(&format!(
            "recorded head from the newest digest mail: {recorded}"
        )),
        "{out}{err}"
    );
    // Rows cut from the end past the mailed head are caught against the outbox's copy.
    tamper(
        &db,
        &format!("DELETE FROM audit_log WHERE id >= {};", recorded.count),
    );
    let (ok, out, err) = palisade(&["audit", "verify", "--since-mail", "--database-url", &db.url]);
    assert!(
        !ok && out.contains(&format!("BROKEN at row {}", recorded.count)),
        "{out}{err}"
    );
}

both_backends!(
    the_daily_mail_to_the_chair_carries_the_audit_head_and_verify_since_mail_checks_it,
    chairs_mail_carries_the_head
);

/// The daily mail, which carries the audit head to the Chair, goes out when neither gateway
/// runs (`--no-dns --no-proxy`): it used to start only with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_mail_goes_out_with_both_gateways_off() {
    let sink = testkit::smtp::SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = crate::holt_with_digest_at_midnight(dir.path());
    let mut args = vec!["--no-dns".to_string(), "--no-proxy".to_string()];
    args.extend(testkit::smtp::mail_args(sink.addr));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(
        BIN,
        testkit::TestDb::new(Backend::Sqlite).await,
        &profile.to_string_lossy(),
        &args,
    );
    assert!(server.dns.is_empty() && server.proxy.is_empty());
    let mail = chairs_daily_mail(&sink).await;
    assert!(mail.data.contains("Audit trail record"), "{}", mail.data);
    drop(server);
}

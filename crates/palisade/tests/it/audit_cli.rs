//! `palisade audit verify` on the demo school: it passes, and changing one byte of one audit row
//! (as someone with the database file or a superuser login could) makes it fail naming the row.

use crate::BIN;
use std::process::Command;
use testkit::{Backend, Server};

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
    let path = db.sqlite_path().unwrap();
    // Row 7 is a person's creation; change one character of its details.
    let out = Command::new("sqlite3")
        .arg(&path)
        .arg("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = replace(details, '\"staff\"', '\"stafg\"') WHERE id = 7;")
        .output()
        .expect("sqlite3 must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let out = Command::new("psql")
        .arg(&server.db.url)
        .arg("-c")
        .arg("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; UPDATE audit_log SET actor_id = 2 WHERE id = 12;")
        .output()
        .expect("psql must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, out) = verify(&server.db.url);
    assert!(!ok, "tampering not detected: {out}");
    assert!(out.contains("row 12"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_audit_row_is_detected() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let db = server.kill();
    let out = Command::new("sqlite3")
        .arg(db.sqlite_path().unwrap())
        .arg("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 5;")
        .output()
        .unwrap();
    assert!(out.status.success());
    let (ok, out) = verify(&db.url);
    assert!(!ok && out.contains("row 5"), "{out}");
}

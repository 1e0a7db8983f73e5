//! Tampering with a test database as its owner could (someone with the SQLite file or a
//! PostgreSQL superuser login), so that tests can show the audit chain catches it.

use crate::TestDb;
use std::process::Command;

/// Runs `sql` on `db` with the audit log's append-only triggers out of the way: dropped on
/// SQLite (with the `sqlite3` shell), disabled on PostgreSQL (with `psql`). Panics when the
/// tool is missing or the SQL fails.
pub fn tamper(db: &TestDb, sql: &str) {
    let out = match db.sqlite_path() {
        Some(path) => Command::new("sqlite3")
            .arg(path)
            .arg(format!(
                "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}"
            ))
            .output()
            .expect("sqlite3 must be installed (scripts/test installs it)"),
        None => Command::new("psql")
            .arg(&db.url)
            .arg("-c")
            .arg(format!(
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; {sql}"
            ))
            .output()
            .expect("psql must be installed"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

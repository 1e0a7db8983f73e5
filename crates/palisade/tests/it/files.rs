//! The files Palisade writes that hold the school's data or secrets are its user's only: the
//! SQLite database with its `-wal` and `-shm`, the folder Palisade makes for it, the CA's key.

use crate::BIN;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use testkit::{Backend, Server, TestDb};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A fresh SQLite database in a folder that does not exist yet (Palisade makes it).
async fn db_in_new_folder() -> (TestDb, std::path::PathBuf) {
    let mut db = TestDb::new(Backend::Sqlite).await;
    let file = std::path::PathBuf::from(db.sqlite_path().unwrap());
    let folder = file.parent().unwrap().join("palisade-data");
    db.url = format!("sqlite://{}/palisade.db", folder.display());
    (db, folder)
}

fn db_files(folder: &std::path::Path) -> [std::path::PathBuf; 3] {
    ["palisade.db", "palisade.db-wal", "palisade.db-shm"].map(|f| folder.join(f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_database_its_wal_and_its_folder_are_not_world_readable() {
    let (db, folder) = db_in_new_folder().await;
    let server = Server::start_on(BIN, db, "holt");
    // A sign-in writes (a session, an audit row), so the WAL and its index exist.
    let _dsl = server.login("dsl").await;
    assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    for file in db_files(&folder) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_world_readable_database_is_tightened_when_palisade_opens_it() {
    let (db, folder) = db_in_new_folder().await;
    let server = Server::start_on(BIN, db, "holt");
    let _dsl = server.login("dsl").await;
    let db = server.kill();
    // As an older Palisade left it, or a copy restored from a backup.
    for file in db_files(&folder) {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = Server::start_on(BIN, db, "holt");
    let _dsl = server.login("dsl").await;
    for file in db_files(&folder) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}

#[test]
fn the_ca_folder_palisade_makes_is_private_and_the_key_is_0600() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("data").join("ca");
    crate::succeed(
        Command::new(BIN)
            .args(["ca", "init", "--profile", "holt", "--out"])
            .arg(&ca),
    );
    assert_eq!(mode(&ca), 0o700);
    assert_eq!(mode(&ca.join("ca.key")), 0o600);
    assert_eq!(mode(&ca.join("ca.pem")), 0o644);
}

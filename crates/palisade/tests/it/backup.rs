//! `palisade backup`, `backup --verify` and `restore` on real SQLite files: a backup taken
//! while concerns are being filed holds every concern acknowledged before it began and its
//! audit chain verifies; a corrupted or cut archive is refused naming what is wrong; `--keep`
//! deletes the oldest; a restore refuses a database that exists and the server starts on one
//! it made. Encrypted backups: a wrong key, changed ciphertext or a changed header is refused
//! naming which. PostgreSQL: `pg_dump` into the same archive, verified on its server in a
//! temporary database, restored into an empty one.

use crate::BIN;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{Backend, Server, TestDb};

/// Runs the binary with `args` on the test clock at `at`: (exit code, stdout + stderr).
fn palisade_at(args: &[&str], at: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env(clock::TEST_CLOCK_VAR, at)
        .env_remove("PALISADE_DATABASE_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn palisade(args: &[&str]) -> (i32, String) {
    palisade_at(args, "2026-11-03T10:00:00Z")
}

/// The backup files in `dir`, by name.
fn backups_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("palisade-backup-") && n.ends_with(".tar"))
        .collect();
    names.sort();
    names
}

/// A backup of the demo school's database in a new folder: (the folder, the file).
fn one_backup(db: &TestDb) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = palisade(&[
        "backup",
        "--db",
        &db.url,
        "--to",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let file = dir.path().join("palisade-backup-20261103T100000Z.tar");
    assert!(file.is_file(), "{out}");
    (dir, file)
}

/// The concern ids a database holds.
async fn concern_ids(url: &str) -> Vec<i64> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite") {
        format!("{url}?mode=ro")
    } else {
        url.to_string()
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM concerns")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    ids.into_iter().map(|(id,)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_concerns_are_filed_holds_every_acknowledged_one() {
    backup_while_concerns_are_filed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_taken_while_concerns_are_filed_holds_every_acknowledged_one() {
    backup_while_concerns_are_filed(Backend::Postgres).await;
}

/// Two teachers file concerns through the API (at most 100 requests each, for at most 20 s)
/// while a backup is taken: every concern acknowledged (201) before it started is in it.
async fn backup_while_concerns_are_filed(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for who in ["teacher1", "teacher2"] {
        let teacher = server.login(who).await;
        let acknowledged = acknowledged.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let started = Instant::now();
            for n in 0..100 {
                if stop.load(std::sync::atomic::Ordering::Relaxed)
                    || started.elapsed() > Duration::from_secs(20)
                {
                    break;
                }
                let summary = format!("Load concern {n} by {who}");
                let (status, body) = teacher
                    .report(&["pupil9"], "contact.online_bullying", &summary)
                    .await;
                assert_eq!(status, 201, "{body}");
                acknowledged
                    .lock()
                    .unwrap()
                    .push(body["id"].as_i64().unwrap());
            }
        }));
    }
    // Let some concerns land, then take the backup while the writer goes on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while acknowledged.lock().unwrap().len() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<i64> = acknowledged.lock().unwrap().clone();
    assert!(!before.is_empty(), "no concern was filed in 10 s");
    let dir = tempfile::tempdir().unwrap();
    let url = server.db.url.clone();
    let to = dir.path().to_str().unwrap().to_string();
    let (code, out) =
        tokio::task::spawn_blocking(move || palisade(&["backup", "--db", &url, "--to", &to]))
            .await
            .unwrap();
    let during = acknowledged.lock().unwrap().len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    eprintln!(
        "{} concerns acknowledged before the backup, {during} by its end",
        before.len()
    );
    assert_eq!(code, 0, "{out}");
    let files = backups_in(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = dir.path().join(&files[0]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an unencrypted backup must be private");
    }
    let (code, out) = palisade(&[
        "backup",
        "--verify",
        file.to_str().unwrap(),
        "--db",
        &server.db.url,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified") && out.contains("intact"), "{out}");
    // The live database records it, verified, with its audit row.
    let live = server.store().await;
    let last = live.last_verified_backup().await.unwrap().unwrap();
    assert_eq!(last.file, file.display().to_string());
    let trail = live.audit_of("backup", &last.id.to_string()).await.unwrap();
    assert_eq!(trail[0].action, "backup.made");
    live.close().await;

    let target = TestDb::new(backend).await;
    let (code, out) = palisade(&["restore", file.to_str().unwrap(), "--db", &target.url]);
    assert_eq!(code, 0, "{out}");
    let restored = concern_ids(&target.url).await;
    let missing: Vec<&i64> = before.iter().filter(|id| !restored.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but not in it: {missing:?} ({} before, {during} by \
         its end, {} restored)",
        before.len(),
        restored.len()
    );
    let (code, out) = palisade(&["audit", "verify", "--database-url", &target.url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
}

/// Rewrites the tar at `file` with `change` applied to each (name, bytes) member; a member
/// for which it returns `None` is left out.
fn rewrite(file: &Path, change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let bytes = std::fs::read(file).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut members = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        members.push((name, data));
    }
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        if let Some(data) = change(&name, data) {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            builder.append_data(&mut h, &name, data.as_slice()).unwrap();
        }
    }
    std::fs::write(file, builder.into_inner().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_backup_is_refused_naming_what_is_wrong() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let db = server.kill();
    let (_dir, file) = one_backup(&db);
    let path = file.to_str().unwrap();

    // One byte of the database member flipped, in place.
    let good = std::fs::read(&file).unwrap();
    {
        let mut archive = tar::Archive::new(good.as_slice());
        let mut flipped = good.clone();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            if entry.path().unwrap().to_str() == Some("palisade.db") {
                let at = entry.raw_file_position() as usize + entry.size() as usize / 2;
                flipped[at] ^= 0x01;
            }
        }
        assert_ne!(flipped, good);
        std::fs::write(&file, &flipped).unwrap();
    }
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hash mismatch for palisade.db"), "{out}");

    // The manifest deleted.
    std::fs::write(&file, &good).unwrap();
    rewrite(&file, |name, data| {
        (name != "manifest.json").then_some(data)
    });
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("manifest.json missing"), "{out}");

    // The database member gone.
    std::fs::write(&file, &good).unwrap();
    rewrite(&file, |name, data| (name != "palisade.db").then_some(data));
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("palisade.db missing"), "{out}");

    // Not an archive at all, and an archive of something else.
    std::fs::write(&file, b"hello, this is not a backup").unwrap();
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a Palisade backup"), "{out}");
    std::fs::write(&file, &good).unwrap();
    rewrite(&file, |name, data| {
        Some(if name == "manifest.json" {
            br#"{"format": "something-else"}"#.to_vec()
        } else {
            data
        })
    });
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a Palisade backup"), "{out}");

    // The intact file still verifies; a usage error is exit 2.
    std::fs::write(&file, &good).unwrap();
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = palisade(&["backup", "--verify", path, "--keep", "2"]);
    assert_eq!(code, 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_2_after_three_backups_leaves_the_newest_two() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let db = server.kill();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    // Not a backup's name: never deleted.
    std::fs::write(dir.path().join("palisade-backup-notes.tar"), b"mine").unwrap();
    for at in [
        "2026-12-01T02:00:00Z",
        "2026-12-02T02:00:00Z",
        "2026-12-03T02:00:00Z",
    ] {
        let (code, out) = palisade_at(&["backup", "--db", &db.url, "--to", to, "--keep", "2"], at);
        assert_eq!(code, 0, "{out}");
    }
    assert_eq!(
        backups_in(dir.path()),
        [
            "palisade-backup-20261202T020000Z.tar",
            "palisade-backup-20261203T020000Z.tar",
            "palisade-backup-notes.tar",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_database_that_exists_and_the_server_starts_on_what_it_restores() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let live = server.kill();
    let (_dir, file) = one_backup(&live);
    let path = file.to_str().unwrap();

    // Onto the live database itself: refused, naming it, and nothing changed.
    let before = std::fs::read(live.sqlite_path().unwrap()).unwrap();
    let (code, out) = palisade(&["restore", path, "--db", &live.url]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&live.sqlite_path().unwrap()) && out.contains("already exists"),
        "{out}"
    );
    assert_eq!(std::fs::read(live.sqlite_path().unwrap()).unwrap(), before);
    // Into a data folder that holds something: refused.
    let full = tempfile::tempdir().unwrap();
    std::fs::write(full.path().join("other"), b"x").unwrap();
    let (code, out) = palisade(&["restore", path, "--data-dir", full.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not empty"), "{out}");

    // Into an empty target: the server starts on it and the demo's concerns are there.
    let target = TestDb::new(Backend::Sqlite).await;
    let (code, out) = palisade(&["restore", path, "--db", &target.url]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        concern_ids(&target.url).await.len(),
        concern_ids(&live.url).await.len()
    );
    let restored = Server::start_on(BIN, target, "holt");
    let (status, body) = restored
        .login("dsl")
        .await
        .get_json("/api/v1/concerns")
        .await;
    assert_eq!(status, 200);
    assert!(!body["concerns"].as_array().unwrap().is_empty(), "{body}");
    let (ok, out) = restored.audit_verify();
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_with_a_stale_backup_and_200_after_a_fresh_one() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let anonymous = server.client();
    // No backup on record yet: the database answers, so ready.
    let (status, body) = anonymous.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backups"]["made"], false, "{body}");

    // The newest verified backup is 27 and a half hours old, and today's failed. (The half
    // hour keeps "27 hours" true however far the server's clock, started a moment after the
    // test's, lags behind it.)
    let earlier = server
        .db
        .store_on(clock::Clock::starting_at(
            server.clock.now() - chrono::TimeDelta::minutes(27 * 60 + 30),
        ))
        .await;
    let head = earlier.audit_head().await.unwrap();
    earlier
        .record_backup("/b/old.tar", Ok((1, &head)))
        .await
        .unwrap();
    earlier.close().await;
    let now = server.store().await;
    now.record_backup("/b/new.tar", Err("disk full"))
        .await
        .unwrap();
    now.close().await;
    let (status, body) = anonymous.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["backups"]["last_failed"], true, "{body}");
    let problems = body["problems"].to_string();
    assert!(problems.contains("27 hours old"), "{body}");
    assert!(!body.to_string().contains("/b/"), "no file names: {body}");

    // A backup now (on the server's clock): ready again.
    let dir = tempfile::tempdir().unwrap();
    let at = store::timestamp(server.clock.now());
    let (code, out) = palisade_at(
        &[
            "backup",
            "--db",
            &server.db.url,
            "--to",
            dir.path().to_str().unwrap(),
        ],
        &at,
    );
    assert_eq!(code, 0, "{out}");
    let (status, body) = anonymous.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["backups"]["age_seconds"].as_i64().unwrap() < 60,
        "{body}"
    );
}

/// A new age key pair made by `palisade backup --new-identity` in `dir`: (key file, public key).
fn new_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let (code, out) = palisade(&["backup", "--new-identity", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key, for [backup] recipients: "))
        .unwrap_or_else(|| panic!("no public key in {out}"))
        .trim()
        .to_string();
    (key, public)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_backup_is_refused_with_a_wrong_key_or_changed_bytes_naming_which() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let db = server.kill();
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = new_key(keys.path(), "school.key");
    let (other, _) = new_key(keys.path(), "other.key");
    let (code, out) = palisade(&[
        "backup",
        "--db",
        &db.url,
        "--to",
        dir.path().to_str().unwrap(),
        "--recipient",
        &public,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("encrypted to 1 age key"), "{out}");
    let file = dir.path().join("palisade-backup-20261103T100000Z.tar.age");
    let path = file.to_str().unwrap();
    let good = std::fs::read(&file).unwrap();
    assert!(good.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !good.windows(15).any(|w| w == b"SQLite format 3"),
        "ciphertext only"
    );
    let key_arg = key.to_str().unwrap();

    // The right key: verified, and restored into a database the server starts on.
    let (code, out) = palisade(&["backup", "--verify", path, "--identity", key_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact"), "{out}");
    // No key, or a key it was not encrypted to.
    let (code, out) = palisade(&["backup", "--verify", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is encrypted: give --identity"), "{out}");
    let (code, out) = palisade(&[
        "backup",
        "--verify",
        path,
        "--identity",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("wrong key") && out.contains("other.key"),
        "{out}"
    );
    // A key file that is not one.
    let junk = keys.path().join("junk.key");
    std::fs::write(&junk, "hello\n").unwrap();
    let (code, out) = palisade(&[
        "backup",
        "--verify",
        path,
        "--identity",
        junk.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("junk.key is not an age key file"), "{out}");

    // A byte of the ciphertext flipped (past the header), and the file cut short.
    let mut flipped = good.clone();
    let at = good.len() / 2;
    flipped[at] ^= 0x01;
    std::fs::write(&file, &flipped).unwrap();
    let (code, out) = palisade(&["backup", "--verify", path, "--identity", key_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not authenticate"), "{out}");
    std::fs::write(&file, &good[..good.len() - 100]).unwrap();
    let (code, out) = palisade(&["backup", "--verify", path, "--identity", key_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not authenticate"), "{out}");
    // The header changed (a letter of a recipient stanza).
    let mut header = good.clone();
    header[30] ^= 0x01;
    std::fs::write(&file, &header).unwrap();
    let (code, out) = palisade(&["backup", "--verify", path, "--identity", key_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("damaged") || out.contains("wrong key"),
        "{out}"
    );

    // A restore refuses what does not verify, and takes what does.
    let target = tempfile::tempdir().unwrap();
    let restored = target.path().join("restored.db");
    let url = format!("sqlite://{}", restored.display());
    let (code, out) = palisade(&["restore", path, "--db", &url, "--identity", key_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(!restored.exists());
    std::fs::write(&file, &good).unwrap();
    let (code, out) = palisade(&["restore", path, "--db", &url, "--identity", key_arg]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(concern_ids(&url).await, concern_ids(&db.url).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_verifies_on_its_server_and_restores_into_an_empty_database() {
    let server = Server::start(BIN, Backend::Postgres, "holt").await;
    let teacher = server.login("teacher2").await;
    let (status, _) = teacher
        .report(
            &["pupil9"],
            "contact.online_bullying",
            "Said something worrying at lunch",
        )
        .await;
    assert_eq!(status, 201);
    let db = server.kill();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = new_key(keys.path(), "school.key");
    let key_arg = key.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = palisade(&[
        "backup",
        "--db",
        &db.url,
        "--to",
        dir.path().to_str().unwrap(),
        "--recipient",
        &public,
    ]);
    assert_eq!(code, 0, "{out}");
    // The manifest counts the school's rows (seen through row-level security, as the school).
    let concerns = testkit::psql(&db.url, "SELECT COUNT(*) FROM concerns");
    assert!(
        out.contains(&format!("({concerns} concerns")),
        "{concerns}: {out}"
    );
    assert_ne!(concerns, "0");
    let file = dir.path().join("palisade-backup-20261103T100000Z.tar.age");
    let path = file.to_str().unwrap();
    // Verified by restoring it into a temporary database on the same server.
    let (code, out) = palisade(&[
        "backup",
        "--verify",
        path,
        "--identity",
        key_arg,
        "--db",
        &db.url,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact"), "{out}");
    let (code, out) = palisade(&["backup", "--verify", path, "--identity", key_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("holds a PostgreSQL dump: give --db"), "{out}");
    // Restored into an empty database: the same concerns, an intact chain; a database that
    // holds tables is refused.
    let empty = TestDb::new(Backend::Postgres).await;
    let (code, out) = palisade(&["restore", path, "--identity", key_arg, "--db", &empty.url]);
    assert_eq!(code, 0, "{out}");
    let count = |url: &str| testkit::psql(url, "SELECT COUNT(*) FROM concerns");
    assert_eq!(count(&empty.url), count(&db.url));
    let (code, out) = palisade(&["restore", path, "--identity", key_arg, "--db", &empty.url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("restore only into an empty database"), "{out}");
    let (code, out) = palisade(&["audit", "verify", "--database-url", &empty.url]);
    assert_eq!(code, 0, "{out}");
    assert!(backups_in(dir.path()).is_empty(), "the encrypted file only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusts_postgres_backup_holds_every_school_and_checks_each_chain() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let db = server.kill();
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = palisade(&[
        "backup",
        "--db",
        &db.url,
        "--to",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let files = backups_in(dir.path());
    let file = dir.path().join(&files[0]);
    // The manifest names each school's chain head; the rows count every school's.
    let bytes = std::fs::read(&file).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut manifest = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("manifest.json") {
            std::io::Read::read_to_string(&mut entry, &mut manifest).unwrap();
        }
    }
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let schools = testkit::psql(&db.url, "SELECT COUNT(*) FROM schools");
    assert_eq!(
        manifest["school_heads"]
            .as_object()
            .map(|m| m.len().to_string()),
        Some(schools),
        "{manifest}"
    );
    let people = testkit::psql(&db.url, "SELECT COUNT(*) FROM people");
    assert_eq!(manifest["rows"]["people"].to_string(), people, "{manifest}");
    let path = file.to_str().unwrap();
    let (code, out) = palisade(&["backup", "--verify", path, "--db", &db.url]);
    assert_eq!(code, 0, "{out}");
    let empty = TestDb::new(Backend::Postgres).await;
    let (code, out) = palisade(&["restore", path, "--db", &empty.url]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        testkit::psql(&empty.url, "SELECT COUNT(*) FROM people"),
        testkit::psql(&db.url, "SELECT COUNT(*) FROM people")
    );
}

//! `serve`'s daily backup by the profile's `[backup]`: made at its time on the server's clock,
//! encrypted to the school's key, verified and recorded, the newest `keep` kept; a server that
//! starts after the time catches up; a backup that fails raises the alert for the Headteacher
//! and the network manager and shows on their dashboard (and not the teachers').

use crate::BIN;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{Backend, Server, TestDb};

/// A new age key pair made by `palisade backup --new-identity`: (key file, public key).
fn new_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("school.key");
    let out = Command::new(BIN)
        .args(["backup", "--new-identity", key.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("public key, for [backup] recipients: "))
        .unwrap_or_else(|| panic!("no public key in {text}"))
        .trim()
        .to_string();
    (key, public)
}

/// Holt's profile with `[backup]` (at, keep, dir, recipients) appended, written into `dir`.
fn holt_with_backup(dir: &Path, at: &str, keep: u32, into: &Path, key: &str) -> PathBuf {
    let text = format!(
        "{}\n[backup]\nat = \"{at}\"\nkeep = {keep}\ndir = \"{}\"\nrecipients = [\"{key}\"]\n",
        crate::seed_profile_text("holt"),
        into.display()
    );
    let profile = dir.join("holt.toml");
    std::fs::write(&profile, text).unwrap();
    profile
}

/// The backup files in `dir`, by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with("palisade-backup-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Polls `check` every 250 ms for at most `within`.
async fn wait_for<T>(within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(t) = check().await {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

async fn backup_daily_is_made_verified_recorded_and_kept(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("backups");
    std::fs::create_dir(&into).unwrap();
    // Two older backups: with keep = 2, the oldest goes once today's is made.
    for old in ["20201101T023000Z", "20201102T023000Z"] {
        std::fs::write(into.join(format!("palisade-backup-{old}.tar.age")), b"old").unwrap();
    }
    let (key, public) = new_key(dir.path());
    let profile = holt_with_backup(dir.path(), "10:01", 2, &into, &public);
    // The server's clock starts at 10:00:30 UK time (GMT in November): the backup is due at
    // 10:01, half a minute later.
    let start = testkit::school_morning() + chrono::TimeDelta::seconds(30);
    let due = testkit::school_morning() + chrono::TimeDelta::minutes(1);
    let server = Server::start_at(
        BIN,
        TestDb::new(backend).await,
        &profile.to_string_lossy(),
        &["--no-dns", "--no-proxy"],
        start,
    );
    if server.clock.now() < due - chrono::TimeDelta::seconds(2) {
        assert_eq!(files_in(&into).len(), 2, "nothing before its time");
    }
    let made = wait_for(Duration::from_secs(90), async || {
        files_in(&into)
            .into_iter()
            .find(|n| n.starts_with("palisade-backup-20261103T1001"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no daily backup in {}: {:?}",
            into.display(),
            files_in(&into)
        )
    });
    assert!(made.ends_with(".tar.age"), "encrypted: {made}");
    // Recorded as verified, then the oldest pruned (keep = 2).
    let store = server.store().await;
    let recorded = wait_for(Duration::from_secs(30), async || {
        store.last_verified_backup().await.unwrap()
    })
    .await
    .expect("the backup is recorded as verified");
    assert!(recorded.file.ends_with(&made), "{recorded:?}");
    let kept = wait_for(Duration::from_secs(10), async || {
        let files = files_in(&into);
        (files.len() == 2).then_some(files)
    })
    .await
    .unwrap_or_else(|| panic!("keep = 2: {:?}", files_in(&into)));
    assert_eq!(
        kept,
        [
            "palisade-backup-20201102T023000Z.tar.age".to_string(),
            made.clone()
        ]
    );
    // The file is ciphertext: no SQLite header in it, and it verifies with the school's key.
    let bytes = std::fs::read(into.join(&made)).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
    let file = into.join(&made);
    let mut verify = Command::new(BIN);
    verify.args(["backup", "--verify", file.to_str().unwrap()]);
    verify.args(["--identity", key.to_str().unwrap()]);
    if backend == Backend::Postgres {
        verify.args(["--db", &server.db.url]);
    }
    let out = verify.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("audit trail intact"), "{text}");
    // The head's dashboard shows it made and verified, with nothing wrong.
    let head = server.login("head").await;
    let (status, body) = head.get_json("/api/v1/dashboard").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backup"]["health"], "fine", "{body}");
    assert_eq!(body["backup"]["last_verified"], true, "{body}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_daily_is_made_verified_recorded_and_kept() {
    backup_daily_is_made_verified_recorded_and_kept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_daily_is_made_verified_recorded_and_kept() {
    backup_daily_is_made_verified_recorded_and_kept(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_daily_backup_raises_the_alert_and_shows_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    // The folder cannot be made: its parent is a file (the tests run as root, who may write
    // anywhere a folder exists).
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let into = blocker.join("backups");
    let (_key, public) = new_key(dir.path());
    // 10:00 has passed when the server starts at 10:00:30 and nothing was tried: it catches up.
    let profile = holt_with_backup(dir.path(), "10:00", 3, &into, &public);
    let server = Server::start_at(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        &profile.to_string_lossy(),
        &["--no-dns", "--no-proxy"],
        testkit::school_morning() + chrono::TimeDelta::seconds(30),
    );
    let head = server.login("head").await;
    let item = wait_for(Duration::from_secs(60), async || {
        let (_, body) = head.get_json("/api/v1/dashboard").await;
        body["items"]
            .as_array()?
            .iter()
            .find(|i| i["kind"] == "backup.failed")
            .cloned()
    })
    .await
    .expect("the head's dashboard shows the failed backup");
    assert_eq!(item["status"], "overdue", "{item}");
    let (_, body) = head.get_json("/api/v1/dashboard").await;
    assert_eq!(body["backup"]["health"], "failed", "{body}");
    assert_eq!(body["backup"]["last_verified"], false, "{body}");
    let home = head.get_text("/").await;
    assert!(home.contains("id=\"backup-status\""), "{home}");
    // The failure is on record, and the alert is in the network manager's and the head's
    // inboxes; a teacher sees neither.
    let store = server.store().await;
    let last = store
        .last_backup()
        .await
        .unwrap()
        .expect("the failure is recorded");
    assert!(!last.verified);
    assert!(
        last.error
            .as_deref()
            .unwrap_or("")
            .contains("cannot create"),
        "{last:?}"
    );
    store.close().await;
    for who in ["netman", "head"] {
        let page = server.login(who).await.get_text("/alerts").await;
        assert!(page.contains(store::backup::BACKUP_RULE), "{who}: {page}");
    }
    let teacher = server.login("teacher1").await;
    let (_, body) = teacher.get_json("/api/v1/dashboard").await;
    assert!(body["backup"].is_null(), "{body}");
    assert!(!body.to_string().contains("backup."), "{body}");
}

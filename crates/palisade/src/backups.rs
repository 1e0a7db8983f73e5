//! The daily backup `serve` makes by the profile's `[backup]`: at the school's `at` time on the
//! injected clock, encrypted to the school's age keys, verified right after (decrypted with a
//! key made for that check alone, unpacked, hashes, audit chain and row counts checked),
//! recorded (`backups` and the audit trail), and the newest `keep` kept. A server that was
//! down at the time catches up at start when today's time has passed and nothing was tried
//! since. A failed backup, or one missed while the server was down, raises a high alert for
//! the Headteacher and the network manager (`AlertAudience::Backup`), mailed as alerts are.

use crate::cmd::backup::{Plan, make_verified, parse_recipient, prune};
use anyhow::{Context, Result};
use policy::Profile;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use store::Store;

/// The profile's `[backup]` read and resolved: the folder and key file against the profile's
/// folder, the keys parsed.
#[derive(Clone)]
pub struct BackupSettings {
    /// Minutes after the school's midnight.
    pub minute: u32,
    pub keep: u32,
    pub dir: PathBuf,
    pub recipients: Vec<age::x25519::Recipient>,
    /// The school CA's folder, kept in each backup when it exists.
    pub ca_dir: Option<PathBuf>,
}

fn resolve(profile_dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path.trim());
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        profile_dir.join(p)
    }
}

/// The profile's backup settings, checked as `serve` will use them (`None`: no `[backup]`):
/// the time, the keys (the list and `recipients_file`, each parsed) and the folder. An error
/// names the key.
pub fn check_backup_settings(
    profile: &Profile,
    profile_dir: &Path,
) -> Result<Option<BackupSettings>> {
    let Some(b) = &profile.backup else {
        return Ok(None);
    };
    let minute = b
        .minute()
        .with_context(|| format!("backup.at: `{}` is not a time like 02:30", b.at))?;
    let mut keys = Vec::new();
    for (i, r) in b.recipients.iter().enumerate() {
        keys.push(parse_recipient(r, &format!("backup.recipients[{i}]"))?);
    }
    if let Some(file) = &b.recipients_file {
        let path = resolve(profile_dir, file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("backup.recipients_file: cannot read {}", path.display()))?;
        let shown = path.display().to_string();
        let listed = policy::backup::recipients_in(&text, &shown)
            .map_err(|p| anyhow::anyhow!("{}: {}", p.key, p.message))?;
        for r in &listed {
            keys.push(parse_recipient(r, "backup.recipients_file")?);
        }
    }
    if keys.is_empty() {
        anyhow::bail!("backup.recipients: name at least one age public key");
    }
    let dir = resolve(profile_dir, &b.dir);
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("backup.dir: {} is not a folder", dir.display());
    }
    let ca_dir = profile
        .network
        .as_ref()
        .map(|n| resolve(profile_dir, &n.proxy.ca_dir))
        .filter(|d| d.is_dir());
    Ok(Some(BackupSettings {
        minute,
        keep: b.keep,
        dir,
        recipients: keys,
        ca_dir,
    }))
}

/// When the newest verified backup was made (Unix seconds; 0: none known), for the metrics.
static NEWEST_VERIFIED: AtomicI64 = AtomicI64::new(0);

/// The clock the daily backup runs on (set when it starts), for the metrics' ages.
static CLOCK: std::sync::OnceLock<clock::Clock> = std::sync::OnceLock::new();

/// The newest verified backup's age in seconds (`None`: no daily backup runs, or none is
/// known yet).
pub fn newest_verified_age_seconds() -> Option<i64> {
    let clock = CLOCK.get()?;
    match NEWEST_VERIFIED.load(Ordering::Relaxed) {
        0 => None,
        at => Some(clock.now().timestamp() - at),
    }
}

fn note_verified(at: &str) {
    if let Some(t) = store::parse_timestamp(at) {
        NEWEST_VERIFIED.fetch_max(t.timestamp(), Ordering::Relaxed);
    }
}

/// Reads the newest verified backup on record, for the metrics of a server just started.
pub async fn note_newest_on_record(store: &Store) {
    if let Ok(Some(b)) = store.last_verified_backup().await {
        note_verified(&b.made_at);
    }
}

/// Looks again at least this often (a clock set forward, a failed look-up).
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// Starts the daily backup of `store` (the database at `db_url`) by `settings`; failures are
/// alerted through `mail` to the profile's readers of backup alerts.
pub fn spawn_daily_backup(
    store: &Store,
    db_url: &str,
    settings: BackupSettings,
    profile: &Profile,
    mail: &crate::gateways::Mail,
    web_url: &str,
) {
    use policy::schedule::{Daily, daily_mail};
    let store = store.clone();
    let db_url = db_url.to_string();
    let alerts = mail.alerts.clone();
    let wake = mail.wake.clone();
    let readers = profile.concerns.alert_readers();
    let web_url = web_url.to_string();
    let _ = CLOCK.set(store.clock().clone());
    tokio::spawn(async move {
        note_newest_on_record(&store).await;
        loop {
            let now = store.now_utc();
            let today = clock::school_time(now).date_naive();
            let due = clock::at_school_minute(today, settings.minute);
            let tried = match store.backup_tried_since(&store::timestamp(due)).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, "backups: cannot read the backups on record; looking again");
                    tokio::time::sleep(LOOK_AGAIN).await;
                    continue;
                }
            };
            let wait = match daily_mail(now, settings.minute, tried) {
                Daily::Now => {
                    let problem = run_once(&store, &db_url, &settings, due).await;
                    if let Some(what) = problem {
                        raise(&store, alerts.as_ref(), &wake, &readers, &web_url, &what).await;
                    }
                    // Once recorded, the next look waits for tomorrow; if recording failed,
                    // this keeps a failing database from being tried in a tight loop.
                    LOOK_AGAIN
                }
                // A few milliseconds late rather than early: the clock is read again on waking.
                Daily::At(at) => (at - now)
                    .to_std()
                    .map(|d| d + Duration::from_millis(5))
                    .unwrap_or_default()
                    .min(LOOK_AGAIN),
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// Makes, verifies, records and prunes today's backup: what to alert about, if anything.
async fn run_once(
    store: &Store,
    db_url: &str,
    settings: &BackupSettings,
    due: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    // Yesterday's backup missed (the server was down at its time): said even if today's works.
    let missed = match store.last_backup().await {
        Ok(Some(last)) => store::parse_timestamp(&last.made_at)
            .is_some_and(|at| at < due - chrono::TimeDelta::hours(24)),
        _ => false,
    };
    let plan = Plan {
        db_url,
        dir: &settings.dir,
        ca_dir: settings.ca_dir.as_deref(),
        recipients: &settings.recipients,
    };
    let started = std::time::Instant::now();
    match make_verified(store, plan, store.clock().clone()).await {
        Ok(made) => {
            note_verified(&made.manifest.made_at);
            tracing::info!(
                file = %made.path.display(),
                ms = started.elapsed().as_millis() as u64,
                "daily backup made, encrypted and verified"
            );
            match prune(&settings.dir, settings.keep as usize) {
                Ok(gone) => {
                    for g in gone {
                        tracing::info!(file = %g.display(), "older backup deleted (keep)");
                    }
                }
                Err(e) => tracing::error!(error = %e, "older backups could not be deleted"),
            }
            missed.then(|| {
                "a daily backup was missed (the server was not running at its time); \
                 today's was made on start"
                    .to_string()
            })
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the daily backup failed");
            Some(format!("the daily backup failed: {e:#}"))
        }
    }
}

/// Raises the backup alert and queues its mail to its readers.
async fn raise(
    store: &Store,
    alerts: &dyn monitor::pipeline::AlertStore,
    wake: &Arc<tokio::sync::Notify>,
    readers: &policy::alerts::AlertReaders,
    web_url: &str,
    what: &str,
) {
    match store.raise_backup_alert(what).await {
        Ok((id, new)) => {
            tracing::warn!(alert = id, "backup alert raised");
            if new {
                let queued =
                    monitor::pipeline::queue_alert_mail(alerts, id, readers, web_url).await;
                if let Err(e) = queued {
                    tracing::error!(error = %e, alert = id, "the backup alert's mail could not be queued");
                }
                wake.notify_one();
            }
        }
        Err(e) => tracing::error!(error = %e, "the backup alert could not be stored"),
    }
}

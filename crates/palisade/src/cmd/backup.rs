//! `palisade backup`: a consistent online copy of the database (SQLite `VACUUM INTO`) in one
//! archive file named by the store clock's time, with a manifest of hashes and what the copy
//! holds; `palisade backup --verify FILE`: unpack, check every hash, open the copy and check
//! its audit chain and row counts against the manifest; `palisade restore FILE`: verify, then
//! put the database into an empty target.
//!
//! Backups are not encrypted (yet): each file is written with mode 0600 and must be kept as
//! the database itself is.

mod archive;

use anyhow::{Context, Result, bail};
use archive::{DATABASE, Head, Manifest, Member};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use store::{Backend, BackupFacts, Store};

/// The name every backup file has: `palisade-backup-YYYYMMDDTHHMMSSZ.tar`.
const PREFIX: &str = "palisade-backup-";
const SUFFIX: &str = ".tar";

#[derive(Args)]
pub struct BackupArgs {
    /// sqlite://path of the database to back up
    #[arg(long = "db", visible_alias = "database-url", env = "PALISADE_DATABASE_URL",
          default_value_t = crate::settings::default_database_url("palisade.db"))]
    db: String,
    /// The folder the backup file is written to.
    #[arg(long, value_name = "DIR", required_unless_present = "verify")]
    to: Option<PathBuf>,
    /// Keep only the newest N backup files in DIR (older `palisade-backup-*.tar` are deleted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), requires = "to")]
    keep: Option<u32>,
    /// The school CA's folder (`palisade ca init --dir`), to keep in the backup too.
    #[arg(long, value_name = "DIR", requires = "to")]
    ca_dir: Option<PathBuf>,
    /// Check a backup file instead of making one (exit 0 verified, 1 refused).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "keep", "ca_dir"])]
    verify: Option<PathBuf>,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file to restore (it is verified first).
    file: PathBuf,
    /// sqlite://path of the new database: the file must not exist yet (or be empty).
    #[arg(
        long = "db",
        visible_alias = "database-url",
        required_unless_present = "data_dir",
        conflicts_with = "data_dir"
    )]
    db: Option<String>,
    /// A data folder to restore into as `DIR/palisade.db`: it must be empty or not exist.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: BackupArgs, clock: clock::Clock) -> Result<ExitCode> {
    if let Some(file) = args.verify {
        let checked = verify(&file, clock).await?;
        println!("{}", checked.summary(&file));
        for note in &checked.notes {
            println!("note: {note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.to else {
        bail!("--to DIR is needed to make a backup");
    };
    if Backend::of_url(&args.db)? != Backend::Sqlite {
        bail!(
            "backups of a PostgreSQL database are not built yet: use pg_dump --format=custom \
             (and pg_restore) for now; nothing was written"
        );
    }
    let store = Store::open_existing(&args.db, clock.clone()).await?;
    let made = make_verified(&store, &dir, args.ca_dir.as_deref(), clock).await;
    store.close().await;
    let (path, manifest) = made?;
    println!(
        "backup written to {} ({} concerns, {} people, audit trail head {}:{}; not encrypted: \
         keep it as safe as the database)",
        path.display(),
        manifest.rows.get("concerns").copied().unwrap_or_default(),
        manifest.rows.get("people").copied().unwrap_or_default(),
        manifest.audit_head.count,
        manifest.audit_head.hash
    );
    if let Some(keep) = args.keep {
        for gone in prune(&dir, keep as usize)? {
            println!("deleted the older backup {}", gone.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The backup file's name for a copy taken at `at`.
pub fn file_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is a backup file's name (the only files `--keep` deletes).
fn is_backup_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix(PREFIX)
        .and_then(|n| n.strip_suffix(SUFFIX))
    else {
        return false;
    };
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok() && stamp.len() == 16
}

/// Makes a backup of `store`'s database in `dir` (the CA's files from `ca_dir` too): its path
/// and manifest. The copy is taken online and the archive is written beside its final name and
/// renamed into place, so a backup file is whole or absent.
pub async fn make(store: &Store, dir: &Path, ca_dir: Option<&Path>) -> Result<(PathBuf, Manifest)> {
    if store.backend() != Backend::Sqlite {
        bail!(
            "backups of a PostgreSQL database are not built yet: use pg_dump --format=custom \
             (and pg_restore) for now"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made_at = store.now_utc();
    let name = file_name(made_at);
    let path = dir.join(&name);
    if path.exists() {
        bail!(
            "{} already exists (a backup was made this second)",
            path.display()
        );
    }
    let scratch = tempfile::Builder::new()
        .prefix(".palisade-backup-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot make a scratch folder in {}", dir.display()))?;
    let copy = scratch.path().join(DATABASE);
    store.backup_into(&copy).await?;
    let facts = facts_of(&copy, store.clock().clone()).await?;
    let mut files = vec![(DATABASE.to_string(), copy)];
    if let Some(ca) = ca_dir {
        if !ca.is_dir() {
            bail!("--ca-dir {} is not a folder", ca.display());
        }
        files.extend(archive::files_under(ca, "ca")?);
    }
    let mut members = Vec::new();
    for (member, source) in &files {
        let (sha256, size) = archive::hash_file(source)?;
        members.push(Member {
            name: member.clone(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format: archive::FORMAT.into(),
        format_version: archive::FORMAT_VERSION,
        palisade_version: env!("CARGO_PKG_VERSION").into(),
        made_at: store::timestamp(made_at),
        backend: "sqlite".into(),
        schema_version: facts.schema_version,
        blobs: "in the database (the blobs table)".into(),
        rows: facts.rows,
        audit_head: Head {
            count: facts.audit_head.count,
            hash: facts.audit_head.hash,
        },
        members,
    };
    let partial = scratch.path().join(format!("{name}.partial"));
    let mtime = u64::try_from(made_at.timestamp()).unwrap_or_default();
    archive::write(&partial, &manifest, &files, mtime)?;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("cannot move the backup into {}", path.display()))?;
    Ok((path, manifest))
}

/// Makes a backup as [`make`] does, verifies the file as `--verify` would, and records the
/// outcome in the database's `backups` table and audit trail (`backup.made`, or
/// `backup.failed` with the error), so that a failed backup is on record too.
pub async fn make_verified(
    store: &Store,
    dir: &Path,
    ca_dir: Option<&Path>,
    clock: clock::Clock,
) -> Result<(PathBuf, Manifest)> {
    let planned = dir.join(file_name(store.now_utc()));
    let outcome = async {
        let (path, manifest) = make(store, dir, ca_dir).await?;
        verify(&path, clock)
            .await
            .with_context(|| format!("{} was written but does not verify", path.display()))?;
        anyhow::Ok((path, manifest))
    }
    .await;
    match &outcome {
        Ok((path, manifest)) => {
            let file = path.display().to_string();
            let head = store::AuditHead {
                count: manifest.audit_head.count,
                hash: manifest.audit_head.hash.clone(),
            };
            let concerns = manifest.rows.get("concerns").copied().unwrap_or_default();
            store.record_backup(&file, Ok((concerns, &head))).await?;
        }
        Err(e) => {
            // Where it was to be written (the clock may have moved on to the next second).
            let file = planned.display().to_string();
            let error = format!("{e:#}");
            if let Err(not_recorded) = store.record_backup(&file, Err(&error)).await {
                tracing::error!(error = %not_recorded, "the failed backup could not be recorded");
            }
        }
    }
    outcome
}

/// The facts of the SQLite copy at `path`, opened without migrating anything.
async fn facts_of(path: &Path, clock: clock::Clock) -> Result<BackupFacts> {
    let url = format!("sqlite://{}", path.display());
    let copy = Store::open_existing(&url, clock).await?;
    let facts = copy.backup_facts().await;
    copy.close().await;
    Ok(facts?)
}

/// Deletes the oldest backup files in `dir` beyond the newest `keep`: the files deleted.
/// Only files named as backups are touched.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_backup_name(n))
        .collect();
    // The names carry the time in a fixed width: their order is the backups' order.
    names.sort();
    let surplus = names.len().saturating_sub(keep);
    let mut gone = Vec::new();
    for name in names.into_iter().take(surplus) {
        let path = dir.join(name);
        std::fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
        gone.push(path);
    }
    Ok(gone)
}

/// A backup file that verified: its manifest, the database's bytes as checked (in a scratch
/// folder that lives as long as this), and what a reader should know.
pub struct Verified {
    pub manifest: Manifest,
    /// The database member as unpacked and hash-checked (never opened).
    pub database: PathBuf,
    pub notes: Vec<String>,
    _scratch: tempfile::TempDir,
}

impl Verified {
    fn summary(&self, file: &Path) -> String {
        let m = &self.manifest;
        format!(
            "verified {}: made {}, schema version {}, {} concerns, {} people, audit trail \
             intact with head {}:{}",
            file.display(),
            m.made_at,
            m.schema_version,
            m.rows.get("concerns").copied().unwrap_or_default(),
            m.rows.get("people").copied().unwrap_or_default(),
            m.audit_head.count,
            m.audit_head.hash
        )
    }
}

/// Unpacks `file` into a scratch folder, checks every member's hash, opens a copy of the
/// database (no migration runs), walks its audit chain and compares its head and row counts
/// with the manifest. An error names what is wrong.
pub async fn verify(file: &Path, clock: clock::Clock) -> Result<Verified> {
    let scratch = tempfile::Builder::new()
        .prefix("palisade-verify-")
        .tempdir()
        .context("cannot make a scratch folder")?;
    let unpacked = scratch.path().join("members");
    std::fs::create_dir(&unpacked)?;
    let manifest = archive::unpack_checked(file, &unpacked)?;
    let database = unpacked.join(DATABASE);
    // Opening a SQLite file may write to it (its journal): check a copy, keep the bytes.
    let opened = scratch.path().join("opened");
    std::fs::create_dir(&opened)?;
    let copy = opened.join(DATABASE);
    std::fs::copy(&database, &copy)?;
    let facts = facts_of(&copy, clock)
        .await
        .with_context(|| format!("the database in {} does not check", file.display()))?;
    let mut notes = Vec::new();
    let latest = store::latest_schema_version(Backend::Sqlite);
    if facts.schema_version != manifest.schema_version {
        bail!(
            "schema version mismatch for {DATABASE}: it is at {}, the manifest says {}",
            facts.schema_version,
            manifest.schema_version
        );
    }
    if facts.schema_version < latest {
        notes.push(format!(
            "the backup's schema is version {}, older than this Palisade's {latest}: `palisade \
             serve` brings it up to date after a restore",
            facts.schema_version
        ));
    } else if facts.schema_version > latest {
        notes.push(format!(
            "the backup's schema is version {}, newer than this Palisade's {latest}: restore it \
             with the Palisade that made it ({})",
            facts.schema_version, manifest.palisade_version
        ));
    }
    let head = &facts.audit_head;
    if head.count != manifest.audit_head.count || head.hash != manifest.audit_head.hash {
        bail!(
            "audit trail head mismatch for {DATABASE}: the copy's chain ends at {}:{}, the \
             manifest says {}:{}",
            head.count,
            head.hash,
            manifest.audit_head.count,
            manifest.audit_head.hash
        );
    }
    for (table, expected) in &manifest.rows {
        let got = facts.rows.get(table).copied();
        if got != Some(*expected) {
            bail!(
                "row count mismatch for {table} in {DATABASE}: {}, the manifest says {expected}",
                got.map_or("no such table".to_string(), |n| n.to_string())
            );
        }
    }
    Ok(Verified {
        manifest,
        database,
        notes,
        _scratch: scratch,
    })
}

pub async fn restore(args: RestoreArgs, clock: clock::Clock) -> Result<ExitCode> {
    let target = match (&args.db, &args.data_dir) {
        (Some(url), _) => {
            if Backend::of_url(url)? != Backend::Sqlite {
                bail!("restoring into PostgreSQL is not built yet: restore into a sqlite:// URL");
            }
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            PathBuf::from(path)
        }
        (None, Some(dir)) => {
            let non_empty = dir.exists()
                && std::fs::read_dir(dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                    .next()
                    .is_some();
            if non_empty {
                bail!(
                    "{} is not empty: restore only into an empty folder (nothing was changed)",
                    dir.display()
                );
            }
            dir.join(DATABASE)
        }
        (None, None) => bail!("--db URL or --data-dir DIR is needed"),
    };
    refuse_existing(&target)?;
    let checked = verify(&args.file, clock).await?;
    if let Some(note) = checked.notes.iter().find(|n| n.contains("newer")) {
        bail!("not restored: {note}");
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let partial = target.with_extension("db.restoring");
    copy_private(&checked.database, &partial)?;
    // Checked again just before: another restore may have put a database there meanwhile.
    refuse_existing(&target)?;
    std::fs::rename(&partial, &target)
        .with_context(|| format!("cannot move the database into {}", target.display()))?;
    println!("{}", checked.summary(&args.file));
    for note in &checked.notes {
        println!("note: {note}");
    }
    println!("restored into {}", target.display());
    Ok(ExitCode::SUCCESS)
}

/// Refuses a target that holds a database already (a non-empty file, or its journal).
fn refuse_existing(target: &Path) -> Result<()> {
    let wal = PathBuf::from(format!("{}-wal", target.display()));
    for path in [target, wal.as_path()] {
        if let Ok(meta) = std::fs::metadata(path)
            && (!meta.is_file() || meta.len() > 0)
        {
            bail!(
                "{} already exists: restore only into an empty target (nothing was changed)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Copies `from` to the new file `to`, readable by its owner alone, and flushes it to disk.
fn copy_private(from: &Path, to: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let mut input = std::fs::File::open(from)?;
    std::io::copy(&mut input, &mut out)?;
    out.sync_all()?;
    Ok(())
}

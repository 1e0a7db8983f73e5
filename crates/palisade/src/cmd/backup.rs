//! `palisade backup`: a consistent online copy of the database (SQLite `VACUUM INTO`,
//! PostgreSQL `pg_dump`) in one archive file named by the store clock's time, with a manifest
//! of hashes and what the copy holds, encrypted with age to `--recipient` keys; `palisade
//! backup --verify FILE [--identity KEYFILE]`: decrypt, unpack, check every hash, open the copy
//! (a dump is restored into a temporary database) and check its audit chain and row counts
//! against the manifest; `palisade restore FILE`: verify, then put the database into an empty
//! target. `serve` makes one daily by the profile's `[backup]` (see `crate::backups`).
//!
//! A backup without recipients is a plain archive (mode 0600) and must be kept as the database
//! itself is.

mod archive;
mod crypt;
mod make;
mod pg;

pub use crypt::{new_identity, parse_recipient, public_of};
pub use make::{Made, Plan, make_verified, prune, verify};

use anyhow::{Context, Result, bail};
use archive::DATABASE;
use clap::Args;
use make::Check;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use store::{Backend, Store};

#[derive(Args)]
pub struct BackupArgs {
    /// sqlite://path or postgres://user@host/db of the database to back up (for `--verify` of
    /// a PostgreSQL backup: a server to check it on)
    #[arg(long = "db", visible_alias = "database-url", env = "PALISADE_DATABASE_URL",
          default_value_t = crate::settings::default_database_url("palisade.db"))]
    db: String,
    /// The folder the backup file is written to.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["verify", "new_identity"])]
    to: Option<PathBuf>,
    /// Encrypt the backup to this age public key (`age1…`; repeat for more).
    #[arg(long, value_name = "AGE_PUBLIC_KEY", requires = "to")]
    recipient: Vec<String>,
    /// Keep only the newest N backup files in DIR (older `palisade-backup-*.tar` are deleted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), requires = "to")]
    keep: Option<u32>,
    /// The school CA's folder (`palisade ca init --dir`), to keep in the backup too.
    #[arg(long, value_name = "DIR", requires = "to")]
    ca_dir: Option<PathBuf>,
    /// Check a backup file instead of making one (exit 0 verified, 1 refused).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "keep", "ca_dir"])]
    verify: Option<PathBuf>,
    /// The age private key file that opens an encrypted backup (with --verify).
    #[arg(long, value_name = "KEYFILE", requires = "verify")]
    identity: Option<PathBuf>,
    /// Make a new age key pair for backups: the private key goes to FILE (keep it off the
    /// server), the public key is printed for `[backup] recipients`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "verify"])]
    new_identity: Option<PathBuf>,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file to restore (it is verified first).
    file: PathBuf,
    /// sqlite://path of the new database (the file must not exist yet, or be empty), or
    /// postgres://user@host/db of an empty database.
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
    /// The age private key file that opens an encrypted backup.
    #[arg(long, value_name = "KEYFILE")]
    identity: Option<PathBuf>,
}

pub async fn run(args: BackupArgs, clock: clock::Clock) -> Result<ExitCode> {
    if let Some(file) = args.new_identity {
        let public = new_identity(&file)?;
        println!(
            "private key written to {} (keep it safe, and off the server)",
            file.display()
        );
        println!("public key, for [backup] recipients: {public}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(file) = args.verify {
        let identities = args
            .identity
            .as_deref()
            .map(crypt::read_identities)
            .transpose()?;
        let checked = verify_with(&file, clock, identities.as_ref(), Some(&args.db)).await?;
        println!("{}", checked.summary(&file));
        for note in &checked.notes {
            println!("note: {note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.to else {
        bail!("--to DIR is needed to make a backup");
    };
    let recipients = args
        .recipient
        .iter()
        .map(|r| parse_recipient(r, "--recipient"))
        .collect::<Result<Vec<_>>>()?;
    let store = Store::open_existing(&args.db, clock.clone()).await?;
    let plan = Plan {
        db_url: &args.db,
        dir: &dir,
        ca_dir: args.ca_dir.as_deref(),
        recipients: &recipients,
    };
    let made = make_verified(&store, plan, clock).await;
    store.close().await;
    let Made { path, manifest, .. } = made?;
    let sealed = if recipients.is_empty() {
        "not encrypted: keep it as safe as the database".to_string()
    } else {
        format!("encrypted to {} age key(s)", recipients.len())
    };
    println!(
        "backup written to {} ({} concerns, {} people, audit trail head {}:{}; {sealed})",
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

/// Verifies `file` with the identities read (if any), and a PostgreSQL server to check a dump
/// on.
async fn verify_with(
    file: &Path,
    clock: clock::Clock,
    identities: Option<&crypt::Identities>,
    pg_server: Option<&str>,
) -> Result<make::Verified> {
    let keys: Vec<&(dyn age::Identity + Sync)> = identities
        .map(|i| {
            i.keys
                .iter()
                .map(|k| k.as_ref() as &(dyn age::Identity + Sync))
                .collect()
        })
        .unwrap_or_default();
    let key_file = identities.map_or("no key file", |i| i.file.as_str());
    let check = Check {
        keys: &keys,
        key_file,
        pg_server,
    };
    verify(file, clock, check).await
}

pub async fn restore(args: RestoreArgs, clock: clock::Clock) -> Result<ExitCode> {
    let identities = args
        .identity
        .as_deref()
        .map(crypt::read_identities)
        .transpose()?;
    if let Some(url) = &args.db
        && Backend::of_url(url)? == Backend::Postgres
    {
        let checked = verify_with(&args.file, clock, identities.as_ref(), Some(url)).await?;
        if !checked.is_postgres() {
            bail!(
                "{} is a SQLite backup: restore it into a sqlite:// URL or --data-dir",
                args.file.display()
            );
        }
        if let Some(note) = checked.notes.iter().find(|n| n.contains("newer")) {
            bail!("not restored: {note}");
        }
        pg::restore(&checked.database, url).await?;
        println!("{}", checked.summary(&args.file));
        println!("restored into {}", store::redacted_url(url));
        return Ok(ExitCode::SUCCESS);
    }
    let target = match (&args.db, &args.data_dir) {
        (Some(url), _) => {
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
    let checked = verify_with(&args.file, clock, identities.as_ref(), None).await?;
    if checked.is_postgres() {
        bail!(
            "{} is a PostgreSQL backup: restore it with --db postgres://user@host/empty_db",
            args.file.display()
        );
    }
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

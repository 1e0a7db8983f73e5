//! Making a backup file (a consistent online copy, its manifest, the archive, encrypted when
//! there are recipients), checking one, and keeping the newest N.

use super::archive::{self, DATABASE, Head, Manifest, Member};
use super::crypt;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use store::{Backend, BackupFacts, Store};

/// Every backup file's name begins so: `palisade-backup-YYYYMMDDTHHMMSSZ.tar[.age]`.
const PREFIX: &str = "palisade-backup-";
const PLAIN: &str = ".tar";
const ENCRYPTED: &str = ".tar.age";

/// What to back up and where.
#[derive(Clone, Copy)]
pub struct Plan<'a> {
    /// The database's URL (a PostgreSQL one is dumped, and checked on its server).
    pub db_url: &'a str,
    pub dir: &'a Path,
    /// The school CA's folder, kept in the backup too.
    pub ca_dir: Option<&'a Path>,
    /// The age public keys the file is encrypted to (none: a plain archive).
    pub recipients: &'a [age::x25519::Recipient],
}

/// A backup file written.
pub struct Made {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// The key made for this backup's own check (encrypted backups only), forgotten with this.
    check: Option<age::x25519::Identity>,
}

/// The backup file's name for a copy taken at `at`.
pub fn file_name(at: chrono::DateTime<chrono::Utc>, encrypted: bool) -> String {
    let suffix = if encrypted { ENCRYPTED } else { PLAIN };
    format!("{PREFIX}{}{suffix}", at.format("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is a backup file's name (the only files `keep` deletes).
fn is_backup_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let Some(stamp) = rest
        .strip_suffix(ENCRYPTED)
        .or_else(|| rest.strip_suffix(PLAIN))
    else {
        return false;
    };
    stamp.len() == 16 && chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok()
}

/// Makes a backup of `store`'s database in `plan.dir`: its path and manifest. The copy is taken
/// online (SQLite `VACUUM INTO`, PostgreSQL `pg_dump` of one snapshot) and the file is written
/// beside its final name and renamed into place, so a backup file is whole or absent.
pub async fn make(store: &Store, plan: Plan<'_>) -> Result<Made> {
    let dir = plan.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made_at = store.now_utc();
    let encrypted = !plan.recipients.is_empty();
    let name = file_name(made_at, encrypted);
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
    let (member, copy, facts, heads, backend) = match store.backend() {
        Backend::Sqlite => {
            let copy = scratch.path().join(DATABASE);
            store.backup_into(&copy).await?;
            let facts = facts_of(&copy, store.clock().clone()).await?;
            (DATABASE, copy, facts, Default::default(), "sqlite")
        }
        Backend::Postgres => {
            let copy = scratch.path().join(super::pg::DUMP);
            super::pg::dump(plan.db_url, &copy).await?;
            let (facts, heads) =
                super::pg::facts_of_dump(plan.db_url, &copy, store.clock()).await?;
            (super::pg::DUMP, copy, facts, heads, "postgres")
        }
    };
    let mut files = vec![(member.to_string(), copy)];
    if let Some(ca) = plan.ca_dir {
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
        backend: backend.into(),
        schema_version: facts.schema_version,
        blobs: "in the database (the blobs table)".into(),
        rows: facts.rows,
        audit_head: Head {
            count: facts.audit_head.count,
            hash: facts.audit_head.hash,
        },
        school_heads: school_heads(&heads),
        members,
    };
    let tar = scratch.path().join(format!("{name}.partial"));
    let mtime = u64::try_from(made_at.timestamp()).unwrap_or_default();
    archive::write(&tar, &manifest, &files, mtime)?;
    // The plain copy and archive go with the scratch folder; only the encrypted file stays.
    let (ready, check) = if encrypted {
        let (key, public) = crypt::check_key();
        let sealed = scratch.path().join(format!("{name}.sealing"));
        crypt::encrypt(&tar, &sealed, plan.recipients, &public)?;
        (sealed, Some(key))
    } else {
        (tar, None)
    };
    std::fs::rename(&ready, &path)
        .with_context(|| format!("cannot move the backup into {}", path.display()))?;
    Ok(Made {
        path,
        manifest,
        check,
    })
}

/// Makes a backup as [`make`] does, verifies the file as `--verify` would (an encrypted one
/// with the key made for it), and records the outcome in the database's `backups` table and
/// audit trail (`backup.made`, or `backup.failed` with the error), so that a failed backup is
/// on record too.
pub async fn make_verified(store: &Store, plan: Plan<'_>, clock: clock::Clock) -> Result<Made> {
    let planned = plan
        .dir
        .join(file_name(store.now_utc(), !plan.recipients.is_empty()));
    let outcome = async {
        let made = make(store, plan).await?;
        let keys: Vec<&(dyn age::Identity + Sync)> = made
            .check
            .iter()
            .map(|k| k as &(dyn age::Identity + Sync))
            .collect();
        let check = Check {
            keys: &keys,
            key_file: "the key made for this backup's check",
            pg_server: Some(plan.db_url),
        };
        verify(&made.path, clock, check)
            .await
            .with_context(|| format!("{} was written but does not verify", made.path.display()))?;
        anyhow::Ok(made)
    }
    .await;
    match &outcome {
        Ok(made) => {
            let file = made.path.display().to_string();
            let head = store::AuditHead {
                count: made.manifest.audit_head.count,
                hash: made.manifest.audit_head.hash.clone(),
            };
            let concerns = made
                .manifest
                .rows
                .get("concerns")
                .copied()
                .unwrap_or_default();
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

/// The manifest's record of each school's chain head (none for one school's SQLite copy).
fn school_heads(heads: &super::pg::SchoolHeads) -> std::collections::BTreeMap<String, Head> {
    heads
        .iter()
        .map(|(id, h)| {
            let head = Head {
                count: h.count,
                hash: h.hash.clone(),
            };
            (id.to_string(), head)
        })
        .collect()
}

/// The facts of the SQLite copy at `path`, opened without migrating anything.
pub(super) async fn facts_of(path: &Path, clock: clock::Clock) -> Result<BackupFacts> {
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
    names.sort_by(|a, b| {
        a[PREFIX.len()..PREFIX.len() + 16].cmp(&b[PREFIX.len()..PREFIX.len() + 16])
    });
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
    /// The database member (a SQLite file, or a PostgreSQL dump) as unpacked and hash-checked.
    pub database: PathBuf,
    pub notes: Vec<String>,
    _scratch: tempfile::TempDir,
}

impl Verified {
    pub fn summary(&self, file: &Path) -> String {
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

    pub fn is_postgres(&self) -> bool {
        self.manifest.backend == "postgres"
    }
}

/// What a check of a backup file is given.
#[derive(Clone, Copy)]
pub struct Check<'a> {
    /// The private keys for an encrypted file.
    pub keys: &'a [&'a (dyn age::Identity + Sync)],
    /// Where the keys came from (for messages).
    pub key_file: &'a str,
    /// A PostgreSQL server to restore a dump into a temporary database on.
    pub pg_server: Option<&'a str>,
}

/// Decrypts `file` when it is encrypted (with `keys`, read from `key_file`), unpacks it into a
/// scratch folder, checks every member's hash, opens a copy of the database (no migration runs;
/// a PostgreSQL dump is restored into a temporary database on the same server), walks its
/// audit chain and compares its head and row counts with the manifest. An error names what is
/// wrong.
pub async fn verify(file: &Path, clock: clock::Clock, with: Check<'_>) -> Result<Verified> {
    let Check {
        keys,
        key_file,
        pg_server,
    } = with;
    let scratch = tempfile::Builder::new()
        .prefix("palisade-verify-")
        .tempdir()
        .context("cannot make a scratch folder")?;
    let archive_file = if crypt::is_encrypted(file)? {
        if keys.is_empty() {
            bail!(
                "{} is encrypted: give --identity KEYFILE (the school's age private key)",
                file.display()
            );
        }
        let plain = scratch.path().join("backup.tar");
        crypt::decrypt(file, &plain, keys, key_file)?;
        plain
    } else {
        file.to_path_buf()
    };
    let unpacked = scratch.path().join("members");
    std::fs::create_dir(&unpacked)?;
    let manifest = archive::unpack_checked(&archive_file, file, &unpacked)?;
    let (database, (facts, heads), backend) = if manifest.backend == "postgres" {
        let dump = unpacked.join(super::pg::DUMP);
        let Some(server) = pg_server.filter(|u| u.starts_with("postgres")) else {
            bail!(
                "{} holds a PostgreSQL dump: give --db postgres://user@host/db (its server gets \
                 a temporary database to check it in, dropped after)",
                file.display()
            );
        };
        let facts = super::pg::facts_of_dump(server, &dump, &clock)
            .await
            .with_context(|| format!("the database in {} does not check", file.display()))?;
        (dump, facts, Backend::Postgres)
    } else {
        let database = unpacked.join(DATABASE);
        // Opening a SQLite file may write to it (its journal): check a copy, keep the bytes.
        let opened = scratch.path().join("opened");
        std::fs::create_dir(&opened)?;
        let copy = opened.join(DATABASE);
        std::fs::copy(&database, &copy)?;
        let facts = facts_of(&copy, clock)
            .await
            .with_context(|| format!("the database in {} does not check", file.display()))?;
        (database, (facts, Default::default()), Backend::Sqlite)
    };
    let member = database
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let heads = school_heads(&heads);
    if heads != manifest.school_heads {
        let differ = heads
            .keys()
            .chain(manifest.school_heads.keys())
            .find(|k| heads.get(*k) != manifest.school_heads.get(*k))
            .cloned()
            .unwrap_or_default();
        bail!(
            "audit trail head mismatch for school {differ} in {member}: the copy's chain ends \
             at {}, the manifest says {}",
            heads
                .get(&differ)
                .map_or("nothing".into(), |h| format!("{}:{}", h.count, h.hash)),
            manifest
                .school_heads
                .get(&differ)
                .map_or("nothing".into(), |h| format!("{}:{}", h.count, h.hash))
        );
    }
    let mut notes = Vec::new();
    let latest = store::latest_schema_version(backend);
    if facts.schema_version != manifest.schema_version {
        bail!(
            "schema version mismatch for {member}: it is at {}, the manifest says {}",
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
            "audit trail head mismatch for {member}: the copy's chain ends at {}:{}, the \
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
                "row count mismatch for {table} in {member}: {}, the manifest says {expected}",
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

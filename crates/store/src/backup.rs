//! Consistent copies of a live database for `palisade backup`, and the facts a backup's
//! manifest records (schema version, row counts, the audit chain's head) so that a copy can be
//! checked against them after it is unpacked.
//!
//! Files kept by the registers are rows of the `blobs` table, so a copy of the database holds
//! every attachment too: nothing lives beside it.

use crate::{AuditHead, AuditVerdict, Backend, Result, Store, StoreError};
use std::collections::BTreeMap;
use std::path::Path;

/// The tables whose row counts a backup's manifest records: the people, the safeguarding log
/// (concerns and their timeline), alerts, and the two trails.
pub const COUNTED_TABLES: &[&str] = &[
    "people",
    "concerns",
    "concern_actions",
    "alerts",
    "audit_log",
    "access_log",
];

/// What a copy of the database holds, as a manifest records it and a verify recomputes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFacts {
    /// The highest migration applied to the copy.
    pub schema_version: i64,
    /// Rows of each of [`COUNTED_TABLES`].
    pub rows: BTreeMap<String, i64>,
    /// The audit chain's head, after walking the chain.
    pub audit_head: AuditHead,
}

/// The highest migration this build of Palisade knows for `backend`.
pub fn latest_schema_version(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => &crate::db::MIGRATE_SQLITE,
        Backend::Postgres => &crate::db::MIGRATE_POSTGRES,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

impl Store {
    /// Writes a consistent copy of the whole database to the new file `path`, online: SQLite's
    /// `VACUUM INTO` reads one snapshot while writers go on (a copy of the live file could
    /// catch a write half done, or miss what is still in the WAL).
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "backups of a PostgreSQL database are not built yet: use pg_dump \
                 --format=custom (and pg_restore) for now"
                    .into(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists (nothing was written)",
                path.display()
            )));
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Unsupported(format!("{} is not a UTF-8 path", path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The highest migration applied to this database (0 when none is).
    pub async fn schema_version(&self) -> Result<i64> {
        let (version,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    /// The facts a backup's manifest records of this database (a copy, not the live one:
    /// writers would move them on while they were read). The audit chain is walked, so a copy
    /// whose chain is broken gives an error naming the row.
    pub async fn backup_facts(&self) -> Result<BackupFacts> {
        let schema_version = self.schema_version().await?;
        let mut rows = BTreeMap::new();
        // In this store's scope: on PostgreSQL, row-level security shows the schools it acts
        // for (all of them for `every_school`), and nothing outside a scope.
        let mut tx = self.read().await?;
        for table in COUNTED_TABLES {
            let (n,): (i64,) = sqlx::query_as(sql!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut *tx)
                .await?;
            rows.insert((*table).to_string(), n);
        }
        drop(tx);
        let audit_head = self.verified_head("the audit chain").await?;
        Ok(BackupFacts {
            schema_version,
            rows,
            audit_head,
        })
    }
}

/// One backup the server made or tried (a row of `backups`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupRecord {
    pub id: i64,
    pub made_at: String,
    /// The backup file (or where it was to be written, when it failed).
    pub file: String,
    /// Whether the file was verified after it was written.
    pub verified: bool,
    /// Why it failed or did not verify.
    pub error: Option<String>,
}

type BackupRow = (i64, String, String, i64, Option<String>);

fn record_of((id, made_at, file, verified, error): BackupRow) -> BackupRecord {
    BackupRecord {
        id,
        made_at,
        file,
        verified: verified != 0,
        error,
    }
}

const BACKUP_COLUMNS: &str = "id, made_at, file, verified, error";

impl Store {
    /// Records the outcome of a backup the server made on its own (no user acts, so no
    /// permit: see `permits.rs`), at the store's now, with its `backup.made` or
    /// `backup.failed` audit row in the same transaction. `Err(error)` is a failure.
    pub async fn record_backup(
        &self,
        file: &str,
        outcome: std::result::Result<(i64, &AuditHead), &str>,
    ) -> Result<BackupRecord> {
        let at = self.now();
        let mut tx = self.begin_write().await?;
        let (verified, error) = match &outcome {
            Ok(_) => (1i64, None),
            Err(e) => (0, Some((*e).to_string())),
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO backups (made_at, file, verified, error) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(&at)
        .bind(file)
        .bind(verified)
        .bind(error.clone())
        .fetch_one(&mut *tx)
        .await?;
        let head;
        let what = match outcome {
            Ok((concerns, h)) => {
                head = h.to_string();
                crate::AuditAction::BackupMade {
                    id,
                    file,
                    concerns,
                    audit_head: &head,
                }
            }
            Err(error) => crate::AuditAction::BackupFailed { id, error },
        };
        crate::audit::record(&mut tx, &self.clock, None, what).await?;
        tx.commit().await?;
        Ok(BackupRecord {
            id,
            made_at: at,
            file: file.to_string(),
            verified: verified == 1,
            error,
        })
    }

    /// The newest backup recorded, verified or not.
    pub async fn last_backup(&self) -> Result<Option<BackupRecord>> {
        let row: Option<BackupRow> = sqlx::query_as(sql!(
            "SELECT {BACKUP_COLUMNS} FROM backups WHERE school_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(self.school_id())
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(record_of))
    }

    /// The newest backup that verified.
    pub async fn last_verified_backup(&self) -> Result<Option<BackupRecord>> {
        let row: Option<BackupRow> = sqlx::query_as(sql!(
            "SELECT {BACKUP_COLUMNS} FROM backups WHERE school_id = $1 AND verified = 1 \
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(self.school_id())
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(record_of))
    }

    /// Whether a backup was recorded (made or failed) at or after `since` (a stored time).
    pub async fn backup_tried_since(&self, since: &str) -> Result<bool> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM backups WHERE school_id = $1 AND made_at >= $2")
                .bind(self.school_id())
                .bind(since)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok(n > 0)
    }
}

/// The rule of the alert a missed or failed daily backup raises.
pub const BACKUP_RULE: &str = "backup missed or failed";

/// How long further failures add to the same backup alert (its count grows) instead of making
/// new ones: a day, so each day's failure that is not handled is one line.
pub const BACKUP_ALERT_WINDOW_MINUTES: u32 = 24 * 60;

impl Store {
    /// Raises (or adds to) the high alert that a daily backup was missed or failed, for the
    /// backup's readers ([`policy::alerts::AlertAudience::Backup`]): the alert's id and
    /// whether it is new. `what` says what went wrong; it holds no pupil's data.
    pub async fn raise_backup_alert(&self, what: &str) -> Result<(i64, bool)> {
        let hit = crate::AlertHit {
            severity: policy::profile::monitoring::AlertSeverity::High,
            rule: BACKUP_RULE.to_string(),
            subject: events::SYSTEM_SUBJECT.to_string(),
            audience: policy::alerts::AlertAudience::Backup,
            count: 1,
            event: crate::AccessEvent::new(
                self.now(),
                "palisade",
                String::new(),
                String::new(),
                what.to_string(),
                events::LogVerdict::Error,
            ),
        };
        self.record_alert_hit(&hit, BACKUP_ALERT_WINDOW_MINUTES)
            .await
    }
}

/// `url` with its database name replaced by `name` (PostgreSQL URLs).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

async fn admin_connection(url: &str) -> Result<sqlx::AnyConnection> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    Ok(sqlx::AnyConnection::connect(url).await?)
}

/// Creates a new, empty database on the PostgreSQL server of `url` (as `url`'s user, who may
/// create databases) for checking a backup: its name and URL. Drop it with [`drop_database`].
pub async fn create_scratch_database(url: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    use std::hash::BuildHasher;
    // A random name (a fresh hasher's keys are random), so two checks never meet.
    let random = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    let name = format!("palisade_verify_{}_{random:016x}", std::process::id());
    let mut conn = admin_connection(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let made = with_database(url, &name);
    Ok((name, made))
}

/// Drops the database `name` on the server of `url`, ending its sessions.
pub async fn drop_database(url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Unsupported(format!(
            "`{name}` is not a database name"
        )));
    }
    let mut conn = admin_connection(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// How many tables the PostgreSQL database at `url` has in its `public` schema (0: empty).
pub async fn postgres_tables(url: &str) -> Result<i64> {
    use sqlx::Connection;
    let mut conn = admin_connection(url).await?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(n)
}

impl Store {
    /// Each school's audit chain in this database walked (a trust's schools share one, each
    /// with its own chain): school id → head. An error names the school and the broken row.
    pub async fn audit_heads_of_every_school(&self) -> Result<BTreeMap<i64, AuditHead>> {
        let mut out = BTreeMap::new();
        let ids: Vec<i64> = self.schools().await?.into_iter().map(|s| s.id).collect();
        for id in ids {
            let chain = format!("school {id}'s audit chain");
            out.insert(id, self.in_school(id).verified_head(&chain).await?);
        }
        Ok(out)
    }

    /// The audit chain's head after walking it; a broken chain is an error naming the row,
    /// as `chain` ("the audit chain", "school 2's audit chain").
    async fn verified_head(&self, chain: &str) -> Result<AuditHead> {
        match self.verify_audit().await? {
            AuditVerdict::Intact { rows, head } => Ok(AuditHead {
                count: rows,
                hash: head,
            }),
            AuditVerdict::Broken { row_id, reason } => Err(StoreError::Corrupt {
                table: "audit_log",
                id: row_id.to_string(),
                message: format!("{chain} is broken: {reason}"),
            }),
        }
    }
}

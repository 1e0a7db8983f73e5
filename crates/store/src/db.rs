//! Opening the database: SQLite or PostgreSQL by URL scheme, pragmas, migrations, and
//! transactions that serialise writers so that the audit chain never forks.
//!
//! On PostgreSQL every connection of the service acts as [`SERVICE_ROLE`], which owns nothing
//! and cannot bypass row-level security, and every transaction first sets the schools it acts
//! for ([`Scope`]) with `set_config(.., true)`, which ends with the transaction: a pooled
//! connection never carries one school's setting into another's work.

use crate::{Result, StoreError};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

mod service;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a URL selects.
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

/// The PostgreSQL role the service acts as on every connection (made by the migrations).
pub const SERVICE_ROLE: &str = "palisade_app";

/// The schools a [`Store`] acts for: the one its writes land in, and every school it may read
/// (which includes that one). A school's staff act in their school alone; a trust role reads
/// the schools the trust profile gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    school: i64,
    readable: std::sync::Arc<[i64]>,
}

impl Scope {
    /// Acting in `school`, reading nothing else.
    pub fn school(school: i64) -> Scope {
        Scope {
            school,
            readable: std::sync::Arc::from([school]),
        }
    }

    /// Acting in `school`, reading it and `others` too.
    pub fn across(school: i64, others: &[i64]) -> Scope {
        let mut readable: Vec<i64> = others.to_vec();
        readable.push(school);
        readable.sort_unstable();
        readable.dedup();
        Scope {
            school,
            readable: readable.into(),
        }
    }

    /// The readable schools as a PostgreSQL array literal (`{1,2}`).
    fn array_literal(&self) -> String {
        let ids: Vec<String> = self.readable.iter().map(i64::to_string).collect();
        format!("{{{}}}", ids.join(","))
    }
}

/// The handle every repository function hangs off. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The schools this handle acts for (school 1 until told otherwise).
    scope: Scope,
    /// The URL as opened, for connections of their own.
    url: OpenedUrl,
    /// The owner's URL, for the operator's commands that change what the service may not
    /// (the same as `url` unless the service has a login of its own).
    owner_url: OpenedUrl,
    /// Whether connections act as [`SERVICE_ROLE`] (PostgreSQL with row-level security).
    secured: bool,
    /// Where every time this store writes or compares comes from.
    pub(crate) clock: clock::Clock,
    /// Notified whenever mail is queued, so that the sender looks at once.
    pub(crate) outbox: std::sync::Arc<tokio::sync::Notify>,
}

/// Drops a connection's privileges to the service role's.
const SET_SERVICE_ROLE: &str = "SET ROLE palisade_app";

/// A database URL, which may hold a password: shown redacted.
#[derive(Clone)]
struct OpenedUrl(std::sync::Arc<str>);

impl std::fmt::Debug for OpenedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// A typed connection outside the pool (see [`Store::own_connection`]).
pub(crate) enum OwnConnection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// PRAGMAs of the background writers' own SQLite connections (the access log, and the alerts
/// its events set off). `synchronous = NORMAL` because in WAL mode a power cut may then lose
/// the last commits, as it loses the events still queued in memory, while a crash of Palisade
/// loses nothing committed; concerns and the audit trail keep `FULL` on the pool's
/// connections. (An alert stored with `FULL` would also flush every access-log page written
/// before it.) The WAL is copied back to the database every 10,000 pages (40 MB) rather than
/// every 1,000: at full rate that is a few times a second instead of tens, and the file is cut
/// back to 64 MB after.
const BACKGROUND_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
    PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;";

/// The key of the PostgreSQL advisory lock that serialises writers (the audit chain's head);
/// each school's chain has its own, this plus the school's id.
const AUDIT_LOCK_KEY: i64 = 0x5041_4c49_5341_4445; // "PALISADE"

/// Sets the acting school and the readable schools for the rest of a transaction.
const SET_SCOPE: &str =
    "SELECT set_config('palisade.school', $1, true), set_config('palisade.schools', $2, true)";

/// [`SET_SCOPE`] for the whole session of a connection that is never pooled.
const SET_SESSION_SCOPE: &str =
    "SELECT set_config('palisade.school', $1, false), set_config('palisade.schools', $2, false)";

pub(crate) static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static MIGRATE_POSTGRES: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date;
    /// every time it records or compares is read from `clock`.
    pub async fn open(url: &str, clock: clock::Clock) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let asked = url;
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            prepare_sqlite_file(&url);
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&" } else { "?" });
                url.push_str("mode=rwc");
            }
        }
        if backend == Backend::Postgres {
            migrate_postgres(&url, asked).await?;
        }
        let store = Store::connect(url, asked, backend, clock, true).await?;
        if backend == Backend::Sqlite {
            // WAL is a property of the file: set once, kept across opens.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
            MIGRATE_SQLITE.run(&store.pool).await?;
        }
        Ok(store)
    }

    /// Opens a Palisade database that must already exist, creating and migrating nothing: for
    /// commands that inspect (`audit verify`), where a mistyped path must not pass as an empty,
    /// intact trail.
    pub async fn open_existing(url: &str, clock: clock::Clock) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let asked = url;
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = sqlite_path(&url);
            if path.is_empty() || path == ":memory:" || !std::path::Path::new(path).is_file() {
                return Err(StoreError::NoDatabase(format!(
                    "no database file at {path} (nothing was created)"
                )));
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&" } else { "?" });
                url.push_str("mode=rw");
            }
        }
        // A database from before row-level security has no service role to act as.
        let secured = backend == Backend::Postgres && {
            use sqlx::Connection;
            let mut conn = connect_as_owner(&url, asked).await?;
            let (secured,): (bool,) =
                sqlx::query_as("SELECT to_regprocedure('palisade_school()') IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await?;
            conn.close().await?;
            secured
        };
        let store = Store::connect(url, asked, backend, clock, secured).await?;
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'audit_log'"
            }
        };
        let (tables,): (i64,) = sqlx::query_as(sql).fetch_one(&store.pool).await?;
        if tables == 0 {
            let shown = redact(asked);
            store.close().await;
            return Err(StoreError::NoDatabase(format!(
                "{shown} is not a Palisade database (it has no audit_log table)"
            )));
        }
        Ok(store)
    }

    /// The pool for `url`, with the pool connections' PRAGMAs on SQLite, and on PostgreSQL
    /// acting as [`SERVICE_ROLE`] when `secured`.
    async fn connect(
        url: String,
        asked: &str,
        backend: Backend,
        clock: clock::Clock,
        secured: bool,
    ) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            url: redact(asked),
            source,
        };
        let options = AnyConnectOptions::from_str(&url).map_err(open_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // sqlx turns foreign keys on by default; say so anyway, with the rest.
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;")
                            .await?;
                    } else if secured {
                        conn.execute(SET_SERVICE_ROLE).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let url = OpenedUrl(url.as_str().into());
        Ok(Store {
            pool,
            backend,
            scope: Scope::school(1),
            owner_url: url.clone(),
            url,
            secured,
            clock,
            outbox: std::sync::Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// What wakes the mail sender: notified whenever this store (or a copy of it) queues mail.
    pub fn outbox_wake(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    /// This store acting for `scope` instead (same pool).
    pub fn scoped(&self, scope: Scope) -> Store {
        Store {
            scope,
            ..self.clone()
        }
    }

    /// This store acting in `school` alone.
    pub fn in_school(&self, school: i64) -> Store {
        self.scoped(Scope::school(school))
    }

    /// The schools this store acts for.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The school this store's writes land in.
    pub fn school_id(&self) -> i64 {
        self.scope.school
    }

    /// The clock this store reads.
    pub fn clock(&self) -> &clock::Clock {
        &self.clock
    }

    /// Now, by this store's clock.
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Now, by this store's clock, as stored.
    pub fn now(&self) -> String {
        crate::stamp(self.clock.now())
    }

    /// A connection outside the pool for the background writers, typed (no `Any` layer) and
    /// bound to the calling thread's runtime, with [`BACKGROUND_PRAGMAS`] on SQLite. SQLite's
    /// worker thread is started from the calling thread and so inherits its scheduling priority.
    pub(crate) async fn own_connection(&self) -> Result<OwnConnection> {
        use sqlx::Connection;
        let url = &self.url.0;
        Ok(match self.backend {
            Backend::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| self.open_error(e))?;
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| self.open_error(e))?;
                conn.execute(BACKGROUND_PRAGMAS).await?;
                OwnConnection::Sqlite(conn)
            }
            Backend::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| self.open_error(e))?;
                let mut conn = sqlx::PgConnection::connect_with(&options)
                    .await
                    .map_err(|e| self.open_error(e))?;
                if self.secured {
                    conn.execute(SET_SERVICE_ROLE).await?;
                }
                // This connection is the access-log writer's alone, for this store's scope, for
                // as long as it lives: its scope is set once for the session rather than in a
                // transaction around every batch (which cost the writer a quarter of its rate).
                sqlx::query::<sqlx::Postgres>(SET_SESSION_SCOPE)
                    .bind(self.scope.school.to_string())
                    .bind(self.scope.array_literal())
                    .execute(&mut conn)
                    .await?;
                OwnConnection::Postgres(conn)
            }
        })
    }

    /// Like [`Store::own_connection`], through sqlx's `Any` layer, for the queries this crate
    /// writes once for both engines.
    pub(crate) async fn own_any_connection(&self) -> Result<sqlx::AnyConnection> {
        use sqlx::Connection;
        let options = AnyConnectOptions::from_str(&self.url.0).map_err(|e| self.open_error(e))?;
        let mut conn = sqlx::AnyConnection::connect_with(&options)
            .await
            .map_err(|e| self.open_error(e))?;
        if self.backend == Backend::Sqlite {
            conn.execute(BACKGROUND_PRAGMAS).await?;
        } else if self.secured {
            conn.execute(SET_SERVICE_ROLE).await?;
        }
        Ok(conn)
    }

    /// A connection as the URL's own user (the owner), not the service role: for the
    /// operator's commands that change what the service may not (adding a school).
    pub(crate) async fn owner_connection(&self) -> Result<sqlx::AnyConnection> {
        connect_as_owner(&self.owner_url.0, &self.owner_url.0).await
    }

    /// The owner's URL (it may hold a password: never log it), for `pg_dump` of the whole
    /// database by the daily backup.
    pub fn owner_url(&self) -> &str {
        &self.owner_url.0
    }

    fn open_error(&self, source: sqlx::Error) -> StoreError {
        StoreError::Open {
            url: redact(&self.url.0),
            source,
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that may write, in this store's scope. Writers of a school are
    /// serialised (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock for the school) so each
    /// sees its school's audit chain's true head.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => enter_for_write(self.pool.begin().await?, &self.scope).await,
        }
    }

    /// Starts a transaction that reads, in this store's scope (read-only on PostgreSQL). It is
    /// rolled back when dropped, so a one-statement read may use a temporary:
    /// `.fetch_all(&mut *self.read().await?)`.
    pub(crate) async fn read(&self) -> Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin().await?),
            Backend::Postgres => {
                enter_scope(self.pool.begin_with("BEGIN READ ONLY").await?, &self.scope).await
            }
        }
    }

    /// Starts a PostgreSQL transaction with `begin` (e.g. an isolation level), in this store's
    /// scope, without waiting for the writers.
    pub(crate) async fn begin_pg_with(
        &self,
        begin: &'static str,
    ) -> Result<Transaction<'static, Any>> {
        enter_scope(self.pool.begin_with(begin).await?, &self.scope).await
    }

    /// Starts a transaction for a write that adds nothing to the audit chain (a session's
    /// last use, a failed sign-in), in this store's scope, without waiting for the writers.
    pub(crate) async fn begin_unaudited(&self) -> Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin().await?),
            Backend::Postgres => enter_scope(self.pool.begin().await?, &self.scope).await,
        }
    }
}

/// [`Store::begin_write`] on a connection of its own.
pub(crate) async fn begin_write_on<'c>(
    conn: &'c mut sqlx::AnyConnection,
    backend: Backend,
    scope: &Scope,
) -> Result<Transaction<'c, Any>> {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => Ok(conn.begin_with("BEGIN IMMEDIATE").await?),
        Backend::Postgres => enter_for_write(conn.begin().await?, scope).await,
    }
}

/// Sets `scope` for the rest of `tx` (PostgreSQL).
async fn enter_scope<'c>(
    mut tx: Transaction<'c, Any>,
    scope: &Scope,
) -> Result<Transaction<'c, Any>> {
    sqlx::query(SET_SCOPE)
        .bind(scope.school.to_string())
        .bind(scope.array_literal())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Acts in `school` alone, with its chain's lock, for the rest of `tx` (PostgreSQL).
pub(crate) async fn enter_school(
    tx: Transaction<'_, Any>,
    school: i64,
) -> Result<Transaction<'_, Any>> {
    enter_for_write(tx, &Scope::school(school)).await
}

/// Sets `scope` and takes its acting school's writer lock, for the rest of `tx` (PostgreSQL).
async fn enter_for_write<'c>(
    tx: Transaction<'c, Any>,
    scope: &Scope,
) -> Result<Transaction<'c, Any>> {
    let tx = enter_scope(tx, scope).await?;
    lock_audit_head(tx, scope.school).await
}

/// Takes the lock that serialises PostgreSQL writers of `school`, for the rest of `tx`.
async fn lock_audit_head(
    mut tx: Transaction<'_, Any>,
    school: i64,
) -> Result<Transaction<'_, Any>> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK_KEY.wrapping_add(school))
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A connection to `url` as its own user, outside any pool; errors name `asked`, redacted.
/// Brings a PostgreSQL database's schema up to date as the URL's user (the owner): the service
/// role may not change the schema.
async fn migrate_postgres(url: &str, asked: &str) -> Result<()> {
    use sqlx::Connection;
    let mut owner = connect_as_owner(url, asked).await?;
    MIGRATE_POSTGRES.run(&mut owner).await?;
    owner.close().await?;
    Ok(())
}

async fn connect_as_owner(url: &str, asked: &str) -> Result<sqlx::AnyConnection> {
    use sqlx::Connection;
    let open_err = |source| StoreError::Open {
        url: redact(asked),
        source,
    };
    let options = AnyConnectOptions::from_str(url).map_err(open_err)?;
    sqlx::AnyConnection::connect_with(&options)
        .await
        .map_err(open_err)
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The file path of a `sqlite:` URL (empty for none).
fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or_default()
}

/// Makes the SQLite file private to Palisade's user before SQLite opens it: a folder Palisade
/// creates is 0700, a new database file is created empty with 0600 (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), and an existing database, `-wal` or `-shm` that
/// others may read is tightened to 0600, with a warning that says so.
fn prepare_sqlite_file(url: &str) {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" || path.starts_with("file::memory:") {
        return;
    }
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        // A failure here surfaces as the clearer "cannot open" error just after.
        let _ = private_dir_builder().create(parent);
    }
    let mut new_file = std::fs::OpenOptions::new();
    new_file.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        new_file.mode(0o600);
    }
    // Only where SQLite itself would create the file (no `mode=`, or `mode=rwc`).
    let creates = !url.contains("mode=") || url.contains("mode=rwc");
    if creates && new_file.open(path).is_ok() {
        return;
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::Path::new(&file);
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            continue;
        }
        match std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o600)) {
            Ok(()) => tracing::warn!(
                file = %file.display(),
                "the database file was readable by others (mode {mode:o}): tightened to 600"
            ),
            Err(error) => tracing::warn!(
                file = %file.display(),
                %error,
                "the database file is readable by others (mode {mode:o}) and could not be tightened: \
                 make it 600"
            ),
        }
    }
}

/// Creates folders (and their missing parents) readable by this user only.
fn private_dir_builder() -> std::fs::DirBuilder {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://palisade:s3cret@db:5432/x"),
            "postgres://palisade:***@db:5432/x"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn backend_is_chosen_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::of_url("mysql://h/db").is_err());
    }
}

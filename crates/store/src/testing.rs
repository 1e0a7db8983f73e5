//! Test support: a fresh database per test on either backend, dropped afterwards.
//! Used by this crate's tests and by `testkit`; not for production code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::{Backend, Store};

/// The PostgreSQL server tests use (an admin URL; each test creates its own database there).
pub fn postgres_admin_url() -> String {
    std::env::var("PALISADE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

/// The instant repository tests start at unless they set their own: a Tuesday in term, 10:00
/// UK time (GMT).
pub const SCHOOL_DAY: &str = "2026-11-03T10:00:00Z";

/// [`SCHOOL_DAY`] as a time.
pub fn school_day() -> chrono::DateTime<chrono::Utc> {
    clock::parse_instant(SCHOOL_DAY).expect("SCHOOL_DAY is a valid instant")
}

/// A random number for unique names (not a time: nothing here reads the wall clock).
pub fn random_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl TestDb {
    /// Creates an empty database. A PostgreSQL that does not answer is a failure, never a skip.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/palisade.db", dir.path().display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url();
                let name = format!("palisade_test_{}_{}", std::process::id(), random_suffix());
                let pool = sqlx::AnyPool::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL must answer at {admin} (set PALISADE_TEST_PG): {e}")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("CREATE DATABASE");
                pool.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// An empty value left behind when a test takes the real one; dropping it does nothing.
    pub fn placeholder() -> TestDb {
        TestDb {
            url: String::new(),
            pg_name: None,
            _dir: None,
        }
    }

    /// Opens a store on this database (running the migrations), on a clock that starts at
    /// [`SCHOOL_DAY`] and runs on: no repository test depends on the real date or time.
    pub async fn store(&self) -> Store {
        self.store_on(clock::Clock::starting_at(school_day())).await
    }

    /// Opens a store on this database whose times come from `clock`.
    pub async fn store_on(&self, clock: clock::Clock) -> Store {
        Store::open(&self.url, clock)
            .await
            .expect("open test store")
    }

    /// The SQLite file's path, for tests that tamper with it.
    pub fn sqlite_path(&self) -> Option<String> {
        self.url.strip_prefix("sqlite://").map(str::to_string)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(pool) = sqlx::AnyPool::connect(&postgres_admin_url()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&pool)
                        .await;
                        pool.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Stamps an async test to run once on SQLite and once on PostgreSQL:
/// `both_backends!(name, |store, db| async move { ... });`
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident, $db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($store: $crate::Store, $db: &$crate::testing::TestDb) {
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::Backend::Sqlite).await;
                let store = db.store().await;
                run(store.clone(), &db).await;
                store.close().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDb::new($crate::Backend::Postgres).await;
                let store = db.store().await;
                run(store.clone(), &db).await;
                store.close().await;
            }
        }
    };
}

//! The service's own PostgreSQL login. With only the owner's URL, the service logs in as the
//! owner and drops to [`SERVICE_ROLE`] on every connection: row-level security holds for every
//! query Palisade sends, but SQL smuggled into one could `RESET ROLE` back to the owner, who
//! bypasses it. Given a login of its own (a member of [`SERVICE_ROLE`] that owns nothing, is
//! no superuser and cannot bypass row-level security), the service migrates as the owner and
//! then connects only as that login: `RESET ROLE` leaves it where it was.

use super::{Backend, OpenedUrl, SERVICE_ROLE, Store, connect_as_owner, migrate_postgres, redact};
use crate::{Result, StoreError};

impl Store {
    /// Opens the database at `owner_url` and brings its schema up to date as its owner, then
    /// serves every query through `service_url`'s login, refused unless that login is a member
    /// of [`SERVICE_ROLE`], owns nothing, is no superuser and cannot bypass row-level security.
    /// The owner's URL is kept for the operator's commands run at start (adding a school).
    pub async fn open_as_service(
        owner_url: &str,
        service_url: &str,
        clock: clock::Clock,
    ) -> Result<Store> {
        sqlx::any::install_default_drivers();
        for url in [owner_url, service_url] {
            if Backend::of_url(url)? != Backend::Postgres {
                return Err(StoreError::Unsupported(format!(
                    "{}: a login of the service's own is for PostgreSQL (SQLite has no roles)",
                    redact(url)
                )));
            }
        }
        migrate_postgres(owner_url, owner_url).await?;
        check_service_login(service_url).await?;
        let mut store = Store::connect(
            service_url.to_string(),
            service_url,
            Backend::Postgres,
            clock,
            true,
        )
        .await?;
        store.owner_url = OpenedUrl(owner_url.into());
        Ok(store)
    }
}

/// Refuses a service login that could reach past row-level security, naming it and why.
async fn check_service_login(url: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = connect_as_owner(url, url).await?;
    let (user, superuser, bypass, member, owns): (String, bool, bool, bool, i64) = sqlx::query_as(
        "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls,
                pg_has_role(r.oid, 'palisade_app', 'MEMBER'),
                (SELECT COUNT(*) FROM pg_class c
                  WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace)
           FROM pg_roles r WHERE r.rolname = session_user",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    let problem = if superuser {
        Some("is a superuser, who bypasses row-level security".to_string())
    } else if bypass {
        Some("has BYPASSRLS".to_string())
    } else if owns > 0 {
        Some(format!(
            "owns {owns} of the database's tables or sequences: the owner bypasses row-level security (use the owner only for --database-url)"
        ))
    } else if !member {
        Some(format!(
            "is not a member of {SERVICE_ROLE}: as the owner, run GRANT {SERVICE_ROLE} TO {user}"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(StoreError::Unsupported(format!(
            "the service login `{user}` ({}) {problem}",
            redact(url)
        ))),
        None => Ok(()),
    }
}

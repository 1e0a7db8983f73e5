//! Signed-in sessions. Only a hash of the session token is stored, so a copy of the database
//! does not let anyone sign in.

use crate::audit::{AuditAction, record};
use crate::{Result, Store, timestamp};
use chrono::Duration;
use sqlx::FromRow;

/// A live session.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub token_hash: String,
    pub person_id: i64,
    pub csrf_token: String,
    pub expires_at: String,
    /// When it was last used (when it began, if not since).
    pub last_seen_at: Option<String>,
    /// How it was signed in: `None` the password, `Some("oidc")` the school's provider.
    pub method: Option<String>,
}

/// A session is marked as used at most this often, so a page's many requests write once.
const TOUCH_EVERY: Duration = Duration::seconds(60);

impl Store {
    /// Starts a session after a successful sign-in and clears the failed-login count.
    pub async fn start_session(
        &self,
        person_id: i64,
        token_hash: &str,
        csrf_token: &str,
        lifetime: Duration,
    ) -> Result<()> {
        self.start_session_through(person_id, token_hash, csrf_token, lifetime, None)
            .await
    }

    /// [`Store::start_session`] for a sign-in by `method` (`Some("oidc")`), which the audit
    /// row names; `None` is the password.
    pub async fn start_session_through(
        &self,
        person_id: i64,
        token_hash: &str,
        csrf_token: &str,
        lifetime: Duration,
        method: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let at = self.now();
        sqlx::query(
            "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE person_id = $1",
        )
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, person_id, csrf_token, created_at, expires_at, last_seen_at, method)
             VALUES ($1, $2, $3, $4, $5, $4, $6)",
        )
        .bind(token_hash)
        .bind(person_id)
        .bind(csrf_token)
        .bind(&at)
        .bind(timestamp(self.now_utc() + lifetime))
        .bind(method)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            &self.clock,
            Some(person_id),
            match method {
                None => AuditAction::LoginSucceeded { person: person_id },
                Some(method) => AuditAction::LoginSucceededThrough {
                    person: person_id,
                    method,
                },
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live session with this token hash, if its person and account are still active.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        session_in(&mut self.read().await?, token_hash, &self.now()).await
    }

    /// A request's signing-in: the live session with this token hash, unless it has gone
    /// unused for `idle` or longer, with its person and account, read in one transaction (each
    /// transaction costs PostgreSQL round trips of its own). A session in use is marked as
    /// used, at most once a minute.
    pub async fn signed_in(&self, token_hash: &str, idle: Duration) -> Result<Option<SignedIn>> {
        let now = self.now_utc();
        let mut tx = self.read().await?;
        let Some(session) = session_in(&mut tx, token_hash, &timestamp(now)).await? else {
            return Ok(None);
        };
        let Some(touch) = in_use(&session, now, idle) else {
            return Ok(None);
        };
        let Some(person) = crate::people::person_in(&mut tx, session.person_id).await? else {
            return Ok(None);
        };
        let account = crate::people::account_in(&mut tx, person.id).await?;
        drop(tx);
        if touch {
            self.touch_session(token_hash, now).await?;
        }
        Ok(Some(SignedIn {
            session,
            person,
            account,
        }))
    }

    /// Marks a session used now.
    async fn touch_session(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(timestamp(now))
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A signed-in request's session, person and account (see [`Store::signed_in`]).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub person: crate::Person,
    pub account: Option<crate::Account>,
}

/// Whether a session is still in use after `idle` (None: it has gone idle), and whether it is
/// due to be marked used again.
fn in_use(session: &Session, now: chrono::DateTime<chrono::Utc>, idle: Duration) -> Option<bool> {
    let last = session
        .last_seen_at
        .as_deref()
        .and_then(crate::parse_timestamp)?;
    (now - last < idle).then_some(now - last >= TOUCH_EVERY)
}

/// The live session with this token hash at `now`, inside the caller's transaction.
async fn session_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    token_hash: &str,
    now: &str,
) -> Result<Option<Session>> {
    Ok(sqlx::query_as(
        "SELECT s.token_hash, s.person_id, s.csrf_token, s.expires_at,
                    COALESCE(s.last_seen_at, s.created_at) AS last_seen_at, s.method
             FROM sessions s
             JOIN people p ON p.id = s.person_id
             JOIN accounts a ON a.person_id = s.person_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND p.active = 1 AND a.active = 1
               AND (p.expires_at IS NULL OR p.expires_at > $2)",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?)
}

impl Store {
    /// Ends a session (sign-out).
    pub async fn end_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

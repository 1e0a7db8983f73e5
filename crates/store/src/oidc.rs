//! Sign-ins through the school's OpenID Connect provider on their way (`oidc_logins`): what
//! the callback needs to finish one (the nonce, the PKCE verifier, where to go after), found by
//! a hash of the `state` the provider hands back. Each is taken once and runs out.

use crate::{Result, Store, timestamp};
use sqlx::FromRow;

/// Most sign-ins waiting for the provider at once (each lasts ten minutes at most).
pub const MAX_WAITING: i64 = 10_000;

/// A sign-in that went to the provider, as the callback takes it back.
#[derive(Debug, Clone, FromRow)]
pub struct PendingOidc {
    pub nonce: String,
    pub pkce_verifier: String,
    /// The local path to go to once signed in.
    pub next_path: String,
    /// The redirect URL sent to the provider: the code is exchanged with the same one.
    pub redirect_url: String,
    pub expires_at: String,
}

/// A sign-in to send to the provider.
pub struct NewOidcLogin<'a> {
    pub state_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub next_path: &'a str,
    pub redirect_url: &'a str,
}

impl Store {
    /// Keeps a sign-in that is going to the provider for `lifetime` (and forgets those whose
    /// time is over).
    pub async fn start_oidc_login(
        &self,
        new: &NewOidcLogin<'_>,
        lifetime: chrono::Duration,
    ) -> Result<()> {
        let now = self.now_utc();
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await?;
        // Anyone may start one; past this many waiting, the page asks them to come back.
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oidc_logins")
            .fetch_one(&mut *tx)
            .await?;
        if waiting >= MAX_WAITING {
            return Err(crate::StoreError::Busy);
        }
        sqlx::query(
            "INSERT INTO oidc_logins
             (state_hash, nonce, pkce_verifier, next_path, redirect_url, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.state_hash)
        .bind(new.nonce)
        .bind(new.pkce_verifier)
        .bind(new.next_path)
        .bind(new.redirect_url)
        .bind(timestamp(now))
        .bind(timestamp(now + lifetime))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the sign-in whose state has this hash: at most once (the row goes, whatever the
    /// callback then makes of it), and only while it has not run out. A replayed or unknown
    /// state, or one come back too late, is `None`.
    pub async fn take_oidc_login(&self, state_hash: &str) -> Result<Option<PendingOidc>> {
        let mut tx = self.begin_unaudited().await?;
        let taken: Option<PendingOidc> = sqlx::query_as(
            "DELETE FROM oidc_logins WHERE state_hash = $1
             RETURNING nonce, pkce_verifier, next_path, redirect_url, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let now = self.now();
        Ok(taken.filter(|p| p.expires_at.as_str() > now.as_str()))
    }
}

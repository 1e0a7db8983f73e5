//! A new account's first password, set by its holder through a one-time link: the person who
//! made the account never knows it. The link's token is stored only as its SHA-256, with an
//! expiry, and works once.

use crate::audit::{AuditAction, record};
use crate::{Person, Result, Store};
use policy::Permit;

/// The password hash of an account whose holder has not set one yet: no password matches it.
pub const NO_PASSWORD_YET: &str = "!unset";

impl Store {
    /// Gives a person a login account without a password, and the one-time link (its token's
    /// hash, valid until `expires_at`) with which they set it. The permit is for
    /// [`policy::Action::GrantRole`]: an account lets its holder act in their roles.
    pub async fn invite_account(
        &self,
        permit: &Permit,
        person_id: i64,
        token_hash: &str,
        at: &str,
        expires_at: &str,
    ) -> Result<()> {
        let mut tx = self
            .begin_account(permit, person_id, NO_PASSWORD_YET)
            .await?;
        sqlx::query(
            "INSERT INTO account_welcomes (token_hash, person_id, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(person_id)
        .bind(permit.actor_id())
        .bind(at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::WelcomeIssued {
            person: person_id,
            expires_at,
        };
        record(&mut tx, &self.clock, permit.actor_id(), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person a one-time link is for, while it is unused and unexpired at `at`.
    pub async fn welcome_for(&self, token_hash: &str, at: &str) -> Result<Option<Person>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT person_id FROM account_welcomes
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(at)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        match id {
            Some(id) => self.person(id).await.map(|p| p.filter(|p| p.active)),
            None => Ok(None),
        }
    }

    /// Uses a one-time link: sets the holder's first password (already hashed) and spends the
    /// link, in one transaction. `None` when the link is unknown, used or expired at `at`.
    /// Nobody is signed in: the link's token is the authority, so no permit.
    pub async fn accept_welcome(
        &self,
        token_hash: &str,
        password_hash: &str,
        at: &str,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE account_welcomes SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING person_id",
        )
        .bind(token_hash)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let active: Option<i64> = sqlx::query_scalar("SELECT active FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if active != Some(1) {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2, failed_logins = 0,
             locked_until = NULL, must_change_password = 0 WHERE person_id = $3",
        )
        .bind(password_hash)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Any other link for the same account stops working too.
        sqlx::query(
            "UPDATE account_welcomes SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::PasswordSetThroughLink { person: id };
        record(&mut tx, &self.clock, Some(id), what).await?;
        tx.commit().await?;
        Ok(Some(id))
    }
}

//! Login accounts: made by the operator or through a one-time link, passwords, unlocking,
//! and the count of failed sign-ins that locks an account.

use crate::audit::{AuditAction, record};
use crate::permits::{check, check_roles};
use crate::{Account, Result, Store, StoreError, timestamp};
use policy::{Action, Permit, Target};

/// Inserts a login account and its audit row.
pub(crate) async fn insert_account(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    clock: &clock::Clock,
    actor_id: Option<i64>,
    person_id: i64,
    password_hash: &str,
) -> Result<()> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT person_id FROM accounts WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut **tx)
            .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "person {person_id} already has an account"
        )));
    }
    let at = crate::stamp(clock.now());
    sqlx::query(
        "INSERT INTO accounts (person_id, password_hash, active, failed_logins, password_changed_at, created_at)
         VALUES ($1, $2, 1, 0, $3, $3)",
    )
    .bind(person_id)
    .bind(password_hash)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    record(
        tx,
        clock,
        actor_id,
        AuditAction::AccountCreated { person: person_id },
    )
    .await
    .map(|_| ())
}

impl Store {
    /// Gives a person a login account with an already-hashed password: the server's operator
    /// (`palisade user add`, the demo), with the operator's [`Action::GrantRole`] permit. In the
    /// web a new account's first password is set by its holder ([`Store::invite_account`]).
    pub async fn create_account(
        &self,
        permit: &Permit,
        person_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        let tx = self.begin_account(permit, person_id, password_hash).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks the permit and writes a new account in a transaction the caller goes on with.
    /// An account lets its holder act in their roles, so the permit is to grant those roles:
    /// the one that created the person, or one asked about them.
    pub(crate) async fn begin_account(
        &self,
        permit: &Permit,
        person_id: i64,
        password_hash: &str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let roles = self.roles_of(person_id).await?;
        check_roles(permit, Action::GrantRole, None, roles)
            .or_else(|_| check_roles(permit, Action::GrantRole, Some(person_id), roles))?;
        let mut tx = self.begin_write().await?;
        let actor = permit.actor_id();
        insert_account(&mut tx, &self.clock, actor, person_id, password_hash).await?;
        Ok(tx)
    }

    /// A person's account, if they have one.
    pub async fn account(&self, person_id: i64) -> Result<Option<Account>> {
        account_in(&mut self.read().await?, person_id).await
    }

    /// Replaces a password hash (and clears any lockout, and the mark that the old one may be
    /// known); the permit is for
    /// [`Action::ManageOwnAccount`] of that person (their own, from the account page).
    pub async fn set_password(
        &self,
        permit: &Permit,
        person_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let actor_id = permit.actor_id();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2, failed_logins = 0, locked_until = NULL,
                    must_change_password = 0
             WHERE person_id = $3",
        )
        .bind(password_hash)
        .bind(self.now())
        .bind(person_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("account of person {person_id}"),
            });
        }
        sqlx::query("DELETE FROM sessions WHERE person_id = $1")
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        let what = AuditAction::PasswordSet { person: person_id };
        record(&mut tx, &self.clock, actor_id, what).await?;
        tx.commit().await?;
        crate::passwords::accounts_changed();
        Ok(())
    }

    /// Unlocks an account locked by failed sign-ins (and clears the count), for the holder of
    /// a permit for [`Action::ManageSignIns`] of that person; audited.
    pub async fn unlock_account(&self, permit: &Permit, person_id: i64) -> Result<()> {
        let actor = check(permit, Action::ManageSignIns, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let was_locked: Option<Option<String>> =
            sqlx::query_scalar("SELECT locked_until FROM accounts WHERE person_id = $1")
                .bind(person_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(was_locked) = was_locked else {
            return Err(StoreError::NotFound {
                what: format!("account of person {person_id}"),
            });
        };
        sqlx::query(
            "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE person_id = $1",
        )
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::AccountUnlocked {
            person: person_id,
            was_locked_until: was_locked,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a failed sign-in; locks the account for `lock_minutes` once `max_attempts` fail
    /// in a row. Returns whether the account is now locked. Sign-in bookkeeping, with nobody
    /// signed in: no permit.
    pub async fn record_failed_login(
        &self,
        person_id: i64,
        max_attempts: u32,
        lock_minutes: u32,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let failed: i64 = sqlx::query_scalar(
            "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE person_id = $1 RETURNING failed_logins",
        )
        .bind(person_id)
        .fetch_one(&mut *tx)
        .await?;
        let lock = failed >= i64::from(max_attempts);
        if lock {
            let until =
                timestamp(self.now_utc() + chrono::Duration::minutes(i64::from(lock_minutes)));
            sqlx::query(
                "UPDATE accounts SET locked_until = $1, failed_logins = 0 WHERE person_id = $2",
            )
            .bind(&until)
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        }
        let what = if lock {
            AuditAction::AccountLocked {
                person: person_id,
                failed_in_a_row: failed,
            }
        } else {
            AuditAction::LoginFailed {
                person: person_id,
                failed_in_a_row: failed,
            }
        };
        record(&mut tx, &self.clock, None, what).await?;
        tx.commit().await?;
        if lock {
            crate::passwords::accounts_changed();
        }
        Ok(lock)
    }
}

/// A person's account, inside the caller's transaction.
pub(crate) async fn account_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person_id: i64,
) -> Result<Option<Account>> {
    Ok(sqlx::query_as(
        "SELECT person_id, password_hash, active, failed_logins, locked_until, password_changed_at,
                must_change_password, totp_enrolled_at
         FROM accounts WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?)
}

//! The second step of a sign-in: the half-way state after a right password (a challenge that
//! reaches nothing but the code's form), and the check of the code or recovery code, whose
//! failures count towards the same lockout as wrong passwords.

use super::enrolment::factors_in;
use super::{CodeCheck, CodeRefused, check_code, looks_like_totp, recovery_hash};
use crate::audit::{AuditAction, record};
use crate::{Result, Store, StoreError, timestamp};

/// What a code at sign-in came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A right TOTP code, not used before: its step is now used.
    Code,
    /// An unused recovery code, now used; `left` are still unused.
    RecoveryCode { left: i64 },
    /// Refused, and counted as a failed sign-in; `locked` when that locked the account.
    Refused { why: CodeRefused, locked: bool },
    /// The account is locked: nothing was checked.
    Locked,
}

impl Store {
    /// Checks what was typed at the code step (a TOTP code or a recovery code) for a person
    /// whose password was right. A wrong or replayed code counts towards the lockout like a
    /// wrong password (`attempts` failures lock for `minutes`); on a locked account nothing is
    /// checked. Sign-in bookkeeping, with nobody signed in yet: no permit.
    pub async fn check_second_factor(
        &self,
        person_id: i64,
        input: &str,
        attempts: u32,
        minutes: u32,
    ) -> Result<SecondFactor> {
        let now = self.now_utc();
        let mut tx = self.begin_write().await?;
        let f = factors_in(&mut tx, person_id).await?;
        if f.locked_until
            .as_deref()
            .is_some_and(|until| until > timestamp(now).as_str())
        {
            return Ok(SecondFactor::Locked);
        }
        let Some(secret) = f.totp_secret else {
            return Err(StoreError::Conflict(
                "this account has no second factor to check".into(),
            ));
        };
        let outcome = if looks_like_totp(input) {
            match check_code(&secret, input, now, f.totp_last_step)? {
                // Only if no other sign-in took this step (or a later one) meanwhile.
                CodeCheck::Accepted(step) => {
                    let n = sqlx::query(
                        "UPDATE accounts SET totp_last_step = $1
                         WHERE person_id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                    )
                    .bind(step)
                    .bind(person_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        Ok(SecondFactor::Code)
                    } else {
                        Err(CodeRefused::Replayed)
                    }
                }
                CodeCheck::Refused(why) => Err(why),
            }
        } else {
            let n = sqlx::query(
                "UPDATE recovery_codes SET used_at = $1
                 WHERE person_id = $2 AND code_sha256 = $3 AND used_at IS NULL",
            )
            .bind(timestamp(now))
            .bind(person_id)
            .bind(recovery_hash(input))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                let left: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL",
                )
                .bind(person_id)
                .fetch_one(&mut *tx)
                .await?;
                let what = AuditAction::RecoveryCodeUsed {
                    person: person_id,
                    left,
                };
                record(&mut tx, &self.clock, Some(person_id), what).await?;
                Ok(SecondFactor::RecoveryCode { left })
            } else {
                Err(CodeRefused::Wrong)
            }
        };
        match outcome {
            Ok(passed) => {
                tx.commit().await?;
                Ok(passed)
            }
            Err(why) => {
                // Let go of the write before the failure is counted in a transaction of its own.
                tx.rollback().await?;
                let locked = self
                    .record_failed_login(person_id, attempts, minutes)
                    .await?;
                Ok(SecondFactor::Refused { why, locked })
            }
        }
    }

    /// Starts the second step of a sign-in for `person_id`, whose password was right: a
    /// challenge that lasts `lifetime`, known by the hash of its token. It replaces any other
    /// challenge of theirs. Sign-in bookkeeping: no permit.
    pub async fn start_challenge(
        &self,
        person_id: i64,
        token_hash: &str,
        lifetime: chrono::Duration,
    ) -> Result<()> {
        let now = self.now_utc();
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("DELETE FROM sign_in_challenges WHERE expires_at < $1 OR person_id = $2")
            .bind(timestamp(now))
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sign_in_challenges (token_hash, person_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(person_id)
        .bind(timestamp(now))
        .bind(timestamp(now + lifetime))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person a live challenge with this token hash is for, if it has not run out and
    /// their person and account are still active.
    pub async fn challenge(&self, token_hash: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT c.person_id FROM sign_in_challenges c
             JOIN people p ON p.id = c.person_id
             JOIN accounts a ON a.person_id = c.person_id
             WHERE c.token_hash = $1 AND c.expires_at > $2 AND p.active = 1 AND a.active = 1",
        )
        .bind(token_hash)
        .bind(self.now())
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    /// Ends a challenge (the code was right, or the account locked).
    pub async fn end_challenge(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("DELETE FROM sign_in_challenges WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

//! Turning TOTP on and off: a secret waits until its holder confirms it with a code from their
//! app, then becomes the account's second factor with ten new recovery codes (shown once).

use super::{
    CodeCheck, CodeRefused, check_code, generator, new_recovery_codes, new_secret, recovery_hash,
};
use crate::audit::{AuditAction, record};
use crate::permits::{check, check_roles};
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, Target};

/// A secret waiting to be confirmed, as its holder's page shows it: the secret as text, the
/// `otpauth://` key URI and a QR code of it (a PNG, base64). No `Debug`: it is a secret.
pub struct TotpSetup {
    pub secret: String,
    pub url: String,
    pub qr_png_base64: String,
}

/// The account's second-factor columns, as the checks read them.
#[derive(sqlx::FromRow)]
pub(super) struct Factors {
    pub(super) totp_secret: Option<String>,
    pub(super) totp_last_step: Option<i64>,
    pub(super) totp_pending_secret: Option<String>,
    pub(super) locked_until: Option<String>,
}

/// The account's second-factor columns inside the caller's transaction; not found without an
/// account.
pub(super) async fn factors_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person_id: i64,
) -> Result<Factors> {
    sqlx::query_as(
        "SELECT totp_secret, totp_last_step, totp_pending_secret, locked_until
         FROM accounts WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("account of person {person_id}"),
    })
}

impl Store {
    /// Starts setting up TOTP for the holder of a permit for [`Action::ManageOwnAccount`] of
    /// `person_id`: a new secret waits for a code from their app (replacing any that waited).
    /// Not audited: nothing about the sign-in changes until the code confirms it
    /// (`account.totp_enrolled`).
    pub async fn begin_totp(&self, permit: &Permit, person_id: i64) -> Result<()> {
        check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_unaudited().await?;
        let f = factors_in(&mut tx, person_id).await?;
        if f.totp_secret.is_some() {
            return Err(StoreError::Conflict(
                "two-factor sign-in is already on for this account".into(),
            ));
        }
        sqlx::query(
            "UPDATE accounts SET totp_pending_secret = $1, totp_pending_at = $2 WHERE person_id = $3",
        )
        .bind(new_secret())
        .bind(self.now())
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The secret waiting to be confirmed for `person_id`, labelled `issuer` (the school) and
    /// `account` (the username) for authenticator apps; `None` when none waits.
    pub async fn totp_setup(
        &self,
        person_id: i64,
        issuer: &str,
        account: &str,
    ) -> Result<Option<TotpSetup>> {
        let f = factors_in(&mut self.read().await?, person_id).await?;
        let Some(secret) = f.totp_pending_secret.filter(|_| f.totp_secret.is_none()) else {
            return Ok(None);
        };
        let totp = generator(&secret, issuer, account)?;
        let qr_png_base64 = totp
            .get_qr_base64()
            .map_err(|e| StoreError::Conflict(format!("the QR code could not be drawn: {e}")))?;
        Ok(Some(TotpSetup {
            url: totp.get_url(),
            secret,
            qr_png_base64,
        }))
    }

    /// Confirms the waiting secret with a `code` from the holder's app: it becomes the
    /// account's second factor (its step counts as used), with ten new recovery codes, which
    /// are returned to be shown once and kept only as hashes. Audited `account.totp_enrolled`.
    pub async fn confirm_totp(
        &self,
        permit: &Permit,
        person_id: i64,
        code: &str,
    ) -> Result<std::result::Result<Vec<String>, CodeRefused>> {
        let actor = check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let f = factors_in(&mut tx, person_id).await?;
        let (None, Some(secret)) = (f.totp_secret, f.totp_pending_secret) else {
            return Err(StoreError::Conflict(
                "there is no two-factor set-up waiting: start again".into(),
            ));
        };
        let step = match check_code(&secret, code, self.now_utc(), None)? {
            CodeCheck::Accepted(step) => step,
            CodeCheck::Refused(why) => return Ok(Err(why)),
        };
        sqlx::query(
            "UPDATE accounts SET totp_secret = $1, totp_enrolled_at = $2, totp_last_step = $3,
                    totp_pending_secret = NULL, totp_pending_at = NULL
             WHERE person_id = $4",
        )
        .bind(&secret)
        .bind(self.now())
        .bind(step)
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        let codes = self
            .issue_recovery_codes(tx, actor.person_id, person_id, |n| {
                AuditAction::TotpEnrolled {
                    person: person_id,
                    recovery_codes: n,
                }
            })
            .await?;
        Ok(Ok(codes))
    }

    /// Replaces the holder's recovery codes with ten new ones (the old ones stop working),
    /// with a current `code` from their app: when they have used or lost the old list. The
    /// codes are returned to be shown once. Audited `account.recovery_codes_renewed`.
    pub async fn renew_recovery_codes(
        &self,
        permit: &Permit,
        person_id: i64,
        code: &str,
    ) -> Result<std::result::Result<Vec<String>, CodeRefused>> {
        let actor = check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let f = factors_in(&mut tx, person_id).await?;
        let Some(secret) = f.totp_secret else {
            return Err(StoreError::Conflict(
                "two-factor sign-in is not on for this account".into(),
            ));
        };
        let step = match check_code(&secret, code, self.now_utc(), f.totp_last_step)? {
            CodeCheck::Accepted(step) => step,
            CodeCheck::Refused(why) => return Ok(Err(why)),
        };
        // The code is used up, as at a sign-in.
        sqlx::query("UPDATE accounts SET totp_last_step = $1 WHERE person_id = $2")
            .bind(step)
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        let codes = self
            .issue_recovery_codes(tx, actor.person_id, person_id, |n| {
                AuditAction::RecoveryCodesRenewed {
                    person: person_id,
                    recovery_codes: n,
                }
            })
            .await?;
        Ok(Ok(codes))
    }

    /// Turns the second factor off with a current `code` from the holder's app (whether their
    /// roles allow that is the caller's to ask the profile); its recovery codes go with it.
    /// Audited `account.totp_removed`.
    pub async fn remove_totp(
        &self,
        permit: &Permit,
        person_id: i64,
        code: &str,
    ) -> Result<std::result::Result<(), CodeRefused>> {
        let actor = check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let f = factors_in(&mut tx, person_id).await?;
        let Some(secret) = f.totp_secret else {
            return Err(StoreError::Conflict(
                "two-factor sign-in is not on for this account".into(),
            ));
        };
        if let CodeCheck::Refused(why) =
            check_code(&secret, code, self.now_utc(), f.totp_last_step)?
        {
            return Ok(Err(why));
        }
        clear_factor(&mut tx, person_id, &self.now()).await?;
        let what = AuditAction::TotpRemoved { person: person_id };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Turns off someone else's second factor (a lost phone, no recovery code left) with its
    /// recovery codes and ends their sessions: they enrol again at their next sign-in. The
    /// permit is for [`Action::ResetSecondFactor`] of the roles they hold, checked against the
    /// roles read in the transaction. Audited `account.totp_reset` with those roles; the
    /// holder is mailed (if they have an address), so that a reset they did not ask for is
    /// noticed.
    pub async fn reset_totp(&self, permit: &Permit, person_id: i64) -> Result<()> {
        if permit.action() != Action::ResetSecondFactor {
            return Err(StoreError::Conflict(format!(
                "a permit for {:?} cannot reset a second factor",
                permit.action()
            )));
        }
        let mut tx = self.begin_write().await?;
        let f = factors_in(&mut tx, person_id).await?;
        if f.totp_secret.is_none() && f.totp_pending_secret.is_none() {
            return Err(StoreError::Conflict(
                "two-factor sign-in is not on for this account".into(),
            ));
        }
        let roles = crate::people::person_in(&mut tx, person_id)
            .await?
            .map(|p| p.roles)
            .unwrap_or_default();
        check_roles(permit, Action::ResetSecondFactor, Some(person_id), roles).map_err(|_| {
            StoreError::Conflict(format!(
                "a permit for {:?} does not cover the roles `{}` of person {person_id}",
                permit.action(),
                roles.to_csv()
            ))
        })?;
        clear_factor(&mut tx, person_id, &self.now()).await?;
        sqlx::query("DELETE FROM sessions WHERE person_id = $1")
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        let by = match permit.actor_id() {
            Some(id) => crate::people::person_in(&mut tx, id)
                .await?
                .map(|p| p.display_name)
                .unwrap_or_else(|| format!("person {id}")),
            None => "the server's operator".to_string(),
        };
        let subject = "Your two-factor sign-in to Palisade was reset";
        let body = format!(
            "{by} turned off your two-factor sign-in (the authenticator app) and your recovery \
             codes on {}, and signed you out everywhere.\n\nAt your next sign-in you will set up \
             the app again. If you did not ask for this, tell the Headteacher or the Designated \
             Safeguarding Lead at once: whoever knows your password could set it up instead.",
            self.school_today()
        );
        crate::mail::queue_to_person(
            &mut tx,
            person_id,
            "totp_reset",
            subject,
            &body,
            &self.now(),
        )
        .await?;
        let what = AuditAction::TotpReset {
            person: person_id,
            roles,
        };
        record(&mut tx, &self.clock, permit.actor_id(), what).await?;
        tx.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// How many of the person's recovery codes are still unused.
    pub async fn recovery_codes_left(&self, person_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL",
        )
        .bind(person_id)
        .fetch_one(&mut *self.read().await?)
        .await?)
    }
}

/// Turns an account's second factor off (and any set-up waiting), with its recovery codes.
async fn clear_factor(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person_id: i64,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET totp_secret = NULL, totp_enrolled_at = NULL, totp_last_step = NULL,
                totp_pending_secret = NULL, totp_pending_at = NULL
         WHERE person_id = $1",
    )
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    replace_recovery_codes(tx, person_id, &[], at).await
}

impl Store {
    /// Gives the person ten new recovery codes (replacing any), writes the audit row `audited`
    /// makes of their number, and commits: the codes, to be shown once.
    async fn issue_recovery_codes(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        actor_id: i64,
        person_id: i64,
        audited: impl FnOnce(usize) -> AuditAction<'static>,
    ) -> Result<Vec<String>> {
        let codes = new_recovery_codes();
        replace_recovery_codes(&mut tx, person_id, &codes, &self.now()).await?;
        record(&mut tx, &self.clock, Some(actor_id), audited(codes.len())).await?;
        tx.commit().await?;
        Ok(codes)
    }
}

/// Replaces a person's recovery codes with the hashes of `codes`.
async fn replace_recovery_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person_id: i64,
    codes: &[String],
    at: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    for code in codes {
        sqlx::query(
            "INSERT INTO recovery_codes (person_id, code_sha256, created_at) VALUES ($1, $2, $3)",
        )
        .bind(person_id)
        .bind(recovery_hash(code))
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

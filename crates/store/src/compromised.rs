//! "My password may be known to someone": the account's sessions (and any sign-in half-way
//! through) end, it needs a new password before anything else, the proxy forgets its
//! remembered sign-ins, and the network manager is mailed (the DSLs too, for a pupil's account
//! or one holding a safeguarding role), all in one transaction with the audit row.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{PersonKind, Result, Store, StoreError, timestamp};
use policy::{Action, Permit, Role, RoleSet, Target};
use sqlx::{Any, Transaction};

/// A session to start in the same transaction, for the holder who said so: it reaches only the
/// page that sets a new password, since the account now needs one.
pub struct FreshSession<'a> {
    pub token_hash: &'a str,
    pub csrf_token: &'a str,
    pub lifetime: chrono::Duration,
}

impl Store {
    /// Marks `person_id`'s password as possibly known, with a permit for
    /// [`Action::ReportOwnPasswordKnown`] (their own) or [`Action::ForcePasswordChange`] (the
    /// Headteacher or network manager) of that person. `safeguarding` is the roles that read
    /// concerns under the profile: an account holding one (or a pupil's) is mailed to the DSLs
    /// too.
    /// With `fresh`, the holder's own new session starts in the same transaction.
    pub async fn report_password_known(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        person_id: i64,
        fresh: Option<FreshSession<'_>>,
    ) -> Result<()> {
        let target = Target::Person(person_id);
        let actor = check(permit, Action::ReportOwnPasswordKnown, target)
            .or_else(|_| check(permit, Action::ForcePasswordChange, target))?;
        let Some(person) = self.person(person_id).await? else {
            return Err(StoreError::NotFound {
                what: format!("person {person_id}"),
            });
        };
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE accounts SET must_change_password = 1 WHERE person_id = $1")
            .bind(person_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("account of person {person_id}"),
            });
        }
        for table in ["sessions", "sign_in_challenges"] {
            sqlx::query(sql!("DELETE FROM {table} WHERE person_id = $1"))
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(s) = fresh {
            let now = self.now_utc();
            sqlx::query(
                "INSERT INTO sessions (token_hash, person_id, csrf_token, created_at, expires_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $5, $4)",
            )
            .bind(s.token_hash)
            .bind(person_id)
            .bind(s.csrf_token)
            .bind(timestamp(now))
            .bind(timestamp(now + s.lifetime))
            .execute(&mut *tx)
            .await?;
        }
        let own = actor.person_id == person_id && !permit.is_operator();
        let what = AuditAction::AccountCompromised {
            person: person_id,
            own,
        };
        record(&mut tx, &self.clock, permit.actor_id(), what).await?;
        let tell_dsl = person.kind == PersonKind::Pupil || person.roles.intersects(safeguarding);
        mail_password_known(
            &mut tx,
            &self.clock,
            permit.actor_id(),
            &person,
            own,
            tell_dsl,
        )
        .await?;
        tx.commit().await?;
        crate::passwords::accounts_changed();
        Ok(())
    }
}

/// Queues the mail to every active network manager (and, with `tell_dsl`, every DSL) with a
/// mail address. Names only, never a password.
async fn mail_password_known(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    actor_id: Option<i64>,
    person: &crate::Person,
    own: bool,
    tell_dsl: bool,
) -> Result<()> {
    let who = format!("{} ({})", person.display_name, person.username);
    let by = if own {
        "they said so themselves".to_string()
    } else {
        match actor_id {
            Some(id) => {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT display_name, username FROM people WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?;
                row.map(|(name, user)| format!("{name} ({user}) said so"))
                    .unwrap_or_else(|| format!("person {id} said so"))
            }
            None => "the server's operator said so".to_string(),
        }
    };
    let mut readers = RoleSet::of(Role::NetworkManager);
    if tell_dsl {
        readers.insert(Role::Dsl);
    }
    let at = crate::stamp(clock.now());
    let subject = format!("Password may be known: {}", person.display_name);
    let body = format!(
        "The password of {who} may be known to someone else: {by}, at {at}.\n\n\
         Every session of the account has ended, the web proxy has forgotten its sign-ins, and \
         the account must set a new password before it can do anything else.\n\n\
         If this was not expected, look at the failed sign-ins page and the audit trail.\n"
    );
    crate::mail::queue_to_holders(tx, readers, "password_known", &subject, &body, &at).await
}

//! Giving and taking roles: every change is in the audit trail, and a change that gives or
//! takes a safeguarding role is mailed at once to the DSLs and the Chair of Governors, in the
//! same transaction as the change.

use crate::audit::{AuditAction, AuditEntry, record};
use crate::permits::check_roles;
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, Role, RoleSet};
use sqlx::{Any, Transaction};

/// What happened to a person's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Roles given (a new person's roles included).
    Granted(RoleSet),
    /// Roles taken away.
    Removed(RoleSet),
    /// The person or their account switched off: as if every role were taken.
    Deactivated(RoleSet),
    /// Switched back on: as if every role were given back.
    Reactivated(RoleSet),
}

impl RoleChange {
    fn roles(self) -> RoleSet {
        match self {
            RoleChange::Granted(r)
            | RoleChange::Removed(r)
            | RoleChange::Deactivated(r)
            | RoleChange::Reactivated(r) => r,
        }
    }

    fn words(self) -> &'static str {
        match self {
            RoleChange::Granted(_) => "was given",
            RoleChange::Removed(_) => "no longer holds",
            RoleChange::Deactivated(_) => "was switched off, and so no longer acts as",
            RoleChange::Reactivated(_) => "was switched back on, and so again acts as",
        }
    }
}

/// The audit actions that change who holds which role, for the page the Chair of Governors
/// reads.
pub const ROLE_CHANGE_ACTIONS: [&str; 9] = [
    "person.created",
    // An import gives its new people their roles (pupil, parent, the staff roles mapped).
    "people.imported",
    "role.granted",
    "role.removed",
    "person.deactivated",
    "person.reactivated",
    "account.created",
    "account.disabled",
    "account.enabled",
];

/// Queues the mail about a change that touches one of `safeguarding`, to every active DSL and
/// Chair of Governors with a mail address. Names and roles only: nothing secret.
pub(crate) async fn mail_role_change(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    actor_id: Option<i64>,
    person_id: i64,
    change: RoleChange,
    safeguarding: RoleSet,
) -> Result<()> {
    let touched: Vec<Role> = change
        .roles()
        .iter()
        .filter(|r| safeguarding.contains(*r))
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let subject_name = name_of(tx, person_id).await?;
    let by = match actor_id {
        Some(a) => name_of(tx, a).await?,
        None => "the server's operator (palisade user add)".to_string(),
    };
    let titles = touched
        .iter()
        .map(|r| r.default_title())
        .collect::<Vec<_>>()
        .join(", ");
    let at = crate::stamp(clock.now());
    let subject = format!("Safeguarding role change: {subject_name}");
    let body = format!(
        "{subject_name} {} {titles}.\n\nChanged by {by} at {at}.\n\nEvery change of role is in \
         Palisade's audit trail. If you did not expect this change, check it now.\n",
        change.words()
    );
    crate::mail::queue_to_holders(
        tx,
        [Role::Dsl, Role::ChairOfGovernors].into_iter().collect(),
        "role_change",
        &subject,
        &body,
        &at,
    )
    .await
}

/// A person's name and username, for a mail.
async fn name_of(tx: &mut Transaction<'static, Any>, id: i64) -> Result<String> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT display_name, username FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row
        .map(|(name, user)| format!("{name} ({user})"))
        .unwrap_or_else(|| format!("person {id}")))
}

impl Store {
    /// Gives roles to a person or takes them away: `Granted` with a permit for
    /// [`Action::GrantRole`] of them, `Removed` with one for [`Action::RemoveRole`] (a person
    /// keeps at least one role, and their sessions end). The audit row and, for one of
    /// `safeguarding`, the mail are written in the same transaction. Switching a person off
    /// and on is `set_person_active`'s.
    pub async fn change_roles(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        person_id: i64,
        change: RoleChange,
    ) -> Result<()> {
        match change {
            RoleChange::Granted(r) => check_roles(permit, Action::GrantRole, Some(person_id), r)?,
            RoleChange::Removed(r) => check_roles(permit, Action::RemoveRole, Some(person_id), r)?,
            RoleChange::Deactivated(_) | RoleChange::Reactivated(_) => {
                return Err(StoreError::Conflict(
                    "switching a person off or on is set_person_active's".into(),
                ));
            }
        }
        let Some(person) = self.person(person_id).await? else {
            return Err(StoreError::NotFound {
                what: format!("person {person_id}"),
            });
        };
        let roles = match change {
            RoleChange::Granted(r) => person.roles.union(r),
            RoleChange::Removed(r) => person.roles.iter().filter(|h| !r.contains(*h)).collect(),
            RoleChange::Deactivated(_) | RoleChange::Reactivated(_) => person.roles,
        };
        policy::people::check_roles(person.kind, roles)?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE people SET roles = $1 WHERE id = $2")
            .bind(roles.to_csv())
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        if matches!(change, RoleChange::Removed(_)) {
            // Whatever the old roles let a signed-in session do ends with them.
            sqlx::query("DELETE FROM sessions WHERE person_id = $1")
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
        }
        let what = match change {
            RoleChange::Granted(roles) => AuditAction::RolesGranted {
                person: person_id,
                roles,
            },
            _ => AuditAction::RolesRemoved {
                person: person_id,
                roles: change.roles(),
            },
        };
        let actor = permit.actor_id();
        if !change.roles().is_empty() {
            record(&mut tx, &self.clock, actor, what).await?;
        }
        mail_role_change(&mut tx, &self.clock, actor, person_id, change, safeguarding).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest audit rows that change who holds which role (before row `before`, if given).
    pub async fn audit_role_changes(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let list = ROLE_CHANGE_ACTIONS
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(sqlx::query_as(sql!(
            "SELECT id, at, actor_id, action, object_type, object_id, details, prev_hash, hash
             FROM audit_log WHERE action IN ({list}) AND id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

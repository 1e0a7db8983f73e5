//! Switching a person (a leaver, a returner) or their account off and on: decided as taking,
//! or giving back, every role they hold, audited and mailed like a change of role.

use crate::audit::{AuditAction, record};
use crate::grants::{RoleChange, mail_role_change};
use crate::permits::check_roles;
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, RoleSet};

/// The permit's actor for switching someone on (a reactivation) or off (a deactivation).
fn require_switch(permit: &Permit, active: bool) -> Result<Option<i64>> {
    let action = if active {
        Action::ReactivateAccount
    } else {
        Action::DeactivateAccount
    };
    // The roles are checked once they are read, inside the transaction (`finish_switch`).
    if permit.action() != action {
        return Err(StoreError::Conflict(format!(
            "a permit for {:?} cannot be used for {action:?}",
            permit.action()
        )));
    }
    Ok(permit.actor_id())
}

/// A person or account being switched on or off.
struct Switch {
    permit: Permit,
    actor_id: Option<i64>,
    person_id: i64,
    active: bool,
    what: String,
    action: SwitchKind,
    safeguarding: RoleSet,
}

/// Which switch it is, for its audit row.
#[derive(Clone, Copy)]
enum SwitchKind {
    PersonDeactivated,
    PersonReactivated,
    AccountDisabled,
    AccountEnabled,
}

impl SwitchKind {
    /// The audit row of switching `person`, who holds `roles`.
    fn audited(self, person: i64, roles: RoleSet) -> AuditAction<'static> {
        match self {
            SwitchKind::PersonDeactivated => AuditAction::PersonDeactivated { person, roles },
            SwitchKind::PersonReactivated => AuditAction::PersonReactivated { person, roles },
            SwitchKind::AccountDisabled => AuditAction::AccountDisabled { person, roles },
            SwitchKind::AccountEnabled => AuditAction::AccountEnabled { person, roles },
        }
    }
}

/// The rest of switching a person or account on or off, once `n` rows were updated: not found
/// if none, sessions ended when switched off, the audit row (with the roles it takes or gives
/// back), the mail when they are safeguarding roles, commit.
async fn finish_switch(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    clock: &clock::Clock,
    n: u64,
    s: Switch,
) -> Result<()> {
    if n == 0 {
        return Err(StoreError::NotFound { what: s.what });
    }
    if !s.active {
        sqlx::query("DELETE FROM sessions WHERE person_id = $1")
            .bind(s.person_id)
            .execute(&mut *tx)
            .await?;
    }
    let roles: Option<String> = sqlx::query_scalar("SELECT roles FROM people WHERE id = $1")
        .bind(s.person_id)
        .fetch_optional(&mut *tx)
        .await?;
    let roles = RoleSet::from_csv(roles.as_deref().unwrap_or_default()).map_err(|bad| {
        StoreError::Corrupt {
            table: "people",
            id: s.person_id.to_string(),
            message: format!("unknown role `{bad}`"),
        }
    })?;
    // The permit was asked about the roles they hold now (dropping `tx` undoes the switch).
    let action = s.permit.action();
    if check_roles(&s.permit, action, Some(s.person_id), roles).is_err() {
        return Err(StoreError::Conflict(format!(
            "a permit for {:?} does not cover the roles `{}` of person {}",
            s.permit.action(),
            roles.to_csv(),
            s.person_id
        )));
    }
    record(
        &mut tx,
        clock,
        s.actor_id,
        s.action.audited(s.person_id, roles),
    )
    .await?;
    let change = if s.active {
        RoleChange::Reactivated(roles)
    } else {
        RoleChange::Deactivated(roles)
    };
    mail_role_change(
        &mut tx,
        clock,
        s.actor_id,
        s.person_id,
        change,
        s.safeguarding,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Store {
    /// Marks a person as having left (or returned); their account stops working when inactive.
    /// The permit is for [`Action::DeactivateAccount`] or [`Action::ReactivateAccount`]; the
    /// change counts as taking (or giving back) every role they hold, so it is mailed like a
    /// grant when they hold one of `safeguarding`.
    pub async fn set_person_active(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        id: i64,
        active: bool,
    ) -> Result<()> {
        let actor_id = require_switch(permit, active)?;
        let mut tx = self.begin_write().await?;
        let left_at = if active { None } else { Some(self.now()) };
        let n = sqlx::query("UPDATE people SET active = $1, left_at = $2 WHERE id = $3")
            .bind(i64::from(active))
            .bind(left_at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let action = if active {
            SwitchKind::PersonReactivated
        } else {
            SwitchKind::PersonDeactivated
        };
        let switch = Switch {
            permit: *permit,
            actor_id,
            person_id: id,
            active,
            what: format!("person {id}"),
            action,
            safeguarding,
        };
        let done = finish_switch(tx, &self.clock, n, switch).await;
        crate::passwords::accounts_changed();
        done
    }

    /// Enables or disables an account; disabling ends its sessions. The permit and
    /// `safeguarding` are as for [`Store::set_person_active`].
    pub async fn set_account_active(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        person_id: i64,
        active: bool,
    ) -> Result<()> {
        let actor_id = require_switch(permit, active)?;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE accounts SET active = $1 WHERE person_id = $2")
            .bind(i64::from(active))
            .bind(person_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let action = if active {
            SwitchKind::AccountEnabled
        } else {
            SwitchKind::AccountDisabled
        };
        let switch = Switch {
            permit: *permit,
            actor_id,
            person_id,
            active,
            what: format!("account of person {person_id}"),
            action,
            safeguarding,
        };
        let done = finish_switch(tx, &self.clock, n, switch).await;
        crate::passwords::accounts_changed();
        done
    }
}

//! Guest accounts: a visitor or supply teacher gets a person and a login account that end by
//! themselves at the time their maker chose (see [`Store::close_due_accounts`]); until then
//! they sign in like anyone else, as the profile's guest group on the proxy.

use super::accounts::insert_account;
use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::leavers::GuestPurpose;
use policy::{Action, Permit, PersonKind, Role, RoleSet, Target};

/// A guest account to make.
#[derive(Debug, Clone)]
pub struct NewGuest {
    pub username: String,
    pub display_name: String,
    pub purpose: GuestPurpose,
    /// When the account ends (a stored timestamp).
    pub expires_at: String,
}

impl Store {
    /// Makes a guest: a visitor with a login account whose password is `password_hash`,
    /// ending at `expires_at`. The permit is for [`Action::CreateGuest`] (the profile's
    /// `guests.created_by`); the hours were checked against the profile's maximum by the caller
    /// through `policy::leavers::GuestPolicy::check_hours`. Returns the person's id.
    pub async fn create_guest(
        &self,
        permit: &Permit,
        new: &NewGuest,
        password_hash: &str,
    ) -> Result<i64> {
        let actor = check(permit, Action::CreateGuest, Target::School)?;
        policy::people::check_username(&new.username)?;
        policy::concern::check_text("display_name", &new.display_name, 200)?;
        if new.expires_at <= self.now() {
            return Err(StoreError::Invalid(policy::PolicyError::invalid(
                "hours",
                "a guest account must end in the future",
            )));
        }
        let mut tx = self.begin_write().await?;
        self.refuse_taken_username(&mut tx, &new.username).await?;
        let roles = RoleSet::of(Role::Visitor);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO people (username, display_name, kind, roles, active, created_at, \
             expires_at, guest_purpose) VALUES ($1, $2, $3, $4, 1, $5, $6, $7) RETURNING id",
        )
        .bind(&new.username)
        .bind(new.display_name.trim())
        .bind(PersonKind::Visitor.as_str())
        .bind(roles.to_csv())
        .bind(self.now())
        .bind(&new.expires_at)
        .bind(new.purpose.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::GuestCreated {
            person: id,
            purpose: new.purpose.as_str(),
            expires_at: &new.expires_at,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        insert_account(
            &mut tx,
            &self.clock,
            Some(actor.person_id),
            id,
            password_hash,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The guest accounts not yet ended, soonest to end first.
    pub async fn current_guests(&self) -> Result<Vec<crate::Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {} FROM people WHERE expires_at IS NOT NULL AND active = 1 \
             ORDER BY expires_at, id",
            super::PERSON_COLUMNS
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

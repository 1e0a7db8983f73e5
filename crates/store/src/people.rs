//! People, their login accounts and parent-child links.

use crate::audit::{AuditAction, record};
use crate::permits::{check, check_roles};
use crate::grants::{RoleChange, mail_role_change};
use crate::{Result, Store, StoreError, timestamp};
use chrono::{DateTime, Utc};
pub use policy::PersonKind;
use policy::{Action, Permit, RoleSet, Target};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

/// A member of the school community.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: PersonKind,
    #[serde(serialize_with = "ser_roles")]
    pub roles: RoleSet,
    pub year_group: Option<String>,
    pub class_name: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub left_at: Option<String>,
}

fn ser_roles<S: serde::Serializer>(roles: &RoleSet, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(roles.iter().map(policy::Role::as_str))
}

impl<'r> FromRow<'r, AnyRow> for Person {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        let id: i64 = row.try_get("id")?;
        let corrupt = |column: &str, value: &str| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: format!("person {id}: unknown value `{value}`").into(),
        };
        let kind: String = row.try_get("kind")?;
        let roles: String = row.try_get("roles")?;
        Ok(Person {
            id,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            kind: PersonKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
            roles: RoleSet::from_csv(&roles).map_err(|bad| corrupt("roles", &bad))?,
            year_group: row.try_get("year_group")?,
            class_name: row.try_get("class_name")?,
            active: row.try_get::<i64, _>("active")? != 0,
            created_at: row.try_get("created_at")?,
            left_at: row.try_get("left_at")?,
        })
    }
}

/// A person to add.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub username: String,
    pub display_name: String,
    pub kind: PersonKind,
    pub roles: RoleSet,
    pub year_group: Option<String>,
    pub class_name: Option<String>,
}

impl NewPerson {
    /// Checks every field, naming the first that is wrong.
    pub fn validate(&self) -> Result<(), policy::PolicyError> {
        policy::people::check_username(&self.username)?;
        policy::concern::check_text("display_name", &self.display_name, 200)?;
        policy::people::check_roles(self.kind, self.roles)?;
        for (field, v) in [
            ("year_group", &self.year_group),
            ("class_name", &self.class_name),
        ] {
            if let Some(v) = v {
                policy::concern::check_optional_text(field, v, 50)?;
            }
        }
        Ok(())
    }
}

/// A person's login account.
#[derive(Debug, Clone, FromRow)]
pub struct Account {
    pub person_id: i64,
    pub password_hash: String,
    pub active: i64,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub password_changed_at: String,
}

impl Account {
    /// Whether the account may sign in at all.
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    /// Whether the account is locked at `at`.
    pub fn locked_at(&self, at: DateTime<Utc>) -> bool {
        self.locked_until
            .as_deref()
            .is_some_and(|until| until > timestamp(at).as_str())
    }
}

const PERSON_COLUMNS: &str =
    "id, username, display_name, kind, roles, year_group, class_name, active, created_at, left_at";

impl Store {
    /// Adds a person, which gives them their roles: the permit is for [`Action::GrantRole`]
    /// of those roles (the operator's for the bootstrap command and the demo). The grant is in
    /// the audit trail (the `person.created` row names the roles) and, when it gives one of `safeguarding` (the profile's safeguarding
    /// roles), mailed to the DSLs and the Chair of Governors, in the same transaction.
    pub async fn create_person(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        new: &NewPerson,
    ) -> Result<i64> {
        check_roles(permit, Action::GrantRole, None, new.roles)?;
        let actor_id = permit.actor_id();
        new.validate()?;
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE username = $1")
            .bind(&new.username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "username `{}` is already taken",
                new.username
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO people (username, display_name, kind, roles, year_group, class_name, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
        )
        .bind(&new.username)
        .bind(new.display_name.trim())
        .bind(new.kind.as_str())
        .bind(new.roles.to_csv())
        .bind(&new.year_group)
        .bind(&new.class_name)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::PersonCreated {
            id,
            username: &new.username,
            kind: new.kind,
            roles: new.roles,
        };
        record(&mut tx, &self.clock, actor_id, what).await?;
        // The `person.created` row above is the grant's audit row: it names the roles given.
        mail_role_change(
            &mut tx,
            &self.clock,
            actor_id,
            id,
            RoleChange::Granted(new.roles),
            safeguarding,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One person by id.
    pub async fn person(&self, id: i64) -> Result<Option<Person>> {
        Ok(
            sqlx::query_as(sql!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// One person by username.
    pub async fn person_by_username(&self, username: &str) -> Result<Option<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Everyone, optionally of one kind, ordered by kind, year group, class and name.
    pub async fn people(&self, kind: Option<PersonKind>) -> Result<Vec<Person>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE ($1 = '' OR kind = $1)
             ORDER BY kind, year_group, class_name, display_name"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind.map(PersonKind::as_str).unwrap_or_default())
            .fetch_all(&self.pool)
            .await?)
    }

    /// People by id, in one query.
    pub async fn people_by_ids(&self, ids: &[i64]) -> Result<Vec<Person>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.person(*id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

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

    /// Links a parent or carer to a pupil; the permit is for [`Action::ManagePeople`] of the
    /// pupil.
    pub async fn link_parent(&self, permit: &Permit, parent_id: i64, child_id: i64) -> Result<()> {
        check(permit, Action::ManagePeople, Target::Person(child_id))?;
        let actor_id = permit.actor_id();
        let (parent, child) = (self.person(parent_id).await?, self.person(child_id).await?);
        match (parent, child) {
            (Some(p), Some(c)) if p.kind == PersonKind::Parent && c.kind == PersonKind::Pupil => {}
            _ => {
                return Err(StoreError::Invalid(policy::PolicyError::invalid(
                    "parent_link",
                    "a link needs a parent and a pupil",
                )));
            }
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO parent_links (parent_id, child_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(parent_id)
        .bind(child_id)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::ParentLinked {
            child: child_id,
            parent: parent_id,
        };
        record(&mut tx, &self.clock, actor_id, what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pupils a parent is linked to.
    pub async fn children_of(&self, parent_id: i64) -> Result<Vec<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE id IN
               (SELECT child_id FROM parent_links WHERE parent_id = $1) ORDER BY display_name"
        ))
        .bind(parent_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The parents and carers linked to a pupil.
    pub async fn parents_of(&self, child_id: i64) -> Result<Vec<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE id IN
               (SELECT parent_id FROM parent_links WHERE child_id = $1) ORDER BY display_name"
        ))
        .bind(child_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Gives a person a login account with an already-hashed password: the server's operator
    /// (`palisade user add`, the demo), with the operator's [`Action::GrantRole`] permit. In the
    /// web a new account's first password is set by its holder ([`Store::invite_account`]).
    pub async fn create_account(
        &self,
        permit: &Permit,
        person_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        let roles = self.roles_of(person_id).await?;
        check_roles(permit, Action::GrantRole, Some(person_id), roles)
            .or_else(|_| check_roles(permit, Action::GrantRole, None, roles))?;
        let mut tx = self.begin_write().await?;
        insert_account(
            &mut tx,
            &self.clock,
            permit.actor_id(),
            person_id,
            password_hash,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The roles a person holds; not found when there is no such person.
    pub(crate) async fn roles_of(&self, person_id: i64) -> Result<RoleSet> {
        self.person(person_id)
            .await?
            .map(|p| p.roles)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("person {person_id}"),
            })
    }

    /// A person's account, if they have one.
    pub async fn account(&self, person_id: i64) -> Result<Option<Account>> {
        Ok(sqlx::query_as(
            "SELECT person_id, password_hash, active, failed_logins, locked_until, password_changed_at
             FROM accounts WHERE person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Replaces a password hash (and clears any lockout); the permit is for
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
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2, failed_logins = 0, locked_until = NULL
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

//! People, their login accounts and parent-child links.

use crate::audit::{AuditAction, record};
use crate::grants::{RoleChange, mail_role_change};
use crate::permits::{check, check_roles};
use crate::{Result, Store, StoreError, timestamp};
use chrono::{DateTime, Utc};
pub use policy::PersonKind;
use policy::{Action, Permit, RoleSet, Target};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

mod accounts;
mod directory;
pub(crate) use accounts::account_in;
pub use directory::{ListedPerson, PeopleList, PeopleQuery};
mod guests;
mod import;
mod leavers;
pub use guests::NewGuest;
pub use import::{ImportReport, ImportRequest, ImportedFile, Leavers};
pub use leavers::Closed;
mod switch;

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
    /// The management information system's identifier: a re-import matches on it.
    pub mis_id: Option<String>,
    /// A pupil's unique pupil number.
    pub upn: Option<String>,
    /// The legal name, where it differs from the preferred `display_name`.
    pub legal_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `YYYY-MM-DD`.
    pub admitted_on: Option<String>,
    /// The leaving date set in advance (`YYYY-MM-DD`): the accounts close on it.
    pub leaves_on: Option<String>,
    pub phone: Option<String>,
    /// When a guest account ends (a timestamp).
    pub expires_at: Option<String>,
    /// What a guest account is for (`visitor`, `supply_teacher`).
    pub guest_purpose: Option<String>,
}

fn ser_roles<S: serde::Serializer>(roles: &RoleSet, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(roles.iter().map(policy::Role::as_str))
}

impl Person {
    /// What the role holders' check needs to know of this person.
    pub fn holder(&self) -> policy::registers::Holder<'_> {
        policy::registers::Holder {
            username: &self.username,
            roles: self.roles,
            active: self.active,
        }
    }

    /// What the concern assignment rule needs to know of this person.
    pub fn candidate(&self) -> policy::concern::Candidate {
        policy::concern::Candidate {
            id: self.id,
            kind: self.kind,
            roles: self.roles,
            active: self.active,
        }
    }
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
            mis_id: row.try_get("mis_id")?,
            upn: row.try_get("upn")?,
            legal_name: row.try_get("legal_name")?,
            date_of_birth: row.try_get("date_of_birth")?,
            admitted_on: row.try_get("admitted_on")?,
            leaves_on: row.try_get("leaves_on")?,
            phone: row.try_get("phone")?,
            expires_at: row.try_get("expires_at")?,
            guest_purpose: row.try_get("guest_purpose")?,
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
    /// 1 when someone said the password may be known: a new one is needed before anything else.
    pub must_change_password: i64,
    /// When a second factor (TOTP) was enrolled; `None` without one.
    pub totp_enrolled_at: Option<String>,
}

impl Account {
    /// Whether the account may sign in at all.
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    /// Whether a new password is needed before anything else (the old one may be known).
    pub fn must_change_password(&self) -> bool {
        self.must_change_password != 0
    }

    /// Whether the account signs in with a second factor (TOTP).
    pub fn has_totp(&self) -> bool {
        self.totp_enrolled_at.is_some()
    }

    /// Whether the account is locked at `at`.
    pub fn locked_at(&self, at: DateTime<Utc>) -> bool {
        self.locked_until
            .as_deref()
            .is_some_and(|until| until > timestamp(at).as_str())
    }
}

const PERSON_COLUMNS: &str = "id, username, display_name, kind, roles, year_group, class_name, \
     active, created_at, left_at, mis_id, upn, legal_name, date_of_birth, admitted_on, leaves_on, \
     phone, expires_at, guest_purpose";

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
        self.refuse_taken_username(&mut tx, &new.username).await?;
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

    /// A conflict when `username` is taken. Usernames are unique in the whole database: on
    /// PostgreSQL the directory of logins sees every school's, where `people` shows this
    /// school's alone.
    pub(crate) async fn refuse_taken_username(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        username: &str,
    ) -> Result<()> {
        let taken_sql = match self.backend() {
            crate::Backend::Sqlite => "SELECT id FROM people WHERE username = $1",
            crate::Backend::Postgres => "SELECT school_id FROM logins WHERE username = $1",
        };
        let taken: Option<i64> = sqlx::query_scalar(taken_sql)
            .bind(username)
            .fetch_optional(&mut **tx)
            .await?;
        match taken {
            Some(_) => Err(StoreError::Conflict(format!(
                "username `{username}` is already taken"
            ))),
            None => Ok(()),
        }
    }

    /// One person by id.
    pub async fn person(&self, id: i64) -> Result<Option<Person>> {
        person_in(&mut self.read().await?, id).await
    }

    /// The people who might handle a concern, for `policy::concern` to choose from: everyone
    /// active but pupils and parents (a pre-filter that keeps a whole school's pupils and
    /// parents out of every report; the policy still decides).
    pub async fn active_candidates(&self) -> Result<Vec<policy::concern::Candidate>> {
        let people: Vec<Person> = sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people
             WHERE active = 1 AND kind NOT IN ('pupil', 'parent') ORDER BY id"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(people.iter().map(Person::candidate).collect())
    }

    /// One person by username.
    pub async fn person_by_username(&self, username: &str) -> Result<Option<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    /// The people whose email address (as entered or imported from the MIS) is `email`,
    /// ignoring case: an OpenID Connect sign-in matches its person by it.
    pub async fn people_by_email(&self, email: &str) -> Result<Vec<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE lower(email) = lower($1) ORDER BY id"
        ))
        .bind(email.trim())
        .fetch_all(&mut *self.read().await?)
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
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// People by id (those that exist), in the order asked: one query for up to 500 ids.
    pub async fn people_by_ids(&self, ids: &[i64]) -> Result<Vec<Person>> {
        let mut found: std::collections::HashMap<i64, Person> = std::collections::HashMap::new();
        let mut tx = self.read().await?;
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {PERSON_COLUMNS} FROM people WHERE id IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for p in query.fetch_all(&mut *tx).await? {
                found.insert(p.id, p);
            }
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
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
        let sql = sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE id IN
               (SELECT child_id FROM parent_links WHERE parent_id = $1) ORDER BY display_name"
        );
        self.people_linked(sql, parent_id).await
    }

    /// The parents and carers linked to a pupil.
    pub async fn parents_of(&self, child_id: i64) -> Result<Vec<Person>> {
        let sql = sql!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE id IN
               (SELECT parent_id FROM parent_links WHERE child_id = $1) ORDER BY display_name"
        );
        self.people_linked(sql, child_id).await
    }

    async fn people_linked(
        &self,
        sql: sqlx::AssertSqlSafe<String>,
        id: i64,
    ) -> Result<Vec<Person>> {
        Ok(sqlx::query_as(sql)
            .bind(id)
            .fetch_all(&mut *self.read().await?)
            .await?)
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
}

/// One person by id, inside the caller's transaction.
pub(crate) async fn person_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
) -> Result<Option<Person>> {
    Ok(
        sqlx::query_as(sql!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

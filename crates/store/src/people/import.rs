//! Applying an import of the school's people from its MIS export (issue 20): the plan
//! `policy::import` works out, written in one transaction with one audit row.
//!
//! The plan is worked out again inside the writing transaction, from what the database holds
//! then, and applied only if it is the one the caller previewed: what is applied is what was
//! shown. Imported people get no login account (sign-in refuses a person without one) until
//! the school gives them one.

use crate::audit::{AuditAction, record};
use crate::grants::{RoleChange, mail_role_change};
use crate::permits::check_roles;
use crate::{Backend, Result, Store, StoreError};
use policy::import::{Counts, Existing, ExistingLink, ExistingPerson, Export, Plan, Values, Who};
use policy::{Action, Permit, PersonKind, RoleSet};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

/// What to do with the people a full export leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leavers {
    /// Set their leaving date to the import's day: their accounts close on it.
    Mark,
    /// Leave them as they are (a partial export).
    Ignore,
}

impl Leavers {
    /// `mark` or `ignore`, as the command line and the page say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Leavers::Mark => "mark",
            Leavers::Ignore => "ignore",
        }
    }

    /// Parses [`Leavers::as_str`].
    pub fn parse(s: &str) -> Option<Leavers> {
        match s {
            "mark" => Some(Leavers::Mark),
            "ignore" => Some(Leavers::Ignore),
            _ => None,
        }
    }
}

/// One file of an import as its audit row names it: never its content, which names pupils.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedFile {
    pub name: String,
    pub format: &'static str,
    pub kind: &'static str,
    pub rows: usize,
    pub sha256: String,
}

impl ImportedFile {
    /// The audit row's record of a file read into `summary`, whose bytes were `bytes`.
    pub fn of(summary: &policy::import::FileSummary, bytes: &[u8]) -> ImportedFile {
        ImportedFile {
            name: summary.source.clone(),
            format: summary.format.as_str(),
            kind: summary.kind.as_str(),
            rows: summary.rows,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// An import to apply: the export, the plan shown for it, what to do with leavers, and its files.
pub struct ImportRequest<'a> {
    pub export: &'a Export,
    pub previewed: &'a Plan,
    pub leavers: Leavers,
    pub files: &'a [ImportedFile],
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub counts: Counts,
    /// The people marked as leaving on the import's day (none with [`Leavers::Ignore`]).
    pub leavers_marked: Vec<i64>,
    /// The ids given to the plan's new people, in its order.
    pub added_ids: Vec<i64>,
}

/// How many writes go between two reports of progress.
const PROGRESS_EVERY: usize = 200;

const PEOPLE_SQL: &str = "SELECT id, kind, username, display_name, legal_name, mis_id, upn, \
     date_of_birth, year_group, class_name, admitted_on, leaves_on, email, phone, active \
     FROM people WHERE kind IN ('pupil', 'parent', 'staff') ORDER BY id";

type PersonRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// What the database holds that an import is compared with, read in `tx`: three queries,
/// whatever the size of the school.
async fn snapshot(tx: &mut Transaction<'static, Any>, backend: Backend) -> Result<Existing> {
    let rows: Vec<PersonRow> = sqlx::query_as(PEOPLE_SQL).fetch_all(&mut **tx).await?;
    let mut people = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = PersonKind::parse(&r.1).ok_or_else(|| StoreError::Corrupt {
            table: "people",
            id: r.0.to_string(),
            message: format!("unknown kind `{}`", r.1),
        })?;
        people.push(ExistingPerson {
            id: r.0,
            kind,
            username: r.2,
            active: r.14 != 0,
            values: Values {
                display_name: r.3,
                legal_name: r.4,
                mis_id: r.5,
                upn: r.6,
                date_of_birth: r.7,
                year_group: r.8,
                class_name: r.9,
                admitted_on: r.10,
                leaves_on: r.11,
                email: r.12,
                phone: r.13,
            },
        });
    }
    let links: Vec<(i64, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT parent_id, child_id, relationship, parental_responsibility FROM parent_links",
    )
    .fetch_all(&mut **tx)
    .await?;
    // Usernames sign in anywhere: on PostgreSQL the directory of logins has every school's.
    let usernames_sql = match backend {
        Backend::Sqlite => "SELECT username FROM people",
        Backend::Postgres => "SELECT username FROM logins",
    };
    let usernames: Vec<String> = sqlx::query_scalar(usernames_sql)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Existing {
        people,
        links: links
            .into_iter()
            .map(|(parent_id, child_id, relationship, pr)| ExistingLink {
                parent_id,
                child_id,
                relationship,
                parental_responsibility: pr != 0,
            })
            .collect(),
        usernames: usernames.into_iter().collect(),
    })
}

impl Store {
    /// The import's day: leavers it marks leave on it (the school's date, Europe/London).
    pub fn import_day(&self) -> chrono::NaiveDate {
        self.clock.school_now().date_naive()
    }

    /// What importing `export` would change now: the dry run. Writes nothing.
    pub async fn plan_import(&self, export: &Export) -> Result<Plan> {
        let mut tx = self.read().await?;
        let existing = snapshot(&mut tx, self.backend()).await?;
        Ok(policy::import::diff(export, &existing, self.import_day())?)
    }

    /// Applies an import in one transaction: the people added (with no login account), the
    /// changes, the parent links, the leaving dates the export gives, the leavers marked (with
    /// [`Leavers::Mark`]), and one `people.imported` audit row with the counts. The permit is
    /// for [`Action::ImportPeople`] of the roles the import gives its new people. Refused, with
    /// nothing written, when the plan worked out now is not the one previewed. `progress` hears
    /// (done, total) as the writes go.
    pub async fn import_people(
        &self,
        permit: &Permit,
        safeguarding: RoleSet,
        request: &ImportRequest<'_>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ImportReport> {
        check_roles(
            permit,
            Action::ImportPeople,
            None,
            request.previewed.roles_given(),
        )?;
        let actor = permit.actor_id();
        let mut tx = self.begin_write().await?;
        let existing = snapshot(&mut tx, self.backend()).await?;
        let plan = policy::import::diff(request.export, &existing, self.import_day())?;
        if &plan != request.previewed {
            return Err(StoreError::Conflict(
                "the people in Palisade changed since this import was previewed: preview it again"
                    .into(),
            ));
        }
        for a in &plan.added {
            policy::people::check_username(&a.username)?;
            policy::people::check_roles(a.kind, a.roles)?;
            policy::concern::check_text("display_name", &a.values.display_name, 200)?;
        }
        let marked: Vec<i64> = match request.leavers {
            Leavers::Mark => plan.leaving.iter().map(|l| l.id).collect(),
            Leavers::Ignore => Vec::new(),
        };
        let total = plan.writes(request.leavers == Leavers::Mark);
        let mut done = 0;
        let mut step = |n: usize| {
            done += n;
            if done % PROGRESS_EVERY < n || done == total {
                progress(done, total);
            }
        };
        progress(0, total);
        for c in &plan.changed {
            let v = &c.values;
            sqlx::query(
                "UPDATE people SET mis_id = $1, display_name = $2, legal_name = $3, upn = $4,
                   date_of_birth = $5, year_group = $6, class_name = $7, admitted_on = $8,
                   leaves_on = $9, email = $10, phone = $11
                 WHERE id = $12",
            )
            .bind(&v.mis_id)
            .bind(&v.display_name)
            .bind(&v.legal_name)
            .bind(&v.upn)
            .bind(&v.date_of_birth)
            .bind(&v.year_group)
            .bind(&v.class_name)
            .bind(&v.admitted_on)
            .bind(&v.leaves_on)
            .bind(&v.email)
            .bind(&v.phone)
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
            step(1);
        }
        let now = self.now();
        let mut added_ids = Vec::with_capacity(plan.added.len());
        for a in &plan.added {
            let v = &a.values;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO people (username, display_name, kind, roles, year_group, class_name,
                   active, created_at, mis_id, upn, legal_name, date_of_birth, admitted_on,
                   leaves_on, email, phone)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 RETURNING id",
            )
            .bind(&a.username)
            .bind(&v.display_name)
            .bind(a.kind.as_str())
            .bind(a.roles.to_csv())
            .bind(&v.year_group)
            .bind(&v.class_name)
            .bind(&now)
            .bind(&v.mis_id)
            .bind(&v.upn)
            .bind(&v.legal_name)
            .bind(&v.date_of_birth)
            .bind(&v.admitted_on)
            .bind(&v.leaves_on)
            .bind(&v.email)
            .bind(&v.phone)
            .fetch_one(&mut *tx)
            .await?;
            // A safeguarding role given by an import is mailed like any other grant.
            mail_role_change(
                &mut tx,
                &self.clock,
                actor,
                id,
                RoleChange::Granted(a.roles),
                safeguarding,
            )
            .await?;
            added_ids.push(id);
            step(1);
        }
        let id_of = |w: Who| match w {
            Who::Existing(id) => Ok(id),
            Who::New(n) => added_ids.get(n).copied().ok_or_else(|| {
                StoreError::Conflict(format!("the plan names a new person {n} it does not add"))
            }),
        };
        for l in &plan.links_removed {
            sqlx::query("DELETE FROM parent_links WHERE parent_id = $1 AND child_id = $2")
                .bind(id_of(l.parent)?)
                .bind(id_of(l.child)?)
                .execute(&mut *tx)
                .await?;
            step(1);
        }
        for l in plan.links_added.iter().chain(&plan.links_changed) {
            sqlx::query(
                "INSERT INTO parent_links (parent_id, child_id, relationship, parental_responsibility)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (parent_id, child_id) DO UPDATE
                 SET relationship = excluded.relationship,
                     parental_responsibility = excluded.parental_responsibility",
            )
            .bind(id_of(l.parent)?)
            .bind(id_of(l.child)?)
            .bind(&l.relationship)
            .bind(i64::from(l.parental_responsibility))
            .execute(&mut *tx)
            .await?;
            step(1);
        }
        let today = plan.today.format("%Y-%m-%d").to_string();
        for id in &marked {
            sqlx::query("UPDATE people SET leaves_on = $1 WHERE id = $2")
                .bind(&today)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            step(1);
        }
        let counts = plan.counts();
        let what = AuditAction::PeopleImported {
            files: request.files,
            counts: &counts,
            roles: plan.roles_given(),
            leavers: request.leavers.as_str(),
            leavers_marked: &marked,
        };
        record(&mut tx, &self.clock, actor, what).await?;
        tx.commit().await?;
        Ok(ImportReport {
            counts,
            leavers_marked: marked,
            added_ids,
        })
    }
}

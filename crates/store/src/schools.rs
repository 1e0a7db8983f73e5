//! Schools. Every school-owned row carries its school; a database with one school (every
//! database made before schools were rows) is school 1.

use crate::audit::{AuditAction, record};
use crate::{Backend, Result, Store, StoreError};
use sqlx::FromRow;

/// The slug the upgrade gives school 1 until its profile names it.
pub const UNNAMED_SLUG: &str = "school-1";

/// A school as stored, with how much it holds.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct School {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: String,
    /// People of the school, and concerns in its log.
    pub people: i64,
    pub concerns: i64,
}

impl Store {
    /// Every school, by id, with its counts.
    pub async fn schools(&self) -> Result<Vec<School>> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.slug, s.name, s.created_at,
                    (SELECT COUNT(*) FROM people p WHERE p.school_id = s.id) AS people,
                    (SELECT COUNT(*) FROM concerns c WHERE c.school_id = s.id) AS concerns
             FROM schools s ORDER BY s.id",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Names school 1 after its profile, once: while it still has the upgrade's placeholder
    /// slug, it takes `name` and the slug `name` gives (`policy::school::slug_from_name`), and
    /// an empty creation time becomes now. Returns the school when it was named now. A system
    /// write (the server starting with its profile), audited as `school.named`.
    pub async fn name_first_school(&self, name: &str) -> Result<Option<School>> {
        let slug = policy::school::slug_from_name(name);
        self.name_first_school_as(&slug, name).await
    }

    /// [`Store::name_first_school`] with the slug given (a trust profile's).
    pub async fn name_first_school_as(&self, slug: &str, name: &str) -> Result<Option<School>> {
        policy::school::check_slug(slug)?;
        let mut tx = self.begin_write().await?;
        let now = self.now();
        let named = sqlx::query(
            "UPDATE schools SET slug = $1, name = $2,
                    created_at = CASE WHEN created_at = '' THEN $3 ELSE created_at END
             WHERE id = 1 AND slug = $4",
        )
        .bind(slug)
        .bind(name)
        .bind(&now)
        .bind(UNNAMED_SLUG)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if named == 0 {
            return Ok(None);
        }
        let what = AuditAction::SchoolNamed { id: 1, slug, name };
        record(&mut tx, &self.clock, None, what).await?;
        tx.commit().await?;
        Ok(self.schools().await?.into_iter().find(|s| s.id == 1))
    }
}

impl Store {
    /// This store reading every school (acting in the first): for the operator's commands
    /// that report on the whole database, and for the gateways, which serve every school.
    pub async fn every_school(&self) -> Result<Store> {
        let ids: Vec<i64> = self.slugs().await?.into_iter().map(|(id, _)| id).collect();
        let first = ids.first().copied().unwrap_or(1);
        Ok(self.scoped(crate::Scope::across(first, &ids)))
    }

    /// The store acting in the school with this slug, or in the only school when `slug` is
    /// `None`; an error names the schools to choose from when there are several or the slug
    /// is unknown.
    pub async fn for_slug(&self, slug: Option<&str>) -> Result<Store> {
        let schools = self.slugs().await?;
        let slugs = || {
            schools
                .iter()
                .map(|(_, s)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (id, _) = match slug {
            Some(slug) => {
                schools
                    .iter()
                    .find(|(_, s)| s == slug)
                    .ok_or_else(|| StoreError::NotFound {
                        what: format!("school `{slug}` (the database holds: {})", slugs()),
                    })?
            }
            None => match schools.as_slice() {
                [only] => only,
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "this database holds {} schools: name one with --school ({})",
                        schools.len(),
                        slugs()
                    )));
                }
            },
        };
        Ok(self.in_school(*id))
    }

    /// Every school's id and slug, by id (no counts: for finding one).
    async fn slugs(&self) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT id, slug FROM schools ORDER BY id")
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// The school with this slug, if any.
    pub async fn school_id_by_slug(&self, slug: &str) -> Result<Option<i64>> {
        Ok(self
            .slugs()
            .await?
            .into_iter()
            .find_map(|(id, s)| (s == slug).then_some(id)))
    }

    /// Adds a school: the operator's command (`palisade school add`), run as the database's
    /// owner, since the service may not add schools. Its audit chain begins with the row that
    /// says so. A SQLite database holds one school: a trust's schools share a PostgreSQL one.
    pub async fn add_school(&self, slug: &str, name: &str) -> Result<School> {
        if slug == policy::trust::TRUST_SLUG {
            return Err(StoreError::Conflict(format!(
                "`{slug}` is the slug of a trust's own row, not a school's"
            )));
        }
        self.add_school_row(slug, name).await
    }

    /// Adds the trust's own row (slug `trust`), where the trust's people and their trail
    /// live, as [`Store::add_school`] adds a school.
    pub async fn add_trust_row(&self, name: &str) -> Result<School> {
        self.add_school_row(policy::trust::TRUST_SLUG, name).await
    }

    async fn add_school_row(&self, slug: &str, name: &str) -> Result<School> {
        use sqlx::Connection;
        policy::school::check_slug(slug)?;
        if self.backend() == Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "a SQLite database holds one school; the schools of a trust share a PostgreSQL \
                 database (--database-url postgres://...)"
                    .into(),
            ));
        }
        if self.school_id_by_slug(slug).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "a school with the slug `{slug}` is already in this database"
            )));
        }
        let now = self.now();
        let mut conn = self.owner_connection().await?;
        let mut tx = conn.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO schools (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(slug)
        .bind(name)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let mut tx = crate::db::enter_school(tx, id).await?;
        let what = AuditAction::SchoolAdded { id, slug, name };
        record(&mut tx, &self.clock, None, what).await?;
        tx.commit().await?;
        conn.close().await?;
        self.schools()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("school {slug}"),
            })
    }
}

impl Store {
    /// The school a username signs in to, from the directory of logins (PostgreSQL, where
    /// the service sees no school's people before it knows the school); on SQLite, whose one
    /// school is this store's, `None`.
    pub async fn school_of_login(&self, username: &str) -> Result<Option<i64>> {
        if self.backend() == Backend::Sqlite {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT school_id FROM logins WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *self.read().await?)
                .await?,
        )
    }
}

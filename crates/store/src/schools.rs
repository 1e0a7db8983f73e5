//! Schools. Every school-owned row carries its school; a database with one school (every
//! database made before schools were rows) is school 1.

use crate::audit::{AuditAction, record};
use crate::{Result, Store};
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
        .fetch_all(&self.pool)
        .await?)
    }

    /// Names school 1 after its profile, once: while it still has the upgrade's placeholder
    /// slug, it takes `name` and the slug `name` gives (`policy::school::slug_from_name`), and
    /// an empty creation time becomes now. Returns the school when it was named now. A system
    /// write (the server starting with its profile), audited as `school.named`.
    pub async fn name_first_school(&self, name: &str) -> Result<Option<School>> {
        let slug = policy::school::slug_from_name(name);
        policy::school::check_slug(&slug)?;
        let mut tx = self.begin_write().await?;
        let now = self.now();
        let named = sqlx::query(
            "UPDATE schools SET slug = $1, name = $2,
                    created_at = CASE WHEN created_at = '' THEN $3 ELSE created_at END
             WHERE id = 1 AND slug = $4",
        )
        .bind(&slug)
        .bind(name)
        .bind(&now)
        .bind(UNNAMED_SLUG)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if named == 0 {
            return Ok(None);
        }
        let what = AuditAction::SchoolNamed {
            id: 1,
            slug: &slug,
            name,
        };
        record(&mut tx, &self.clock, None, what).await?;
        tx.commit().await?;
        Ok(self.schools().await?.into_iter().find(|s| s.id == 1))
    }
}

//! The data processors register: the third parties that hold personal data for the school
//! (issue 18, part 5). Entries are added with a permit and recorded in the audit chain; the
//! list is the register's page, its CSV export and its API.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store};
use policy::registers::CheckedProcessor;
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};

/// A data processor as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Processor {
    pub id: i64,
    pub name: String,
    pub purpose: String,
    pub data_shared: String,
    /// Whose data, comma-separated (`pupils,parents`).
    pub whose_data: String,
    pub agreement_on: String,
    pub renewal_on: Option<String>,
    pub transfer: String,
    pub stored_where: String,
    pub dpia_done: bool,
    pub review_on: String,
    pub added_by_name: String,
    pub added_at: String,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for Processor {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Processor> {
        Ok(Processor {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            purpose: row.try_get("purpose")?,
            data_shared: row.try_get("data_shared")?,
            whose_data: row.try_get("whose_data")?,
            agreement_on: row.try_get("agreement_on")?,
            renewal_on: row.try_get("renewal_on")?,
            transfer: row.try_get("transfer")?,
            stored_where: row.try_get("stored_where")?,
            dpia_done: row.try_get::<i64, _>("dpia_done")? != 0,
            review_on: row.try_get("review_on")?,
            added_by_name: row.try_get("added_by_name")?,
            added_at: row.try_get("added_at")?,
        })
    }
}

impl Store {
    /// Adds a checked data processor to the register; its id.
    pub async fn add_processor(&self, permit: &Permit, new: &CheckedProcessor) -> Result<i64> {
        let actor = check(permit, Action::ManageDataProcessors, Target::School)?;
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let whose = new.whose_data.join(",");
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO data_processors (name, purpose, data_shared, whose_data, agreement_on, \
             renewal_on, transfer, stored_where, dpia_done, review_on, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.purpose)
        .bind(&new.data_shared)
        .bind(&whose)
        .bind(day(new.agreement_on))
        .bind(new.renewal_on.map(day))
        .bind(&new.transfer)
        .bind(&new.stored_where)
        .bind(i64::from(new.dpia_done))
        .bind(day(new.review_on))
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::ProcessorAdded {
            id,
            name: &new.name,
            whose_data: &whose,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The register, by name.
    pub async fn processors(&self) -> Result<Vec<Processor>> {
        Ok(sqlx::query_as(
            "SELECT d.id, d.name, d.purpose, d.data_shared, d.whose_data, d.agreement_on, \
             d.renewal_on, d.transfer, d.stored_where, d.dpia_done, d.review_on, \
             COALESCE(p.display_name, 'someone from the trust') AS added_by_name, d.added_at \
             FROM data_processors d LEFT JOIN people p ON p.id = d.added_by \
             ORDER BY d.name, d.id",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

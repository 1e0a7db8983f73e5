//! Reading concerns: one with its subjects, and the list one may see.

use super::{CONCERN_COLUMNS, ConcernFilter, ConcernRecord};
use crate::{Result, Store};
use policy::{Actor, ConcernStatus};

impl Store {
    /// One concern with its subjects.
    pub async fn concern(&self, id: i64) -> Result<Option<ConcernRecord>> {
        let c: Option<ConcernRecord> =
            sqlx::query_as(sql!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        match c {
            Some(mut c) => {
                c.subjects = self.subjects_of(c.id).await?;
                Ok(Some(c))
            }
            None => Ok(None),
        }
    }

    pub(super) async fn subjects_of(&self, concern_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT person_id FROM concern_subjects WHERE concern_id = $1 ORDER BY person_id",
        )
        .bind(concern_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Concerns `actor` might see (reported by them, or routed to one of their roles), newest
    /// first. A pre-filter only: callers still ask `policy::can` of each.
    pub async fn concerns_for(
        &self,
        actor: &Actor,
        filter: &ConcernFilter,
    ) -> Result<Vec<ConcernRecord>> {
        let mut sql = format!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE (reporter_id = $1");
        let roles: Vec<&str> = actor.roles.iter().map(policy::Role::as_str).collect();
        for i in 0..roles.len() {
            sql.push_str(&format!(" OR (',' || audience || ',') LIKE ${}", i + 4));
        }
        sql.push_str(") AND ($2 = '' OR status = $2)");
        sql.push_str(
            " AND ($3 = 0 OR id IN (SELECT concern_id FROM concern_subjects WHERE person_id = $3))",
        );
        sql.push_str(" ORDER BY id DESC");
        let mut q = sqlx::query_as::<_, ConcernRecord>(sqlx::AssertSqlSafe(sql))
            .bind(actor.person_id)
            .bind(filter.status.map(ConcernStatus::as_str).unwrap_or_default())
            .bind(filter.subject.unwrap_or(0));
        for r in &roles {
            q = q.bind(format!("%,{r},%"));
        }
        let mut out = q.fetch_all(&mut *self.read().await?).await?;
        for c in &mut out {
            c.subjects = self.subjects_of(c.id).await?;
        }
        Ok(out)
    }
}

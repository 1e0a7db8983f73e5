//! Acceptable Use Policy acceptances: who accepted which version, when, from which device.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store};
use policy::{Action, Permit, Target};

impl Store {
    /// Records that a person accepted `version` (once: accepting again changes nothing); the
    /// permit is for [`Action::ManageOwnAccount`] of that person.
    pub async fn accept_aup(
        &self,
        permit: &Permit,
        person_id: i64,
        version: &str,
        client_ip: &str,
    ) -> Result<()> {
        check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let exists: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM aup_acceptances WHERE person_id = $1 AND version = $2")
                .bind(person_id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO aup_acceptances (person_id, version, accepted_at, client_ip) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(person_id)
        .bind(version)
        .bind(self.now())
        .bind(client_ip)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::AupAccepted {
            person: person_id,
            version,
        };
        record(&mut tx, &self.clock, Some(person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the person accepted `version`, if they have.
    pub async fn aup_accepted_at(&self, person_id: i64, version: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT accepted_at FROM aup_acceptances WHERE person_id = $1 AND version = $2",
        )
        .bind(person_id)
        .bind(version)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|r| r.0))
    }
}

//! Concerns left untriaged past the profile's `triage_within_hours`: each becomes one high
//! alert for the escalation audience (the profile's `escalate_to` and the team; see
//! [`policy::alerts`]), once, and the concern remembers when.

use crate::{Result, Store};
use policy::alerts::AlertAudience;
use policy::profile::monitoring::AlertSeverity;

/// The rule of an escalation alert.
pub fn untriaged_rule(hours: u32) -> String {
    format!("concern untriaged after {hours} hours")
}

impl Store {
    /// Escalates every concern on the general safeguarding route still new (untriaged) that
    /// was reported at or before `now - hours` and not escalated yet: one high alert each, and
    /// the concern marked, in one transaction. Returns the new alerts' ids.
    ///
    /// Concerns about staff or the Headteacher are left out: the alert would tell the team
    /// that such a concern exists, which only its route may know.
    pub async fn escalate_untriaged(&self, hours: u32) -> Result<Vec<i64>> {
        let now = self.clock.now();
        let cutoff = crate::timestamp(now - chrono::Duration::hours(i64::from(hours)));
        let at = crate::timestamp(now);
        let mut tx = self.begin_write().await?;
        let due: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, created_at FROM concerns WHERE status = 'new' AND route = 'safeguarding' \
             AND triage_escalated_at IS NULL AND created_at <= $1 ORDER BY id",
        )
        .bind(&cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut alerts = Vec::with_capacity(due.len());
        for (id, created) in due {
            let (alert,): (i64,) = sqlx::query_as(
                "INSERT INTO alerts (severity, rule, subject, person_id, username, client_ip, \
                 group_name, first_at, last_at, count, evidence, audience) \
                 VALUES ($1, $2, $3, NULL, NULL, '', '', $4, $5, 1, '[]', $6) RETURNING id",
            )
            .bind(AlertSeverity::High.as_str())
            .bind(untriaged_rule(hours))
            .bind(format!("concern #{id}"))
            .bind(&created)
            .bind(&at)
            .bind(AlertAudience::Escalation.as_str())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE concerns SET triage_escalated_at = $1 WHERE id = $2")
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            alerts.push(alert);
        }
        tx.commit().await?;
        Ok(alerts)
    }
}

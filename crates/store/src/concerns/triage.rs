//! Working a concern: triage (assignee, severity, status), closing with an outcome and
//! reopening, each a timeline entry and an audit row.

use super::timeline::{insert_action, load_for_update};
use super::{Triage, invalid};
use crate::audit::{AuditAction, record};
use crate::permits::check_concern;
use crate::{Result, Store};
use policy::concern::{ActionInput, MAX_TEXT_CHARS, check_assignee};
use policy::{Action, ActionKind, Agency, ConcernStatus, Permit, Severity};
use serde_json::json;

impl Store {
    /// Assigns, sets severity and status (not closed: closing needs an outcome).
    pub async fn triage(&self, permit: &Permit, concern_id: i64, t: &Triage) -> Result<()> {
        let actor = check_concern(permit, Action::TriageConcern, concern_id)?;
        if t.status == Some(ConcernStatus::Closed) {
            return Err(invalid("status", "close a concern with an outcome instead"));
        }
        if let Some(a) = t.assignee_id {
            let person = self.person(a).await?.ok_or_else(|| {
                invalid(
                    "assignee",
                    format!("person {a} is not an active member of staff"),
                )
            })?;
            let subjects = self.subjects_of(concern_id).await?;
            check_assignee(&person.candidate(), &subjects, &format!("person {a}"))?;
        }
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status == ConcernStatus::Closed {
            return Err(invalid("status", "the concern is closed; reopen it first"));
        }
        let status = t.status.unwrap_or(if c.status == ConcernStatus::New {
            ConcernStatus::InProgress
        } else {
            c.status
        });
        let severity = t.severity.or(c.severity);
        let assignee = t.assignee_id.or(c.assignee_id);
        sqlx::query("UPDATE concerns SET status = $1, severity = $2, assignee_id = $3, updated_at = $4 WHERE id = $5")
            .bind(status.as_str())
            .bind(severity.map(Severity::as_str))
            .bind(assignee)
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let what = AuditAction::ConcernTriaged {
            concern: concern_id,
            status,
            severity,
            assignee,
        };
        // The timeline entry says what the audit row says.
        let body = what.details();
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Triaged,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes a concern with its outcome; refused while the profile's LADO step is missing.
    pub async fn close_concern(
        &self,
        permit: &Permit,
        concern_id: i64,
        outcome: &str,
    ) -> Result<()> {
        let actor = check_concern(permit, Action::CloseConcern, concern_id)?;
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status == ConcernStatus::Closed {
            return Err(invalid("status", "the concern is already closed"));
        }
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM concern_actions WHERE concern_id = $1 AND kind = $2",
        )
        .bind(concern_id)
        .bind(ActionKind::Referral.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let agencies: Vec<Agency> = bodies
            .iter()
            .filter_map(|b| serde_json::from_str::<ActionInput>(b).ok())
            .filter_map(|a| match a {
                ActionInput::Referral { agency, .. } => Some(agency),
                _ => None,
            })
            .collect();
        policy::concern::close_blocker(c.lado_required, &agencies, outcome)?;
        sqlx::query("UPDATE concerns SET status = $1, outcome = $2, updated_at = $3 WHERE id = $4")
            .bind(ConcernStatus::Closed.as_str())
            .bind(outcome)
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let body = json!({"outcome": outcome});
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Closed,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernClosed {
            concern: concern_id,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reopens a closed concern; the reason is a timeline entry.
    pub async fn reopen_concern(
        &self,
        permit: &Permit,
        concern_id: i64,
        reason: &str,
    ) -> Result<()> {
        let actor = check_concern(permit, Action::ReopenConcern, concern_id)?;
        policy::concern::check_text("reason", reason, MAX_TEXT_CHARS)?;
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status != ConcernStatus::Closed {
            return Err(invalid("status", "only a closed concern can be reopened"));
        }
        sqlx::query("UPDATE concerns SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(ConcernStatus::InProgress.as_str())
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let body = json!({"reason": reason});
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Reopened,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernReopened {
            concern: concern_id,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }
}

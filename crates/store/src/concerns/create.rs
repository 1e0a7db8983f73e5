//! Filing a concern: the report checked, routed by the profile, its first point of contact
//! assigned, its subjects, attachments and first timeline entry written with its audit row.

use super::attachments::insert_attachment;
use super::timeline::insert_action;
use super::{NewConcern, invalid};
use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::concern::{filing_mail, first_assignee, told_on_filing};
use policy::profile::ConcernPolicy;
use policy::{Action, ActionKind, ConcernStatus, Permit, Target};
use serde_json::json;

impl Store {
    /// Files a concern, routed by the profile; returns its id. All or nothing. The permit is
    /// for [`Action::ReportConcern`], and its holder is the reporter (the operator's aside,
    /// which files the demo's concerns in their reporters' names).
    pub async fn create_concern(
        &self,
        permit: &Permit,
        policy: &ConcernPolicy,
        new: &NewConcern,
    ) -> Result<i64> {
        let actor = check(permit, Action::ReportConcern, Target::School)?;
        if !permit.is_operator() && actor.person_id != new.reporter_id {
            return Err(StoreError::Conflict(format!(
                "a permit for person {} to report cannot file a report by person {}",
                actor.person_id, new.reporter_id
            )));
        }
        new.validate(policy)?;
        let subjects = new.distinct_subjects();
        let mut subject_roles = Vec::with_capacity(subjects.len());
        for id in &subjects {
            let person = self
                .person(*id)
                .await?
                .ok_or_else(|| invalid("subjects", format!("person {id} does not exist")))?;
            subject_roles.push(person.roles);
        }
        let route = policy::route(policy, &subject_roles)?;
        let staff = self.active_candidates().await?;
        let told = told_on_filing(&route, staff.iter().copied(), &subjects);
        let assignee = first_assignee(&route, staff, &subjects);

        let mut tx = self.begin_write().await?;
        let at = self.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO concerns (reporter_id, form, route, audience, lado_required, category, summary, details,
                                   about_text, occurred_at, platform, status, severity, assignee_id, outcome, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, NULL, $14, $14) RETURNING id",
        )
        .bind(new.reporter_id)
        .bind(new.form.as_str())
        .bind(route.kind.as_str())
        .bind(route.audience.to_csv())
        .bind(i64::from(route.lado_required))
        .bind(&new.category)
        .bind(new.summary.trim())
        .bind(&new.details)
        .bind(&new.about_text)
        .bind(&new.occurred_at)
        .bind(&new.platform)
        .bind(ConcernStatus::New.as_str())
        .bind(assignee)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        for s in &subjects {
            sqlx::query("INSERT INTO concern_subjects (concern_id, person_id) VALUES ($1, $2)")
                .bind(id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
        }
        let body = json!({"route": route.kind.as_str(), "assignee_id": assignee});
        insert_action(
            &mut tx,
            &self.clock,
            id,
            ActionKind::Reported,
            new.reporter_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernReported {
            id,
            category: &new.category,
            route: route.kind,
            audience: route.audience,
            fallback: route.fallback,
            subjects: &subjects,
            assignee,
        };
        record(&mut tx, &self.clock, Some(new.reporter_id), what).await?;
        for a in &new.attachments {
            insert_attachment(&mut tx, &self.clock, id, new.reporter_id, a).await?;
        }
        // The first point of contact hears of it at once, in the same transaction: filed, the
        // concern's mail is queued too. Reports the operator files (the demo's samples, set
        // down at seeding) are nobody's news.
        let (subject, body) = filing_mail(id, route.kind);
        let mut queued = false;
        let told = if permit.is_operator() {
            Vec::new()
        } else {
            told
        };
        for person in told {
            let email: Option<Option<String>> =
                sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
                    .bind(person)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(email) = email.flatten().filter(|e| !e.trim().is_empty()) else {
                continue;
            };
            sqlx::query(
                "INSERT INTO mail_outbox (recipient, subject, body, kind, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, 'concern', $4, $4)",
            )
            .bind(&email)
            .bind(&subject)
            .bind(&body)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            queued = true;
        }
        tx.commit().await?;
        if queued {
            self.outbox.notify_one();
        }
        Ok(id)
    }
}

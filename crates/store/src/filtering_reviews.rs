//! The DfE filtering and monitoring standard's records (issue 19, parts 2 and 3): checks made
//! with an outside tool and their certificate files, the annual reviews with their participants,
//! answers, findings and actions, and the triggers that make a review due. When each is due
//! follows from [`policy::filtering_review`], never stored.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::concern::NewAttachment;
use policy::filtering_review::{CheckedCheck, CheckedReview, CheckedTrigger};
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};

/// One check made with an outside tool, as the record lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilterCheck {
    pub id: i64,
    pub checked_on: String,
    pub tool: String,
    pub device_type: String,
    pub device_name: String,
    pub site: String,
    pub group: String,
    pub passed: bool,
    pub notes: String,
    /// The certificate file's name, when one was kept.
    pub certificate: Option<String>,
    pub recorded_by_name: String,
    pub recorded_at: String,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for FilterCheck {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<FilterCheck> {
        Ok(FilterCheck {
            id: row.try_get("id")?,
            checked_on: row.try_get("checked_on")?,
            tool: row.try_get("tool")?,
            device_type: row.try_get("device_type")?,
            device_name: row.try_get("device_name")?,
            site: row.try_get("site")?,
            group: row.try_get("group_name")?,
            passed: row.try_get::<i64, _>("passed")? != 0,
            notes: row.try_get("notes")?,
            certificate: row.try_get("certificate_name")?,
            recorded_by_name: row.try_get("recorded_by_name")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }
}

/// A review as listed: its date, findings and who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct FilteringReview {
    pub id: i64,
    pub held_on: String,
    pub findings: String,
    pub recorded_by_name: String,
    pub recorded_at: String,
}

/// One action a review set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct ReviewAction {
    pub id: i64,
    pub review_id: i64,
    pub what: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub due_on: String,
    pub done_on: Option<String>,
}

/// One participant of a review: id, name and roles (as stored, comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct Participant {
    pub person_id: i64,
    pub name: String,
    pub roles: String,
}

/// A review with everything it recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewRecord {
    pub review: FilteringReview,
    pub participants: Vec<Participant>,
    /// (prompt key, answer), in the order they were recorded.
    pub answers: Vec<(String, String)>,
    pub actions: Vec<ReviewAction>,
}

/// A trigger recorded: something that makes a review due.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct ReviewTrigger {
    pub id: i64,
    pub happened_on: String,
    pub kind: String,
    pub reason: String,
    pub recorded_by_name: String,
    pub recorded_at: String,
}

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid(policy::PolicyError::invalid(field, message))
}

/// Checks that `id` is an active person of this school: their name.
async fn active_person(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    field: &str,
    id: i64,
) -> Result<String> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT display_name, active FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        None => Err(invalid(
            field,
            format!("there is no person {id} in this school"),
        )),
        Some((name, 0)) => Err(invalid(field, format!("{name} has left the school"))),
        Some((name, _)) => Ok(name),
    }
}

impl Store {
    /// Records a checked outside check, with its certificate file if given (checked by the
    /// caller against the profile's size and types): its id.
    pub async fn record_filter_check(
        &self,
        permit: &Permit,
        entry: &CheckedCheck,
        certificate: Option<&NewAttachment>,
    ) -> Result<i64> {
        let actor = check(permit, Action::KeepFilteringRecords, Target::School)?;
        let mut tx = self.begin_write().await?;
        let (name, kind, sha) = match certificate {
            Some(a) => (
                Some(a.filename.clone()),
                Some(a.content_type.clone()),
                Some(crate::blobs::put(&mut tx, &a.bytes).await?),
            ),
            None => (None, None, None),
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO filter_checks (checked_on, tool, device_type, device_name, site, \
             group_name, passed, notes, certificate_name, certificate_type, certificate_sha256, \
             recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(entry.checked_on.format("%Y-%m-%d").to_string())
        .bind(&entry.tool)
        .bind(&entry.device_type)
        .bind(&entry.device_name)
        .bind(&entry.site)
        .bind(&entry.group)
        .bind(i64::from(entry.passed))
        .bind(&entry.notes)
        .bind(name)
        .bind(kind)
        .bind(sha)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::FilterCheckRecorded {
            id,
            group: &entry.group,
            passed: entry.passed,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every outside check, newest first.
    pub async fn filter_checks(&self) -> Result<Vec<FilterCheck>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.checked_on, c.tool, c.device_type, c.device_name, c.site, \
             c.group_name, c.passed, c.notes, c.certificate_name, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, \
             c.recorded_at \
             FROM filter_checks c LEFT JOIN people r ON r.id = c.recorded_by \
             ORDER BY c.checked_on DESC, c.id DESC",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// A check's certificate file: name, type and bytes, if it kept one.
    pub async fn filter_check_certificate(
        &self,
        id: i64,
    ) -> Result<Option<crate::training::Evidence>> {
        crate::blobs::file_of(
            self,
            "SELECT c.certificate_name, c.certificate_type, b.content FROM filter_checks c \
             LEFT JOIN blobs b ON b.sha256 = c.certificate_sha256 WHERE c.id = $1",
            id,
        )
        .await
    }

    /// Records a checked review with its participants, answers and actions, in one
    /// transaction: its id. Every participant and every action's owner must be an active
    /// person of this school; otherwise nothing is stored and the refusal names them.
    pub async fn record_filtering_review(
        &self,
        permit: &Permit,
        review: &CheckedReview,
    ) -> Result<i64> {
        let actor = check(permit, Action::KeepFilteringRecords, Target::School)?;
        let mut tx = self.begin_write().await?;
        for p in &review.participants {
            active_person(&mut tx, "participants", *p).await?;
        }
        for (i, a) in review.actions.iter().enumerate() {
            active_person(&mut tx, &format!("actions[{}].owner", i + 1), a.owner).await?;
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO filtering_reviews (held_on, findings, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(review.held_on.format("%Y-%m-%d").to_string())
        .bind(&review.findings)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        for p in &review.participants {
            sqlx::query(
                "INSERT INTO filtering_review_participants (review_id, person_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await?;
        }
        for (prompt, answer) in &review.answers {
            sqlx::query(
                "INSERT INTO filtering_review_answers (review_id, prompt, answer) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(prompt)
            .bind(answer)
            .execute(&mut *tx)
            .await?;
        }
        for a in &review.actions {
            sqlx::query(
                "INSERT INTO filtering_review_actions (review_id, what, owner_id, due_on) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&a.what)
            .bind(a.owner)
            .bind(a.due_on.format("%Y-%m-%d").to_string())
            .execute(&mut *tx)
            .await?;
        }
        let what = AuditAction::FilteringReviewRecorded {
            id,
            participants: &review.participants,
            actions: review.actions.len(),
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every review, newest first.
    pub async fn filtering_reviews(&self) -> Result<Vec<FilteringReview>> {
        Ok(sqlx::query_as(
            "SELECT v.id, v.held_on, v.findings, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, \
             v.recorded_at \
             FROM filtering_reviews v LEFT JOIN people r ON r.id = v.recorded_by \
             ORDER BY v.held_on DESC, v.id DESC",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// One review with its participants, answers and actions, if it exists in this school.
    pub async fn filtering_review(&self, id: i64) -> Result<Option<ReviewRecord>> {
        let mut tx = self.read().await?;
        let review: Option<FilteringReview> = sqlx::query_as(
            "SELECT v.id, v.held_on, v.findings, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, \
             v.recorded_at \
             FROM filtering_reviews v LEFT JOIN people r ON r.id = v.recorded_by WHERE v.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(review) = review else {
            return Ok(None);
        };
        let participants = sqlx::query_as(
            "SELECT p.id AS person_id, p.display_name AS name, p.roles \
             FROM filtering_review_participants x JOIN people p ON p.id = x.person_id \
             WHERE x.review_id = $1 ORDER BY x.id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let answers = sqlx::query_as(
            "SELECT prompt, answer FROM filtering_review_answers WHERE review_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let actions = sqlx::query_as(sql!("{ACTIONS} WHERE a.review_id = $1 ORDER BY a.id"))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        Ok(Some(ReviewRecord {
            review,
            participants,
            answers,
            actions,
        }))
    }

    /// Every review's actions not yet done, earliest due first.
    pub async fn open_review_actions(&self) -> Result<Vec<ReviewAction>> {
        Ok(sqlx::query_as(sql!(
            "{ACTIONS} WHERE a.done_on IS NULL ORDER BY a.due_on, a.id"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Marks a review's action done on `done_on` (a checked date): false if it was done
    /// already; an action of no review of this school is not found.
    pub async fn mark_review_action_done(
        &self,
        permit: &Permit,
        action: i64,
        done_on: chrono::NaiveDate,
    ) -> Result<bool> {
        let actor = check(permit, Action::KeepFilteringRecords, Target::School)?;
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT review_id, done_on FROM filtering_review_actions WHERE id = $1")
                .bind(action)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((review, done)) = row else {
            return Err(StoreError::NotFound {
                what: format!("action {action}"),
            });
        };
        if done.is_some() {
            return Ok(false);
        }
        let on = done_on.format("%Y-%m-%d").to_string();
        sqlx::query("UPDATE filtering_review_actions SET done_on = $1, done_by = $2 WHERE id = $3")
            .bind(&on)
            .bind(actor.person_id)
            .bind(action)
            .execute(&mut *tx)
            .await?;
        let what = AuditAction::FilteringActionDone {
            id: action,
            review,
            done_on: &on,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a checked trigger: its id.
    pub async fn record_review_trigger(
        &self,
        permit: &Permit,
        trigger: &CheckedTrigger,
    ) -> Result<i64> {
        let actor = check(permit, Action::KeepFilteringRecords, Target::School)?;
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO filtering_review_triggers (happened_on, kind, reason, recorded_by, \
             recorded_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(trigger.happened_on.format("%Y-%m-%d").to_string())
        .bind(&trigger.kind)
        .bind(&trigger.reason)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::FilteringTriggerRecorded {
            id,
            kind: &trigger.kind,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every trigger recorded, newest first.
    pub async fn review_triggers(&self) -> Result<Vec<ReviewTrigger>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.happened_on, t.kind, t.reason, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, \
             t.recorded_at \
             FROM filtering_review_triggers t LEFT JOIN people r ON r.id = t.recorded_by \
             ORDER BY t.happened_on DESC, t.id DESC",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

/// The select every reader of actions starts from.
const ACTIONS: &str = "SELECT a.id, a.review_id, a.what, a.owner_id, \
     p.display_name AS owner_name, a.due_on, a.done_on \
     FROM filtering_review_actions a JOIN people p ON p.id = a.owner_id";

//! A concern's timeline: entries are added, never edited (a correction is a new entry).

use super::{ACTION_COLUMNS, ActionRecord, CONCERN_COLUMNS, ConcernRecord, invalid};
use crate::audit::{AuditAction, record};
use crate::permits::check_concern;
use crate::{Result, Store, StoreError};
use policy::concern::ActionInput;
use policy::{Action, ActionKind, Permit};
use sqlx::{Any, Transaction};

pub(super) async fn insert_action(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
    kind: ActionKind,
    actor_id: i64,
    body: &serde_json::Value,
    corrects_id: Option<i64>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO concern_actions (concern_id, kind, actor_id, at, body, corrects_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(concern_id)
    .bind(kind.as_str())
    .bind(actor_id)
    .bind(crate::stamp(clock.now()))
    .bind(body.to_string())
    .bind(corrects_id)
    .fetch_one(&mut **tx)
    .await?)
}

pub(super) async fn load_for_update(
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> Result<ConcernRecord> {
    sqlx::query_as::<_, ConcernRecord>(sql!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("concern {id}"),
        })
}

pub(super) async fn touch(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
) -> Result<()> {
    sqlx::query("UPDATE concerns SET updated_at = $1 WHERE id = $2")
        .bind(crate::stamp(clock.now()))
        .bind(concern_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// A concern's timeline, oldest first.
    pub async fn actions(&self, concern_id: i64) -> Result<Vec<ActionRecord>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {ACTION_COLUMNS} FROM concern_actions WHERE concern_id = $1 ORDER BY id"
        ))
        .bind(concern_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Adds a staff timeline entry (note, parents informed, sanction, police, referral).
    pub async fn add_action(
        &self,
        permit: &Permit,
        profile: &policy::Profile,
        concern_id: i64,
        input: &ActionInput,
    ) -> Result<i64> {
        let actor = check_concern(permit, Action::AddConcernAction, concern_id)?;
        input.validate(profile)?;
        let mut tx = self.begin_write().await?;
        load_for_update(&mut tx, concern_id).await?;
        if let Some(c) = input.corrects() {
            let belongs: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM concern_actions WHERE id = $1 AND concern_id = $2",
            )
            .bind(c)
            .bind(concern_id)
            .fetch_optional(&mut *tx)
            .await?;
            if belongs.is_none() {
                return Err(invalid(
                    "corrects",
                    format!("entry {c} is not on this concern's timeline"),
                ));
            }
        }
        let body = serde_json::to_value(input).map_err(|e| invalid("action", e.to_string()))?;
        let id = insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            input.kind(),
            actor.person_id,
            &body,
            input.corrects(),
        )
        .await?;
        touch(&mut tx, &self.clock, concern_id).await?;
        let agency = match input {
            ActionInput::Referral { agency, .. } => Some(*agency),
            _ => None,
        };
        let what = AuditAction::ConcernActionAdded {
            concern: concern_id,
            action_id: id,
            kind: input.kind(),
            agency,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }
}

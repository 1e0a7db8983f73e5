//! Files attached to a concern, stored once by their SHA-256 under the name of their
//! verified type (`policy::concern` checks them).

use super::Attachment;
use super::timeline::{insert_action, load_for_update, touch};
use crate::audit::{AuditAction, record};
use crate::permits::check_concern;
use crate::{Result, Store};
use policy::concern::{NewAttachment, check_attachment, verified_filename};
use policy::profile::ConcernPolicy;
use policy::{Action, ActionKind, Permit};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

pub(super) async fn insert_attachment(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
    actor_id: i64,
    a: &NewAttachment,
) -> Result<i64> {
    let sha = hex::encode(Sha256::digest(&a.bytes));
    let size = i64::try_from(a.bytes.len()).unwrap_or(i64::MAX);
    // `check_attachment` verified the type against the bytes; the name follows the type.
    let filename = verified_filename(&a.filename, &a.content_type);
    sqlx::query(
        "INSERT INTO blobs (sha256, content, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&sha)
    .bind(a.bytes.clone())
    .bind(size)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO attachments (concern_id, sha256, filename, content_type, size, added_by, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(concern_id)
    .bind(&sha)
    .bind(&filename)
    .bind(&a.content_type)
    .bind(size)
    .bind(actor_id)
    .bind(crate::stamp(clock.now()))
    .fetch_one(&mut **tx)
    .await?;
    let body = json!({"attachment_id": id, "filename": filename, "sha256": sha, "size": size});
    insert_action(
        tx,
        clock,
        concern_id,
        ActionKind::Attachment,
        actor_id,
        &body,
        None,
    )
    .await?;
    let what = AuditAction::ConcernAttachmentAdded {
        concern: concern_id,
        attachment_id: id,
        sha256: &sha,
        size,
    };
    record(tx, clock, Some(actor_id), what).await?;
    Ok(id)
}

impl Store {
    /// A concern's attachments.
    pub async fn attachments(&self, concern_id: i64) -> Result<Vec<Attachment>> {
        Ok(sqlx::query_as(
            "SELECT id, concern_id, sha256, filename, content_type, size, added_by, added_at
             FROM attachments WHERE concern_id = $1 ORDER BY id",
        )
        .bind(concern_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The bytes of one attachment of one concern.
    pub async fn attachment_bytes(
        &self,
        concern_id: i64,
        attachment_id: i64,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        let a: Option<Attachment> = sqlx::query_as(
            "SELECT id, concern_id, sha256, filename, content_type, size, added_by, added_at
             FROM attachments WHERE concern_id = $1 AND id = $2",
        )
        .bind(concern_id)
        .bind(attachment_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some(a) = a else { return Ok(None) };
        let bytes: Vec<u8> = sqlx::query_scalar("SELECT content FROM blobs WHERE sha256 = $1")
            .bind(&a.sha256)
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(Some((a, bytes)))
    }

    /// Attaches a file to an existing concern.
    pub async fn add_attachment(
        &self,
        permit: &Permit,
        policy: &ConcernPolicy,
        concern_id: i64,
        a: &NewAttachment,
    ) -> Result<i64> {
        let actor = check_concern(permit, Action::AddConcernAction, concern_id)?;
        check_attachment(policy, a)?;
        let mut tx = self.begin_write().await?;
        load_for_update(&mut tx, concern_id).await?;
        let id = insert_attachment(&mut tx, &self.clock, concern_id, actor.person_id, a).await?;
        touch(&mut tx, &self.clock, concern_id).await?;
        tx.commit().await?;
        Ok(id)
    }
}

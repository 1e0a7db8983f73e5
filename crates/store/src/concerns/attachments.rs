//! Files attached to a concern: checked against their own bytes, stored once by their
//! SHA-256, named by their verified type.

use super::timeline::{insert_action, load_for_update, touch};
use super::{Attachment, NewAttachment};
use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store};
use policy::profile::ConcernPolicy;
use policy::{Action, ActionKind, Permit, PolicyError, Target};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

/// File types accepted as evidence: screenshots, photos, PDFs and plain text.
pub const ALLOWED_CONTENT_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// Checks an attachment's size and that its bytes are what its type says.
pub fn check_attachment(policy: &ConcernPolicy, a: &NewAttachment) -> Result<(), PolicyError> {
    policy::concern::check_text("filename", &a.filename, 200)?;
    if a.bytes.is_empty() {
        return Err(PolicyError::invalid(
            "attachment",
            format!("`{}` is empty", a.filename),
        ));
    }
    if a.bytes.len() as u64 > policy.max_attachment_bytes {
        return Err(PolicyError::invalid(
            "attachment",
            format!(
                "`{}` is {} bytes; the limit is {}",
                a.filename,
                a.bytes.len(),
                policy.max_attachment_bytes
            ),
        ));
    }
    let sniffed = sniff(&a.bytes);
    if !ALLOWED_CONTENT_TYPES.contains(&a.content_type.as_str())
        || sniffed != Some(a.content_type.as_str())
    {
        return Err(PolicyError::invalid(
            "attachment",
            format!(
                "`{}` must be a PNG, JPEG, GIF, WebP, PDF or text file whose contents match its type (declared {}, looks like {})",
                a.filename,
                a.content_type,
                sniffed.unwrap_or("something else")
            ),
        ));
    }
    Ok(())
}

/// The extension of a verified content type.
fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "txt",
    }
}

/// The name an attachment is kept and served under: the user's name with its extension
/// replaced by the verified type's, so `evil.html` uploaded as a PNG is `evil.png`.
pub fn verified_filename(filename: &str, content_type: &str) -> String {
    let name = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => name,
    };
    let stem = stem.trim_matches('.');
    let stem = if stem.is_empty() { "attachment" } else { stem };
    format!("{stem}.{}", extension_of(content_type))
}

/// The content type the bytes themselves show, from their signature.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if std::str::from_utf8(bytes).is_ok_and(|s| !s.contains('\0')) {
        Some("text/plain")
    } else {
        None
    }
}

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
        .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?;
        let Some(a) = a else { return Ok(None) };
        let bytes: Vec<u8> = sqlx::query_scalar("SELECT content FROM blobs WHERE sha256 = $1")
            .bind(&a.sha256)
            .fetch_one(&self.pool)
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
        let actor = check(
            permit,
            Action::AddConcernAction,
            Target::Concern(concern_id),
        )?;
        check_attachment(policy, a)?;
        let mut tx = self.begin_write().await?;
        load_for_update(&mut tx, concern_id).await?;
        let id = insert_attachment(&mut tx, &self.clock, concern_id, actor.person_id, a).await?;
        touch(&mut tx, &self.clock, concern_id).await?;
        tx.commit().await?;
        Ok(id)
    }
}

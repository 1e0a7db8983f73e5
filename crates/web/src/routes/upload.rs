//! Reading files from multipart forms: one reader for a concern's attachments and a training
//! session's evidence.

use crate::error::WebError;
use axum::extract::multipart::{Field, MultipartError};
use policy::concern::NewAttachment;

/// The error a form that cannot be read gets.
pub fn unreadable(e: MultipartError) -> WebError {
    WebError::BadRequest(format!("the form could not be read: {}", e.body_text()))
}

/// A file field as sent: `None` when the form left it empty (no name, no bytes).
pub async fn file_of(field: Field<'_>) -> Result<Option<NewAttachment>, WebError> {
    let filename = field.file_name().unwrap_or_default().to_string();
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let bytes = field.bytes().await.map_err(unreadable)?;
    Ok(
        (!filename.is_empty() || !bytes.is_empty()).then(|| NewAttachment {
            filename,
            content_type,
            bytes: bytes.to_vec(),
        }),
    )
}

/// A kept file as a download: its type, and a name safe to put in the header.
pub fn download(name: &str, kind: String, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, kind),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

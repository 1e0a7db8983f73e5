//! Files attached to a concern as evidence: which types are accepted, checked against their
//! own bytes, and the name a verified file is kept under.

use crate::PolicyError;
use crate::profile::ConcernPolicy;

/// A file to attach; the store keeps it once by its SHA-256.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

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
    super::check_text("filename", &a.filename, 200)?;
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

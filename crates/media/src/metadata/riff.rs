//! RIFF containers: WebP (`EXIF`, `XMP ` chunks) and AVI (`LIST INFO` title, comment,
//! subject and keywords). Top-level chunks only, plus one level inside `LIST INFO`.

use super::{Metadata, decode_text, exif, xmp};

const INFO_FIELDS: [(&[u8; 4], &str); 4] = [
    (b"INAM", "INAM title"),
    (b"ICMT", "ICMT comment"),
    (b"ISBJ", "ISBJ subject"),
    (b"IKEY", "IKEY keywords"),
];

fn le32(b: &[u8], pos: usize) -> Option<usize> {
    let s = b.get(pos..pos.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok()
}

/// Calls `f(fourcc, data)` for each chunk of `b`; returns a description of any damage.
fn chunks(b: &[u8], mut f: impl FnMut(&[u8], &[u8])) -> Option<String> {
    let mut pos = 0;
    while pos < b.len() {
        let (Some(kind), Some(size)) = (b.get(pos..pos + 4), le32(b, pos + 4)) else {
            return Some(format!("truncated chunk header at offset {pos}"));
        };
        let data_at = pos + 8;
        let Some(data) = data_at.checked_add(size).and_then(|e| b.get(data_at..e)) else {
            return Some(format!(
                "truncated {} chunk at offset {pos} (declares {size} bytes, {} present)",
                String::from_utf8_lossy(kind),
                b.len().saturating_sub(data_at)
            ));
        };
        f(kind, data);
        pos = data_at + size + (size & 1);
    }
    None
}

/// Reads a RIFF file (`format` is "WebP" or "AVI", for messages and labels).
pub fn read(b: &[u8], format: &str, complete: bool, meta: &mut Metadata) {
    let body = b.get(12..).unwrap_or_default();
    let mut found = Vec::new();
    let damage = chunks(body, |kind, data| match kind {
        b"EXIF" => found.push((0, data.to_vec())),
        b"XMP " => found.push((1, data.to_vec())),
        b"LIST" if data.starts_with(b"INFO") => found.push((2, data[4..].to_vec())),
        _ => {}
    });
    if let Some(d) = damage
        && complete
    {
        meta.damage(format!("{format}: {d} (after the 12-byte RIFF header)"));
    }
    for (what, data) in found {
        match what {
            0 => {
                let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                exif::read(tiff.to_vec(), true, meta);
            }
            1 => xmp::read_packet(&data, "XMP", meta),
            _ => {
                let damage = chunks(&data, |kind, value| {
                    if let Some((_, label)) = INFO_FIELDS.iter().find(|(k, _)| k.as_slice() == kind)
                    {
                        let text = decode_text(value);
                        meta.text(
                            format!("{format} INFO {label}"),
                            text.trim_end_matches('\0'),
                        );
                    }
                });
                if let Some(d) = damage {
                    meta.damage(format!("{format}: LIST INFO: {d}"));
                }
            }
        }
    }
}

//! EXIF (TIFF IFDs), parsed with `kamadak-exif`.
//!
//! Pupil-bearing fields: ImageDescription, UserComment and the Windows XP fields
//! (XPTitle, XPComment, XPSubject, XPKeywords). Artist/XPAuthor name the photographer,
//! not a pupil, and are skipped. A TIFF file's XMP (tag 700) and IPTC (tag 33723) blocks
//! are read too.

use exif::{Context, Error, Exif, Reader, Tag, Value};

use super::{Metadata, iptc, xmp};

const XP_FIELDS: [(u16, &str); 4] = [
    (0x9C9B, "XPTitle"),
    (0x9C9C, "XPComment"),
    (0x9C9F, "XPSubject"),
    (0x9C9E, "XPKeywords"),
];
const TAG_XMP: Tag = Tag(Context::Tiff, 700);
const TAG_IPTC: Tag = Tag(Context::Tiff, 33723);

/// Reads a TIFF structure (the payload of a JPEG `Exif\0\0` APP1, a PNG eXIf chunk, ...).
/// With `report` false (only part of the file was read) parse errors are not damage.
pub fn read(tiff: Vec<u8>, report: bool, meta: &mut Metadata) {
    let mut errors = Vec::new();
    let parsed = Reader::new()
        .continue_on_error(true)
        .read_raw(tiff)
        .or_else(|e| e.distill_partial_result(|errs| errors = errs));
    match parsed {
        Ok(exif) => {
            if report {
                for e in errors.iter().take(3) {
                    meta.damage(format!("EXIF: {e}"));
                }
            }
            fields(&exif, meta);
        }
        Err(e) if report => meta.damage(format!("EXIF: {e}")),
        Err(_) => {}
    }
}

/// Reads EXIF from a HEIF/HEIC container (XMP is found by the byte scan).
pub fn read_heif(bytes: &[u8], report: bool, meta: &mut Metadata) {
    let mut errors = Vec::new();
    let parsed = Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .or_else(|e| e.distill_partial_result(|errs| errors = errs));
    match parsed {
        Ok(exif) => {
            if report {
                for e in errors.iter().take(3) {
                    meta.damage(format!("HEIF EXIF: {e}"));
                }
            }
            fields(&exif, meta);
        }
        Err(Error::NotFound(_)) => {}
        Err(e) if report => meta.damage(format!("HEIF: {e}")),
        Err(_) => {}
    }
}

fn fields(exif: &Exif, meta: &mut Metadata) {
    let le = exif.little_endian();
    for f in exif.fields() {
        if f.tag == Tag::ImageDescription {
            if let Value::Ascii(parts) = &f.value {
                for p in parts {
                    meta.text("EXIF ImageDescription", super::decode_text(p));
                }
            }
        } else if f.tag == Tag::UserComment {
            if let Some(text) = user_comment(&f.value, le) {
                meta.text("EXIF UserComment", text);
            }
        } else if f.tag == TAG_XMP {
            if let Some(b) = raw_bytes(&f.value, le) {
                xmp::read_packet(&b, "XMP", meta);
            }
        } else if f.tag == TAG_IPTC {
            if let Some(b) = raw_bytes(&f.value, le) {
                iptc::read_iim(&b, meta);
            }
        } else if let Some((_, name)) = XP_FIELDS
            .iter()
            .find(|(n, _)| f.tag == Tag(Context::Tiff, *n))
            && let Value::Byte(b) | Value::Undefined(b, _) = &f.value
        {
            // The XP fields are UTF-16LE whatever the TIFF byte order.
            meta.text(format!("EXIF {name}"), utf16(b, true));
        }
    }
}

/// The bytes of a BYTE/UNDEFINED value, or of a LONG array (some writers store IPTC so).
fn raw_bytes(v: &Value, le: bool) -> Option<Vec<u8>> {
    match v {
        Value::Byte(b) | Value::Undefined(b, _) => Some(b.clone()),
        Value::Long(words) => Some(
            words
                .iter()
                .flat_map(|w| if le { w.to_le_bytes() } else { w.to_be_bytes() })
                .collect(),
        ),
        _ => None,
    }
}

/// UserComment: an 8-byte character code, then the text.
fn user_comment(v: &Value, le: bool) -> Option<String> {
    let (Value::Undefined(b, _) | Value::Byte(b)) = v else {
        return None;
    };
    let (code, text) = (b.get(..8)?, b.get(8..)?);
    match code {
        b"UNICODE\0" => Some(utf16(text, le)),
        b"JIS\0\0\0\0\0" => None,
        _ => Some(super::decode_text(text).trim_end_matches('\0').to_owned()),
    }
}

fn utf16(b: &[u8], le: bool) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_owned()
}

//! JPEG: walks the marker segments up to the start of scan, with bounds checks.
//!
//! Read: APP1 `Exif\0\0` (EXIF), APP1 XMP (standard and extended), APP13 Photoshop/IPTC
//! (all APP13 segments concatenated, as writers may split it), COM comments.
//! Walked by hand rather than with `img-parts` so that every problem can be reported
//! precisely ("truncated EXIF segment at offset 2 ...") instead of as one opaque error.

use memchr::memmem;

use super::{MAX_XMP, Metadata, be16, be32, decode_text, exif, iptc, xmp};

const EXIF: &[u8] = b"Exif\0\0";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const PHOTOSHOP: &[u8] = b"Photoshop 3.0\0";

/// What a segment is, for messages; `payload` may be partial.
fn segment_name(marker: u8, payload: &[u8]) -> String {
    match marker {
        0xE1 if payload.starts_with(b"Exif") => "EXIF".into(),
        0xE1 if payload.starts_with(b"http://ns.adobe.com/xmp/ext") => "extended XMP".into(),
        0xE1 if payload.starts_with(b"http://ns.adobe.com/xap") => "XMP".into(),
        0xED => "APP13 (IPTC)".into(),
        0xE0..=0xEF => format!("APP{}", marker - 0xE0),
        0xFE => "comment".into(),
        0xDB => "DQT".into(),
        0xC4 => "DHT".into(),
        0xDA => "SOS".into(),
        0xC0..=0xCF => "SOF".into(),
        _ => format!("0x{marker:02X}"),
    }
}

/// Reads a JPEG's metadata segments into `meta`.
pub fn read(b: &[u8], complete: bool, meta: &mut Metadata) {
    let mut photoshop = Vec::new();
    let mut extended: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut extended_len = 0usize;
    let mut pos = 2;
    loop {
        let Some(&byte) = b.get(pos) else {
            if complete {
                meta.damage(format!(
                    "JPEG: file ends at offset {pos} before the image data (truncated)"
                ));
            }
            break;
        };
        if byte != 0xFF {
            meta.damage(format!(
                "JPEG: expected a marker at offset {pos}, found 0x{byte:02X}"
            ));
            break;
        }
        let seg_start = pos;
        while b.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = b.get(pos) else {
            meta.damage(format!(
                "JPEG: file ends inside a marker at offset {seg_start}"
            ));
            break;
        };
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 => {
                meta.damage(format!(
                    "JPEG: end of image at offset {seg_start} before any image data"
                ));
                break;
            }
            _ => {}
        }
        let Some(len) = be16(b, pos) else {
            meta.damage(format!(
                "JPEG: truncated {} segment at offset {seg_start} (no length)",
                segment_name(marker, &[])
            ));
            break;
        };
        if len < 2 {
            meta.damage(format!(
                "JPEG: invalid length {len} of {} segment at offset {seg_start}",
                segment_name(marker, &[])
            ));
            break;
        }
        let Some(payload) = b.get(pos + 2..pos + len) else {
            let partial = b.get(pos + 2..).unwrap_or_default();
            meta.damage(format!(
                "JPEG: truncated {} segment at offset {seg_start} (declares {} bytes, {} present)",
                segment_name(marker, partial),
                len - 2,
                partial.len()
            ));
            break;
        };
        match marker {
            0xE1 if payload.starts_with(EXIF) => {
                exif::read(payload[EXIF.len()..].to_vec(), true, meta);
            }
            0xE1 if payload.starts_with(XMP) => {
                xmp::read_packet(&payload[XMP.len()..], "XMP", meta);
            }
            0xE1 if payload.starts_with(XMP_EXT) => {
                // GUID (32), full length (4), offset (4), data.
                let at = XMP_EXT.len() + 32;
                match (be32(payload, at + 4), payload.get(at + 8..)) {
                    (Some(offset), Some(data)) if extended_len + data.len() <= MAX_XMP => {
                        extended_len += data.len();
                        extended.push((offset, data.to_vec()));
                    }
                    (Some(_), Some(_)) => {
                        meta.damage("XMP: extended XMP larger than the limit, not read");
                    }
                    _ => meta.damage(format!(
                        "JPEG: malformed extended XMP segment at offset {seg_start}"
                    )),
                }
            }
            0xED if payload.starts_with(PHOTOSHOP) => {
                photoshop.extend_from_slice(&payload[PHOTOSHOP.len()..]);
            }
            0xFE => meta.text("JPEG comment", decode_text(payload)),
            0xDA => {
                let data = b.get(pos + len..).unwrap_or_default();
                if complete && memmem::rfind(data, &[0xFF, 0xD9]).is_none() {
                    meta.damage("JPEG: image data truncated (no end-of-image marker)");
                }
                break;
            }
            _ => {}
        }
        pos += len;
    }
    if !photoshop.is_empty() {
        iptc::read_photoshop_irb(&photoshop, meta);
    }
    if !extended.is_empty() {
        extended.sort_by_key(|(offset, _)| *offset);
        let whole: Vec<u8> = extended.into_iter().flat_map(|(_, d)| d).collect();
        xmp::read_packet(&whole, "XMP", meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_exif_segment_is_named() {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x01, 0x00];
        b.extend_from_slice(b"Exif\0\0II*\0");
        let mut m = Metadata::default();
        read(&b, true, &mut m);
        assert_eq!(
            m.damage,
            ["JPEG: truncated EXIF segment at offset 2 (declares 254 bytes, 10 present)"]
        );
    }

    #[test]
    fn comment_is_read_and_missing_eoi_is_damage() {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x0E];
        b.extend_from_slice(b"Amelia Jones");
        b.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34]);
        let mut m = Metadata::default();
        read(&b, true, &mut m);
        assert_eq!(m.texts[0].value, "Amelia Jones");
        assert_eq!(
            m.damage,
            ["JPEG: image data truncated (no end-of-image marker)"]
        );
    }
}

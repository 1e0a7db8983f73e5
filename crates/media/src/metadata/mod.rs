//! Reading the text fields embedded in an image or video file.
//!
//! The container is recognised by its signature (a PNG named `.jpg` is read as a PNG);
//! JPEG, PNG and RIFF (WebP, AVI) are walked segment by segment with bounds checks, EXIF
//! goes to `kamadak-exif`, XMP to `roxmltree`, IPTC-IIM is parsed here. In every other
//! file (MP4, MOV, WebM, GIF, ...) an XMP packet is looked for by scanning the bytes.
//! Nothing here panics or fails: problems are collected as [`Metadata::damage`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

mod exif;
mod iptc;
mod jpeg;
mod png;
mod riff;
pub mod xmp;

/// At most this many bytes of a file are read (half from its start, half from its end).
pub const MAX_READ: u64 = 64 * 1024 * 1024;

/// Largest XMP packet (or decompressed PNG text) that is parsed.
pub const MAX_XMP: usize = 4 * 1024 * 1024;

/// One text value and where it came from, e.g. ("EXIF ImageDescription", "...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Field label, as in `Finding::field`.
    pub field: String,
    /// The text.
    pub value: String,
}

/// Text fields found in a file and what was wrong reading it.
#[derive(Debug, Default)]
pub struct Metadata {
    /// The text fields, in file order.
    pub texts: Vec<Text>,
    /// Problems, e.g. "JPEG: truncated EXIF segment at offset 2 (...)".
    pub damage: Vec<String>,
    /// Whether an XMP packet was found structurally (then no byte scan is needed).
    xmp_found: bool,
}

impl Metadata {
    fn text(&mut self, field: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.trim().is_empty() {
            self.texts.push(Text {
                field: field.into(),
                value,
            });
        }
    }

    fn damage(&mut self, reason: impl Into<String>) {
        // A hostile file could produce endless complaints; a few say enough.
        if self.damage.len() < 8 {
            self.damage.push(reason.into());
        }
    }
}

/// Container formats, recognised by signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg,
    Png,
    Tiff,
    Gif,
    WebP,
    Avi,
    Heif,
    IsoBmff,
    Matroska,
}

impl Format {
    fn sniff(b: &[u8]) -> Option<Self> {
        let at = |o: usize, s: &[u8]| b.get(o..o + s.len()) == Some(s);
        if at(0, &[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if at(0, b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if at(0, b"II*\0") || at(0, b"MM\0*") {
            Some(Self::Tiff)
        } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
            Some(Self::Gif)
        } else if at(0, b"RIFF") && at(8, b"WEBP") {
            Some(Self::WebP)
        } else if at(0, b"RIFF") && at(8, b"AVI ") {
            Some(Self::Avi)
        } else if at(4, b"ftyp") {
            let heif = [
                b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif",
            ];
            match b.get(8..12) {
                Some(brand) if heif.iter().any(|h| h.as_slice() == brand) => Some(Self::Heif),
                _ => Some(Self::IsoBmff),
            }
        } else if [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"]
            .iter()
            .any(|t| at(4, t.as_slice()))
        {
            Some(Self::IsoBmff)
        } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(Self::Matroska)
        } else {
            None
        }
    }
}

/// The format a media extension promises, for messages.
fn expected_format(ext: &str) -> &'static str {
    match ext {
        "jpg" | "jpeg" => "JPEG",
        "png" => "PNG",
        "gif" => "GIF",
        "webp" => "WebP",
        "tif" | "tiff" => "TIFF",
        "heic" | "heif" => "HEIF",
        "mp4" | "m4v" => "MP4",
        "mov" => "QuickTime",
        "webm" => "WebM",
        "avi" => "AVI",
        _ => "media",
    }
}

/// Reads at most [`MAX_READ`] bytes of a file; returns the bytes and whether that is all of it.
pub fn read_bounded(path: &Path) -> std::io::Result<(Vec<u8>, bool)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut buf = Vec::new();
    if len <= MAX_READ {
        (&mut file).take(MAX_READ + 1).read_to_end(&mut buf)?;
        let complete = buf.len() as u64 <= MAX_READ;
        buf.truncate(MAX_READ as usize);
        return Ok((buf, complete));
    }
    let half = MAX_READ / 2;
    (&mut file).take(half).read_to_end(&mut buf)?;
    file.seek(SeekFrom::Start(len - half))?;
    file.take(half).read_to_end(&mut buf)?;
    Ok((buf, false))
}

/// Reads the text fields of a media file's bytes. `ext` is the lower-case extension;
/// `complete` says whether `bytes` is the whole file (else checks for truncation are skipped).
pub fn read(bytes: &[u8], ext: &str, complete: bool) -> Metadata {
    let mut meta = Metadata::default();
    if bytes.is_empty() {
        meta.damage(format!("{}: empty file", expected_format(ext)));
        return meta;
    }
    match Format::sniff(bytes) {
        Some(Format::Jpeg) => jpeg::read(bytes, complete, &mut meta),
        Some(Format::Png) => png::read(bytes, complete, &mut meta),
        Some(Format::WebP) => riff::read(bytes, "WebP", complete, &mut meta),
        Some(Format::Avi) => riff::read(bytes, "AVI", complete, &mut meta),
        Some(Format::Tiff) => exif::read(bytes.to_vec(), complete, &mut meta),
        Some(Format::Heif) => exif::read_heif(bytes, complete, &mut meta),
        Some(Format::Gif | Format::IsoBmff | Format::Matroska) => {}
        None => meta.damage(format!(
            "{}: not a {} file (unrecognised signature)",
            expected_format(ext),
            expected_format(ext)
        )),
    }
    if !meta.xmp_found {
        xmp::scan_bytes(bytes, &mut meta);
    }
    meta
}

/// Decodes text of unknown encoding: UTF-8 if valid, else Latin-1.
pub fn decode_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// Big-endian u16 at `pos`, if in bounds.
fn be16(b: &[u8], pos: usize) -> Option<usize> {
    let s = b.get(pos..pos.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([s[0], s[1]])))
}

/// Big-endian u32 at `pos`, if in bounds.
fn be32(b: &[u8], pos: usize) -> Option<usize> {
    let s = b.get(pos..pos.checked_add(4)?)?;
    usize::try_from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn garbage_with_image_extension_is_damaged() {
        let m = read(b"this is not a picture", "jpg", true);
        assert_eq!(m.damage, ["JPEG: not a JPEG file (unrecognised signature)"]);
        let m = read(b"", "png", true);
        assert_eq!(m.damage, ["PNG: empty file"]);
    }

    #[test]
    fn xmp_found_by_scanning_a_video() {
        let mut mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
        mp4.extend_from_slice(
            br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Amelia Jones</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"#,
        );
        let m = read(&mp4, "mp4", true);
        assert!(m.damage.is_empty(), "{:?}", m.damage);
        assert_eq!(m.texts[0].field, "XMP dc:title");
        assert_eq!(m.texts[0].value, "Amelia Jones");
    }

    fn seeded(prefix: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(move |tail| {
            let mut v = prefix.to_vec();
            v.extend(tail);
            v
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            for ext in ["jpg", "png", "mp4", "tif", "webp", "heic"] {
                let _ = read(&bytes, ext, true);
            }
        }

        #[test]
        fn never_panics_behind_real_headers(
            bytes in prop_oneof![
                seeded(b"\xFF\xD8\xFF\xE1\x01\x00Exif\0\0II*\0\x08\0\0\0"),
                seeded(b"\xFF\xD8\xFF\xE1\x02\x00http://ns.adobe.com/xap/1.0/\0<x:xmpmeta"),
                seeded(b"\xFF\xD8\xFF\xED\x01\x00Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x40\x1C\x02"),
                seeded(b"\x89PNG\r\n\x1a\n\0\0\0\x0DIHDR"),
                seeded(b"RIFF\0\x10\0\0WEBPEXIF"),
                seeded(b"II*\0\x08\0\0\0"),
                seeded(b"\0\0\0\x18ftypheic"),
            ],
            complete in any::<bool>(),
        ) {
            let _ = read(&bytes, "jpg", complete);
        }
    }
}

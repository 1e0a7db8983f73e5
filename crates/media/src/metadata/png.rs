//! PNG: walks the chunks with bounds checks (CRCs are not verified: damage that keeps the
//! structure intact does not hide text). Read: eXIf (EXIF), iTXt `XML:com.adobe.xmp`
//! (XMP), and tEXt/zTXt/iTXt text under the keywords Title, Description, Comment, Subject.
//! Compressed text is inflated with `miniz_oxide`, bounded to [`MAX_XMP`] bytes.

use super::{MAX_XMP, Metadata, be32, exif, xmp};

const TEXT_KEYWORDS: [&str; 4] = ["Title", "Description", "Comment", "Subject"];

/// Reads a PNG's metadata chunks into `meta`.
pub fn read(b: &[u8], complete: bool, meta: &mut Metadata) {
    let mut pos = 8;
    loop {
        if pos >= b.len() {
            if complete {
                meta.damage("PNG: no IEND chunk (file truncated)");
            }
            return;
        }
        let (Some(len), Some(kind)) = (be32(b, pos), b.get(pos + 4..pos + 8)) else {
            meta.damage(format!("PNG: truncated chunk header at offset {pos}"));
            return;
        };
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            meta.damage(format!("PNG: invalid chunk type at offset {pos}"));
            return;
        }
        let name = String::from_utf8_lossy(kind).into_owned();
        let data_at = pos + 8;
        let Some(data) = data_at.checked_add(len).and_then(|end| b.get(data_at..end)) else {
            if complete {
                meta.damage(format!(
                    "PNG: truncated {name} chunk at offset {pos} (declares {len} bytes, {} present)",
                    b.len() - data_at
                ));
            }
            return;
        };
        match kind {
            b"eXIf" => exif::read(data.to_vec(), true, meta),
            b"tEXt" | b"zTXt" | b"iTXt" => text_chunk(kind, data, meta),
            b"IEND" => return,
            _ => {}
        }
        pos = data_at + len + 4;
    }
}

fn text_chunk(kind: &[u8], data: &[u8], meta: &mut Metadata) {
    let Some(nul) = data.iter().position(|&c| c == 0) else {
        meta.damage("PNG: text chunk without keyword terminator");
        return;
    };
    let keyword = String::from_utf8_lossy(&data[..nul]).into_owned();
    let rest = &data[nul + 1..];
    let is_xmp = keyword == "XML:com.adobe.xmp";
    if !is_xmp
        && !TEXT_KEYWORDS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&keyword))
    {
        return;
    }
    let (text, latin1) = match kind {
        b"tEXt" => (Some(rest.to_vec()), true),
        b"zTXt" => (rest.get(1..).and_then(|z| inflate(z, &keyword, meta)), true),
        _ => {
            // compression flag, method, language\0, translated keyword\0, text
            let (Some(&flag), Some(after)) = (rest.first(), rest.get(2..)) else {
                meta.damage(format!("PNG: truncated iTXt chunk {keyword}"));
                return;
            };
            let mut parts = after.splitn(3, |&c| c == 0);
            let (_lang, _translated) = (parts.next(), parts.next());
            let Some(body) = parts.next() else {
                meta.damage(format!("PNG: malformed iTXt chunk {keyword}"));
                return;
            };
            let body = if flag == 1 {
                inflate(body, &keyword, meta)
            } else {
                Some(body.to_vec())
            };
            (body, false)
        }
    };
    let Some(text) = text else { return };
    if is_xmp {
        xmp::read_packet(&text, "XMP", meta);
    } else {
        let value = if latin1 {
            text.iter().map(|&c| char::from(c)).collect()
        } else {
            String::from_utf8_lossy(&text).into_owned()
        };
        let chunk = String::from_utf8_lossy(kind).into_owned();
        meta.text(format!("PNG {chunk} {keyword}"), value);
    }
}

fn inflate(z: &[u8], keyword: &str, meta: &mut Metadata) -> Option<Vec<u8>> {
    match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_XMP) {
        Ok(v) => Some(v),
        Err(e) => {
            meta.damage(format!("PNG: cannot decompress text chunk {keyword}: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_chunk_is_damage() {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0DIHDR".to_vec();
        b.extend_from_slice(&[0; 5]);
        let mut m = Metadata::default();
        read(&b, true, &mut m);
        assert_eq!(
            m.damage,
            ["PNG: truncated IHDR chunk at offset 8 (declares 13 bytes, 5 present)"]
        );
    }
}

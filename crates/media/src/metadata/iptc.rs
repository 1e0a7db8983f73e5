//! IPTC-IIM, parsed by hand: no maintained crate reads it, and the format is small.
//!
//! In a JPEG it sits in APP13 as Photoshop image resources (`8BIM`, id 0x0404); each IIM
//! dataset is `0x1C record dataset length(u16, or extended) data`. Text is UTF-8 when
//! 1:90 says `ESC % G` (or when it is valid UTF-8), otherwise Latin-1.

use super::{Metadata, be16, be32, decode_text};

/// Record 2 datasets that can carry pupils' names, with their labels.
const DATASETS: [(u8, &str); 4] = [
    (5, "IPTC 2:05 Object Name"),
    (25, "IPTC 2:25 Keywords"),
    (105, "IPTC 2:105 Headline"),
    (120, "IPTC 2:120 Caption-Abstract"),
];

/// Reads Photoshop image resources (an APP13 payload after `Photoshop 3.0\0`).
pub fn read_photoshop_irb(b: &[u8], meta: &mut Metadata) {
    let mut pos = 0;
    while pos < b.len() {
        let sig = b.get(pos..pos + 4);
        if !matches!(sig, Some(b"8BIM" | b"PHUT" | b"AgHg" | b"DCSR")) {
            // Trailing padding is common; anything else is damage.
            if b[pos..].iter().any(|&c| c != 0) {
                meta.damage(format!(
                    "IPTC: bad Photoshop resource signature at offset {pos} of APP13"
                ));
            }
            return;
        }
        let Some(id) = be16(b, pos + 4) else {
            meta.damage(format!(
                "IPTC: truncated Photoshop resource at offset {pos}"
            ));
            return;
        };
        // Pascal-string name, padded to an even length (length byte included).
        let Some(&name_len) = b.get(pos + 6) else {
            meta.damage(format!(
                "IPTC: truncated Photoshop resource at offset {pos}"
            ));
            return;
        };
        let name_total = (usize::from(name_len) + 2) & !1;
        let size_at = pos + 6 + name_total;
        let Some(size) = be32(b, size_at) else {
            meta.damage(format!(
                "IPTC: truncated Photoshop resource at offset {pos}"
            ));
            return;
        };
        let data_at = size_at + 4;
        let Some(data) = data_at
            .checked_add(size)
            .and_then(|end| b.get(data_at..end))
        else {
            meta.damage(format!(
                "IPTC: truncated Photoshop resource 0x{id:04X} at offset {pos} (declares {size} bytes, {} present)",
                b.len().saturating_sub(data_at)
            ));
            return;
        };
        if id == 0x0404 {
            read_iim(data, meta);
        }
        pos = data_at + size + (size & 1);
    }
}

/// Reads IIM datasets (the 0x0404 resource, or a TIFF's IPTC tag).
pub fn read_iim(b: &[u8], meta: &mut Metadata) {
    let mut utf8 = false;
    let mut pos = 0;
    while pos < b.len() {
        if b[pos] != 0x1C {
            if b[pos..].iter().any(|&c| c != 0) {
                meta.damage(format!(
                    "IPTC: expected a dataset marker at offset {pos}, found 0x{:02X}",
                    b[pos]
                ));
            }
            return;
        }
        let (Some(&record), Some(&dataset), Some(len)) =
            (b.get(pos + 1), b.get(pos + 2), be16(b, pos + 3))
        else {
            meta.damage(format!("IPTC: truncated dataset header at offset {pos}"));
            return;
        };
        let mut data_at = pos + 5;
        let mut size = len;
        if len & 0x8000 != 0 {
            // Extended dataset: the low bits give how many bytes hold the length.
            let n = len & 0x7FFF;
            let Some(bytes) = (1..=4)
                .contains(&n)
                .then(|| b.get(data_at..data_at + n))
                .flatten()
            else {
                meta.damage(format!(
                    "IPTC: bad extended length in dataset {record}:{dataset} at offset {pos}"
                ));
                return;
            };
            size = bytes
                .iter()
                .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
            data_at += n;
        }
        let Some(data) = data_at
            .checked_add(size)
            .and_then(|end| b.get(data_at..end))
        else {
            meta.damage(format!(
                "IPTC: truncated dataset {record}:{dataset:02} at offset {pos} (declares {size} bytes, {} present)",
                b.len().saturating_sub(data_at)
            ));
            return;
        };
        if record == 1 && dataset == 90 {
            utf8 = data == b"\x1b%G";
        } else if record == 2
            && let Some((_, label)) = DATASETS.iter().find(|(d, _)| *d == dataset)
        {
            let text = if utf8 {
                String::from_utf8_lossy(data).into_owned()
            } else {
                decode_text(data)
            };
            meta.text(*label, text);
        }
        pos = data_at + size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(rec: u8, ds: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1C, rec, ds];
        v.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_captions_keywords_and_latin1() {
        let mut iim = dataset(2, 120, b"Amelia Jones at sports day");
        iim.extend(dataset(2, 25, b"Zo\xEB"));
        iim.extend(dataset(2, 80, b"Photographer"));
        let mut m = Metadata::default();
        read_iim(&iim, &mut m);
        assert!(m.damage.is_empty());
        assert_eq!(m.texts.len(), 2);
        assert_eq!(m.texts[0].field, "IPTC 2:120 Caption-Abstract");
        assert_eq!(m.texts[1].value, "Zoë");
    }

    #[test]
    fn truncated_dataset_is_damage() {
        let mut iim = dataset(2, 120, b"Amelia Jones");
        iim.truncate(10);
        let mut m = Metadata::default();
        read_iim(&iim, &mut m);
        assert_eq!(
            m.damage,
            ["IPTC: truncated dataset 2:120 at offset 0 (declares 12 bytes, 5 present)"]
        );
    }
}

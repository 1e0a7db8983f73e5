//! XMP packets (`<x:xmpmeta>` … `</x:xmpmeta>`), parsed with `roxmltree` (no DTDs, so no
//! entity expansion). Properties are matched by namespace URI, whatever prefix the file
//! uses, in both RDF forms (child element or attribute of `rdf:Description`); each text
//! node (each `rdf:li` of a bag) is a separate value, so names from different items are
//! never run together.

use memchr::memmem;

use super::{MAX_XMP, Metadata};

const DC: &str = "http://purl.org/dc/elements/1.1/";
const PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
const IPTC_CORE: &str = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";
const MWG_RS: &str = "http://www.metadataworkinggroup.com/schemas/regions/";
const MP_REG: &str = "http://ns.microsoft.com/photo/1.2/t/Region#";
const LIGHTROOM: &str = "http://ns.adobe.com/lightroom/1.0/";
const EXIF_NS: &str = "http://ns.adobe.com/exif/1.0/";
const TIFF_NS: &str = "http://ns.adobe.com/tiff/1.0/";

/// (namespace, local name, label used in `Finding::field`).
const PROPERTIES: [(&str, &str, &str); 13] = [
    (DC, "description", "dc:description"),
    (DC, "title", "dc:title"),
    (DC, "subject", "dc:subject"),
    (PHOTOSHOP, "Headline", "photoshop:Headline"),
    (IPTC_EXT, "PersonInImage", "Iptc4xmpExt:PersonInImage"),
    (
        IPTC_EXT,
        "PersonName",
        "Iptc4xmpExt:PersonInImageWDetails PersonName",
    ),
    (
        IPTC_CORE,
        "AltTextAccessibility",
        "Iptc4xmpCore:AltTextAccessibility",
    ),
    (
        IPTC_CORE,
        "ExtDescrAccessibility",
        "Iptc4xmpCore:ExtDescrAccessibility",
    ),
    (MWG_RS, "Name", "mwg-rs:Regions Name"),
    (
        MP_REG,
        "PersonDisplayName",
        "MP:RegionInfo PersonDisplayName",
    ),
    (LIGHTROOM, "hierarchicalSubject", "lr:hierarchicalSubject"),
    (EXIF_NS, "UserComment", "exif:UserComment"),
    (TIFF_NS, "ImageDescription", "tiff:ImageDescription"),
];

/// At most this many packets are read from one file by the byte scan.
const MAX_PACKETS: usize = 16;

fn label(ns: Option<&str>, name: &str) -> Option<&'static str> {
    let ns = ns?;
    PROPERTIES
        .iter()
        .find(|(n, l, _)| *n == ns && *l == name)
        .map(|(_, _, label)| *label)
}

/// Finds `<x:xmpmeta ...>...</x:xmpmeta>` (or a bare `<rdf:RDF>`) in `b`, from `from`:
/// the packet's byte range, or `Err(start)` if it starts but never ends.
fn find_packet(b: &[u8], from: usize) -> Option<Result<(usize, usize), usize>> {
    let hay = b.get(from..)?;
    for (open, close) in [
        (&b"<x:xmpmeta"[..], &b"</x:xmpmeta>"[..]),
        (b"<x:xapmeta", b"</x:xapmeta>"),
        (b"<rdf:RDF", b"</rdf:RDF>"),
    ] {
        if let Some(s) = memmem::find(hay, open) {
            let start = from + s;
            return Some(match memmem::find(&b[start..], close) {
                Some(e) => Ok((start, start + e + close.len())),
                None => Err(start),
            });
        }
    }
    None
}

/// Reads one XMP packet (a JPEG APP1 payload, PNG iTXt, sidecar file, ...). Field labels
/// are `"{prefix} {property}"`, e.g. "XMP dc:title" or "sidecar x.xmp dc:title".
pub fn read_packet(b: &[u8], prefix: &str, meta: &mut Metadata) {
    meta.xmp_found = true;
    match find_packet(b, 0) {
        Some(Ok((s, e))) => parse(&b[s..e], prefix, meta),
        Some(Err(_)) => meta.damage(format!("{prefix}: malformed packet (no closing tag)")),
        None => meta.damage(format!(
            "{prefix}: malformed packet (no <x:xmpmeta> element)"
        )),
    }
}

/// Looks for XMP packets anywhere in a file's bytes (videos, GIF, unknown containers).
pub fn scan_bytes(b: &[u8], meta: &mut Metadata) {
    let mut from = 0;
    for _ in 0..MAX_PACKETS {
        match find_packet(b, from) {
            Some(Ok((s, e))) => {
                parse(&b[s..e], "XMP", meta);
                from = e;
            }
            Some(Err(s)) => {
                meta.damage(format!("XMP: packet at offset {s} has no closing tag"));
                return;
            }
            None => return,
        }
    }
}

fn parse(packet: &[u8], prefix: &str, meta: &mut Metadata) {
    if packet.len() > MAX_XMP {
        meta.damage(format!(
            "{prefix}: packet of {} bytes is larger than the {} MiB limit, not read",
            packet.len(),
            MAX_XMP / (1024 * 1024)
        ));
        return;
    }
    let Ok(text) = std::str::from_utf8(packet) else {
        meta.damage(format!("{prefix}: packet is not valid UTF-8"));
        return;
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => {
            meta.damage(format!("{prefix}: malformed packet: {e}"));
            return;
        }
    };
    for node in doc.descendants().filter(|n| n.is_element()) {
        for a in node.attributes() {
            if let Some(l) = label(a.namespace(), a.name()) {
                meta.text(format!("{prefix} {l}"), a.value());
            }
        }
        let tag = node.tag_name();
        if let Some(l) = label(tag.namespace(), tag.name()) {
            for t in node.descendants().filter(|n| n.is_text()) {
                if let Some(v) = t.text() {
                    meta.text(format!("{prefix} {l}"), v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:e="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
  xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
  xmlns:ps="http://ns.adobe.com/photoshop/1.0/" ps:Headline="Sports day">
 <e:PersonInImage><rdf:Bag><rdf:li>Amelia</rdf:li><rdf:li>Jones</rdf:li></rdf:Bag></e:PersonInImage>
 <mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>
  <rdf:li><rdf:Description mwg-rs:Name="Zoe O'Brien-Smith" mwg-rs:Type="Face"/></rdf:li>
 </rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;

    #[test]
    fn properties_in_both_forms_each_item_separate() {
        let mut m = Metadata::default();
        read_packet(PACKET.as_bytes(), "XMP", &mut m);
        assert!(m.damage.is_empty(), "{:?}", m.damage);
        let got: Vec<(&str, &str)> = m
            .texts
            .iter()
            .map(|t| (t.field.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("XMP photoshop:Headline", "Sports day"),
                ("XMP Iptc4xmpExt:PersonInImage", "Amelia"),
                ("XMP Iptc4xmpExt:PersonInImage", "Jones"),
                ("XMP mwg-rs:Regions Name", "Zoe O'Brien-Smith"),
            ]
        );
    }

    #[test]
    fn malformed_and_hostile_packets_are_damage() {
        let mut m = Metadata::default();
        read_packet(b"<x:xmpmeta><rdf:RDF></x:xmpmeta>", "XMP", &mut m);
        assert!(
            m.damage[0].starts_with("XMP: malformed packet: "),
            "{:?}",
            m.damage
        );
        let mut m = Metadata::default();
        let bomb = r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>"#;
        scan_bytes(bomb.as_bytes(), &mut m);
        assert!(m.texts.is_empty());
        let mut m = Metadata::default();
        scan_bytes(
            b"....<x:xmpmeta xmlns:x='adobe:ns:meta/'> never closed",
            &mut m,
        );
        assert_eq!(m.damage, ["XMP: packet at offset 4 has no closing tag"]);
        // Deep nesting is bounded by the packet size limit and must not overflow the stack.
        let deep = format!(
            "<x:xmpmeta xmlns:x='adobe:ns:meta/'>{}{}</x:xmpmeta>",
            "<a>".repeat(200_000),
            "</a>".repeat(200_000)
        );
        let mut m = Metadata::default();
        read_packet(deep.as_bytes(), "XMP", &mut m);
        assert!(m.texts.is_empty());
    }
}

//! Test fixtures (feature `fixtures`): real JPEG and PNG files with real metadata
//! segments, built in memory, and a sample publish folder with known findings.
//!
//! The JPEG is a hand-made 8×8 grey baseline image (DQT, SOF0, DHT, one DC-only block);
//! the PNG a 1×1 RGB image with a stored (uncompressed) zlib stream. Both decode with
//! ordinary decoders (the crate's tests check with `zune-jpeg` and `png`).

use std::path::Path;

use crate::Pupil;

/// A minimal valid baseline JPEG (8×8, grey), without metadata.
pub fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    // DQT: table 0, all ones.
    v.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    v.extend_from_slice(&[1; 64]);
    // SOF0: 8-bit, 8×8, one component, 1×1 sampling, table 0.
    v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    // DHT: DC table 0 and AC table 0, each a single 1-bit code for symbol 0.
    for class in [0x00, 0x10] {
        v.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        v.extend_from_slice(&[0; 15]);
        v.push(0);
    }
    // SOS, then one block: DC difference 0 ("0"), end of block ("0"), padded with ones.
    v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0]);
    v.push(0x3F);
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// A JPEG with the given `(marker, payload)` segments inserted right after SOI.
pub fn jpeg_with_segments(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let base = jpeg();
    let mut v = base[..2].to_vec();
    for (marker, payload) in segments {
        let len = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
        v.extend_from_slice(&[0xFF, *marker]);
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&payload[..usize::from(len) - 2]);
    }
    v.extend_from_slice(&base[2..]);
    v
}

/// A little-endian TIFF structure with one IFD of `(tag, type, value bytes, count)` entries.
fn tiff(mut entries: Vec<(u16, u16, Vec<u8>, u32)>) -> Vec<u8> {
    entries.sort_by_key(|e| e.0);
    let n = entries.len();
    let mut data_at = 8 + 2 + 12 * n + 4;
    let mut head = b"II*\0\x08\0\0\0".to_vec();
    head.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_le_bytes());
    let mut data = Vec::new();
    for (tag, kind, bytes, count) in &entries {
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(&kind.to_le_bytes());
        head.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            head.extend_from_slice(&inline);
        } else {
            head.extend_from_slice(&u32::try_from(data_at).unwrap_or(0).to_le_bytes());
            data.extend_from_slice(bytes);
            if bytes.len() % 2 == 1 {
                data.push(0);
            }
            data_at = 8 + 2 + 12 * n + 4 + data.len();
        }
    }
    head.extend_from_slice(&[0; 4]);
    head.extend(data);
    head
}

/// EXIF (TIFF) bytes with an ImageDescription.
pub fn exif_description(description: &str) -> Vec<u8> {
    let mut ascii = description.as_bytes().to_vec();
    ascii.push(0);
    let count = u32::try_from(ascii.len()).unwrap_or(0);
    tiff(vec![(0x010E, 2, ascii, count)])
}

/// A JPEG whose EXIF APP1 holds this ImageDescription.
pub fn jpeg_with_exif_description(description: &str) -> Vec<u8> {
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(exif_description(description));
    jpeg_with_segments(&[(0xE1, app1)])
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An XMP packet naming `people` in Iptc4xmpExt:PersonInImage and `faces` as mwg-rs face
/// regions (attribute form, as Lightroom and digiKam write them).
pub fn xmp_people_packet(people: &[&str], faces: &[&str]) -> String {
    let people: String = people
        .iter()
        .map(|p| format!("<rdf:li>{}</rdf:li>", xml_escape(p)))
        .collect();
    let faces: String = faces
        .iter()
        .map(|f| {
            format!(
                r#"<rdf:li><rdf:Description mwg-rs:Name="{}" mwg-rs:Type="Face"/></rdf:li>"#,
                xml_escape(f)
            )
        })
        .collect();
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/">
   <Iptc4xmpExt:PersonInImage><rdf:Bag>{people}</rdf:Bag></Iptc4xmpExt:PersonInImage>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:RegionList><rdf:Bag>{faces}</rdf:Bag></mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}'
    )
}

/// An XMP packet with a dc:description (for sidecars and PNGs).
pub fn xmp_description_packet(description: &str) -> String {
    format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">{}</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"#,
        xml_escape(description)
    )
}

/// A JPEG whose XMP APP1 names these people and face regions.
pub fn jpeg_with_xmp_people(people: &[&str], faces: &[&str]) -> Vec<u8> {
    let mut app1 = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    app1.extend_from_slice(xmp_people_packet(people, faces).as_bytes());
    jpeg_with_segments(&[(0xE1, app1)])
}

fn iim(record: u8, dataset: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x1C, record, dataset];
    v.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// A JPEG whose APP13 (Photoshop 8BIM 0x0404) holds IPTC 2:120 Caption-Abstract, UTF-8.
pub fn jpeg_with_iptc_caption(caption: &str) -> Vec<u8> {
    let mut records = iim(1, 90, b"\x1b%G");
    records.extend(iim(2, 0, &[0, 4]));
    records.extend(iim(2, 120, caption.as_bytes()));
    let mut app13 = b"Photoshop 3.0\08BIM\x04\x04\0\0".to_vec();
    app13.extend_from_slice(&u32::try_from(records.len()).unwrap_or(0).to_be_bytes());
    app13.extend_from_slice(&records);
    if records.len() % 2 == 1 {
        app13.push(0);
    }
    jpeg_with_segments(&[(0xED, app13)])
}

/// A JPEG cut off in the middle of its EXIF segment (which names Amelia Jones).
pub fn damaged_jpeg() -> Vec<u8> {
    let mut v = jpeg_with_exif_description("Amelia Jones at sports day");
    v.truncate(30);
    v
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG (1×1, RGB) with extra `(chunk type, data)` chunks before its image data.
pub fn png_with_chunks(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut v, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    for (kind, data) in chunks {
        png_chunk(&mut v, kind, data);
    }
    let raw = [0u8, 0x20, 0x80, 0xE0]; // filter byte, one pixel
    let mut zlib = vec![0x78, 0x01, 0x01, 4, 0, !4, 0xFF];
    zlib.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    png_chunk(&mut v, b"IDAT", &zlib);
    png_chunk(&mut v, b"IEND", &[]);
    v
}

/// A plain PNG without metadata.
pub fn png() -> Vec<u8> {
    png_with_chunks(&[])
}

/// A PNG with this XMP packet in an iTXt `XML:com.adobe.xmp` chunk.
pub fn png_with_xmp(packet: &str) -> Vec<u8> {
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend_from_slice(packet.as_bytes());
    png_with_chunks(&[(*b"iTXt", itxt)])
}

/// The pupils of the sample folder: 1 Amelia Jones, 2 Zoë O'Brien-Smith,
/// 3 Jean Luc Picard, 4 Amelia Strauß.
pub fn sample_pupils() -> Vec<Pupil> {
    [
        (1, "Amelia Jones"),
        (2, "Zoë O'Brien-Smith"),
        (3, "Jean Luc Picard"),
        (4, "Amelia Strauß"),
    ]
    .into_iter()
    .map(|(id, name)| Pupil {
        id,
        name: name.to_owned(),
    })
    .collect()
}

/// Writes the sample publish folder into `dir`. With [`sample_pupils`], scanning it gives:
///
/// | file | findings |
/// | --- | --- |
/// | `Jones-Amelia.JPG` | 1 in "file name" |
/// | `broken.jpg` | none; damaged ("JPEG: truncated EXIF segment ...") |
/// | `clean.jpg` | none (its EXIF names only a first name, "Amelia") |
/// | `described.jpg` | 2 in "EXIF ImageDescription" |
/// | `iptc.jpg` | 1 in "IPTC 2:120 Caption-Abstract" |
/// | `people.jpg` | 1 in "XMP Iptc4xmpExt:PersonInImage", 3 in "XMP mwg-rs:Regions Name" |
/// | `picture.png` | 2 in "sidecar picture.png.xmp dc:description", 4 in "XMP dc:description" |
/// | `sports.jpg` | 1 in "HTML news.html alt", 3 in "HTML news.html figcaption" |
/// | `trip/minibus.jpg` | 3 in "sidecar minibus.txt" |
/// | `zoe_obrien-smith.png` | 2 in "file name" |
///
/// `news.html` and `notes.txt` are not media files and get no report.
pub fn write_sample_folder(dir: &Path) -> std::io::Result<()> {
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes);
    w("Jones-Amelia.JPG", &jpeg())?;
    w("zoe_obrien-smith.png", &png())?;
    w("broken.jpg", &damaged_jpeg())?;
    w(
        "clean.jpg",
        &jpeg_with_exif_description("Sports day: Amelia won the egg and spoon race"),
    )?;
    w(
        "described.jpg",
        &jpeg_with_exif_description("Zoë O'Brien-Smith collecting her prize"),
    )?;
    w(
        "iptc.jpg",
        &jpeg_with_iptc_caption("Jones, Amelia on the climbing wall"),
    )?;
    w(
        "people.jpg",
        &jpeg_with_xmp_people(&["Amelia Jones"], &["Jean Luc Picard"]),
    )?;
    w(
        "picture.png",
        &png_with_xmp(&xmp_description_packet("Painting by Amelia Strauss")),
    )?;
    w(
        "picture.png.xmp",
        xmp_description_packet("Zoe OBrien Smith's painting").as_bytes(),
    )?;
    w("sports.jpg", &jpeg())?;
    w(
        "notes.txt",
        b"Amelia Jones, Zoe O'Brien-Smith: consent forms pending",
    )?;
    w(
        "news.html",
        br#"<!doctype html><html><head><title>Sports day</title></head><body>
<figure><img alt="Amelia Jones at sports day" src="sports.jpg?v=2">
<figcaption>Winners: Jean Luc Picard</figcaption></figure>
<p>Photos from the trip: <img src="trip/minibus.jpg" alt="The minibus"></p>
</body></html>"#,
    )?;
    std::fs::create_dir_all(dir.join("trip"))?;
    w("trip/minibus.jpg", &jpeg())?;
    w(
        "trip/minibus.txt",
        "Jean-Luc Picard driving the minibus".as_bytes(),
    )?;
    Ok(())
}

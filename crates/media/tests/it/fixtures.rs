//! The fixtures are real files: they decode with ordinary decoders, and their metadata
//! is readable by a third-party EXIF reader.

use media::fixtures;

fn decode_jpeg(bytes: &[u8]) -> (usize, usize) {
    let mut d = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(bytes));
    d.decode().expect("fixture JPEG decodes");
    let info = d.info().expect("has info");
    (usize::from(info.width), usize::from(info.height))
}

#[test]
fn jpegs_decode() {
    for bytes in [
        fixtures::jpeg(),
        fixtures::jpeg_with_exif_description("Amelia Jones"),
        fixtures::jpeg_with_xmp_people(&["Amelia Jones"], &["Zoë O'Brien-Smith"]),
        fixtures::jpeg_with_iptc_caption("Amelia Jones"),
    ] {
        assert_eq!(decode_jpeg(&bytes), (8, 8));
    }
}

#[test]
fn pngs_decode() {
    for bytes in [
        fixtures::png(),
        fixtures::png_with_xmp(&fixtures::xmp_description_packet("x")),
    ] {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("fixture PNG header");
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).expect("fixture PNG decodes");
        assert_eq!((frame.width, frame.height), (1, 1));
        assert_eq!(&buf[..3], &[0x20, 0x80, 0xE0]);
    }
}

#[test]
fn exif_fixture_is_read_by_kamadak_exif() {
    let bytes = fixtures::jpeg_with_exif_description("Zoë O'Brien-Smith");
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .expect("EXIF readable");
    let field = exif
        .get_field(exif::Tag::ImageDescription, exif::In::PRIMARY)
        .unwrap();
    match &field.value {
        exif::Value::Ascii(v) => assert_eq!(v[0], "Zoë O'Brien-Smith".as_bytes()),
        other => panic!("unexpected value {other:?}"),
    }
}

#[test]
fn damaged_jpeg_does_not_decode() {
    let bytes = fixtures::damaged_jpeg();
    let mut d = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes));
    assert!(d.decode().is_err());
}

//! Scanning the sample folder and a few edge cases.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use media::fixtures::{self, sample_pupils, write_sample_folder};
use media::{FileReport, FindingKind, MediaError, Pupil, scan};

/// (file, [(kind, pupil, field)], damaged?) for every report.
type Summary = Vec<(String, Vec<(FindingKind, i64, String)>, bool)>;

fn summary(reports: &[FileReport]) -> Summary {
    reports
        .iter()
        .map(|r| {
            let f = r
                .findings
                .iter()
                .map(|f| (f.kind, f.pupil, f.field.clone()))
                .collect();
            (
                r.file.to_string_lossy().into_owned(),
                f,
                r.damaged.is_some(),
            )
        })
        .collect()
}

fn row(
    file: &str,
    findings: &[(FindingKind, i64, &str)],
    damaged: bool,
) -> (String, Vec<(FindingKind, i64, String)>, bool) {
    let f = findings
        .iter()
        .map(|(k, p, s)| (*k, *p, (*s).to_owned()))
        .collect();
    (file.to_owned(), f, damaged)
}

#[test]
fn sample_folder_flags_exactly_the_named_files_and_fields() {
    use FindingKind::*;
    let dir = tempfile::tempdir().unwrap();
    write_sample_folder(dir.path()).unwrap();
    let reports = scan(dir.path(), &sample_pupils()).unwrap();
    let expected = vec![
        row(
            "Jones-Amelia.JPG",
            &[(NameInFilename, 1, "file name")],
            false,
        ),
        row("broken.jpg", &[], true),
        row("clean.jpg", &[], false),
        row(
            "described.jpg",
            &[(NameInMetadata, 2, "EXIF ImageDescription")],
            false,
        ),
        row(
            "iptc.jpg",
            &[(NameInMetadata, 1, "IPTC 2:120 Caption-Abstract")],
            false,
        ),
        row(
            "people.jpg",
            &[
                (NameInMetadata, 1, "XMP Iptc4xmpExt:PersonInImage"),
                (NameInMetadata, 3, "XMP mwg-rs:Regions Name"),
            ],
            false,
        ),
        row(
            "picture.png",
            &[
                (NameInMetadata, 4, "XMP dc:description"),
                (NameInCaption, 2, "sidecar picture.png.xmp dc:description"),
            ],
            false,
        ),
        row(
            "sports.jpg",
            &[
                (NameInCaption, 1, "HTML news.html alt"),
                (NameInCaption, 3, "HTML news.html figcaption"),
            ],
            false,
        ),
        row(
            "trip/minibus.jpg",
            &[(NameInCaption, 3, "sidecar minibus.txt")],
            false,
        ),
        row(
            "zoe_obrien-smith.png",
            &[(NameInFilename, 2, "file name")],
            false,
        ),
    ];
    assert_eq!(summary(&reports), expected);

    // `named` is every pupil with a finding.
    for r in &reports {
        let from_findings: BTreeSet<i64> = r.findings.iter().map(|f| f.pupil).collect();
        assert_eq!(r.named, from_findings, "{}", r.file.display());
    }
    let sports = reports
        .iter()
        .find(|r| r.file == Path::new("sports.jpg"))
        .unwrap();
    assert_eq!(sports.named, BTreeSet::from([1, 3]));

    // The damaged file says what was wrong, and did not stop the others.
    let broken = reports
        .iter()
        .find(|r| r.file == Path::new("broken.jpg"))
        .unwrap();
    assert_eq!(
        broken.damaged.as_deref(),
        Some("JPEG: truncated EXIF segment at offset 2 (declares 60 bytes, 24 present)")
    );
    assert!(reports.iter().filter(|r| r.damaged.is_some()).count() == 1);
}

#[test]
fn serde_names_are_snake_case() {
    let json = serde_json::to_string(&[
        FindingKind::NameInFilename,
        FindingKind::NameInMetadata,
        FindingKind::NameInCaption,
    ])
    .unwrap();
    assert_eq!(
        json,
        r#"["name_in_filename","name_in_metadata","name_in_caption"]"#
    );
}

#[test]
fn file_name_forms_and_first_names_alone() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "amelia_jones.jpg",
        "trip_AMELIA.JONES_2.jpeg",
        "ameliajones.webp",
        "AMELIA-JONES.MOV",
        "amelia.jpg",
        "amelia_s.jpg",
        "jones.png",
    ];
    for n in names {
        std::fs::write(dir.path().join(n), fixtures::jpeg()).unwrap();
    }
    let reports = scan(
        dir.path(),
        &[Pupil {
            id: 7,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    let flagged: Vec<(String, bool)> = reports
        .iter()
        .map(|r| (r.file.to_string_lossy().into_owned(), r.named.contains(&7)))
        .collect();
    assert_eq!(
        flagged,
        [
            ("AMELIA-JONES.MOV".into(), true),
            ("amelia.jpg".into(), false),
            ("amelia_jones.jpg".into(), true),
            ("amelia_s.jpg".into(), false),
            ("ameliajones.webp".into(), true),
            ("jones.png".into(), false),
            ("trip_AMELIA.JONES_2.jpeg".into(), true),
        ]
    );
}

#[test]
fn html_references_resolve_across_folders_and_by_bare_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("site/news")).unwrap();
    std::fs::create_dir_all(d.join("img")).unwrap();
    std::fs::write(d.join("img/day%201.jpg"), fixtures::jpeg()).unwrap();
    std::fs::write(d.join("img/day 1.jpg"), fixtures::jpeg()).unwrap();
    std::fs::write(d.join("img/clip.mp4"), b"\0\0\0\x18ftypmp42").unwrap();
    std::fs::write(d.join("other.jpg"), fixtures::jpeg()).unwrap();
    std::fs::write(
        d.join("site/news/page.htm"),
        r#"<img src="../../img/day%201.jpg#top" title="Jones, Amelia">
           <video><source src="https://school.example/media/clip.mp4"></video>
           <figure><video src="/img/clip.mp4"></video><figcaption>Amelia <i>Jones</i> scores</figcaption></figure>
           <a href="other.jpg?download=1">photo of Amelia Jones</a>"#,
    )
    .unwrap();
    let reports = scan(
        d,
        &[Pupil {
            id: 1,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    let s = summary(&reports);
    use FindingKind::NameInCaption;
    assert_eq!(
        s,
        [
            row(
                "img/clip.mp4",
                &[(NameInCaption, 1, "HTML site/news/page.htm figcaption")],
                false
            ),
            // "day%201.jpg" decodes to "day 1.jpg": the literal "day%201.jpg" is not it.
            row(
                "img/day 1.jpg",
                &[(NameInCaption, 1, "HTML site/news/page.htm title")],
                false
            ),
            row("img/day%201.jpg", &[], false),
            row(
                "other.jpg",
                &[(NameInCaption, 1, "HTML site/news/page.htm link text")],
                false
            ),
        ]
    );
}

#[test]
fn png_text_video_xmp_and_a_png_named_jpg() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = b"Description\0".to_vec();
    text.extend_from_slice(b"Amelia Jones painting");
    std::fs::write(
        d.join("a.png"),
        fixtures::png_with_chunks(&[(*b"tEXt", text)]),
    )
    .unwrap();
    let mut mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    mp4.extend_from_slice(fixtures::xmp_people_packet(&["Jones Amelia"], &[]).as_bytes());
    std::fs::write(d.join("b.mp4"), mp4).unwrap();
    // A PNG named .jpg is read as a PNG, not reported damaged.
    std::fs::write(
        d.join("c.jpg"),
        fixtures::png_with_xmp(&fixtures::xmp_description_packet("Amelia Jones")),
    )
    .unwrap();
    let reports = scan(
        d,
        &[Pupil {
            id: 1,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    use FindingKind::NameInMetadata;
    assert_eq!(
        summary(&reports),
        [
            row(
                "a.png",
                &[(NameInMetadata, 1, "PNG tEXt Description")],
                false
            ),
            row(
                "b.mp4",
                &[(NameInMetadata, 1, "XMP Iptc4xmpExt:PersonInImage")],
                false
            ),
            row("c.jpg", &[(NameInMetadata, 1, "XMP dc:description")], false),
        ]
    );
}

#[test]
fn damaged_files_of_every_kind_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("garbage.jpg"), b"definitely not a jpeg").unwrap();
    std::fs::write(d.join("empty.png"), b"").unwrap();
    let mut bad_xmp = fixtures::jpeg_with_xmp_people(&["Amelia Jones"], &[]);
    let at = bad_xmp.windows(9).position(|w| w == b"</rdf:li>").unwrap();
    bad_xmp[at + 2] = b'X'; // mismatched closing tag, same length
    std::fs::write(d.join("amelia_jones_bad_xmp.jpg"), bad_xmp).unwrap();
    std::fs::write(
        d.join("ok.jpg"),
        fixtures::jpeg_with_iptc_caption("Amelia Jones"),
    )
    .unwrap();
    let reports = scan(
        d,
        &[Pupil {
            id: 1,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    let damaged: Vec<(PathBuf, Option<String>, bool)> = reports
        .iter()
        .map(|r| (r.file.clone(), r.damaged.clone(), r.named.contains(&1)))
        .collect();
    assert_eq!(damaged.len(), 4);
    let (f, why, named) = &damaged[0];
    assert_eq!(f, Path::new("amelia_jones_bad_xmp.jpg"));
    assert!(
        why.as_deref()
            .unwrap()
            .starts_with("XMP: malformed packet: "),
        "{why:?}"
    );
    assert!(named, "the file name is still a finding");
    assert_eq!(damaged[1].1.as_deref(), Some("PNG: empty file"));
    assert_eq!(
        damaged[2].1.as_deref(),
        Some("JPEG: not a JPEG file (unrecognised signature)")
    );
    assert_eq!(damaged[3], (PathBuf::from("ok.jpg"), None, true));
}

#[test]
fn only_an_unreadable_folder_is_an_error() {
    let missing = scan(Path::new("/nonexistent/palisade-media"), &sample_pupils());
    let err = missing.unwrap_err();
    assert!(matches!(err, MediaError::ReadDir { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read folder /nonexistent/palisade-media: ")
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        scan(file.path(), &[]),
        Err(MediaError::NotADirectory { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_and_deep_folders_are_reported() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("amelia_jones.jpg"), fixtures::jpeg()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(outside.path(), d.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("amelia_jones.jpg"), d.join("link.jpg"))
        .unwrap();
    let mut deep = d.to_path_buf();
    for i in 0..=media::MAX_DEPTH {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("amelia_jones.jpg"), fixtures::jpeg()).unwrap();
    let reports = scan(
        d,
        &[Pupil {
            id: 1,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    assert_eq!(reports.len(), 3, "{reports:#?}");
    assert!(
        reports
            .iter()
            .all(|r| r.named.is_empty() && r.damaged.is_some())
    );
    let why: Vec<&str> = reports
        .iter()
        .filter_map(|r| r.damaged.as_deref())
        .collect();
    assert!(
        why[0].starts_with("folder nested deeper than 16 levels"),
        "{why:?}"
    );
    assert_eq!(
        why[1..],
        ["symbolic link, not followed", "symbolic link, not followed"]
    );
    assert_eq!(reports[1].file, Path::new("link.jpg"));
    assert_eq!(reports[2].file, Path::new("linked"));
}

#[test]
fn a_pathologically_deep_page_is_reported_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.jpg"), fixtures::jpeg()).unwrap();
    let page = format!("{}<img src=a.jpg alt='Amelia Jones'>", "<div>".repeat(5000));
    std::fs::write(d.join("deep.html"), page).unwrap();
    let reports = scan(
        d,
        &[Pupil {
            id: 1,
            name: "Amelia Jones".into(),
        }],
    )
    .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].file, Path::new("a.jpg"));
    assert_eq!(reports[1].file, Path::new("deep.html"));
    assert_eq!(
        reports[1].damaged.as_deref(),
        Some("HTML page nested 5000 levels deep (limit 1024), not read for captions")
    );
}

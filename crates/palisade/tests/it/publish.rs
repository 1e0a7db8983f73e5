//! `palisade publish-check` on a folder of generated images (issue 18, part 4): names in file
//! names, EXIF, XMP, IPTC, sidecars and HTML captions, and pupils shown without consent for the
//! purpose, under each profile's rules; a damaged JPEG is reported and nothing crashes; a
//! withdrawal takes effect at once.

use crate::BIN;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use testkit::{Backend, Client, Server};

/// Adds the sample folder's pupils to the school: their ids by name.
async fn add_pupils(head: &Client) -> BTreeMap<String, i64> {
    let mut ids = BTreeMap::new();
    for (i, p) in media::fixtures::sample_pupils().iter().enumerate() {
        let res = head
            .post_json(
                "/api/v1/people",
                &json!({"username": format!("sample{i}"), "display_name": p.name,
                        "kind": "pupil", "roles": ["pupil"], "class_name": "Robins"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{}", p.name);
        let body: Value = res.json().await.unwrap();
        ids.insert(p.name.clone(), body["id"].as_i64().unwrap());
    }
    ids
}

async fn answer(data: &Client, pupil: i64, given: bool, named: bool) {
    let res = data
        .post_json(
            "/api/v1/consents",
            &json!({"pupil": pupil, "purpose": "website", "given": given, "named": named,
                    "by_whom": "A parent", "on": "2026-10-01"}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

/// Runs the check: its exit code and, by file, the findings as `kind pupil (field)`.
fn check(
    server: &Server,
    profile: &str,
    dir: &std::path::Path,
    purpose: &str,
) -> (i32, BTreeMap<String, Vec<String>>, String) {
    let out = std::process::Command::new(BIN)
        .args([
            "publish-check",
            dir.to_str().unwrap(),
            "--purpose",
            purpose,
            "--json",
        ])
        .args(["--profile", profile, "--database-url", &server.db.url])
        .env(clock::TEST_CLOCK_VAR, store::timestamp(server.clock.now()))
        .output()
        .unwrap();
    let mut files = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut found: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} ({})",
                    f["kind"].as_str().unwrap(),
                    f["pupil"].as_str().unwrap(),
                    f["field"].as_str().unwrap()
                )
            })
            .collect();
        if let Some(d) = v["damaged"].as_str() {
            found.push(format!(
                "damaged: {}",
                d.split(':').next().unwrap_or_default()
            ));
        }
        files.insert(v["file"].as_str().unwrap().to_string(), found);
    }
    (
        out.status.code().unwrap_or(-1),
        files,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    media::fixtures::write_sample_folder(dir.path()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_check_flags_exactly_the_right_files_under_each_profile() {
    let dir = folder();
    // Coleridge may name a pupil where the consent agreed to it: Amelia Jones's parents agreed
    // to the website with her name; Zoë's to the website without it; Amelia Strauß's refused;
    // nobody answered for Jean Luc Picard.
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let ids = add_pupils(&server.login("head").await).await;
    let data = server.login("data").await;
    answer(&data, ids["Amelia Jones"], true, true).await;
    answer(&data, ids["Zoë O'Brien-Smith"], true, false).await;
    answer(&data, ids["Amelia Strauß"], false, false).await;
    let (code, files, err) = check(&server, "coleridge", dir.path(), "website");
    assert_eq!(code, 1, "{err}");
    let want: BTreeMap<String, Vec<String>> = [
        ("Jones-Amelia.JPG", vec![]),
        ("broken.jpg", vec!["damaged: JPEG"]),
        ("clean.jpg", vec![]),
        (
            "described.jpg",
            vec!["name_in_metadata Zoë O'Brien-Smith (EXIF ImageDescription)"],
        ),
        ("iptc.jpg", vec![]),
        (
            "people.jpg",
            vec![
                "name_in_metadata Jean Luc Picard (XMP mwg-rs:Regions Name)",
                "no_consent Jean Luc Picard (consent not asked)",
            ],
        ),
        (
            "picture.png",
            vec![
                "name_in_caption Zoë O'Brien-Smith (sidecar picture.png.xmp dc:description)",
                "name_in_metadata Amelia Strauß (XMP dc:description)",
                "no_consent Amelia Strauß (consent refused)",
            ],
        ),
        (
            "sports.jpg",
            vec![
                "name_in_caption Jean Luc Picard (HTML news.html figcaption)",
                "no_consent Jean Luc Picard (consent not asked)",
            ],
        ),
        (
            "trip/minibus.jpg",
            vec![
                "name_in_caption Jean Luc Picard (sidecar minibus.txt)",
                "no_consent Jean Luc Picard (consent not asked)",
            ],
        ),
        (
            "zoe_obrien-smith.png",
            vec!["name_in_filename Zoë O'Brien-Smith (file name)"],
        ),
    ]
    .into_iter()
    .map(|(f, v)| (f.to_string(), v.into_iter().map(str::to_string).collect()))
    .collect();
    let mut got = files.clone();
    for v in got.values_mut() {
        v.sort();
    }
    assert_eq!(got, want);
    // The same consent withdrawn: at once, Amelia Jones's named photos are flagged.
    answer(&data, ids["Amelia Jones"], false, false).await;
    let (_, files, _) = check(&server, "coleridge", dir.path(), "website");
    let jones = &files["Jones-Amelia.JPG"];
    assert!(
        jones.contains(&"name_in_filename Amelia Jones (file name)".to_string()),
        "{jones:?}"
    );
    assert!(
        jones.contains(&"no_consent Amelia Jones (consent refused)".to_string()),
        "{jones:?}"
    );
    // A purpose the profile does not ask consent for is an error (2), naming it.
    let (code, _, err) = check(&server, "coleridge", dir.path(), "high_profile");
    assert_eq!(code, 2);
    assert!(err.contains("high_profile"), "{err}");
    // A folder with nothing to flag passes (0).
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(clean.path().join("hall.jpg"), media::fixtures::jpeg()).unwrap();
    let (code, files, err) = check(&server, "coleridge", clean.path(), "website");
    assert_eq!((code, files.len()), (0, 1), "{err}");

    // Holt never puts a name with a photo: Amelia Jones's consent (without a name, as Holt's
    // forms have none) covers the photo but not the name in its file name.
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let ids = add_pupils(&server.login("head").await).await;
    let data = server.login("data").await;
    answer(&data, ids["Amelia Jones"], true, false).await;
    let (code, files, _) = check(&server, "holt", dir.path(), "website");
    assert_eq!(code, 1);
    assert_eq!(
        files["Jones-Amelia.JPG"],
        ["name_in_filename Amelia Jones (file name)"]
    );
    assert_eq!(
        files["iptc.jpg"],
        ["name_in_metadata Amelia Jones (IPTC 2:120 Caption-Abstract)"]
    );
    assert!(files["clean.jpg"].is_empty());
    let people = &files["people.jpg"];
    assert!(
        people
            .contains(&"name_in_metadata Amelia Jones (XMP Iptc4xmpExt:PersonInImage)".to_string()),
        "{people:?}"
    );
    let sports = &files["sports.jpg"];
    assert!(
        sports.contains(&"name_in_caption Amelia Jones (HTML news.html alt)".to_string()),
        "{sports:?}"
    );
    assert!(
        !sports
            .iter()
            .any(|f| f.starts_with("no_consent Amelia Jones")),
        "{sports:?}"
    );
}

/// The upload page does what the command does, for whoever edits the website: the same
/// findings for the same files, and nothing uploaded is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_page_flags_what_the_command_flags() {
    let dir = folder();
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let ids = add_pupils(&server.login("head").await).await;
    let data = server.login("data").await;
    answer(&data, ids["Amelia Jones"], true, true).await;
    let teacher = server.login("teacher1").await;
    let mut form = reqwest::multipart::Form::new().text("purpose", "website");
    for name in [
        "Jones-Amelia.JPG",
        "people.jpg",
        "clean.jpg",
        "broken.jpg",
        "news.html",
        "sports.jpg",
    ] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let res = teacher
        .request(reqwest::Method::POST, "/registers/publish-check")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"publish-flagged\"") && page.contains("3 of 5 file(s)"),
        "{page}"
    );
    assert!(page.contains("no_consent</span> Jean Luc Picard"), "{page}");
    assert!(page.contains("(HTML news.html figcaption)"), "{page}");
    let rows: Vec<&str> = page
        .split("<tr>")
        .filter(|r| r.contains("Jones-Amelia.JPG") || r.contains("clean.jpg"))
        .collect();
    assert_eq!(rows.len(), 2, "{page}");
    assert!(rows.iter().all(|r| r.contains(">clean<")), "{rows:?}");
    // A pupil may not use it; a purpose not in the profile is refused, naming it.
    let pupil = server.login("pupil1").await;
    assert_eq!(pupil.get("/registers/publish-check").await.status(), 403);
    let form = reqwest::multipart::Form::new()
        .text("purpose", "high_profile")
        .part(
            "files",
            reqwest::multipart::Part::bytes(media::fixtures::jpeg()).file_name("a.jpg"),
        );
    let res = teacher
        .request(reqwest::Method::POST, "/registers/publish-check")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("high_profile"));
}

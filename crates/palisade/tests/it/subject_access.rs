//! Subject access over real HTTP (issue 20, parts 7 and 3): the data manager's export of a pupil
//! as a page and as a JSON download, redacted and audited, and not found for everyone else; the
//! erasure refused within retention and done past it (the server's clock set forward), with the
//! audit chain verifying after; the page in a headless Chromium.

use crate::BIN;
use events::{AccessEvent, LogVerdict};
use serde_json::{Value, json};
use testkit::browser::{body_text, click, fill, scroll_to, shot, sign_in, start_browser, wait_for};
use testkit::{Backend, Client, Server, TestDb};

/// The demo's people as the data manager's directory lists them: (id, display name).
async fn who(client: &Client, username: &str) -> (i64, String) {
    let (status, body) = client.get_json("/api/v1/people").await;
    assert_eq!(status, 200, "{body}");
    let p = body["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == username)
        .unwrap_or_else(|| panic!("no {username} in {body}"))
        .clone();
    (
        p["id"].as_i64().unwrap(),
        p["display_name"].as_str().unwrap().to_string(),
    )
}

/// Sets a date of birth the way the MIS import does, straight in the database (the import's
/// own tests cover the import).
async fn set_date_of_birth(db: &TestDb, id: i64, born: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE people SET date_of_birth = $1 WHERE id = $2")
        .bind(born)
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// One proxy request by `person`, as the gateway logs it.
fn browsing(person: i64, username: &str, host: &str) -> AccessEvent {
    AccessEvent {
        person_id: Some(person),
        username: Some(username.into()),
        ..AccessEvent::new(
            "2026-11-03T09:30:00.000Z".into(),
            "proxy",
            "10.0.5.20".into(),
            "ks2".into(),
            host.into(),
            LogVerdict::Allow,
        )
    }
}

/// Two pupils, each with a concern naming the other and browsing of their own: (pupil1's id
/// and name, pupil2's id and name).
async fn two_pupils(server: &Server, data: &Client) -> ((i64, String), (i64, String)) {
    let one = who(data, "pupil1").await;
    let two = who(data, "pupil2").await;
    let teacher = server.login("teacher1").await;
    for (about, summary, details) in [
        (
            "pupil1",
            format!("{} took {}'s phone at break", two.1, one.1),
            "pupil2 and teacher1 saw the messages; pupil1 was upset.".to_string(),
        ),
        (
            "pupil2",
            "PUPIL2ONLY worry at home".to_string(),
            format!("{} was not involved.", one.1),
        ),
    ] {
        let res = teacher
            .post_json(
                "/api/v1/concerns",
                &json!({"subjects": [about], "category": "contact.online_bullying",
                        "summary": summary, "details": details}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let store = server.store().await;
    store
        .access_writer()
        .write(&[
            browsing(one.0, "pupil1", "pupil1-homework.example"),
            browsing(two.0, "pupil2", "pupil2only-site.example"),
        ])
        .await
        .unwrap();
    store.close().await;
    (one, two)
}

async fn export_over_http(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let data = server.login("data").await;
    let (data_id, data_name) = who(&data, "data").await;
    let ((p1, name1), (_, name2)) = two_pupils(&server, &data).await;

    let page = data.get(&format!("/people/{p1}/subject-access")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "prepared for a subject access request by {data_name} on 2026-11-03"
        )),
        "{page}"
    );
    for want in [
        name1.as_str(),
        "[redacted: another pupil] took",
        "[redacted: a member of staff] saw the messages; pupil1 was upset.",
        "pupil1-homework.example",
        "Kept: they are still at the school.",
        "No date of birth is recorded",
    ] {
        assert!(
            page.contains(&askama_escaped(want)),
            "`{want}` missing: {page}"
        );
    }
    // Nothing of pupil2: their name, their username, their concern, their browsing.
    for gone in [name2.as_str(), "pupil2", "PUPIL2ONLY", "teacher1"] {
        assert!(!page.contains(gone), "`{gone}` in {page}");
    }
    // The data manager sees no button: a pupil at school is kept.
    assert!(!page.contains("id=\"erase-form\""));

    let res = data.get(&format!("/people/{p1}/subject-access.json")).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"subject-access-{p1}-2026-11-03.json\"")
    );
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let sar = &body["subject_access"];
    assert_eq!(sar["person"]["display_name"], name1.as_str());
    assert_eq!(sar["concerns"].as_array().unwrap().len(), 1, "{sar}");
    assert_eq!(
        sar["concerns"][0]["reported_by"],
        "[redacted: a member of staff]"
    );
    assert_eq!(sar["access_log"]["total"], 1);
    for gone in [name2.as_str(), "pupil2", "PUPIL2ONLY", "teacher1"] {
        assert!(!text.contains(gone), "`{gone}` in {text}");
    }

    // Both exports are in the audit trail, with who made them.
    let store = server.store().await;
    let rows = store.audit_of("person", &p1.to_string()).await.unwrap();
    let exports: Vec<(Option<i64>, String)> = rows
        .iter()
        .filter(|r| r.action == "person.subject_access_exported")
        .map(|r| (r.actor_id, r.details.clone()))
        .collect();
    assert_eq!(
        exports,
        [
            (Some(data_id), r#"{"format":"html"}"#.to_string()),
            (Some(data_id), r#"{"format":"json"}"#.to_string())
        ]
    );

    // Not found for everyone else: a teacher, the pupil themself, a parent, the DSL.
    for username in ["teacher1", "pupil1", "parent1", "dsl", "netman"] {
        let c = server.login(username).await;
        for path in ["subject-access", "subject-access.json"] {
            let status = c.get(&format!("/people/{p1}/{path}")).await.status();
            assert_eq!(status, 404, "{username} {path}");
        }
    }
    // The DSL may not make themself the data manager, and so stays without the export.
    let dsl = server.login("dsl").await;
    let (dsl_id, _) = who(&data, "dsl").await;
    let res = dsl
        .post_json(
            &format!("/api/v1/people/{dsl_id}/roles"),
            &json!({"grant": ["data_manager"]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let status = dsl
        .get(&format!("/people/{p1}/subject-access"))
        .await
        .status();
    assert_eq!(status, 404);
    // The data manager's own record goes through the school too; an unknown id is not found.
    for id in [data_id, 999_999] {
        let status = data
            .get(&format!("/people/{id}/subject-access"))
            .await
            .status();
        assert_eq!(status, 404, "{id}");
    }
    // The person's page links to the export for the data manager only.
    let record = data.get_text(&format!("/people/{p1}")).await;
    assert!(record.contains(&format!("href=\"/people/{p1}/subject-access\"")));
    store.close().await;
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}

/// `text` as askama writes it into a page.
fn askama_escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

both_backends!(
    a_pupils_export_is_redacted_audited_and_not_found_for_anyone_else,
    export_over_http
);

async fn erasure_over_http(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let data = server.login("data").await;
    let ((p1, name1), _) = two_pupils(&server, &data).await;
    // Left today (marked on the people page), born in 2016: kept until 2041-04-01.
    let res = data
        .post_form(&format!("/people/{p1}/deactivate"), &[("x", "")])
        .await;
    assert_eq!(res.status(), 303);
    set_date_of_birth(&server.db, p1, "2016-04-01").await;
    let page = data.get_text(&format!("/people/{p1}/subject-access")).await;
    assert!(
        page.contains("Kept until 2041-04-01 (date of birth + 25 years)"),
        "{page}"
    );
    assert!(!page.contains("id=\"erase-form\""));
    let res = data
        .post_form(&format!("/people/{p1}/erase"), &[("confirm", "pupil1")])
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("2041-04-01"));
    // Without the CSRF token the form is refused before anything is looked at.
    let mut no_token = data.clone();
    no_token.csrf = None;
    let res = no_token
        .post_form(&format!("/people/{p1}/erase"), &[("confirm", "pupil1")])
        .await;
    assert_eq!(res.status(), 403);

    // The clock set past retention: the same database, served from 2041-04-02.
    let before = server.store().await.audit_head().await.unwrap();
    let db = server.kill();
    let later = clock::parse_instant("2041-04-02T09:00:00Z").unwrap();
    let server = Server::start_at(BIN, db, "holt", &["--no-dns", "--no-proxy"], later);
    let data = server.login("data").await;
    let page = data.get_text(&format!("/people/{p1}/subject-access")).await;
    assert!(page.contains("Past retention since 2041-04-01"), "{page}");
    assert!(page.contains("id=\"erase-form\""), "{page}");
    // Another person's username does not confirm it.
    let res = data
        .post_form(&format!("/people/{p1}/erase"), &[("confirm", "pupil2")])
        .await;
    assert_eq!(res.status(), 400);
    // Only the data manager erases; the Headteacher, who exports, does not.
    let head = server.login("head").await;
    let res = head
        .post_form(&format!("/people/{p1}/erase"), &[("confirm", "pupil1")])
        .await;
    assert_eq!(res.status(), 404);
    let res = data
        .post_form(&format!("/people/{p1}/erase"), &[("confirm", "pupil1")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/people/{p1}/subject-access?erased=1").as_str()
    );
    let page = data
        .get_text(&format!("/people/{p1}/subject-access?erased=1"))
        .await;
    assert!(page.contains("Their records have been erased."), "{page}");
    assert!(
        !page.contains(&name1) && !page.contains("pupil1-homework"),
        "{page}"
    );
    // The other pupil's records are all there.
    let (p2, _) = who(&data, "pupil2").await;
    let (_, theirs) = data
        .get_json(&format!("/people/{p2}/subject-access.json"))
        .await;
    assert_eq!(
        theirs["subject_access"]["concerns"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The audit trail holds the erasure, counts only, and verifies from the head before.
    let store = server.store().await;
    let erased = store
        .audit_of("person", &p1.to_string())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action == "person.erased")
        .unwrap();
    assert!(
        erased.details.contains("\"concerns\":1"),
        "{}",
        erased.details
    );
    assert!(!erased.details.contains(&name1));
    assert!(matches!(
        store.verify_audit_against(&before).await.unwrap(),
        store::AuditVerdict::Intact { .. }
    ));
    store.close().await;
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}

both_backends!(
    erasure_is_refused_within_retention_and_done_past_it_with_the_chain_intact,
    erasure_over_http
);

/// A subject access request from another school of a trust: not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_schools_data_manager_finds_no_export() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--no-dns", "--no-proxy", "--trust"]);
    let holt = server.login("holt.data").await;
    let (pupil, _) = who(&holt, "holt.pupil1").await;
    let status = holt
        .get(&format!("/people/{pupil}/subject-access"))
        .await
        .status();
    assert_eq!(status, 200);
    let mut other = server.login("coleridge.data").await;
    other.school = Some("holt".into());
    for path in ["subject-access", "subject-access.json"] {
        let status = other.get(&format!("/people/{pupil}/{path}")).await.status();
        assert_eq!(status, 404, "{path}");
    }
    // In their own school the id is another school's person: not found there either.
    other.school = None;
    let status = other
        .get(&format!("/people/{pupil}/subject-access"))
        .await
        .status();
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subject_access_page_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let data = server.login("data").await;
    let ((p1, name1), _) = two_pupils(&server, &data).await;
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &server.url, "data").await;
    c.goto(&format!("{}/people/{p1}", server.url))
        .await
        .unwrap();
    click(&c, "#subject-access-link").await;
    wait_for(&c, "#subject-access").await;
    let heading = c
        .find(fantoccini::Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, format!("Subject access: {name1}"));
    shot(&c, "subject-access-10-summary").await;
    scroll_to(&c, "#concerns").await;
    shot(&c, "subject-access-20-concerns").await;

    // Past retention (left, born in 2016, the clock in 2041): the erasure and its confirmation.
    let res = data
        .post_form(&format!("/people/{p1}/deactivate"), &[("x", "")])
        .await;
    assert_eq!(res.status(), 303);
    set_date_of_birth(&server.db, p1, "2016-04-01").await;
    let db = server.kill();
    let later = clock::parse_instant("2041-04-02T09:00:00Z").unwrap();
    let server = Server::start_at(BIN, db, "holt", &["--no-dns", "--no-proxy"], later);
    sign_in(&c, &server.url, "data").await;
    c.goto(&format!("{}/people/{p1}/subject-access", server.url))
        .await
        .unwrap();
    wait_for(&c, "#erase-form").await;
    scroll_to(&c, "#retention").await;
    fill(&c, "#confirm", "pupil1").await;
    shot(&c, "subject-access-30-erase-confirm").await;
    click(&c, "#erase").await;
    wait_for(&c, ".flash").await;
    let text = body_text(&c).await;
    assert!(text.contains("Their records were erased"), "{text}");
    assert!(!text.contains(&name1), "{text}");
    shot(&c, "subject-access-40-erased").await;
}

//! The training register, policies and sign-offs with the code-of-conduct gate, and photo
//! consent (issue 18, parts 1 to 3), through the real binary on the demo school, by the
//! server's clock (2026-11-03): what each role may do, what bad input gets, and what each of the
//! profiles' `[code_of_conduct]` and `[consent]` keys changes.

use crate::BIN;
use serde_json::{Value, json};
use testkit::{Backend, Client, Server};

/// A person of the demo school: (id, display name, class).
async fn who(c: &Client, username: &str) -> (i64, String, Option<String>) {
    let (status, body) = c.get_json("/api/v1/people").await;
    assert_eq!(status, 200, "{body}");
    let p = body["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == username)
        .unwrap_or_else(|| panic!("{username}: {body}"))
        .clone();
    (
        p["id"].as_i64().unwrap(),
        p["display_name"].as_str().unwrap().to_string(),
        p["class_name"].as_str().map(str::to_string),
    )
}

async fn dashboard(server: &Server, username: &str) -> Vec<Value> {
    let (status, body) = server
        .login(username)
        .await
        .get_json("/api/v1/dashboard")
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn training(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let head = server.login("head").await;
    let (dsl, _, _) = who(&head, "dsl").await;
    let (pupil, pupil_name, _) = who(&head, "pupil1").await;
    let mut teachers = Vec::new();
    for t in ["teacher1", "teacher2", "teacher3"] {
        teachers.push(who(&head, t).await.0);
    }
    // A staff meeting's online safety update for three teachers, and the DSL's own training
    // from 25 months ago.
    let res = head
        .post_json(
            "/api/v1/training",
            &json!({"course": "online_safety_update", "held_on": "2026-11-02",
                    "people": teachers, "note": "Staff meeting, slides on file"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = head
        .post_json(
            "/api/v1/training",
            &json!({"course": "dsl", "held_on": "2024-10-03", "people": [dsl]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for leader in ["dsl", "head"] {
        let items = dashboard(&server, leader).await;
        let renew = items
            .iter()
            .find(|i| i["kind"] == "training.renewal")
            .unwrap_or_else(|| panic!("{leader}: {items:?}"));
        assert_eq!(renew["status"], "overdue", "{leader}: {renew}");
        assert_eq!(renew["due_on"], "2026-10-03", "{leader}: {renew}");
        assert_eq!(renew["link"], "/registers/training");
    }
    let teacher = dashboard(&server, "teacher1").await;
    assert!(
        teacher
            .iter()
            .all(|i| !i["kind"].as_str().unwrap().starts_with("training"))
    );
    let (status, body) = head.get_json("/api/v1/training").await;
    assert_eq!(status, 200);
    let person = |id: i64| {
        body["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(person(dsl)["courses"]["dsl"]["standing"], "expired");
    assert_eq!(
        person(teachers[0])["courses"]["online_safety_update"]["standing"],
        "current"
    );
    assert!(
        person(teachers[0])["courses"].get("dsl").is_none(),
        "not a teacher's course"
    );
    let stored = body["completions"].as_array().unwrap().len();
    assert_eq!(stored, 4);
    // Bad input names what is wrong and stores nothing.
    for (entry, field) in [
        (
            json!({"course": "dsl", "held_on": "2026-11-02", "people": [pupil]}),
            pupil_name.as_str(),
        ),
        (
            json!({"course": "dsl", "held_on": "2026-11-02", "people": [999_999]}),
            "999999",
        ),
        (
            json!({"course": "dsl", "held_on": "2026-12-02", "people": [dsl]}),
            "held_on",
        ),
        (
            json!({"course": "juggling", "held_on": "2026-11-02", "people": [dsl]}),
            "course",
        ),
        (
            json!({"course": "dsl", "held_on": "02/11/2026", "people": [dsl]}),
            "held_on",
        ),
    ] {
        let (status, error) = error_of(head.post_json("/api/v1/training", &entry).await).await;
        assert_eq!(status, 400, "{entry}: {error}");
        assert!(error.contains(field), "{entry}: {error}");
    }
    // An evidence file over the profile's limit is refused on the page, naming it.
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let form = reqwest::multipart::Form::new()
        .text("course", "prevent")
        .text("held_on", "2026-11-02")
        .text("people", teachers[0].to_string())
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(big)
                .file_name("certificate.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let res = head
        .request(reqwest::Method::POST, "/registers/training")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"training-error\"") && page.contains("certificate.txt"),
        "{page}"
    );
    // With a small certificate it is kept and downloadable.
    let form = reqwest::multipart::Form::new()
        .text("course", "prevent")
        .text("held_on", "2026-11-02")
        .text("people", teachers[0].to_string())
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(&b"Prevent certificate 1234"[..])
                .file_name("certificate.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let res = head
        .request(reqwest::Method::POST, "/registers/training")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, body) = head.get_json("/api/v1/training").await;
    let all = body["completions"].as_array().unwrap();
    assert_eq!(all.len(), stored + 1);
    let session = all.iter().find(|c| c["course"] == "prevent").unwrap()["session"]
        .as_i64()
        .unwrap();
    let file = head
        .get(&format!("/registers/training/{session}/evidence"))
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.text().await.unwrap(), "Prevent certificate 1234");
    // A teacher may not read the register.
    let t = server.login("teacher1").await;
    assert_eq!(t.get("/api/v1/training").await.status(), 403);
}

both_backends!(
    training_is_recorded_and_dsl_training_25_months_old_is_overdue,
    training
);

/// A new staff code in Holt's register (`staff = "sign_before_use"`) sends a teacher to it
/// before any other page, the API refuses with the reason, and once signed everything opens;
/// the same code at Coleridge (`staff = "abide"`) stops nobody.
async fn gate(backend: Backend) {
    for (profile, gated) in [("holt", true), ("coleridge", false)] {
        let server = Server::start(BIN, backend, profile).await;
        let head = server.login("head").await;
        let res = head
            .post_json(
                "/api/v1/documents",
                &json!({"kind": "staff_code", "version": "2026", "title": "Staff Code of Conduct",
                        "body": "I will use school technology for school work.\nI will report any concern.",
                        "approved_on": "2026-10-20", "minute_ref": "FGB 20/10/26 item 7"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{profile}");
        let teacher = server.login("teacher1").await;
        let home = teacher.get("/").await;
        if !gated {
            assert_eq!(home.status(), 200, "{profile}");
            continue;
        }
        assert_eq!(home.status(), 303);
        assert_eq!(home.headers()["location"], "/aup?return=/");
        let deep = teacher.get("/concerns/new").await;
        assert_eq!(deep.headers()["location"], "/aup?return=/concerns/new");
        let (status, error) = error_of(teacher.get("/api/v1/concerns").await).await;
        assert_eq!(status, 403);
        assert!(error.contains("code of conduct"), "{error}");
        let page = teacher.get_text("/aup").await;
        assert!(
            page.contains("id=\"code-gate\"") && page.contains("report any concern"),
            "{page}"
        );
        let (status, error) = error_of(
            teacher
                .post_json("/api/v1/acknowledgements", &json!({"version": "2023"}))
                .await,
        )
        .await;
        assert_eq!(status, 400, "only the current version: {error}");
        let res = teacher
            .post_json("/api/v1/acknowledgements", &json!({"version": "2026"}))
            .await;
        assert_eq!(res.status(), 201);
        assert_eq!(teacher.get("/").await.status(), 200);
        let (_, mine) = teacher.get_json("/api/v1/acknowledgements").await;
        assert_eq!(mine["current"]["version"], "2026");
        assert!(mine["current"]["signed_at"].is_string(), "{mine}");
        // The head, who added it, has not signed it either.
        assert_eq!(head.get("/").await.status(), 303);
    }
}

both_backends!(
    a_new_staff_code_is_signed_before_any_other_page_where_the_profile_says,
    gate
);

/// `issued_on_entry`: Holt asks pupils and parents to sign their codes, Coleridge only staff; a
/// teacher records a class's paper sign-off; a pupil sees only their own acknowledgements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pupils_and_parents_sign_their_codes_where_issued_on_entry() {
    let mut audiences = Vec::new();
    for profile in ["holt", "coleridge"] {
        let server = Server::start(BIN, Backend::Sqlite, profile).await;
        let (status, body) = server
            .login("head")
            .await
            .get_json("/api/v1/documents")
            .await;
        assert_eq!(status, 200, "{body}");
        let asked: Vec<String> = body["unsigned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["audience"].as_str().unwrap().to_string())
            .collect();
        audiences.push(asked);
        if profile != "holt" {
            continue;
        }
        let head = server.login("head").await;
        let (pupil, _, class) = who(&head, "pupil1").await;
        let class = class.unwrap();
        let teacher = server.login("teacher1").await;
        let res = teacher
            .post_json("/api/v1/acknowledgements/paper", &json!({"class": class}))
            .await;
        assert_eq!(res.status(), 201);
        let n: Value = res.json().await.unwrap();
        assert!(n["recorded"].as_u64().unwrap() >= 1, "{n}");
        let pupil1 = server.login("pupil1").await;
        let (status, mine) = pupil1.get_json("/api/v1/acknowledgements").await;
        assert_eq!(status, 200);
        let rows = mine["acknowledgements"].as_array().unwrap();
        assert!(
            !rows.is_empty() && rows.iter().all(|r| r["person_id"] == pupil),
            "{mine}"
        );
        assert_eq!(rows[0]["method"], "paper");
        assert!(mine["current"]["signed_at"].is_string(), "{mine}");
        // Pupil2 (another class) sees none of pupil1's.
        let (_, other) = server
            .login("pupil2")
            .await
            .get_json("/api/v1/acknowledgements")
            .await;
        assert!(
            other["acknowledgements"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["person_id"] != pupil),
            "{other}"
        );
        let page = teacher.get_text("/registers/documents").await;
        assert!(page.contains("id=\"unsigned\""), "{page}");
    }
    assert!(
        audiences[0].contains(&"pupils".to_string())
            && audiences[0].contains(&"parents".to_string()),
        "{audiences:?}"
    );
    assert_eq!(audiences[1], ["staff"], "{audiences:?}");
}

/// Consent under both profiles: Holt renews it each year (a form from last June has lapsed),
/// never names a pupil with a photo and wants individual consent, naming the use, for
/// high-profile use; Coleridge keeps consent from admission and may agree to a name. A
/// withdrawal shows at once in the class list; pupils and parents see only their own.
async fn consent(backend: Backend) {
    for profile in ["holt", "coleridge"] {
        let holt = profile == "holt";
        let server = Server::start(BIN, backend, profile).await;
        let data = server.login("data").await;
        let (pupil, _, class) = who(&data, "pupil1").await;
        let (pupil2, _, _) = who(&data, "pupil2").await;
        let class = class.unwrap();
        let answer = |purpose: &str, given: bool, on: &str, named: bool, note: &str| {
            json!({"pupil": pupil, "purpose": purpose, "given": given, "named": named,
                   "by_whom": "Mrs Example (mother)", "on": on, "note": note})
        };
        let post = |body: Value| {
            let data = &data;
            async move { error_of(data.post_json("/api/v1/consents", &body).await).await }
        };
        assert_eq!(
            post(answer("website", true, "2026-06-01", false, ""))
                .await
                .0,
            201
        );
        let teacher = server.login("teacher1").await;
        let standing = |body: &Value, id: i64, purpose: &str| {
            body["pupils"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["pupil"] == id)
                .unwrap()["purposes"][purpose]
                .clone()
        };
        let (status, list) = teacher.get_json("/api/v1/consents").await;
        assert_eq!(status, 200);
        let want = if holt { "lapsed" } else { "given" };
        assert_eq!(
            standing(&list, pupil, "website"),
            want,
            "{profile} photo_renewal"
        );
        // names_with_photos.
        let (status, error) = post(answer("press", true, "2026-10-01", true, "")).await;
        if holt {
            assert_eq!(status, 400);
            assert!(error.starts_with("named"), "{error}");
        } else {
            assert_eq!(status, 201, "{error}");
        }
        // individual_for_high_profile (and Coleridge's purposes, which have no such purpose).
        let (status, error) = post(answer("high_profile", true, "2026-10-01", false, "")).await;
        assert_eq!(status, 400);
        assert!(
            error.starts_with(if holt { "note" } else { "purpose" }),
            "{error}"
        );
        if holt {
            let (status, _) = post(answer(
                "high_profile",
                true,
                "2026-10-01",
                false,
                "Prospectus cover 2027",
            ))
            .await;
            assert_eq!(status, 201);
        }
        // Bad input stores nothing.
        let before = data.get_json("/api/v1/consents").await.1["entries"]
            .as_array()
            .unwrap()
            .len();
        let mut unknown = answer("website", true, "2026-10-01", false, "");
        unknown["pupil"] = json!(999_999);
        for (body, field) in [
            (unknown, "pupil"),
            (answer("tiktok", true, "2026-10-01", false, ""), "purpose"),
            (answer("website", true, "2026-11-04", false, ""), "on"),
            (answer("website", true, "yesterday", false, ""), "on"),
            (json!({"pupil": pupil}), "missing field"),
        ] {
            let (status, error) = post(body.clone()).await;
            assert_eq!(status, 400, "{body}: {error}");
            assert!(error.contains(field), "{body}: {error}");
        }
        let after = data.get_json("/api/v1/consents").await.1["entries"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(before, after);
        // Given this year, then withdrawn: the class list shows it at once.
        assert_eq!(
            post(answer("website", true, "2026-10-01", false, ""))
                .await
                .0,
            201
        );
        let (_, list) = teacher.get_json("/api/v1/consents").await;
        assert_eq!(standing(&list, pupil, "website"), "given");
        assert_eq!(
            post(answer(
                "website",
                false,
                "2026-11-03",
                false,
                "Withdrawn by phone"
            ))
            .await
            .0,
            201
        );
        let (_, list) = teacher.get_json("/api/v1/consents").await;
        assert_eq!(standing(&list, pupil, "website"), "refused");
        let page = teacher
            .get_text(&format!(
                "/registers/consent?class={}",
                class.replace(' ', "+")
            ))
            .await;
        assert!(
            page.contains(&format!("id=\"consent-pupil-{pupil}\"")),
            "{page}"
        );
        assert!(
            !page.contains("id=\"consent-form\""),
            "a teacher only reads: {page}"
        );
        // Pupils and parents: their own only.
        let (status, mine) = server
            .login("pupil1")
            .await
            .get_json("/api/v1/consents")
            .await;
        assert_eq!(status, 200);
        assert!(
            mine["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["pupil_id"] == pupil)
        );
        assert_eq!(mine["pupils"].as_array().unwrap().len(), 1);
        let (_, theirs) = server
            .login("pupil2")
            .await
            .get_json("/api/v1/consents")
            .await;
        assert!(
            theirs["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["pupil_id"] == pupil2),
            "{theirs}"
        );
        let (_, parent) = server
            .login("parent1")
            .await
            .get_json("/api/v1/consents")
            .await;
        let children: Vec<i64> = parent["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pupil"].as_i64().unwrap())
            .collect();
        assert!(
            children.contains(&pupil),
            "parent1 is pupil1's parent: {parent}"
        );
        assert!(
            parent["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| children.contains(&e["pupil_id"].as_i64().unwrap()))
        );
        let (_, visitor) = server
            .login("visitor1")
            .await
            .get_json("/api/v1/consents")
            .await;
        assert!(
            visitor["pupils"].as_array().unwrap().is_empty(),
            "{visitor}"
        );
        assert_eq!(
            teacher
                .post_json(
                    "/api/v1/consents",
                    &answer("website", true, "2026-10-01", false, "")
                )
                .await
                .status(),
            403
        );
    }
}

both_backends!(
    consent_follows_each_profiles_rules_and_a_withdrawal_shows_at_once,
    consent
);

/// `discussed_each_year`: at Holt a pupil's signature from last school year no longer counts in
/// September, and they sign again; a teacher's still counts. At Coleridge it counts for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupils_signature_lasts_a_school_year_where_the_code_is_discussed_each_year() {
    let at = |s: &str| clock::parse_instant(s).unwrap();
    for (profile, yearly) in [("holt", true), ("coleridge", false)] {
        let db = testkit::TestDb::new(Backend::Sqlite).await;
        let summer = Server::start_at(
            BIN,
            db,
            profile,
            &["--no-dns", "--no-proxy"],
            at("2026-08-20T10:00:00Z"),
        );
        for who in ["pupil1", "teacher1"] {
            let c = summer.login(who).await;
            let res = c.post_json("/api/v1/acknowledgements", &json!({"version": c.get_json("/api/v1/acknowledgements").await.1["current"]["version"]})).await;
            assert_eq!(res.status(), 201, "{profile} {who}");
        }
        let db = summer.kill();
        let autumn = Server::start_at(
            BIN,
            db,
            profile,
            &["--no-dns", "--no-proxy"],
            at("2026-09-10T10:00:00Z"),
        );
        let (_, pupil) = autumn
            .login("pupil1")
            .await
            .get_json("/api/v1/acknowledgements")
            .await;
        assert_eq!(
            pupil["current"]["signed_at"].is_null(),
            yearly,
            "{profile}: {pupil}"
        );
        let (_, teacher) = autumn
            .login("teacher1")
            .await
            .get_json("/api/v1/acknowledgements")
            .await;
        assert!(
            teacher["current"]["signed_at"].is_string(),
            "{profile}: {teacher}"
        );
        if yearly {
            let c = autumn.login("pupil1").await;
            let res = c
                .post_json("/api/v1/acknowledgements", &json!({"version": "2023"}))
                .await;
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["new"], true, "{body}");
            assert!(
                c.get_json("/api/v1/acknowledgements").await.1["current"]["signed_at"].is_string()
            );
        }
    }
}

/// A version whose review comes before its approval is refused, naming the field, and nothing
/// is stored; without a date the profile's cycle (24 months) sets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_version_with_dates_in_the_wrong_order_is_refused() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let head = server.login("head").await;
    let version = |review: &str| {
        json!({"kind": "online_safety_policy", "version": "2026", "title": "Online Safety Policy",
               "body": "Our policy.", "approved_on": "2026-10-20", "review_on": review})
    };
    let (status, error) = error_of(
        head.post_json("/api/v1/documents", &version("2026-01-01"))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(error.starts_with("review_on"), "{error}");
    let (_, body) = head.get_json("/api/v1/documents").await;
    assert!(body["documents"].as_array().unwrap().is_empty());
    assert_eq!(
        head.post_json("/api/v1/documents", &version(""))
            .await
            .status(),
        201
    );
    let (_, body) = head.get_json("/api/v1/documents").await;
    assert_eq!(body["documents"][0]["review_on"], "2028-10-20");
    // Coleridge's overdue 2021 review gives way to the new version's.
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    assert!(
        dash["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "policy.review"),
        "{dash}"
    );
}

/// A parent gives and withdraws consent for their own child through their own login, named as
/// the one who answered; for someone else's child they are refused and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_answers_for_their_own_child_only() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let head = server.login("head").await;
    let (child, _, _) = who(&head, "pupil1").await;
    let (other, _, _) = who(&head, "pupil3").await;
    let (_, parent_name, _) = who(&head, "parent1").await;
    let parent = server.login("parent1").await;
    let page = parent.get_text("/consent").await;
    assert!(
        page.contains(&format!("id=\"give-{child}-website\"")),
        "{page}"
    );
    assert!(!page.contains(&format!("id=\"child-{other}\"")), "{page}");
    let res = parent
        .post_form(
            "/consent",
            &[
                ("pupil", child.to_string().as_str()),
                ("purpose", "website"),
                ("answer", "given"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, mine) = parent.get_json("/api/v1/consents").await;
    let entry = &mine["entries"][0];
    assert_eq!(entry["pupil_id"], child);
    assert_eq!(entry["given"], true);
    assert_eq!(
        entry["by_whom"],
        format!("{parent_name} (parent, own login)")
    );
    let page = parent.get_text("/consent").await;
    assert!(
        page.contains(&format!("id=\"withdraw-{child}-website\"")),
        "{page}"
    );
    // Through the API too, and a withdrawal shows at once on the teacher's class list.
    let res = parent
        .post_json(
            "/api/v1/consents",
            &json!({"pupil": child, "purpose": "website", "given": false, "on": "2026-11-03"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (_, list) = server
        .login("teacher1")
        .await
        .get_json("/api/v1/consents")
        .await;
    let row = list["pupils"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pupil"] == child)
        .unwrap()
        .clone();
    assert_eq!(row["purposes"]["website"], "refused");
    // Someone else's child: refused, nothing stored.
    let before = head.get_json("/api/v1/consents").await.1["entries"]
        .as_array()
        .unwrap()
        .len();
    let res = parent
        .post_form(
            "/consent",
            &[
                ("pupil", other.to_string().as_str()),
                ("purpose", "website"),
                ("answer", "given"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = parent
        .post_json(
            "/api/v1/consents",
            &json!({"pupil": other, "purpose": "website", "given": true, "on": "2026-11-03"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let after = head.get_json("/api/v1/consents").await.1["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // A pupil cannot answer for themselves this way.
    let res = server
        .login("pupil1")
        .await
        .post_json(
            "/api/v1/consents",
            &json!({"pupil": child, "purpose": "website", "given": true, "on": "2026-11-03"}),
        )
        .await;
    assert_eq!(res.status(), 403);
}

/// A version keeps the approved document as a file, which anyone signed in may read from the
/// code's page; a file that is not what it says is refused, naming it, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_keeps_its_approved_document() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let head = server.login("head").await;
    let pdf = b"%PDF-1.4\n% Staff Code of Conduct 2026\n".to_vec();
    let send = |bytes: Vec<u8>, version: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("kind", "staff_code")
            .text("version", version)
            .text("title", "Staff Code of Conduct")
            .text("body", "I will use school technology for school work.")
            .text("approved_on", "2026-10-20")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("staff-code-2026.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        head.request(reqwest::Method::POST, "/registers/documents")
            .multipart(form)
            .send()
    };
    let res = send(b"not a pdf".to_vec(), "2026").await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("staff-code-2026.pdf"));
    let (_, body) = head.get_json("/api/v1/documents").await;
    assert!(body["documents"].as_array().unwrap().is_empty(), "{body}");
    let res = send(pdf.clone(), "2026").await.unwrap();
    assert_eq!(res.status(), 303);
    let (_, body) = head.get_json("/api/v1/documents").await;
    let doc = &body["documents"][0];
    assert_eq!(doc["file_name"], "staff-code-2026.pdf");
    let id = doc["id"].as_i64().unwrap();
    let teacher = server.login("teacher1").await;
    let page = teacher.get_text("/aup").await;
    assert!(
        page.contains(&format!("href=\"/registers/documents/{id}/file\"")),
        "{page}"
    );
    let file = teacher
        .get(&format!("/registers/documents/{id}/file"))
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
}

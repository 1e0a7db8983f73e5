//! The acceptance scenarios for routing and confidentiality, through the real binary's
//! JSON API, on SQLite and on PostgreSQL.

use crate::BIN;
use serde_json::json;
use testkit::{BACKENDS, Backend, Server};

/// The ids of the concerns `username` lists.
pub async fn ids_seen_by(server: &Server, username: &str) -> Vec<i64> {
    let c = server.login(username).await;
    let (status, body) = c.get_json("/api/v1/concerns").await;
    assert_eq!(status, 200);
    body["concerns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn status_of(server: &Server, username: &str, id: i64) -> u16 {
    server
        .login(username)
        .await
        .get(&format!("/api/v1/concerns/{id}"))
        .await
        .status()
        .as_u16()
}

async fn first_contact_queue(backend: Backend) {
    for (profile, lead, not_lead) in [("holt", "dsl", "osc"), ("coleridge", "osc", "netman")] {
        let server = Server::start(BIN, backend, profile).await;
        let teacher = server.login("teacher2").await;
        let (status, body) = teacher
            .report(
                &["pupil9"],
                "contact.online_bullying",
                "Nasty comments on a pupil's game stream",
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_i64().unwrap();
        assert!(
            ids_seen_by(&server, lead).await.contains(&id),
            "{profile}: {lead} must see it at once"
        );
        assert!(
            !ids_seen_by(&server, not_lead).await.contains(&id),
            "{profile}: {not_lead} must not"
        );
        let (_, full) = server
            .login(lead)
            .await
            .get_json(&format!("/api/v1/concerns/{id}"))
            .await;
        let lead_id = server.login(lead).await.get_json("/api/v1/me").await.1["id"].as_i64();
        assert_eq!(
            full["assignee_id"].as_i64(),
            lead_id,
            "{profile}: assigned to the first point of contact"
        );
        assert_eq!(full["route"], "safeguarding");
    }
}

both_backends!(
    a_teachers_concern_about_a_pupil_reaches_the_first_point_of_contact,
    first_contact_queue
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_about_a_teacher_is_seen_by_the_head_only_and_the_reporter_sees_status_only() {
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "holt").await;
        let reporter = server.login("teacher2").await;
        let (status, body) = reporter
            .report(
                &["teacher1"],
                "conduct.privacy",
                "teacher1 shared pupils' photos on a personal account",
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_i64().unwrap();
        assert_eq!(status_of(&server, "head", id).await, 200);
        assert_eq!(status_of(&server, "dsl", id).await, 404);
        assert_eq!(status_of(&server, "teacher1", id).await, 404);
        assert_eq!(status_of(&server, "deputy", id).await, 404);
        assert!(!ids_seen_by(&server, "dsl").await.contains(&id));
        assert!(!ids_seen_by(&server, "teacher1").await.contains(&id));
        // The head records a confidential note; the reporter sees the status but not the note.
        let head = server.login("head").await;
        let res = head
            .post_json(
                &format!("/api/v1/concerns/{id}/actions"),
                &json!({"kind": "note", "text": "Spoke to HR; suspension considered"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let (status, mine) = reporter.get_json(&format!("/api/v1/concerns/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(mine["status"], "new");
        assert!(mine.get("timeline").is_none(), "{mine}");
        assert!(!mine.to_string().contains("suspension"), "{mine}");
        // The reporter cannot act on it either.
        let res = reporter
            .post_json(
                &format!("/api/v1/concerns/{id}/close"),
                &json!({"outcome": "x"}),
            )
            .await;
        assert_eq!(res.status(), 403);
        // Every view is in the audit trail.
        let store = server.store().await;
        let trail = store.audit_of("concern", &id.to_string()).await.unwrap();
        let views = trail
            .iter()
            .filter(|e| e.action == "concern.viewed")
            .count();
        assert!(views >= 2, "views logged: {views}");
        store.close().await;
    }
}

async fn about_the_head(backend: Backend, profile: &str, lado: bool) {
    let server = Server::start(BIN, backend, profile).await;
    let (status, body) = server
        .login("teacher3")
        .await
        .report(
            &["head"],
            "conduct.aggression",
            "The head shouted at a pupil in an online lesson",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(status_of(&server, "chair", id).await, 200);
    assert_eq!(status_of(&server, "head", id).await, 404);
    assert_eq!(status_of(&server, "dsl", id).await, 404);
    assert_eq!(status_of(&server, "governor1", id).await, 404);
    let chair = server.login("chair").await;
    let (_, full) = chair.get_json(&format!("/api/v1/concerns/{id}")).await;
    assert_eq!(full["lado_required"], lado);
    let close = |outcome: &'static str| {
        let chair = chair.clone();
        async move {
            chair
                .post_json(
                    &format!("/api/v1/concerns/{id}/close"),
                    &json!({"outcome": outcome}),
                )
                .await
        }
    };
    if lado {
        let res = close("Resolved").await;
        assert_eq!(res.status(), 400);
        let msg: serde_json::Value = res.json().await.unwrap();
        assert!(msg["error"].as_str().unwrap().contains("LADO"), "{msg}");
        let res = chair
            .post_json(
                &format!("/api/v1/concerns/{id}/actions"),
                &json!({"kind": "referral", "agency": "lado", "reference": "LADO-2026-0042"}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!(close("LADO advised: no further action").await.status(), 204);
    let (_, full) = chair.get_json(&format!("/api/v1/concerns/{id}")).await;
    assert_eq!(full["status"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coleridge_needs_the_lado_step_before_closing_a_concern_about_the_head() {
    for backend in BACKENDS {
        about_the_head(backend, "coleridge", true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holt_sends_a_concern_about_the_head_to_the_chair_without_a_lado_step() {
    for backend in BACKENDS {
        about_the_head(backend, "holt", false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_timeline_through_the_api_then_the_pupils_chronology() {
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "holt").await;
        let (_, body) = server
            .login("teacher1")
            .await
            .report(
                &["pupil11", "pupil12"],
                "conduct.sexting",
                "Image shared in Year 6",
            )
            .await;
        // Holt does not list sexting: a clear 400.
        assert!(
            body["error"].as_str().unwrap().contains("category"),
            "{body}"
        );
        let (status, body) = server
            .login("teacher1")
            .await
            .report(
                &["pupil11", "pupil12"],
                "conduct.privacy",
                "Image shared in Year 6",
            )
            .await;
        assert_eq!(status, 201);
        let id = body["id"].as_i64().unwrap();
        let dsl = server.login("dsl").await;
        let path = |p: &str| format!("/api/v1/concerns/{id}/{p}");
        assert_eq!(
            dsl.post_json(
                &path("triage"),
                &json!({"severity": "high", "assignee": "deputy"})
            )
            .await
            .status(),
            204
        );
        for body in [
            json!({"kind": "parents_informed", "who": "parent6 (mother)", "when": "2026-11-23 15:30", "how": "phone"}),
            json!({"kind": "sanction", "sanction": "loss_of_access", "text": "Two weeks"}),
            json!({"kind": "police", "text": "Advice sought from the schools officer", "reference": "CAD 1234"}),
            json!({"kind": "referral", "agency": "ceop", "reference": "CEOP-99"}),
            json!({"kind": "note", "text": "Correction: it was Year 5", "corrects": 1}),
        ] {
            let res = dsl.post_json(&path("actions"), &body).await;
            let status = res.status().as_u16();
            // Entry 1 belongs to a demo concern, not this one: a correction must point at this timeline.
            if body.get("corrects").is_some() {
                assert_eq!(status, 400);
            } else {
                assert_eq!(status, 201, "{body}");
            }
        }
        assert_eq!(
            dsl.post_json(&path("close"), &json!({"outcome": ""}))
                .await
                .status(),
            400
        );
        assert_eq!(
            dsl.post_json(
                &path("close"),
                &json!({"outcome": "Images deleted; pupils supported"})
            )
            .await
            .status(),
            204
        );
        assert_eq!(
            dsl.post_json(&path("reopen"), &json!({"reason": "Image seen again"}))
                .await
                .status(),
            204
        );
        let (_, full) = dsl.get_json(&format!("/api/v1/concerns/{id}")).await;
        let kinds: Vec<&str> = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "reported",
                "triaged",
                "parents_informed",
                "sanction",
                "police",
                "referral",
                "closed",
                "reopened"
            ]
        );
        assert_eq!(full["severity"], "high");
        assert_eq!(full["status"], "in_progress");
        // The chronology page of pupil11 lists it, for the DSL only.
        let pupils = dsl.get_json("/api/v1/people").await.1;
        let pupil11 = pupils["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["username"] == "pupil11")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let res = dsl.get(&format!("/pupils/{pupil11}/chronology")).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("Image shared in Year 6") && html.contains("Referral made"),
            "{html}"
        );
        assert_eq!(
            server
                .login("teacher1")
                .await
                .get(&format!("/pupils/{pupil11}/chronology"))
                .await
                .status(),
            403
        );
        let (ok, out) = server.audit_verify();
        assert!(ok, "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coleridge_staff_must_change_a_password_older_than_90_days() {
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "coleridge").await;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&server.db.url).await.unwrap();
        for who in ["teacher2", "pupil2"] {
            sqlx::query("UPDATE accounts SET password_changed_at = '2020-01-01T00:00:00.000Z' WHERE person_id = (SELECT id FROM people WHERE username = $1)")
                .bind(who)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        let teacher = server.login("teacher2").await;
        let res = teacher.get("/concerns").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/account?expired=1");
        let (status, body) = teacher
            .report(&["pupil3"], "contact.online_bullying", "x")
            .await;
        assert_eq!(status, 403);
        assert!(
            body["error"].as_str().unwrap().contains("expired"),
            "{body}"
        );
        assert!(teacher.get_text("/account").await.contains("90 days"));
        // Pupils are not covered by the staff rotation rule.
        assert_eq!(
            server
                .login("pupil2")
                .await
                .get("/concerns/new")
                .await
                .status(),
            200
        );
        let res = teacher
            .post_form(
                "/account/password",
                &[
                    ("current", testkit::DEMO_PASSWORD),
                    ("new", "a brand new passphrase"),
                    ("confirm", "a brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/login?changed=1");
        // The old session ended; the new password works and the block is gone.
        assert_eq!(teacher.get("/api/v1/me").await.status(), 401);
        let mut again = server.client();
        assert_eq!(again.login("teacher2", "a brand new passphrase").await, 200);
        assert_eq!(again.get("/concerns").await.status(), 200);
        // Holt has no rotation rule: the same old password is fine there.
    }
}

/// A concern naming both the Headteacher and the Chair used to go to the Chair alone, who as a
/// subject could not see it: it reached nobody. It now reaches the profile's fallback.
async fn about_the_head_and_the_chair(backend: Backend, profile: &str) {
    let server = Server::start(BIN, backend, profile).await;
    let (status, body) = server
        .login("teacher3")
        .await
        .report(
            &["head", "chair"],
            "conduct.aggression",
            "The head and the chair shouted at a pupil in an online lesson",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(status_of(&server, "governor1", id).await, 200);
    for nobody in ["head", "chair", "dsl"] {
        assert_eq!(status_of(&server, nobody, id).await, 404, "{nobody}");
    }
    let (_, full) = server
        .login("governor1")
        .await
        .get_json(&format!("/api/v1/concerns/{id}"))
        .await;
    assert_eq!(full["lado_required"], true, "{full}");
    assert!(ids_seen_by(&server, "governor1").await.contains(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_about_the_head_and_the_chair_reaches_the_fallback_not_nobody() {
    for backend in BACKENDS {
        for profile in ["holt", "coleridge"] {
            about_the_head_and_the_chair(backend, profile).await;
        }
    }
}

/// Without a usable fallback such a concern is refused with the reason, and nothing is filed.
async fn refused_without_a_fallback(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::seed_profile_text("holt").replace(
        "[concerns.fallback]\nroute_to = [\"governor\"]\nlado_required = true\n",
        "",
    );
    assert!(!text.contains("[concerns.fallback]"));
    let path = dir.path().join("holt.toml");
    std::fs::write(&path, text).unwrap();
    let server = Server::start_on(
        BIN,
        testkit::TestDb::new(backend).await,
        &path.to_string_lossy(),
    );
    let store = server.store().await;
    let before = store.audit_head().await.unwrap();
    let seen_before = [
        ids_seen_by(&server, "teacher3").await,
        ids_seen_by(&server, "governor1").await,
    ];
    let teacher = server.login("teacher3").await;
    let after_login = store.audit_head().await.unwrap();
    assert!(after_login.count > before.count);
    let (status, body) = teacher
        .report(
            &["head", "chair"],
            "conduct.aggression",
            "The head and the chair shouted at a pupil in an online lesson",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("concerns.fallback")
            && error.contains("Chair of Governors")
            && error.contains("LADO"),
        "{body}"
    );
    // Nothing half-written: no concern, no audit row.
    assert_eq!(store.audit_head().await.unwrap(), after_login);
    let seen_after = [
        ids_seen_by(&server, "teacher3").await,
        ids_seen_by(&server, "governor1").await,
    ];
    assert_eq!(seen_after, seen_before);
    // A concern about the head alone still goes to the chair.
    let (status, body) = teacher
        .report(&["head"], "conduct.aggression", "The head shouted")
        .await;
    assert_eq!(status, 201, "{body}");
    store.close().await;
}

both_backends!(
    a_concern_about_the_head_and_the_chair_is_refused_with_the_reason_without_a_fallback,
    refused_without_a_fallback
);

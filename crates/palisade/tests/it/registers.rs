//! The data processors register through the real binary: Coleridge's profile keeps one
//! (`[registers] data_processors = true`), for its Headteacher and data manager only; Holt's
//! does not, and there it does not exist (the role x route matrix checks Holt's 404s).

use crate::BIN;
use serde_json::{Value, json};
use testkit::{Backend, Server};

fn arbor() -> Value {
    json!({"name": "Arbor MIS", "purpose": "Management information system",
           "data_shared": "Names, attendance, contacts", "whose_data": ["pupils", "parents"],
           "agreement_on": "2024-09-01", "renewal_on": "2027-08-31", "transfer": "S2S",
           "stored_where": "UK", "dpia_done": true, "review_on": "2026-09-01"})
}

async fn coleridge_keeps_a_register_for_its_head_and_data_manager(backend: Backend) {
    let server = Server::start(BIN, backend, "coleridge").await;
    let data = server.login("data").await;
    let res = data.post_json("/api/v1/data-processors", &arbor()).await;
    assert_eq!(res.status(), 201);
    let (status, body) = data.get_json("/api/v1/data-processors").await;
    assert_eq!(status, 200, "{body}");
    let listed = body["processors"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["whose_data"], "pupils,parents");
    assert_eq!(listed[0]["dpia_done"], true);
    // The form: a processor with no renewal date, and no DPIA.
    let form = data
        .post_form(
            "/registers/processors",
            &[
                ("name", "Accident Book Online"),
                ("purpose", "Recording accidents"),
                ("data_shared", "Names, injuries"),
                ("staff", "on"),
                ("pupils", "on"),
                ("agreement_on", "2025-01-10"),
                ("renewal_on", ""),
                ("transfer", "HTTPS upload"),
                ("stored_where", "EU"),
                ("review_on", "2026-01-10"),
            ],
        )
        .await;
    assert_eq!(form.status(), 303);
    let page = data.get_text("/registers/processors").await;
    assert!(
        page.contains("Accident Book Online") && page.contains("not done"),
        "{page}"
    );
    let csv = data.get("/registers/processors.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "name,purpose,data_shared,whose_data,agreement_on,renewal_on,transfer,stored_where,dpia_done,review_on"
        )
    );
    assert_eq!(
        lines.next(),
        Some(
            "Accident Book Online,Recording accidents,\"Names, injuries\",\"pupils,staff\",2025-01-10,,HTTPS upload,EU,no,2026-01-10"
        )
    );
    assert_eq!(lines.count(), 1);
    // Bad input: 400 naming the field, and nothing stored.
    for (change, field) in [
        (json!({"whose_data": ["cats"]}), "whose_data"),
        (json!({"renewal_on": "2024-01-01"}), "renewal_on"),
        (json!({"agreement_on": "1 Sept"}), "agreement_on"),
        (json!({"review_on": "2020-01-01"}), "review_on"),
        (json!({"name": ""}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let mut body = arbor();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = data.post_json("/api/v1/data-processors", &body).await;
        assert_eq!(res.status(), 400, "{change}");
        let text = res.text().await.unwrap();
        assert!(text.contains(field), "{change}: {text}");
    }
    let res = data
        .post_form("/registers/processors", &[("name", "Half a form")])
        .await;
    assert_eq!(res.status(), 400);
    let (_, body) = data.get_json("/api/v1/data-processors").await;
    assert_eq!(body["processors"].as_array().unwrap().len(), 2, "{body}");
    // Every role: the Headteacher and the data manager; nobody else, a pupil and a parent
    // least of all.
    for (who, want) in [
        ("head", 200),
        ("data", 200),
        ("dsl", 403),
        ("netman", 403),
        ("teacher1", 403),
        ("chair", 403),
        ("pupil1", 403),
        ("parent1", 403),
    ] {
        let c = server.login(who).await;
        for path in [
            "/registers/processors",
            "/registers/processors.csv",
            "/api/v1/data-processors",
        ] {
            assert_eq!(c.get(path).await.status(), want, "{who} {path}");
        }
        let add = c.post_json("/api/v1/data-processors", &arbor()).await;
        assert_eq!(add.status(), if want == 200 { 201 } else { 403 }, "{who}");
    }
    let menu = server.login("head").await.get_text("/").await;
    assert!(menu.contains("/registers/processors"), "{menu}");
    let menu = server.login("teacher1").await.get_text("/").await;
    assert!(!menu.contains("/registers/processors"), "{menu}");
    // Each addition is in the audit trail, which still verifies.
    let (ok, text) = server.audit_verify();
    assert!(ok, "{text}");
}

both_backends!(
    coleridge_keeps_a_data_processors_register,
    coleridge_keeps_a_register_for_its_head_and_data_manager
);

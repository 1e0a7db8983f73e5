//! Bad input of every kind gets a clear 4xx naming the problem, and stores nothing.

use crate::BIN;
use serde_json::{Value, json};
use testkit::{Backend, Client, Server};

async fn counts(server: &Server) -> (usize, usize, i64) {
    let dsl = server.login("dsl").await;
    let t = server.login("teacher1").await;
    let n = |v: Value| v["concerns"].as_array().map(Vec::len).unwrap_or(0);
    let store = server.store().await;
    let attachments = {
        // Attachments of every concern the DSL can see.
        let mut total = 0i64;
        for c in dsl.get_json("/api/v1/concerns").await.1["concerns"]
            .as_array()
            .unwrap()
        {
            total += store
                .attachments(c["id"].as_i64().unwrap())
                .await
                .unwrap()
                .len() as i64;
        }
        total
    };
    store.close().await;
    (
        n(dsl.get_json("/api/v1/concerns").await.1),
        n(t.get_json("/api/v1/concerns").await.1),
        attachments,
    )
}

async fn post_raw(c: &Client, body: &str) -> (u16, String) {
    let res = c
        .request(reqwest::Method::POST, "/api/v1/concerns")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The same session on a connection of its own.
fn own_connection(c: &Client) -> Client {
    let mut fresh = Client::new(&c.base);
    fresh.cookie = c.cookie.clone();
    fresh.csrf = c.csrf.clone();
    fresh
}

fn error_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("not a JSON error: {body}"))
}

async fn bad_input_stores_nothing(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let before = counts(&server).await;
    let t = server.login("teacher1").await;
    let good = json!({"subjects": ["pupil3"], "category": "contact.online_bullying", "summary": "s", "details": "d"});
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"subjects\": [\"pupil3\"".into(), 400, "JSON"),
        ("not json at all".into(), 400, "JSON"),
        (json!({"subjects": "pupil3", "category": "contact.online_bullying", "summary": "s", "details": "d"}).to_string(), 400, "subjects"),
        (json!({"subjects": ["pupil3"], "category": "contact.online_bullying", "summary": "s", "details": "d", "admin": true}).to_string(), 400, "admin"),
        (json!({"subjects": ["pupil3"], "category": "contact.nope", "summary": "s", "details": "d"}).to_string(), 400, "category"),
        (json!({"subjects": ["pupil3"], "category": "contact.online_bullying", "summary": "x".repeat(201), "details": "d"}).to_string(), 400, "summary"),
        (json!({"subjects": ["pupil3"], "category": "contact.online_bullying", "summary": "s", "details": "x".repeat(20_001)}).to_string(), 400, "details"),
        (json!({"subjects": ["nobody99"], "category": "contact.online_bullying", "summary": "s", "details": "d"}).to_string(), 400, "nobody99"),
        (json!({"subjects": [], "category": "contact.online_bullying", "summary": "s", "details": "d"}).to_string(), 400, "subjects"),
        (json!({"subjects": ["pupil3"], "category": "contact.online_bullying", "summary": "   ", "details": "d"}).to_string(), 400, "summary"),
    ];
    for (body, want, mentions) in cases {
        let (status, text) = post_raw(&t, &body).await;
        assert_eq!(status, want, "{body:.80} -> {text}");
        assert!(error_of(&text).contains(mentions), "{body:.80} -> {text}");
    }
    // A body far over the limit is refused before it is read whole.
    let huge = format!("{{\"details\": \"{}\"}}", "x".repeat(12 * 1024 * 1024));
    // Its own connection: the server stops reading a refused body and closes the connection.
    let (status, _) = post_raw(&own_connection(&t), &huge).await;
    assert!(status == 413 || status == 400, "{status}");
    // CSRF: missing and wrong tokens.
    let mut no_token = t.clone();
    no_token.csrf = None;
    let res = no_token.post_json("/api/v1/concerns", &good).await;
    assert_eq!(res.status(), 403);
    assert!(error_of(&res.text().await.unwrap()).contains("security token"));
    let mut wrong = t.clone();
    wrong.csrf = Some("0".repeat(64));
    assert_eq!(
        wrong.post_json("/api/v1/concerns", &good).await.status(),
        403
    );
    // Uploads: over the size limit, and bytes that are not what the type says.
    let form = |bytes: Vec<u8>, name: &str, mime: &str| {
        reqwest::multipart::Form::new()
            .text("subjects", "pupil3")
            .text("category", "contact.online_bullying")
            .text("summary", "With a file")
            .text("details", "See the file")
            .part(
                "attachment",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(name.to_string())
                    .mime_str(mime)
                    .unwrap(),
            )
    };
    let big = vec![0x89u8; 11 * 1024 * 1024];
    let res = own_connection(&t)
        .request(reqwest::Method::POST, "/concerns")
        .multipart(form(big, "big.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 413 || res.status() == 400,
        "{}",
        res.status()
    );
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec();
    let res = t
        .request(reqwest::Method::POST, "/concerns")
        .multipart(form(exe, "photo.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("photo.png"));
    let res = t
        .request(reqwest::Method::POST, "/concerns")
        .multipart(form(
            b"%PDF-1.4".to_vec(),
            "x.exe",
            "application/x-msdownload",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Ids that are not numbers or not there.
    assert_eq!(t.get("/api/v1/concerns/abc").await.status(), 400);
    assert_eq!(t.get("/api/v1/concerns/999999").await.status(), 404);
    assert_eq!(
        t.post_json(
            "/api/v1/concerns/999999/actions",
            &json!({"kind": "note", "text": "x"})
        )
        .await
        .status(),
        404
    );
    let dsl = server.login("dsl").await;
    let res = dsl
        .post_json(
            "/api/v1/concerns/1/actions",
            &json!({"kind": "sanction", "sanction": "birching"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = dsl
        .post_json("/api/v1/concerns/1/actions", &json!({"kind": "teleport"}))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        counts(&server).await,
        before,
        "bad input must store nothing"
    );
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}

both_backends!(
    bad_input_gets_a_clear_4xx_and_stores_nothing,
    bad_input_stores_nothing
);

//! `palisade lists refresh`: remote lists are fetched once, then only when changed (ETag), and a
//! failed download keeps the last good copy.

use crate::BIN;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_lists_are_fetched_when_changed_and_kept_when_the_server_fails() {
    // 0 = serve v1 with an ETag, 1 = fail.
    let mode = Arc::new(AtomicU32::new(0));
    let full_bodies = Arc::new(AtomicU32::new(0));
    let (m, f) = (mode.clone(), full_bodies.clone());
    let app = axum::Router::new().route(
        "/adult.txt",
        get(move |headers: HeaderMap| {
            let (m, f) = (m.clone(), f.clone());
            async move {
                if m.load(Ordering::SeqCst) == 1 {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        HeaderMap::new(),
                        String::new(),
                    );
                }
                let mut h = HeaderMap::new();
                h.insert(header::ETAG, "\"v1\"".parse().unwrap());
                if headers
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|v| v == "\"v1\"")
                {
                    return (StatusCode::NOT_MODIFIED, h, String::new());
                }
                f.fetch_add(1, Ordering::SeqCst);
                (StatusCode::OK, h, "remote-adult.example\n".to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let holt = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/holt.toml"
    ))
    .unwrap();
    let profile = holt.replace("path = \"../lists/demo/", &format!("path = \"{}/lists/demo/", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))).replace(
        "[[filtering.groups]]\nname = \"ks1\"",
        &format!("[[filtering.lists]]\nname = \"remote-adult\"\nurl = \"http://{addr}/adult.txt\"\nformat = \"domains\"\ncategory = \"adult\"\n\n[[filtering.groups]]\nname = \"ks1\""),
    );
    let path = dir.path().join("school.toml");
    std::fs::write(&path, profile).unwrap();
    let refresh = || {
        let out = Command::new(BIN)
            .args(["lists", "refresh", "--profile", path.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let check = || {
        let out = crate::check_json(path.to_str().unwrap(), "ks1", "www.remote-adult.example");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Before the first download the list is simply not in force (and the rest still is).
    assert!(check().contains("\"allow\""), "{}", check());
    let (ok, out) = refresh();
    assert!(ok && out.contains("remote-adult: updated"), "{out}");
    assert!(check().contains("\"block\""), "{}", check());
    let (ok, out) = refresh();
    assert!(ok && out.contains("not modified"), "{out}");
    assert_eq!(full_bodies.load(Ordering::SeqCst), 1);
    mode.store(1, Ordering::SeqCst);
    let (ok, out) = refresh();
    assert!(
        ok && out.contains("FAILED") && out.contains("keeping the last good copy"),
        "{out}"
    );
    assert!(
        check().contains("\"block\""),
        "the last good copy stays in force"
    );
}

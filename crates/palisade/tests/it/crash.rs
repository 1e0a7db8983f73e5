//! Concerns sent while the server is killed with SIGKILL: after a restart every concern that got
//! a 201 is there, whole, and the audit chain verifies.

use crate::BIN;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{Backend, Server};

async fn concerns_survive_sigkill(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let acknowledged: Arc<Mutex<Vec<(i64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let client = server.login(&format!("teacher{}", worker + 1)).await;
        let acked = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            // Bounded: at most 500 reports per worker and ten seconds.
            for i in 0..500 {
                if Instant::now() > deadline {
                    break;
                }
                let summary = format!("crash test {worker}-{i}");
                let res = client
                    .post_json(
                        "/api/v1/concerns",
                        &serde_json::json!({"subjects": ["pupil5"], "category": "contact.online_bullying", "summary": summary, "details": "sent during a crash test"}),
                    )
                    .await;
                match res.status().as_u16() {
                    201 => {
                        if let Ok(v) = res.json::<serde_json::Value>().await
                            && let Some(id) = v["id"].as_i64()
                        {
                            acked.lock().unwrap().push((id, summary));
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let server = server.restart_after_kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() >= 5,
        "too few concerns were acknowledged before the kill: {}",
        acked.len()
    );
    let dsl = server.login("dsl").await;
    for (id, summary) in &acked {
        let (status, body) = dsl.get_json(&format!("/api/v1/concerns/{id}")).await;
        assert_eq!(
            status, 200,
            "concern {id} acknowledged with 201 is gone after SIGKILL"
        );
        assert_eq!(body["summary"], summary.as_str());
        assert_eq!(body["timeline"][0]["kind"], "reported");
    }
    let (ok, out) = server.audit_verify();
    assert!(ok, "audit chain after SIGKILL: {out}");
}

both_backends!(
    every_acknowledged_concern_survives_sigkill,
    concerns_survive_sigkill
);

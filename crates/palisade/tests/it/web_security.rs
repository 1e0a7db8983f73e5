//! Issue 15, the web sign-in and web app: each test is named after what a probe of the running
//! demo broke, and runs against the real binary (on both backends where a database is involved).

use crate::BIN;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use testkit::{BACKENDS, DEMO_PASSWORD, Server};

/// A client without redirects that sends from `source` (any 127.0.0.0/8 address reaches a
/// server on 127.0.0.1), so a test can be several addresses at once.
fn client_from(source: Ipv4Addr) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(source))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A value in kB from the server's `/proc/PID/status` (`VmHWM` is the peak RSS so far).
fn status_kib(server: &Server, key: &str) -> u64 {
    let pid = server.pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// 64 parallel anonymous sign-ins took the demo from 56 MiB to 1,177 MiB (Argon2 takes 19 MiB
/// per check, and all 64 ran at once). Now at most a few run, a bounded queue waits and the
/// rest get 429 with Retry-After; the peak stays under 200 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_parallel_sign_ins_stay_under_200_mib() {
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "holt").await;
        let before = status_kib(&server, "VmRSS:");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64u8 {
            // Sixteen source addresses, so that the per-address throttle does not answer for
            // Argon2: this is the memory of the checks themselves.
            let http = client_from(Ipv4Addr::new(127, 0, 1, 1 + i % 16));
            let url = server.url.clone();
            tasks.spawn(async move {
                let (user, password) = match i % 4 {
                    0 => ("teacher1", DEMO_PASSWORD),
                    1 => ("teacher2", "wrong password"),
                    2 => ("nobody-at-all", "whatever"),
                    _ => ("netman", DEMO_PASSWORD),
                };
                let res = if i % 2 == 0 {
                    http.post(format!("{url}/api/v1/login"))
                        .json(&serde_json::json!({"username": user, "password": password}))
                        .send()
                        .await
                } else {
                    http.post(format!("{url}/login"))
                        .form(&[("username", user), ("password", password)])
                        .send()
                        .await
                };
                let res = res.unwrap();
                let status = res.status().as_u16();
                let retry_after = res.headers().get("retry-after").is_some();
                // A locked account's 429 is the lockout, not the load.
                let locked = res.text().await.unwrap_or_default().contains("locked");
                (status, retry_after || locked)
            });
        }
        let mut statuses = Vec::new();
        let all = tokio::time::timeout(Duration::from_secs(90), async {
            while let Some(r) = tasks.join_next().await {
                statuses.push(r.unwrap());
            }
        })
        .await;
        assert!(
            all.is_ok(),
            "sign-ins still hanging after 90 s: {statuses:?}"
        );
        assert_eq!(statuses.len(), 64);
        for (status, retry_after) in &statuses {
            assert!(
                [200, 303, 401, 429].contains(status),
                "unexpected status {status}: {statuses:?}"
            );
            if *status == 429 {
                assert!(retry_after, "429 without Retry-After: {statuses:?}");
            }
        }
        assert!(
            statuses.iter().any(|(s, _)| *s == 200 || *s == 303),
            "no sign-in got through: {statuses:?}"
        );
        let peak = status_kib(&server, "VmHWM:");
        let after = status_kib(&server, "VmRSS:");
        println!(
            "{backend:?}: RSS before {} MiB, peak {} MiB, after {} MiB; statuses {:?}",
            before / 1024,
            peak / 1024,
            after / 1024,
            statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>()
        );
        assert!(peak < 200 * 1024, "peak RSS {} MiB", peak / 1024);
        // The server still answers.
        assert_eq!(server.client().login("teacher1", DEMO_PASSWORD).await, 200);
    }
}

/// `/login?next=%2F%09%2F127.0.0.1%3A18999%2Fphish` sent the browser off-site after sign-in
/// (browsers drop the tab and read `//host`), and a newline in `next` gave a 500 after the
/// session row was made. Every such spelling now lands on `/`; a plain local path is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_never_redirects_off_site_whatever_next_says() {
    let bad = [
        "%2F%09%2F127.0.0.1%3A18999%2Fphish",
        "%2F%0A%2Fphish",
        "%2F%0D%0ALocation%3A%20https%3A%2F%2Fphish",
        "%2F%2Fphish",
        "//phish",
        "%2F%2F%2Fphish",
        "%2F%5Cphish",
        "/%5C/phish",
        "%2Fok%5C..%5Cphish",
        "https%3A%2F%2Fphish",
        "https://phish",
        "%252F%252Fphish",
        "%2F%7F%2Fphish",
        "%2F%C2%85%2Fphish",
    ];
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "holt").await;
        let http = client_from(Ipv4Addr::LOCALHOST);
        for next in bad.iter().chain(["%2Fconcerns%3Fstatus%3Dopen"].iter()) {
            let res = http
                .post(format!("{}/login", server.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "username=teacher1&password={DEMO_PASSWORD}&next={next}"
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303, "{backend:?} next={next}");
            let location = res.headers()["location"].to_str().unwrap().to_string();
            if next.contains("phish") {
                assert_eq!(location, "/", "{backend:?} next={next}");
            } else {
                assert_eq!(location, "/concerns?status=open");
            }
            // The sign-in page does not offer the address either.
            let page = http
                .get(format!("{}/login?next={next}", server.url))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), 200, "{backend:?} GET next={next}");
            let text = page.text().await.unwrap();
            assert!(!text.contains("phish"), "{backend:?} next={next}: {text}");
        }
    }
}

//! Issue 15, the proxy's part: what a probe of the running demo got through the web proxy of
//! the real binary, asked with raw requests from each group's loopback address.

use crate::BIN;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use testkit::http::Origin;
use testkit::{Backend, Server, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

/// Holt's groups by loopback address, and an address no subnet names (the default group).
const FROM: [&str; 5] = [
    "127.0.0.11",
    "127.0.0.12",
    "127.0.0.13",
    "127.0.0.14",
    "127.0.0.9",
];

/// A loopback listener (on 127.0.0.1, and on [::1] at the same port when it can) that counts
/// the connections it is given: the proxy must give it none.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

async fn listener() -> Listener {
    let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = v4.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let mut all = vec![v4];
    all.extend(TcpListener::bind(("::1", port)).await.ok());
    for l in all {
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nreached")
                    .await;
            }
        });
    }
    Listener { port, accepted }
}

/// Sends `request` to the proxy from `from` and reads the answer (at most 10 s): the status
/// code and the whole text.
pub(crate) async fn ask(proxy: SocketAddr, from: &str, request: &str) -> (u16, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    let mut s = socket.connect(proxy).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(authority: &str, path: &str) -> String {
    format!(
        "GET http://{authority}{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
}

fn connect(authority: &str) -> String {
    format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
}

async fn proxy_reaches_no_loopback_address_or_port(backend: Backend) {
    let target = listener().await;
    // The shipped profile as it is: nothing on loopback is allowed.
    let db = TestDb::new(backend).await;
    let server = Server::start_with(BIN, db, "holt", &["--no-dns"]);
    let proxy = server.proxy[0];
    let web_port = server
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap();
    let p = target.port;
    let mut requests = Vec::new();
    for host in [
        "127.0.0.1",
        "2130706433",
        "127.1",
        "0.0.0.0",
        "localhost",
        "[::1]",
    ] {
        requests.push(get(&format!("{host}:{p}"), "/"));
    }
    // The web app's loopback-only metrics, and its pages.
    requests.push(get(&format!("127.0.0.1:{web_port}"), "/metrics"));
    requests.push(get(&format!("localhost:{web_port}"), "/metrics"));
    for authority in [
        format!("localhost:{p}"),
        format!("127.0.0.1:{p}"),
        format!("[::1]:{p}"),
        format!("localhost:{web_port}"),
        format!("2130706433:{web_port}"),
    ] {
        requests.push(connect(&authority));
    }
    for from in FROM {
        for request in &requests {
            let (status, text) = ask(proxy, from, request).await;
            let line = request.lines().next().unwrap_or_default();
            assert_eq!(status, 403, "{line} from {from}: {text}");
            assert!(!text.contains("reached"), "{line} from {from}: {text}");
            assert!(!text.contains("palisade_"), "{line} from {from}: {text}");
        }
    }
    assert_eq!(
        target.accepted.load(Ordering::SeqCst),
        0,
        "the loopback listener was reached"
    );
    // A plain-HTTP refusal is the block page naming the reason; a tunnel's says it in text.
    let (_, page) = ask(proxy, "127.0.0.13", &get(&format!("localhost:{p}"), "/")).await;
    assert!(page.contains("This page is blocked"), "{page}");
    assert!(page.contains("<dd>local-network</dd>"), "{page}");
    assert!(page.contains("a loopback address"), "{page}");
    let (_, text) = ask(proxy, "127.0.0.13", &connect(&format!("127.0.0.1:{p}"))).await;
    assert!(
        text.contains("local-network") && text.contains("loopback"),
        "{text}"
    );
    // (A loopback origin the profile allows explicitly is still reached: see
    // `proxy::holt_pupils_get_the_block_page_and_allowed_pages_arrive_intact`.)
    // Refusals are in the access log like other blocks.
    let dsl = server.login("dsl").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = dsl
            .get_text("/network/queries?category=local-network")
            .await;
        if log.contains("loopback address") && log.contains("127.0.0.12") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

both_backends!(
    proxy_reaches_no_loopback_address_or_port,
    proxy_reaches_no_loopback_address_or_port
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_host_header_no_longer_reaches_a_host_the_filter_never_saw() {
    let origin = Origin::start().await;
    let parent = origin.addr.to_string();
    let server = Server::start_with(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        "holt",
        &["--no-dns", "--proxy-parent", &parent],
    );
    let proxy = server.proxy[0];
    // A Key Stage 2 pupil (gaming blocked) names an allowed URL and a blocked Host.
    let request = "GET http://lessons.example/ HTTP/1.1\r\nHost: www.gaming-site.example\r\nConnection: close\r\n\r\n";
    let (status, text) = ask(proxy, "127.0.0.12", request).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("GET / host=lessons.example via=1.1 palisade"),
        "the origin must see the host that was filtered: {text}"
    );
    assert!(!text.contains("gaming-site"), "{text}");
    // The other way round: a blocked URL with an allowed Host is blocked.
    let request = "GET http://www.gaming-site.example/ HTTP/1.1\r\nHost: lessons.example\r\nConnection: close\r\n\r\n";
    let (status, text) = ask(proxy, "127.0.0.12", request).await;
    assert_eq!(status, 403, "{text}");
    assert_eq!(origin.requests(), 1);
}

/// The headers every page the proxy makes itself must carry.
fn assert_locked_down(what: &str, text: &str) {
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'none'; style-src 'unsafe-inline'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(head.contains(header), "{what} lacks {header}: {head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_block_page_and_the_proxys_other_pages_forbid_scripts_framing_and_sniffing() {
    let server = Server::start_with(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        "holt",
        &["--no-dns"],
    );
    let proxy = server.proxy[0];
    let (status, text) = ask(proxy, "127.0.0.12", &get("www.gaming-site.example", "/")).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("This page is blocked"), "{text}");
    assert_locked_down("the block page", &text);
    // A request that is not for the proxy, and a blocked tunnel.
    let (status, text) = ask(
        proxy,
        "127.0.0.13",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert_locked_down("the not-a-proxy-request page", &text);
    let (status, text) = ask(proxy, "127.0.0.12", &connect("www.gaming-site.example:443")).await;
    assert_eq!(status, 403, "{text}");
    assert_locked_down("a refused tunnel", &text);
}

/// Polls the proxy as `user` from a KS2 address until the answer is not `while_status` (the
/// AUP acceptance is looked up again every 2 s), at most 10 s.
async fn proxied_as(server: &Server, user: &str, while_status: u16) -> (u16, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got =
            crate::proxy::curl_as(server, "127.0.0.12", Some(user), "http://lessons.example/");
        if got.0 != while_status || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn proxy_sign_ins_end_when_the_account_changes(backend: Backend) {
    let origin = Origin::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Holt with proxy sign-in for KS2 devices and a 90-day rotation rule for staff passwords.
    let text = crate::seed_profile_text("holt");
    let text = text.replacen(
        "lockout_minutes = 15\n",
        "lockout_minutes = 15\nstaff_rotation_days = 90\n",
        1,
    );
    assert!(text.contains("staff_rotation_days = 90"));
    let path = dir.path().join("holt.toml");
    std::fs::write(
        &path,
        format!("{text}login_groups = [\"ks2\"]\nstaff_group = \"staff\"\n"),
    )
    .unwrap();
    let db = TestDb::new(backend).await;
    let parent = origin.addr.to_string();
    let server = Server::start_with(
        BIN,
        db,
        path.to_str().unwrap(),
        &["--no-dns", "--proxy-parent", &parent],
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.db.url).await.unwrap();
    sqlx::query("UPDATE accounts SET password_changed_at = '2020-01-01T00:00:00.000Z' WHERE person_id = (SELECT id FROM people WHERE username = $1)")
        .bind("teacher2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let pw = testkit::DEMO_PASSWORD;
    // Three users accept the AUP and browse through the proxy.
    for who in ["pupil2", "pupil3", "teacher1"] {
        let web = server.login(who).await;
        let res = web.post_form("/aup", &[("return_to", "")]).await;
        assert_eq!(res.status(), 303, "{who}");
        let (status, text) = proxied_as(&server, &format!("{who}:{pw}"), 302).await;
        assert_eq!(status, 200, "{who}: {text}");
    }
    let head = server.login("head").await;
    let people = head.get_json("/api/v1/people").await.1;
    let id = |name: &str| {
        people["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["username"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let ask = |user: String| {
        crate::proxy::curl_as(
            &server,
            "127.0.0.12",
            Some(&user),
            "http://lessons.example/",
        )
    };
    // A disabled account is refused at its very next request.
    let res = head
        .request(
            reqwest::Method::POST,
            &format!("/people/{}/account/disable", id("pupil2")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, text) = ask(format!("pupil2:{pw}"));
    assert_eq!(status, 407, "a disabled account still browses: {text}");
    // So is a person who has left.
    let res = head
        .request(
            reqwest::Method::POST,
            &format!("/people/{}/deactivate", id("pupil3")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, text) = ask(format!("pupil3:{pw}"));
    assert_eq!(status, 407, "a person who left still browses: {text}");
    // A changed password: the old one stops working at once, the new one works.
    let teacher = server.login("teacher1").await;
    let new = "a brand new passphrase";
    let res = teacher
        .post_form(
            "/account/password",
            &[("current", pw), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, text) = ask(format!("teacher1:{pw}"));
    assert_eq!(status, 407, "the old password still browses: {text}");
    let (status, text) = ask(format!("teacher1:{new}"));
    assert_eq!(status, 200, "{text}");
    // An expired staff password is refused with the reason.
    let (status, text) = ask(format!("teacher2:{pw}"));
    assert_eq!(status, 407, "{text}");
    assert!(text.contains("password has expired"), "{text}");
    assert_eq!(origin.requests(), 4);
}

both_backends!(
    proxy_sign_ins_end_when_the_account_changes,
    proxy_sign_ins_end_when_the_account_changes
);

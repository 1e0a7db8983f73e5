//! The web proxy of the real binary, asked with `curl -x` from each group's loopback address,
//! for both seed profiles; allowed pages come from a loopback origin.

use crate::BIN;
use std::process::Command;
use testkit::http::Origin;
use testkit::{Backend, Server, TestDb};

async fn start(profile: &str) -> Server {
    let db = TestDb::new(Backend::Sqlite).await;
    Server::start_with(BIN, db, profile, &["--no-dns"])
}

/// `curl -x PROXY URL` from `from`: (exit code, HTTP status, body, stderr).
fn curl(server: &Server, from: &str, url: &str) -> (i32, u16, String, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-S",
            "--max-time",
            "10",
            "--interface",
            from,
            "-x",
            &format!("http://{}", server.proxy[0]),
            "-w",
            "\n%{http_code}",
            url,
        ])
        .output()
        .expect("curl must be installed (scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.code().unwrap_or(-1),
        code.trim().parse().unwrap_or(0),
        body.to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holt_pupils_get_the_block_page_and_allowed_pages_arrive_intact() {
    let origin = Origin::start().await;
    // The loopback origin is reached only because the profile allows it explicitly.
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_copy(
        "holt",
        dir.path(),
        &format!("allow_destinations = [\"{}\"]", origin.addr),
    );
    let server = start(&profile).await;
    let (ks1, ks2, staff) = ("127.0.0.11", "127.0.0.12", "127.0.0.13");
    // Gaming is blocked for Key Stage 2: the block page names the category and the rule.
    let (_, status, body, _) = curl(&server, ks2, "http://sub.www.gaming-site.example/path");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This page is blocked"), "{body}");
    assert!(body.contains("<dd>gaming</dd>"), "{body}");
    assert!(body.contains("<dd>www.gaming-site.example</dd>"), "{body}");
    assert!(body.contains("(ks2)"), "{body}");
    assert!(
        body.contains(&format!("{}/review?url=", server.url)),
        "{body}"
    );
    // The mandatory lists block staff too, and say which list.
    let (_, status, body, _) = curl(&server, staff, "http://iwf-demo.example/");
    assert_eq!(status, 403);
    assert!(body.contains("<dd>iwf</dd>"), "{body}");
    // HTTPS to a blocked host fails at CONNECT with 403.
    let (code, _, _, err) = curl(&server, ks1, "https://www.gaming-site.example/");
    assert_ne!(code, 0);
    assert!(err.contains("403"), "{err}");
    // An allowed page arrives as the origin sent it.
    let url = format!("http://{}/lesson?unit=3", origin.addr);
    let (code, status, body, err) = curl(&server, staff, &url);
    assert_eq!((code, status), (0, 200), "{err}");
    assert_eq!(
        body,
        format!("GET /lesson?unit=3 host={} via=1.1 palisade\n", origin.addr)
    );
    assert_eq!(origin.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coleridge_blocks_social_networks_for_pupils_only() {
    let server = start("coleridge").await;
    let (pupils, staff) = ("127.0.0.12", "127.0.0.13");
    let (_, status, body, _) = curl(&server, pupils, "http://social-demo.example/");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<dd>social</dd>"), "{body}");
    // Staff are not blocked: the request goes on (and fails only because the name is fictional).
    let (_, status, body, _) = curl(&server, staff, "http://social-demo.example/");
    assert_ne!(status, 403, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pac_file_names_the_running_proxy() {
    let server = start("holt").await;
    let pac = server.client().get("/proxy.pac").await;
    assert_eq!(
        pac.headers()["content-type"],
        "application/x-ns-proxy-autoconfig"
    );
    let text = pac.text().await.unwrap();
    assert!(
        text.contains(&format!("return \"PROXY {}\";", server.proxy[0])),
        "{text}"
    );
    assert!(text.contains("function FindProxyForURL(url, host)"));
}

/// Polls `curl` until its status is `want` (the filter reloads in the background).
async fn eventually(server: &Server, from: &str, url: &str, want: u16) -> (u16, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, status, body, _) = curl(server, from, url);
        if status == want || std::time::Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_request_from_the_block_page_is_approved_into_the_allow_list() {
    let origin = Origin::start().await;
    let parent = origin.addr.to_string();
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start_with(BIN, db, "holt", &["--no-dns", "--proxy-parent", &parent]);
    let ks2 = "127.0.0.12";
    let page = "http://www.gaming-site.example/times-tables";
    let (_, status, body, _) = curl(&server, ks2, page);
    assert_eq!(status, 403);
    // The pupil follows the block page's link, signs in and says why.
    let pupil = server.login("pupil1").await;
    let link = format!(
        "/review?url={}&category=gaming",
        "http%3A%2F%2Fwww.gaming-site.example%2Ftimes-tables"
    );
    assert!(body.contains("/review?url=http%3A%2F%2Fwww.gaming-site.example%2Ftimes-tables"));
    let form = pupil.get_text(&link).await;
    assert!(form.contains(page), "{form}");
    let res = pupil
        .post_form(
            "/review",
            &[
                ("url", page),
                ("category", "gaming"),
                ("reason", "Our times-tables homework"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // A mandatory-listed site asked for too: approving it changes nothing, IWF still blocks.
    let res = pupil
        .post_form(
            "/review",
            &[("url", "http://iwf-demo.example/"), ("reason", "test")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // The network manager sees both, and approves them for Key Stage 2.
    let netman = server.login("netman").await;
    let queue = netman.get_text("/reviews").await;
    assert!(queue.contains("Our times-tables homework"), "{queue}");
    let ids: Vec<i64> = queue
        .split("/reviews/")
        .skip(1)
        .filter_map(|rest| rest.split('/').next()?.parse().ok())
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");
    for id in [ids[0], ids[ids.len() - 1]] {
        let res = netman
            .post_form(
                &format!("/reviews/{id}/approve"),
                &[("group", "ks2"), ("note", "Needed for Year 4 maths")],
            )
            .await;
        assert_eq!(res.status(), 303);
    }
    // The filter reloads: Key Stage 2 reaches the page, Key Stage 1 still does not.
    let (status, body) = eventually(&server, ks2, page, 200).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("GET /times-tables host=www.gaming-site.example"),
        "{body}"
    );
    let (_, status, _, _) = curl(&server, "127.0.0.11", page);
    assert_eq!(status, 403);
    let (_, status, body, _) = curl(&server, ks2, "http://iwf-demo.example/");
    assert_eq!(status, 403, "mandatory lists win over the allow-list");
    assert!(body.contains("<dd>iwf</dd>"));
    // The pupil sees the answer; the decision is in the audit trail with who and why.
    let mine = pupil.get_text("/review").await;
    assert!(
        mine.contains("approved") && mine.contains("Needed for Year 4 maths"),
        "{mine}"
    );
    let head = server.login("head").await;
    let audit = head.get_text("/audit").await;
    assert!(audit.contains("review.approved"), "{audit}");
}

/// A copy of a shipped profile in `dir`, its list paths made absolute, with `extra` appended to
/// its `[network.proxy]` section (the last section of both seed profiles).
pub(crate) fn profile_copy(name: &str, dir: &std::path::Path, extra: &str) -> String {
    let text = crate::seed_profile_text(name);
    assert!(
        text.trim_end().ends_with("listen = [\"127.0.0.1:3128\"]"),
        "[network.proxy] must stay the last section of {name}.toml"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("{text}{extra}\n")).unwrap();
    path.to_string_lossy().into_owned()
}

/// `serve` with the proxy only under `profile`, which must refuse to start; what it said.
fn proxy_refuses_to_start(profile: &str, db: &TestDb) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--profile", profile, "--listen", "127.0.0.1:0"])
        .args(["--no-dns", "--proxy-listen", "127.0.0.1:0"])
        .args(["--database-url", &db.url])
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A school CA key that others may read (restored from a backup, copied by hand) is refused at
/// start, naming the file and the fix; once it is the service user's alone, serve starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_key_others_may_read_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_copy("holt", dir.path(), "inspect_groups = [\"ks2\"]");
    crate::succeed(Command::new(BIN).args(["ca", "init", "--profile", &profile]));
    let key = dir.path().join("palisade-data/ca/ca.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let err = proxy_refuses_to_start(&profile, &db);
    assert!(
        err.contains("ca.key") && err.contains("mode 0644") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = Server::start_with(BIN, db, &profile, &["--no-dns"]);
    assert_eq!(server.proxy.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_inspection_mode_the_block_page_arrives_over_tls_signed_by_the_school_ca() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_copy("holt", dir.path(), "inspect_groups = [\"ks2\"]");
    // Without a CA, serve refuses to start half-way, naming the file and the command.
    let db = TestDb::new(Backend::Sqlite).await;
    let err = proxy_refuses_to_start(&profile, &db);
    assert!(
        err.contains("ca.pem") && err.contains("palisade ca init"),
        "{err}"
    );
    // Make the CA: the key is for the service user only.
    let made = Command::new(BIN)
        .args(["ca", "init", "--profile", &profile])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ca_dir = dir.path().join("palisade-data/ca");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ca_dir.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = Command::new(BIN)
        .args(["ca", "init", "--profile", &profile])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing CA is never replaced silently"
    );
    let server = Server::start_with(BIN, db, &profile, &["--no-dns"]);
    // curl trusts only the school CA: a blocked https page arrives as the block page, over TLS.
    let out = Command::new("curl")
        .args(["-s", "-S", "--max-time", "10", "--interface", "127.0.0.12"])
        .args(["-x", &format!("http://{}", server.proxy[0])])
        .args(["--cacert", &ca_dir.join("ca.pem").to_string_lossy()])
        .args([
            "-w",
            "\n%{http_code}",
            "https://www.gaming-site.example/level-2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("\n403"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("This page is blocked"), "{stdout}");
    assert!(
        stdout.contains("https://www.gaming-site.example/level-2"),
        "{stdout}"
    );
    // The certificate is offered to devices at /ca.pem, with instructions at /ca.
    let client = server.client();
    let pem = client.get_text("/ca.pem").await;
    assert_eq!(pem, std::fs::read_to_string(ca_dir.join("ca.pem")).unwrap());
    let page = client.get_text("/ca").await;
    assert!(
        page.contains("ks2") && page.contains("Banking and health"),
        "{page}"
    );
}

/// `curl -x` from `from` with proxy credentials: (HTTP status, headers and body).
pub(crate) fn curl_as(server: &Server, from: &str, user: Option<&str>, url: &str) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "-i", "--max-time", "10", "--interface", from])
        .args(["-x", &format!("http://{}", server.proxy[0])]);
    if let Some(u) = user {
        cmd.args(["--proxy-user", u]);
    }
    let out = cmd.args(["-w", "\n%{http_code}", url]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (text, code) = stdout.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), text.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_users_accept_the_aup_first_and_are_named_in_the_log() {
    let origin = Origin::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_copy(
        "holt",
        dir.path(),
        "login_groups = [\"ks2\"]\nstaff_group = \"staff\"",
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let parent = origin.addr.to_string();
    let server = Server::start_with(BIN, db, &profile, &["--no-dns", "--proxy-parent", &parent]);
    let ks2 = "127.0.0.12";
    let game = "http://www.gaming-site.example/";
    let lesson = "http://lessons.example/fractions";
    let pupil = format!("pupil1:{}", testkit::DEMO_PASSWORD);
    // KS2 devices sign in: without credentials the browser is asked for them.
    let (status, text) = curl_as(&server, ks2, None, lesson);
    assert_eq!(status, 407, "{text}");
    assert!(
        text.contains("proxy-authenticate: Basic realm=\"Holt Primary web filter\""),
        "{text}"
    );
    // Signed in, but the current AUP (Holt's "2023") is not yet accepted: sent to it.
    let (status, text) = curl_as(&server, ks2, Some(&pupil), lesson);
    assert_eq!(status, 302, "{text}");
    let aup = format!(
        "{}/aup?return=http%3A%2F%2Flessons.example%2Ffractions",
        server.url
    );
    assert!(text.contains(&format!("location: {aup}")), "{text}");
    // The pupil reads and accepts it in the web app; it shows on their record.
    let web = server.login("pupil1").await;
    let page = web
        .get_text("/aup?return=http://lessons.example/fractions")
        .await;
    assert!(page.contains("monitors"), "{page}");
    let res = web.post_form("/aup", &[("return_to", lesson)]).await;
    assert_eq!(res.status(), 303);
    let page = web.get_text("/aup").await;
    assert!(page.contains("You accepted version 2023"), "{page}");
    // Now the pupil browses, filtered as KS2, and the log names them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (status, text) = loop {
        let got = curl_as(&server, ks2, Some(&pupil), lesson);
        if got.0 != 302 || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("GET /fractions host=lessons.example"),
        "{text}"
    );
    let (status, _) = curl_as(&server, ks2, Some(&pupil), game);
    assert_eq!(status, 403);
    // A teacher signing in on the same kind of device is filtered as staff: gaming is open.
    let teacher = format!("teacher1:{}", testkit::DEMO_PASSWORD);
    let t = server.login("teacher1").await;
    let res = t.post_form("/aup", &[("return_to", "")]).await;
    assert_eq!(res.status(), 303);
    let (status, text) = curl_as(&server, ks2, Some(&teacher), game);
    assert_eq!(status, 200, "{text}");
    // Wrong passwords lock the account as the web sign-in does (Holt: 5 attempts).
    for _ in 0..5 {
        let (status, _) = curl_as(&server, ks2, Some("pupil2:wrong-password"), lesson);
        assert_eq!(status, 407);
    }
    let right = format!("pupil2:{}", testkit::DEMO_PASSWORD);
    let (status, text) = curl_as(&server, ks2, Some(&right), lesson);
    assert_eq!(status, 407);
    assert!(text.contains("locked"), "{text}");
    // The access log names the user.
    let dsl = server.login("dsl").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = dsl.get_text("/network/queries?user=pupil1").await;
        if log.contains("lessons.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

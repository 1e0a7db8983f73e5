//! HTTPS for the web pages: `palisade demo --tls --host NAME` serves the demo with a certificate
//! from the demo's own CA, checked here by clients that trust only that CA and reach the name
//! through a mapping to 127.0.0.1: headless Chromium signs in by the name; plain HTTP only
//! redirects (but serves the proxy's auto-configuration); HSTS comes over HTTPS only; a bad
//! certificate or key is refused by name; an issued certificate near its expiry (by the
//! server's test clock) is issued again and served without a restart.

use crate::BIN;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::browser::{body_text, shot, shots_dir, sign_in, start_browser_with, wait_for};
use testkit::{Backend, Server, TestDb, school_morning};

/// The name browsers reach the demo by, mapped to 127.0.0.1.
const NAME: &str = "palisade.school.test";

/// The demo's arguments for HTTPS by [`NAME`], its CA and certificate in `dir`.
fn tls_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["--tls", "--host", NAME, "--tls-dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn start(db: TestDb, args: &[String], at: chrono::DateTime<chrono::Utc>) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_at(BIN, db, "holt", &args, at)
}

/// The port of an `https://NAME:PORT` address.
fn port_of(url: &str) -> u16 {
    let rest = url
        .strip_prefix(&format!("https://{NAME}:"))
        .unwrap_or_else(|| panic!("not an https://{NAME}:PORT address: {url}"));
    rest.trim_end_matches('/').parse().unwrap()
}

/// A client that trusts only the CA in `ca_pem` and reaches [`NAME`] at 127.0.0.1:`port`.
fn https_client(ca_pem: &[u8], port: u16) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
        .resolve(NAME, SocketAddr::from(([127, 0, 0, 1], port)))
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        // A new connection (and handshake) for every request: each sees the certificate then served.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The next line the server prints that starts with `prefix` (within 10 s).
fn printed(server: &Server, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.output.recv_timeout(left) {
            Ok(line) if line.trim_start().starts_with(prefix) => return line,
            Ok(_) => {}
            Err(_) => panic!("the server printed no line starting `{prefix}`"),
        }
    }
}

/// A certificate's notAfter, as a Unix time, and the SHA-256 of its public key (SPKI), base64.
fn leaf_facts(der: &[u8]) -> (i64, String) {
    use sha2::Digest;
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let spki = cert.tbs_certificate.subject_pki.raw;
    (
        cert.validity().not_after.timestamp(),
        base64(&sha2::Sha256::digest(spki)),
    )
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The leaf certificate of a PEM file's chain, DER.
fn first_der(pem_file: &Path) -> Vec<u8> {
    let text = std::fs::read(pem_file).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text).unwrap();
    pem.contents
}

/// The certificate the server presents to a client trusting `ca_pem`: its notAfter.
async fn served_not_after(client: &reqwest::Client, port: u16) -> i64 {
    let res = client
        .get(format!("https://{NAME}:{port}/healthz"))
        .send()
        .await
        .expect("an HTTPS request verified against the demo's CA");
    let info = res
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS information");
    leaf_facts(info.peer_certificate().expect("a peer certificate")).0
}

/// Acceptance: headless Chromium reaches the demo as https://palisade.school.test:PORT (the
/// name mapped to 127.0.0.1, the certificate's key pinned as the one to accept), signs in as
/// the DSL and stays signed in: the Secure session cookie is kept over HTTPS by that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_over_https_by_the_schools_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        TestDb::new(Backend::Sqlite).await,
        &tls_args(dir.path(), &["--no-dns", "--no-proxy"]),
        school_morning(),
    );
    let port = port_of(&server.url);
    let login = printed(&server, "Browser:");
    assert!(
        login.contains(&format!("https://{NAME}:{port}/login")),
        "{login}"
    );
    let ca_line = printed(&server, "HTTPS, with a certificate from the demo's own CA");
    let ca_file = dir.path().join("ca.pem");
    assert!(
        ca_line.contains(&ca_file.display().to_string()),
        "{ca_line}"
    );

    // The certificate the browser will be shown is the one issued from that CA for the name.
    let ca_pem = std::fs::read(&ca_file).unwrap();
    let client = https_client(&ca_pem, port);
    let res = client
        .get(format!("https://{NAME}:{port}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let der = res
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate().map(<[u8]>::to_vec))
        .unwrap();
    let (_, spki) = leaf_facts(&der);

    let (_driver, c, _profile) = start_browser_with(&[
        format!("--host-resolver-rules=MAP {NAME} 127.0.0.1"),
        format!("--ignore-certificate-errors-spki-list={spki}"),
    ])
    .await;
    let base = format!("https://{NAME}:{port}");
    sign_in(&c, &base, "dsl").await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "header form[action='/logout']").await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some(NAME));
    assert_ne!(
        url.path(),
        "/login",
        "sent back to sign in: the cookie was dropped"
    );
    let text = body_text(&c).await;
    assert!(text.contains("Daniel Shaw"), "{text}");
    shot(&c, "https-01-dsl-dashboard-by-name").await;
    assert!(
        shots_dir()
            .join("https-01-dsl-dashboard-by-name.png")
            .exists()
    );
}

/// Plain HTTP only redirects (308, same path) to HTTPS, except /proxy.pac (and /wpad.dat and
/// /healthz), which it serves; every HTTPS answer carries HSTS, no plain-HTTP one does; the
/// certificate's expiry is exported to Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_redirects_to_https_but_serves_the_pac_file_and_hsts_is_https_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        TestDb::new(Backend::Sqlite).await,
        &tls_args(dir.path(), &["--no-dns", "--http-listen", "127.0.0.1:0"]),
        school_morning(),
    );
    let port = port_of(&server.url);
    let line = printed(&server, "Plain HTTP at ");
    let http: SocketAddr = line
        .trim_start()
        .strip_prefix("Plain HTTP at ")
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(NAME, http)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://{NAME}:{}", http.port());
    for path in ["/login", "/concerns?status=open", "/"] {
        let res = plain.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 308, "{path}");
        assert_eq!(
            res.headers()["location"],
            format!("https://{NAME}:{port}{path}").as_str(),
            "{path}"
        );
        assert!(res.headers().get("strict-transport-security").is_none());
    }
    let res = plain
        .post(format!("{base}/login"))
        .form(&[("username", "dsl")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        308,
        "a form sent over plain HTTP is redirected, not taken"
    );
    let res = plain.get(format!("{base}/proxy.pac")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("strict-transport-security").is_none());
    let pac = res.text().await.unwrap();
    assert!(pac.contains("FindProxyForURL"), "{pac}");
    assert!(pac.contains(&server.proxy[0].to_string()), "{pac}");
    let res = plain.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // A new device fetches the school CA before it can trust the HTTPS pages.
    let res = plain.get(format!("{base}/ca.pem")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        std::fs::read(dir.path().join("ca.pem")).unwrap().as_slice()
    );
    // Its page gives the fingerprint to check the copy by, as openssl computes it.
    let page = plain.get(format!("{base}/ca")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let openssl = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(dir.path().join("ca.pem"))
        .output()
        .expect("openssl");
    let printed = String::from_utf8_lossy(&openssl.stdout);
    let fingerprint = printed.trim().rsplit('=').next().unwrap();
    assert_eq!(fingerprint.len(), 95, "{printed}");
    assert!(page.contains(fingerprint), "{fingerprint}: {page}");
    // A name the server does not answer to gets no redirect to it.
    let res = plain
        .get(format!("http://{}/login", http))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 421);

    let ca_pem = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = https_client(&ca_pem, port);
    for path in [
        "/login",
        "/proxy.pac",
        "/static/palisade.css",
        "/no-such-page",
        "/metrics",
    ] {
        let res = client
            .get(format!("https://{NAME}:{port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let metrics = client
        .get(format!("https://{NAME}:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("palisade_web_certificate_expiry_seconds "))
        .unwrap_or_else(|| panic!("no certificate expiry in {metrics}"));
    let seconds: i64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (not_after, _) = leaf_facts(&first_der(&dir.path().join("web.pem")));
    let expected = not_after - server.clock.now().timestamp();
    assert!(
        (seconds - expected).abs() < 120,
        "{seconds} s left, expected about {expected}"
    );
    assert!(
        metrics.contains("palisade_proxy"),
        "the gateways' metrics stay: {metrics}"
    );
    assert_eq!(metrics.matches("# EOF").count(), 1, "{metrics}");
}

/// Runs `palisade serve` for Holt with a certificate and key and returns (exit code, stderr).
fn serve_with(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let db = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--profile", "holt", "--no-dns", "--no-proxy"])
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", db.path().join("p.db").display()))
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env(clock::TEST_CLOCK_VAR, store::timestamp(school_morning()))
        .env("PALISADE_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Bad input: a missing certificate file, a file that holds no certificate, a key file with no
/// key, and a key that is not the certificate's are each refused with exit 1, naming the file.
#[test]
fn a_bad_certificate_or_key_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_a = rcgen::KeyPair::generate().unwrap();
    let key_b = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![NAME.to_string()])
        .unwrap()
        .self_signed(&key_a)
        .unwrap();
    let good_cert = dir.path().join("good.pem");
    let good_key = dir.path().join("good.key");
    let other_key = dir.path().join("other.key");
    let garbage = dir.path().join("garbage.pem");
    let missing = dir.path().join("missing.pem");
    std::fs::write(&good_cert, cert.pem()).unwrap();
    std::fs::write(&good_key, key_a.serialize_pem()).unwrap();
    std::fs::write(&other_key, key_b.serialize_pem()).unwrap();
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let cases: [(&Path, &Path, &Path, &str); 4] = [
        (
            &missing,
            &good_key,
            &missing,
            "cannot read the certificate file",
        ),
        (&garbage, &good_key, &garbage, "holds no certificate"),
        (&good_cert, &garbage, &garbage, "holds no private key"),
        (
            &good_cert,
            &other_key,
            &other_key,
            "is not the key of the certificate",
        ),
    ];
    for (cert, key, named, says) in cases {
        let (code, stderr) = serve_with(cert, key);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains(&named.display().to_string()), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Renewal: a demo started again with its clock 30 days and 20 seconds before its issued
/// certificate expires serves that certificate first; once under 30 days remain (by the
/// server's clock) it issues a new one from the same CA, writes it (the key readable by the
/// service's user only) and serves it from the next handshake, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_certificate_near_expiry_is_renewed_and_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(
        TestDb::new(Backend::Sqlite).await,
        &tls_args(dir.path(), &["--no-dns", "--no-proxy"]),
        school_morning(),
    );
    let ca_pem = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = https_client(&ca_pem, port_of(&first.url));
    let issued = served_not_after(&client, port_of(&first.url)).await;
    let (on_disk, _) = leaf_facts(&first_der(&dir.path().join("web.pem")));
    assert_eq!(issued, on_disk);
    let db = first.kill();

    let at = chrono::DateTime::from_timestamp(issued, 0).unwrap()
        - chrono::Duration::days(30)
        - chrono::Duration::seconds(20);
    let second = start(
        db,
        &tls_args(
            dir.path(),
            &["--no-dns", "--no-proxy", "--tls-check-seconds", "1"],
        ),
        at,
    );
    let port = port_of(&second.url);
    let client = https_client(&ca_pem, port);
    assert_eq!(
        served_not_after(&client, port).await,
        issued,
        "still more than 30 days left: the certificate is kept"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let renewed = loop {
        // A new client each time: one that resumed its TLS session would be shown the
        // certificate of the session it resumed.
        let served = served_not_after(&https_client(&ca_pem, port), port).await;
        if served != issued {
            break served;
        }
        assert!(
            Instant::now() < deadline,
            "not renewed within 60 s of the server's clock passing 30 days before expiry"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let days_left = (renewed - second.clock.now().timestamp()) / 86_400;
    assert!((89..=90).contains(&days_left), "{days_left} days left");
    let (on_disk, _) = leaf_facts(&first_der(&dir.path().join("web.pem")));
    assert_eq!(on_disk, renewed, "the renewed certificate is the one kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("web.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same process still answers (no restart), and is signed in to over the new certificate.
    let res = client
        .post(format!("https://{NAME}:{port}/api/v1/login"))
        .json(&serde_json::json!({"username": "dsl", "password": testkit::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(second.pid().is_some());
}

/// `palisade serve --tls` for a school: without a school CA it says to make one (exit 1); after
/// `palisade ca init` it issues the web certificate from that CA for its `--web-host` name (the
/// key beside the CA, mode 0600) and serves HTTPS by that name to a client trusting only the
/// school CA, with plain HTTP redirecting to it.
#[test]
fn serve_issues_its_certificate_from_the_school_ca() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("holt.toml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles/holt.toml"),
        &profile,
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let serve = || {
        let mut c = std::process::Command::new(BIN);
        c.args(["serve", "--profile"])
            .arg(&profile)
            .args(["--database-url", &db, "--no-dns", "--no-proxy"])
            .args(["--listen", "127.0.0.1:0", "--tls", "--web-host", NAME])
            .args(["--http-listen", "127.0.0.1:0"])
            .env(clock::TEST_CLOCK_VAR, store::timestamp(school_morning()))
            .env("PALISADE_LOG", "error");
        c
    };
    let out = serve().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no school CA in"), "{stderr}");
    assert!(stderr.contains("palisade ca init"), "{stderr}");

    let init = std::process::Command::new(BIN)
        .args(["ca", "init", "--profile"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let ca_dir = dir.path().join("palisade-data/ca");
    let mut child = serve()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut http = None;
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("serve printed its address");
        if let Some(addr) = line
            .strip_prefix("Plain HTTP at ")
            .and_then(|l| l.split_whitespace().next())
        {
            http = addr.parse::<SocketAddr>().ok();
        }
        if let Some(url) = line.strip_prefix("Palisade is running at ") {
            break url.trim().to_string();
        }
    };
    let port = port_of(&url);
    let http = http.expect("the plain-HTTP address");
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(ca_dir.join("web.key"))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o777, 0o600);
    let ca_pem = std::fs::read(ca_dir.join("ca.pem")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = https_client(&ca_pem, port);
        let res = client
            .get(format!("https://{NAME}:{port}/login"))
            .send()
            .await
            .expect("HTTPS verified against the school CA");
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = plain
            .get(format!("http://{http}/concerns"))
            .header("host", NAME)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 308);
        assert_eq!(
            res.headers()["location"],
            format!("https://{NAME}:{port}/concerns").as_str()
        );
    });
}

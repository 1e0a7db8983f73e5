//! Test support for Palisade: start the real binary on `127.0.0.1:0` over a fresh SQLite or
//! PostgreSQL database seeded with the demo school, and an API client that signs in and sends
//! the CSRF token. Tests panic on setup failures: a missing PostgreSQL is a failure, not a skip.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod browser;
pub mod cast;
pub mod dns;
pub mod filter;
pub mod http;
pub mod mis;
pub mod oidc;
pub mod smtp;
mod tamper;

pub use tamper::tamper;

pub use store::Backend;
pub use store::testing::TestDb;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "palisade-demo";

/// Both backends, for tests that loop over them.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The number that follows the first `prefix` in `page`, up to `end` (an id in a link or an
/// element id). Panics when there is none.
pub fn id_after(page: &str, prefix: &str, end: char) -> i64 {
    page.split(prefix)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id after `{prefix}` in {page}"))
}

/// A running `palisade demo` process.
pub struct Server {
    pub url: String,
    /// The DNS gateway's addresses, when started with DNS.
    pub dns: Vec<std::net::SocketAddr>,
    /// The web proxy's addresses, when started with the proxy.
    pub proxy: Vec<std::net::SocketAddr>,
    extra: Vec<String>,
    pub db: TestDb,
    pub profile: String,
    binary: String,
    child: Option<Child>,
    /// Everything the server printed on stdout, line by line, as it arrives.
    pub output: mpsc::Receiver<String>,
    /// How long from exec until the server printed its URL.
    pub startup: Duration,
    /// The server's clock, as the test reads it: started at the same instant as the server's.
    pub clock: store::Clock,
    /// Whether the demo runs with `--totp-optional` (see [`Server::start_requiring_totp`]).
    totp_optional: bool,
}

/// The instant servers start at unless a test sets its own: a Tuesday in term at 10:00 UK
/// time ([`store::testing::SCHOOL_DAY`]), before the 16:00 digest and outside the seeds'
/// after-school time rules, so that no test depends on the date or time it runs at.
pub fn school_morning() -> chrono::DateTime<chrono::Utc> {
    store::testing::school_day()
}

/// The instants the time-sensitive tests run at, each with its name: 08:00, 16:05 and 23:58
/// UTC (in winter, so UK time too), and 00:30 UTC on the days British Summer Time starts (still
/// GMT) and ends (01:30 BST), and a summer afternoon (16:05 BST, 15:05 UTC).
pub fn time_sensitive_instants() -> Vec<(&'static str, chrono::DateTime<chrono::Utc>)> {
    [
        ("08:00 UTC", "2026-12-01T08:00:00Z"),
        ("16:05 UTC", "2026-12-01T16:05:00Z"),
        ("23:58 UTC", "2026-12-01T23:58:00Z"),
        ("00:30 UTC as summer time starts", "2026-03-29T00:30:00Z"),
        ("00:30 UTC as summer time ends", "2026-10-25T00:30:00Z"),
        ("16:05 BST", "2026-07-01T15:05:00Z"),
    ]
    .into_iter()
    .map(|(name, at)| (name, clock::parse_instant(at).expect("a valid instant")))
    .collect()
}

impl Server {
    /// Starts `binary demo` for `profile` on a fresh database of `backend`, without DNS.
    pub async fn start(binary: &str, backend: Backend, profile: &str) -> Server {
        let db = TestDb::new(backend).await;
        Server::start_on(binary, db, profile)
    }

    /// Starts the binary on an existing database (e.g. again after a crash), without DNS.
    pub fn start_on(binary: &str, db: TestDb, profile: &str) -> Server {
        Server::start_with(binary, db, profile, &["--no-dns", "--no-proxy"])
    }

    /// Starts `binary demo` with extra arguments (e.g. `--dns-listen 127.0.0.1:0`), its clock at
    /// [`school_morning`].
    pub fn start_with(binary: &str, db: TestDb, profile: &str, extra: &[&str]) -> Server {
        Server::start_at(binary, db, profile, extra, school_morning())
    }

    /// Starts `binary demo` as [`Server::start_with`] does, its clock (a debug build's
    /// `PALISADE_TEST_CLOCK`) starting at `at` and running on from there.
    ///
    /// Servers start with `--totp-optional`: the shipped profiles require a second factor of
    /// the leaders' roles, and the tests of everything else sign in as them with the demo
    /// password alone. The tests of second factors start with [`Server::start_requiring_totp`].
    pub fn start_at(
        binary: &str,
        db: TestDb,
        profile: &str,
        extra: &[&str],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Server {
        Server::spawn(binary, db, profile, extra, at, true)
    }

    /// Starts `binary demo` (without DNS or the proxy unless `extra` asks) as the profile
    /// has it: the roles it requires a second factor of must enrol one at their first sign-in.
    pub fn start_requiring_totp(binary: &str, db: TestDb, profile: &str, extra: &[&str]) -> Server {
        Server::spawn(binary, db, profile, extra, school_morning(), false)
    }

    fn spawn(
        binary: &str,
        db: TestDb,
        profile: &str,
        extra: &[&str],
        at: chrono::DateTime<chrono::Utc>,
        totp_optional: bool,
    ) -> Server {
        let started = Instant::now();
        let clock = store::Clock::starting_at(at);
        let mut child = Command::new(binary)
            .args([
                "demo",
                "--profile",
                profile,
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &db.url,
            ])
            .args(["--demo-password", DEMO_PASSWORD])
            .args(if totp_optional {
                &["--totp-optional"][..]
            } else {
                &[][..]
            })
            .args(extra)
            // Tests never take the profile's fixed proxy port: parallel servers would collide.
            .args(
                if extra
                    .iter()
                    .any(|a| *a == "--no-proxy" || *a == "--proxy-listen")
                {
                    &[][..]
                } else {
                    &["--proxy-listen", "127.0.0.1:0"][..]
                },
            )
            .env("PALISADE_LOG", "warn")
            .env(clock::TEST_CLOCK_VAR, store::timestamp(at))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut dns = Vec::new();
        let mut proxy = Vec::new();
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line
                        .strip_prefix("DNS filtering at ")
                        .and_then(|l| l.split_whitespace().next())
                    {
                        dns.extend(addr.parse::<std::net::SocketAddr>().ok());
                    }
                    if let Some(addr) = line.strip_prefix("Web proxy at ") {
                        proxy.extend(addr.trim().parse::<std::net::SocketAddr>().ok());
                    }
                    if let Some(url) = line.strip_prefix("Palisade is running at ") {
                        break url.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("palisade did not print its URL within 60 s");
                }
            }
        };
        Server {
            url,
            dns,
            proxy,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            db,
            profile: profile.to_string(),
            binary: binary.to_string(),
            child: Some(child),
            output: rx,
            startup: started.elapsed(),
            clock,
            totp_optional,
        }
    }

    /// Kills the process with SIGKILL (no clean shutdown) and returns the database.
    pub fn kill(mut self) -> TestDb {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        std::mem::replace(&mut self.db, TestDb::placeholder())
    }

    /// Kills the process and starts it again on the same database.
    pub fn restart_after_kill(self) -> Server {
        let binary = self.binary.clone();
        let profile = self.profile.clone();
        let extra = self.extra.clone();
        let at = self.clock.now();
        let totp_optional = self.totp_optional;
        let db = self.kill();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Server::spawn(&binary, db, &profile, &extra, at, totp_optional)
    }

    /// Kills the process and starts it again on the same database, its clock moved on by
    /// `by` (a day later, an hour later): what was stored under the old time meets the new one.
    pub fn restart_later(self, by: chrono::Duration) -> Server {
        let binary = self.binary.clone();
        let profile = self.profile.clone();
        let extra = self.extra.clone();
        let at = self.clock.now() + by;
        let totp_optional = self.totp_optional;
        let db = self.kill();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Server::spawn(&binary, db, &profile, &extra, at, totp_optional)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A store on this server's database, on the server's clock.
    pub async fn store(&self) -> store::Store {
        self.db.store_on(self.clock.clone()).await
    }

    /// An anonymous client for this server.
    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// Signs `username` in with the demo password.
    pub async fn login(&self, username: &str) -> Client {
        let mut c = self.client();
        let status = c.login(username, DEMO_PASSWORD).await;
        assert_eq!(status, 200, "login as {username}");
        c
    }

    /// Runs `palisade audit verify` against this server's database; returns (success, stdout).
    pub fn audit_verify(&self) -> (bool, String) {
        let out = Command::new(&self.binary)
            .args(["audit", "verify", "--database-url", &self.db.url])
            .env(clock::TEST_CLOCK_VAR, store::timestamp(self.clock.now()))
            .output()
            .expect("run palisade audit verify");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP client that keeps the session cookie and the CSRF token by hand (the session cookie
/// is `Secure`, which a cookie jar would not send over plain-HTTP loopback).
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    /// The school a trust's person acts in, sent as `X-Palisade-School` with every request.
    pub school: Option<String>,
}

impl Client {
    /// A client for the server at `base`.
    pub fn new(base: &str) -> Client {
        // The workspace builds reqwest with rustls but no default crypto provider (ring is ours).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            cookie: None,
            csrf: None,
            school: None,
        }
    }

    /// This client's session, pointed at `server` (the same database started again).
    pub fn on(&self, server: &Server) -> Client {
        let mut c = Client::new(&server.url);
        c.cookie = self.cookie.clone();
        c.csrf = self.csrf.clone();
        c.school = self.school.clone();
        c
    }

    /// Signs in through the API; returns the status. Keeps the cookie and token on success.
    pub async fn login(&mut self, username: &str, password: &str) -> u16 {
        let res = self
            .http
            .post(format!("{}/api/v1/login", self.base))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        let status = res.status().as_u16();
        if status == 200 {
            let cookie = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("palisade_session="))
                .and_then(|v| v.split(';').next())
                .map(str::to_string);
            let body: serde_json::Value = res.json().await.expect("login json");
            self.cookie = cookie;
            self.csrf = body["csrf_token"].as_str().map(str::to_string);
        }
        status
    }

    fn with_session(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let rb = match &self.school {
            Some(s) => rb.header("x-palisade-school", s),
            None => rb,
        };
        match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        }
    }

    /// A request to `path` with the session cookie (and, unless `GET`, the CSRF header).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let safe = method == reqwest::Method::GET || method == reqwest::Method::HEAD;
        let rb = self.with_session(self.http.request(method, format!("{}{path}", self.base)));
        match (&self.csrf, safe) {
            (Some(t), false) => rb.header("x-csrf-token", t),
            _ => rb,
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET")
    }

    /// GET `path` and read the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    /// POST JSON to `path` with the CSRF header.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// POST a form to `path` with the CSRF header.
    pub async fn post_form<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        form: &T,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// GET `path` and parse JSON; returns (status, body).
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Files a concern through the API; returns (status, body).
    pub async fn report(
        &self,
        subjects: &[&str],
        category: &str,
        summary: &str,
    ) -> (u16, serde_json::Value) {
        let res = self
            .post_json(
                "/api/v1/concerns",
                &serde_json::json!({"subjects": subjects, "category": category, "summary": summary, "details": "Details of what happened."}),
            )
            .await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }
}

/// The code an authenticator app shows at `at` for the base32 `secret` that a Palisade
/// enrolment page gives (RFC 6238: SHA-1, 6 digits, 30-second steps), computed with totp-rs
/// rather than with Palisade's own code.
pub fn totp_code(secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.trim().to_string())
        .to_bytes()
        .expect("a base32 secret");
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "test".to_string(),
    )
    .expect("a usable TOTP secret");
    totp.generate(u64::try_from(at.timestamp()).expect("a time after 1970"))
}

/// `psql -tAc sql` on the PostgreSQL database at `url` (as its URL's user): the output,
/// trimmed. A failing statement fails the test, with psql's message.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-tAc", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

//! `serve` as the systemd unit (packaging/palisade.service) runs it: a user that is not root,
//! holding only CAP_NET_BIND_SERVICE, answers DNS on port 53 over UDP and TCP and serves the
//! web app on port 443; without the capability `serve --check-config` names each address with
//! "permission denied (needs CAP_NET_BIND_SERVICE ...)" and `serve` stops saying the same.
//! The user is `nobody`, set with util-linux's `setpriv` (the tests run as root); the
//! addresses are on a loopback address no other program listens on.

use crate::BIN;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// CAP_NET_BIND_SERVICE's bit in /proc's capability masks.
const NET_BIND_SERVICE: u64 = 1 << 10;

/// Whether these tests can run here: root (to drop to `nobody`) and `setpriv`. Under CI=true
/// they must.
fn can_run() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    let setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && setpriv {
        return true;
    }
    let why = format!("root: {root}, setpriv (util-linux) found: {setpriv}");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the service tests need root and setpriv ({why})"
    );
    eprintln!("skipped: the service tests need root and setpriv ({why})");
    false
}

/// A loopback address 127.0.`block`.1-40 where ports 53 (UDP and TCP) and 443 are free
/// (127.0.0.53 may be a local resolver's); each test takes its own block.
fn free_loopback(block: u8) -> IpAddr {
    for last in 1..=40u8 {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, block, last));
        let free = std::net::UdpSocket::bind((ip, 53)).is_ok()
            && std::net::TcpListener::bind((ip, 53)).is_ok()
            && std::net::TcpListener::bind((ip, 443)).is_ok();
        if free {
            return ip;
        }
    }
    panic!("no loopback address 127.0.{block}.1-40 has ports 53 and 443 free");
}

/// A folder the unprivileged user can write the database into.
fn writable_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// `BIN args` as `nobody`, with no new privileges and, when `capable`, CAP_NET_BIND_SERVICE
/// as its only capability (bounding, inheritable and ambient, as the unit gives it); else none.
fn as_nobody(capable: bool, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--no-new-privs",
    ]);
    if capable {
        c.args([
            "--bounding-set=-all,+net_bind_service",
            "--inh-caps=-all,+net_bind_service",
            "--ambient-caps=-all,+net_bind_service",
        ]);
    } else {
        c.args(["--bounding-set=-all", "--inh-caps=-all"]);
    }
    c.arg("--").arg(BIN).args(args);
    c.env("PALISADE_LOG", "warn").env(
        clock::TEST_CLOCK_VAR,
        store::timestamp(testkit::school_morning()),
    );
    c
}

/// `serve`'s arguments: Holt on `db`, the web app on `ip:443`, DNS on `ip:53`.
fn serve_args(ip: IpAddr, db: &str, upstream: SocketAddr, check: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "serve",
        "--profile",
        "holt",
        "--database-url",
        db,
        "--proxy-listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend([
        "--listen".into(),
        format!("{ip}:443"),
        "--dns-listen".into(),
        format!("{ip}:53"),
        "--dns-upstream".into(),
        upstream.to_string(),
    ]);
    if check {
        args.push("--check-config".into());
    }
    args
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A field of /proc/PID/status.
fn proc_status(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_binds_53_and_443_as_nobody_holding_only_cap_net_bind_service() {
    if !can_run() {
        return;
    }
    let ip = free_loopback(83);
    let dir = writable_dir();
    let db = format!("sqlite://{}/palisade.db", dir.path().display());
    let upstream = testkit::dns::StubUpstream::start().await;
    let args = serve_args(ip, &db, upstream.addr, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // What the unit's ExecStartPre runs: every address is free to this user.
    let check = as_nobody(true, &[&args[..], &["--check-config"]].concat())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let said = text(&check);
    for addr in [
        format!("{ip}:53 UDP: free"),
        format!("{ip}:53 TCP: free"),
        format!("{ip}:443 TCP: free"),
    ] {
        assert!(said.contains(&addr), "check-config: no `{addr}` in\n{said}");
    }
    assert!(
        !dir.path().join("palisade.db").exists(),
        "--check-config created the database"
    );

    let mut child = as_nobody(true, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("Palisade is running at ") => {
                lines.push(line);
                break;
            }
            Ok(line) => lines.push(line),
            Err(_) => panic!("serve did not start within 60 s; it said: {lines:?}"),
        }
    }
    assert!(
        lines.contains(&format!("DNS filtering at {ip}:53 (UDP and TCP)")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("Palisade is running at http://{ip}:443")),
        "{lines:?}"
    );

    // The process is nobody's, and holds CAP_NET_BIND_SERVICE and nothing else.
    let pid = server.0.id();
    let uid = proc_status(pid, "Uid:");
    assert!(
        uid.split_whitespace().all(|u| u == "65534"),
        "serve runs as uid {uid}, not nobody"
    );
    for field in ["CapEff:", "CapPrm:", "CapBnd:"] {
        let mask = u64::from_str_radix(&proc_status(pid, field), 16).unwrap();
        assert_eq!(mask, NET_BIND_SERVICE, "{field} {mask:x}");
    }

    // DNS on port 53, UDP and TCP: a blocked name is refused, an allowed one resolved.
    let dns = SocketAddr::new(ip, 53);
    let ks2: IpAddr = "127.0.0.12".parse().unwrap();
    let blocked = testkit::dns::udp(dns, ks2, "adult-demo.example.", RecordType::A).await;
    assert_eq!(blocked.metadata.response_code, ResponseCode::NXDomain);
    let allowed = testkit::dns::udp(dns, ks2, "www.bbc.co.uk.", RecordType::A).await;
    assert_eq!(allowed.metadata.response_code, ResponseCode::NoError);
    assert!(
        testkit::dns::answer_strings(&allowed).contains(&testkit::dns::STUB_V4.to_string()),
        "{allowed:?}"
    );
    let over_tcp = testkit::dns::tcp(dns, ks2, "adult-demo.example.", RecordType::A).await;
    assert_eq!(over_tcp.metadata.response_code, ResponseCode::NXDomain);

    // The web app on port 443.
    let web = testkit::Client::new(&format!("http://{ip}:443"));
    let login = web
        .http
        .get(format!("{}/login", web.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_capability_ports_53_and_443_are_refused_naming_it() {
    if !can_run() {
        return;
    }
    let ip = free_loopback(84);
    let dir = writable_dir();
    let db = format!("sqlite://{}/palisade.db", dir.path().display());
    let upstream = testkit::dns::StubUpstream::start().await;

    // --check-config lists each address it cannot have, and exits 1.
    let args = serve_args(ip, &db, upstream.addr, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = as_nobody(false, &args).output().unwrap();
    let said = text(&check);
    assert_eq!(check.status.code(), Some(1), "{said}");
    for addr in [
        format!("{ip}:53 UDP: permission denied (needs CAP_NET_BIND_SERVICE"),
        format!("{ip}:53 TCP: permission denied (needs CAP_NET_BIND_SERVICE"),
        format!("{ip}:443 TCP: permission denied (needs CAP_NET_BIND_SERVICE"),
    ] {
        assert!(said.contains(&addr), "check-config: no `{addr}` in\n{said}");
    }
    assert!(said.contains("3 problems"), "{said}");

    // serve itself stops at the first, the web app's port, saying why.
    let args = serve_args(ip, &db, upstream.addr, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let serve = run_bounded(as_nobody(false, &args));
    let said = text(&serve);
    assert!(!serve.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "cannot listen on {ip}:443 (the web app, --listen): permission denied (needs CAP_NET_BIND_SERVICE"
        )),
        "{said}"
    );

    // With the web app on a high port, the DNS gateway's port 53 is the one refused.
    let mut args = serve_args(ip, &db, upstream.addr, false);
    let at = args.iter().position(|a| a == "--listen").unwrap();
    args[at + 1] = format!("{ip}:0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let serve = run_bounded(as_nobody(false, &args));
    let said = text(&serve);
    assert!(!serve.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "cannot listen on {ip}:53: permission denied (needs CAP_NET_BIND_SERVICE"
        )),
        "{said}"
    );
}

/// Runs `command` to its end, killing it after 60 s (a serve that started would run forever).
fn run_bounded(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after 60 s:\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// `serve --check-config` on the shipped Holt with `extra` arguments, as this (root) user:
/// its exit code and what it said.
fn check_config(db: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["serve", "--check-config", "--profile", "holt"])
        .args(["--database-url", db, "--no-dns", "--no-proxy"])
        .args(extra)
        .env("PALISADE_LOG", "warn")
        .output()
        .unwrap();
    (out.status.code(), text(&out))
}

async fn check_config_opens_the_database_without_creating_or_migrating_it(
    backend: testkit::Backend,
) {
    let db = testkit::TestDb::new(backend).await;
    let listen = ["--listen", "127.0.0.1:0"];
    let (code, said) = check_config(&db.url, &listen);
    assert_eq!(code, Some(0), "{said}");
    let fresh = match backend {
        testkit::Backend::Sqlite => "no database yet: serve creates it and its schema",
        testkit::Backend::Postgres => "serve creates the schema on first start",
    };
    assert!(said.contains(fresh), "{said}");
    // Nothing was made: still no Palisade database there.
    let clock = store::Clock::starting_at(testkit::school_morning());
    assert!(
        store::Store::open_existing(&db.url, clock.clone())
            .await
            .is_err(),
        "--check-config made a database at {}",
        db.url
    );
    // Once serve has made it (Store::open migrates, as serve does), its schema is current.
    store::Store::open(&db.url, clock)
        .await
        .unwrap()
        .close()
        .await;
    let (code, said) = check_config(&db.url, &listen);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("opens; schema up to date"), "{said}");
}

both_backends!(
    check_config_database,
    check_config_opens_the_database_without_creating_or_migrating_it
);

#[test]
fn check_config_lists_every_problem_naming_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    // A SQLite file that is not a Palisade database.
    let not_ours = dir.path().join("other.db");
    std::fs::write(&not_ours, b"").unwrap();
    let db = format!("sqlite://{}", not_ours.display());
    // A certificate that is not one, and a key that is missing.
    let cert = dir.path().join("web.pem");
    std::fs::write(&cert, "not a certificate\n").unwrap();
    let key = dir.path().join("web.key");
    // The web app's address, taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let (code, said) = check_config(
        &db,
        &[
            "--listen",
            &taken_addr,
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--smtp-host",
            "smtp.holt.example",
            "--smtp-security",
            "ssl",
        ],
    );
    assert_eq!(code, Some(1), "{said}");
    for (what, problem) in [
        (format!("database {db}"), "is not a Palisade database"),
        (
            format!("web certificate {}", cert.display()),
            "cannot read the key file",
        ),
        (format!("web app (--listen) {taken_addr} TCP"), "in use"),
        (
            "serve's settings".to_string(),
            "--smtp-security: `ssl` is not none, starttls or tls",
        ),
    ] {
        let line = said
            .lines()
            .find(|l| l.starts_with("PROBLEM") && l.contains(&what))
            .unwrap_or_else(|| panic!("no problem named `{what}` in\n{said}"));
        assert!(line.contains(problem), "`{line}` does not say `{problem}`");
    }
    assert!(said.contains("4 problems"), "{said}");
    // The profile itself was fine, and said so.
    assert!(
        said.contains("ok      profile holt: Holt Primary"),
        "{said}"
    );

    // A profile with a mistake is named with its key, and the rest is still checked.
    let bad = dir.path().join("holt.toml");
    let holt = crate::seed_profile_text("holt");
    std::fs::write(
        &bad,
        holt.replace(
            "lockout_minutes = 15",
            "lockout_minutes = 15\nlockout_hours = 1",
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--check-config",
            "--profile",
            bad.to_str().unwrap(),
        ])
        .args(["--database-url", &db, "--listen", &taken_addr])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    // The parser's message runs over several lines: the key and its line are in it.
    let problem = said
        .split_once(&format!("PROBLEM profile {}: ", bad.display()))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no problem with the profile in\n{said}"));
    assert!(
        problem.contains("line 162") && problem.contains("unknown field `lockout_hours`"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{taken_addr} TCP: in use")),
        "{said}"
    );
    drop(taken);
}

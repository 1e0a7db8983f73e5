//! The DNS gateway of the real binary, asked with `dig` from each group's loopback address, for
//! both seed profiles, against a loopback stub upstream; and the access log behind it.

use crate::BIN;
use std::process::Command;
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

async fn start(backend: Backend, profile: &str, upstream: &StubUpstream) -> Server {
    start_dns(TestDb::new(backend).await, profile, upstream, &[])
}

/// The binary over `db` answering DNS on `127.0.0.1:0` and forwarding to `upstream`, with
/// `extra` arguments after those.
pub(crate) fn start_dns(
    db: TestDb,
    profile: &str,
    upstream: &StubUpstream,
    extra: &[&str],
) -> Server {
    let up = upstream.addr.to_string();
    let mut args = vec!["--dns-listen", "127.0.0.1:0", "--dns-upstream", &up];
    args.extend_from_slice(extra);
    Server::start_with(BIN, db, profile, &args)
}

/// The binary with Holt's profile changed to resolve over DNS-over-TLS through `dot` (named
/// `dot.school.test`), trusting `ca_pem` when given; the directory holds the profile.
async fn start_over_dot(dot: &StubUpstream, ca_pem: Option<&str>) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut tls = format!(
        "tls_upstreams = [{{ address = \"{}\", name = \"dot.school.test\" }}]",
        dot.addr
    );
    if let Some(pem) = ca_pem {
        std::fs::write(dir.path().join("dot-ca.pem"), pem).unwrap();
        tls.push_str("\ntls_ca_file = \"dot-ca.pem\"");
    }
    let profile = crate::seed_profile_text("holt")
        .replace("upstreams = [\"1.1.1.1:53\", \"9.9.9.9:53\"]", &tls);
    assert!(
        profile.contains("tls_upstreams"),
        "the seed's upstreams line moved"
    );
    let path = dir.path().join("holt-dot.toml");
    std::fs::write(&path, profile).unwrap();
    let server = Server::start_with(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        path.to_str().unwrap(),
        &["--dns-listen", "127.0.0.1:0", "--no-proxy"],
    );
    (server, dir)
}

/// What `dig` prints for one query from `from`, with `flags` after the defaults.
fn dig_output(server: &Server, from: &str, name: &str, qtype: &str, flags: &[&str]) -> String {
    let dns = server.dns[0];
    let port = dns.port().to_string();
    let at = format!("@{}", dns.ip());
    let out = Command::new("dig")
        .args([
            &at, "-p", &port, "-b", from, name, qtype, "+tries=1", "+time=3",
        ])
        .args(flags)
        .output()
        .expect("dig must be installed (scripts/test installs dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dig +short`-style answer: the status and the answer lines.
pub(crate) fn dig(server: &Server, from: &str, name: &str, qtype: &str) -> (String, Vec<String>) {
    let text = dig_output(
        server,
        from,
        name,
        qtype,
        &["+noall", "+comments", "+answer"],
    );
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or_default().to_string())
        .unwrap_or_else(|| format!("no answer: {text}"));
    let answers = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f.get(3).unwrap_or(&""), f.get(4).unwrap_or(&""))
        })
        .collect();
    (status, answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holt_answers_per_group_as_its_profile_says() {
    let up = StubUpstream::start().await;
    let server = start(Backend::Sqlite, "holt", &up).await;
    let (ks1, ks2, staff, guest, unknown) = (
        "127.0.0.11",
        "127.0.0.12",
        "127.0.0.13",
        "127.0.0.14",
        "127.0.0.99",
    );
    let nx = |who, name| dig(&server, who, name, "A").0 == "NXDOMAIN";
    let ok = |who, name| {
        dig(&server, who, name, "A") == ("NOERROR".to_string(), vec!["A 127.0.2.1".to_string()])
    };
    // Gaming: blocked for pupils (and for unknown devices, which are KS2), open to staff.
    assert!(nx(ks1, "www.gaming-site.example"));
    assert!(nx(ks2, "sub.gaming-demo.example"));
    assert!(nx(unknown, "gaming-demo.example"));
    assert!(ok(staff, "www.gaming-site.example"));
    assert!(ok(guest, "gaming-demo.example"));
    // Adult content and the mandatory lists: blocked for everyone.
    for who in [ks1, staff, guest] {
        assert!(nx(who, "adult-demo.example"), "{who}");
        assert!(nx(who, "iwf-demo.example"), "{who}");
        assert!(nx(who, "www.ctiru-demo.example"), "{who}");
        assert!(nx(who, "use-application-dns.net"), "{who}");
    }
    // Lookalikes are not blocked: suffix matching is by label.
    assert!(ok(ks1, "notadult-demo.example"));
    // SafeSearch and YouTube restricted mode for pupils; not for staff.
    assert_eq!(
        dig(&server, ks2, "www.google.com", "A").1,
        ["CNAME forcesafesearch.google.com.", "A 127.0.2.1"]
    );
    assert_eq!(
        dig(&server, ks1, "www.youtube.com", "A").1[0],
        "CNAME restrict.youtube.com."
    );
    assert_eq!(
        dig(&server, ks2, "www.youtube.com", "A").1[0],
        "CNAME restrictmoderate.youtube.com."
    );
    assert_eq!(
        dig(&server, staff, "www.google.com", "A").1,
        ["A 127.0.2.1"]
    );
    // DoH resolvers are circumvention for pupils.
    assert!(nx(ks1, "dns.google"));
    assert!(ok(staff, "dns.google"));
    // AAAA and other types pass through.
    assert_eq!(
        dig(&server, staff, "school.example", "AAAA").1,
        ["AAAA fd00::1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coleridge_answers_blocked_names_with_the_block_page() {
    let up = StubUpstream::start().await;
    let server = start(Backend::Sqlite, "coleridge", &up).await;
    let (pupils, staff) = ("127.0.0.12", "127.0.0.13");
    assert_eq!(
        dig(&server, pupils, "social-demo.example", "A"),
        ("NOERROR".into(), vec!["A 127.0.0.1".to_string()])
    );
    assert_eq!(
        dig(&server, staff, "adult-demo.example", "A").1,
        ["A 127.0.0.1"]
    );
    assert_eq!(
        dig(&server, staff, "social-demo.example", "A").1,
        ["A 127.0.2.1"]
    );
    assert_eq!(
        dig(&server, staff, "iwf-demo.example", "A").1,
        ["A 127.0.0.1"]
    );
    assert_eq!(
        dig(&server, pupils, "www.bing.com", "A").1[0],
        "CNAME strict.bing.com."
    );
}

async fn every_query_is_in_the_access_log(backend: Backend) {
    let up = StubUpstream::start().await;
    let server = start(backend, "holt", &up).await;
    let dns = server.dns[0];
    let source = "127.0.0.11".parse().unwrap();
    let n = 200;
    for i in 0..n {
        let name = if i % 4 == 0 {
            format!("www{i}.gaming-demo.example.")
        } else {
            format!("host{i}.school.example.")
        };
        testkit::dns::udp(dns, source, &name, hickory_proto::rr::RecordType::A).await;
    }
    let store = server.store().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.access_count().await.unwrap() < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.access_count().await.unwrap(), n);
    let blocked = store
        .access_log(
            &store::AccessFilter {
                verdict: Some(events::LogVerdict::Block),
                ..Default::default()
            },
            1000,
        )
        .await
        .unwrap();
    assert_eq!(blocked.len() as i64, n / 4);
    let e = &blocked[0].event;
    assert_eq!(
        (
            e.group_name.as_str(),
            e.category.as_deref(),
            e.client_ip.as_str(),
            e.qtype.as_deref()
        ),
        ("ks1", Some("gaming"), "127.0.0.11", Some("A"))
    );
    assert_eq!(e.rule.as_deref(), Some("gaming-demo.example"));
    store.close().await;
    // The same question again is answered from the answer cache, and the metrics say so.
    for _ in 0..5 {
        testkit::dns::udp(
            dns,
            source,
            "host1.school.example.",
            hickory_proto::rr::RecordType::A,
        )
        .await;
    }
    let metrics = server.client().get_text("/metrics").await;
    assert!(
        metrics.contains("palisade_dns_cache_hits_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("palisade_dns_cache_misses_total {n}")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "palisade_dns_queries_total{{verdict=\"block\"}} {}",
            n / 4
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_dns_blocked_total{category=\"gaming\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_access_log_dropped 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_monitoring_hits_dropped 0"),
        "{metrics}"
    );
}

both_backends!(
    every_query_is_in_the_access_log,
    every_query_is_in_the_access_log
);

/// The network manager registers a staff laptop at an address no subnet covers: at once it is
/// filtered as staff and the query log names it and its holder; retired, it is a stranger again.
async fn registered_devices_are_named_and_filtered_by_their_group(backend: Backend) {
    let up = StubUpstream::start().await;
    let server = start(backend, "holt", &up).await;
    let (laptop, stranger) = ("127.0.0.31", "127.0.0.32");
    let status = |who| dig(&server, who, "www.gaming-site.example", "A").0;
    assert_eq!(status(laptop), "NXDOMAIN", "an unknown device is KS2");
    let netman = server.login("netman").await;
    let form = [
        ("name", "Staff laptop 4"),
        ("ip", laptop),
        ("mac", ""),
        ("holder", "teacher1"),
        ("group", "staff"),
    ];
    let res = netman.post_form("/devices", &form).await;
    assert_eq!(res.status(), 303);
    // The same address twice, and a holder nobody has, are refused with the field named.
    let again = netman
        .post_form(
            "/devices",
            &[
                ("name", "Another"),
                ("ip", laptop),
                ("holder", ""),
                ("group", ""),
            ],
        )
        .await;
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already has this name or address")
    );
    let nobody = netman
        .post_form(
            "/devices",
            &[
                ("name", "Another"),
                ("ip", "127.0.0.33"),
                ("holder", "nobody9"),
                ("group", ""),
            ],
        )
        .await;
    assert_eq!(nobody.status(), 400);
    assert!(nobody.text().await.unwrap().contains("holder"));
    // The register reloads at once (the web app wakes the gateways).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(laptop) != "NOERROR" && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status(laptop), "NOERROR", "the laptop is filtered as staff");
    assert_eq!(status(stranger), "NXDOMAIN");
    let store = server.store().await;
    let row = |store: &store::Store| {
        let store = store.clone();
        async move {
            let filter = store::AccessFilter {
                device: Some("Staff laptop 4".into()),
                ..Default::default()
            };
            store.access_log(&filter, 10).await.unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while row(&store).await.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rows = row(&store).await;
    let e = &rows
        .first()
        .expect("the laptop's query is in the log")
        .event;
    assert_eq!(
        (
            e.username.as_deref(),
            e.group_name.as_str(),
            e.client_ip.as_str(),
            e.verdict.as_str()
        ),
        (Some("teacher1"), "staff", laptop, "allow")
    );
    // The query log page shows the device, and the register page lists it.
    let page = netman
        .get_text("/network/queries?device=Staff+laptop+4")
        .await;
    assert!(page.contains("Staff laptop 4"), "{page}");
    let register = netman.get_text("/devices").await;
    let id: i64 = testkit::id_after(&register, "/devices/", '/');
    let res = netman
        .post_form(
            &format!("/devices/{id}/retire"),
            &[("reason", "Returned at the end of term")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(laptop) != "NXDOMAIN" && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status(laptop),
        "NXDOMAIN",
        "retired, the laptop is a stranger again"
    );
    let audit = server.login("head").await.get_text("/audit").await;
    assert!(
        audit.contains("device.added") && audit.contains("device.retired"),
        "{audit}"
    );
    store.close().await;
}

both_backends!(
    registered_devices_are_named_and_filtered_by_their_group,
    registered_devices_are_named_and_filtered_by_their_group
);

/// With `tls_upstreams` in the profile, allowed names are resolved over DNS-over-TLS, the
/// resolver's certificate checked against the profile's CA file; blocked names never leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_can_be_reached_over_dns_over_tls() {
    let (dot, ca_pem) = StubUpstream::start_tls("dot.school.test").await;
    let (server, _dir) = start_over_dot(&dot, Some(&ca_pem)).await;
    let staff = "127.0.0.13";
    assert_eq!(
        dig(&server, staff, "www.school.example", "A"),
        ("NOERROR".to_string(), vec!["A 127.0.2.1".to_string()])
    );
    let asked = dot.queries.load(std::sync::atomic::Ordering::Relaxed);
    assert!(asked >= 1, "the DoT upstream was not asked");
    assert_eq!(dig(&server, staff, "adult-demo.example", "A").0, "NXDOMAIN");
    assert_eq!(
        dot.queries.load(std::sync::atomic::Ordering::Relaxed),
        asked,
        "a blocked name went upstream"
    );
}

/// A DoT upstream whose certificate no trusted CA signed gets SERVFAIL, never a plain answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_dns_over_tls_upstream_gets_servfail() {
    let (dot, _ca_pem) = StubUpstream::start_tls("dot.school.test").await;
    let (server, _dir) = start_over_dot(&dot, None).await;
    assert_eq!(
        dig(&server, "127.0.0.13", "www.school.example", "A").0,
        "SERVFAIL"
    );
    assert_eq!(dot.queries.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// The TTL of the first answer record, as `dig` shows it. Each `dig` sends a DNS cookie of its
/// own, which the answer cache must not take for another question.
fn first_ttl(server: &Server, from: &str, name: &str) -> u32 {
    let text = dig_output(server, from, name, "A", &["+cookie", "+noall", "+answer"]);
    text.lines()
        .find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no answer with a TTL: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_counts_its_ttl_down() {
    // The stub answers with a TTL of 300; an answer served again from the cache two seconds
    // later must say so, or clients would keep it past its expiry.
    let up = StubUpstream::start().await;
    let server = start(Backend::Sqlite, "holt", &up).await;
    let staff = "127.0.0.13";
    let first = first_ttl(&server, staff, "ttl.example.org");
    assert!((299..=300).contains(&first), "first TTL {first}");
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let again = first_ttl(&server, staff, "ttl.example.org");
    assert!(
        again <= first - 2 && again >= first - 4,
        "{first} then {again}"
    );
    let metrics = server.client().get_text("/metrics").await;
    assert!(
        metrics.contains("palisade_dns_cache_hits_total 1"),
        "the second answer came from the answer cache: {metrics}"
    );
}

/// This machine's first IPv4 address that is not loopback (nor in Holt's 10.1.0.0/16): a query
/// from it to 127.0.0.1 stays on the loopback interface but comes from outside every subnet of
/// Holt's profile.
fn own_outside_address() -> String {
    let out = Command::new("hostname").arg("-I").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback() && ip.octets()[..2] != [10, 1])
        })
        .unwrap_or_else(|| {
            panic!("this test needs an IPv4 address outside loopback and 10.1.0.0/16 on an interface: {text}")
        })
        .to_string()
}

async fn dns_refuses_strangers_and_answers_any_minimally(backend: Backend) {
    let up = StubUpstream::start().await;
    let server = start(backend, "holt", &up).await;
    let stranger = own_outside_address();
    // A client outside the profile's subnets gets REFUSED over UDP and TCP, and the upstream
    // is never asked.
    for tcp in [false, true] {
        let flags: &[&str] = if tcp { &["+tcp"] } else { &[] };
        let text = dig_output(&server, &stranger, "lessons.example", "A", flags);
        assert!(text.contains("status: REFUSED"), "tcp={tcp}: {text}");
        assert!(!text.contains("127.0.2.1"), "tcp={tcp}: {text}");
    }
    // The same question twice, so a cached answer for the group is not handed out either.
    assert_eq!(
        dig(&server, "127.0.0.12", "lessons.example", "A").0,
        "NOERROR"
    );
    let text = dig_output(&server, &stranger, "lessons.example", "A", &[]);
    assert!(text.contains("status: REFUSED"), "{text}");
    assert_eq!(up.queries.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The profile's clients (and the server itself) are answered as before.
    for who in ["127.0.0.1", "127.0.0.11", "127.0.0.99"] {
        assert_eq!(
            dig(&server, who, "lessons.example", "A").0,
            "NOERROR",
            "{who}"
        );
    }
    // ANY is answered with one small made-up HINFO record (RFC 8482), never forwarded.
    let before = up.queries.load(std::sync::atomic::Ordering::SeqCst);
    for tcp in [false, true] {
        let flags: &[&str] = if tcp {
            &["+tcp", "+noall", "+answer"]
        } else {
            &["+noall", "+answer"]
        };
        let text = dig_output(&server, "127.0.0.13", "any-question.example", "ANY", flags);
        assert!(
            text.contains("HINFO") && text.contains("\"RFC8482\""),
            "tcp={tcp}: {text}"
        );
        assert_eq!(
            text.lines().filter(|l| !l.trim().is_empty()).count(),
            1,
            "{text}"
        );
    }
    assert_eq!(up.queries.load(std::sync::atomic::Ordering::SeqCst), before);
    // A blocked name is still blocked for ANY.
    assert_eq!(
        dig(&server, "127.0.0.12", "www.gaming-site.example", "ANY").0,
        "NXDOMAIN"
    );
}

both_backends!(
    dns_refuses_strangers_and_answers_any_minimally,
    dns_refuses_strangers_and_answers_any_minimally
);

/// `/readyz` says the server is not ready while no filter is in force (the lists compile, or
/// failed to: pupils are refused meanwhile), and ready once one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_whether_a_filter_is_in_force() {
    let up = StubUpstream::start().await;
    // A list that cannot be read: the lists do not compile, and nothing is in force.
    let missing = "gaming=/nonexistent/palisade-readyz-test.txt";
    let server = start_dns(
        TestDb::new(Backend::Sqlite).await,
        "holt",
        &up,
        &["--no-proxy", "--lists", missing],
    );
    let anonymous = server.client();
    for _ in 0..3 {
        let (status, body) = anonymous.get_json("/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["filter"], "not in force", "{body}");
        assert!(
            body["problems"]
                .to_string()
                .contains("pupils' queries are refused"),
            "{body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert_eq!(dig(&server, "127.0.0.12", "example.org", "A").0, "REFUSED");
    drop(server);

    // With its lists compiled, the same school is ready.
    let server = start(Backend::Sqlite, "holt", &up).await;
    let anonymous = server.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, body) = anonymous.get_json("/readyz").await;
        if status == 200 {
            assert_eq!(body["filter"], "in force", "{body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

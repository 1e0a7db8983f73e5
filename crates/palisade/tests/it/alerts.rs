//! Monitoring end to end: a pupil's DNS queries through the real gateway become alerts in the
//! safeguarding leads' inbox, on SQLite and on PostgreSQL.

use crate::BIN;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::dns::StubUpstream;
use testkit::{Backend, Client, Server, TestDb};

/// Asks the DNS gateway from `from` (the answer does not matter here, only that it was asked).
fn dig(server: &Server, from: &str, name: &str) {
    let (status, _) = crate::dns::dig(server, from, name, "A");
    assert!(!status.starts_with("no answer"), "{status}");
}

/// Waits until the inbox shows `text`, and returns the page.
pub(crate) async fn inbox_shows(dsl: &Client, text: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let page = dsl.get_text("/alerts?status=all").await;
        if page.contains(text) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "no `{text}` in the inbox within {within:?}:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn alerts_from_pupils_queries(backend: Backend) {
    let up = StubUpstream::start().await;
    let server = crate::dns::start_dns(TestDb::new(backend).await, "holt", &up, &["--no-proxy"]);
    let dsl = server.login("dsl").await;
    // A Key Stage 2 device asks for a self-harm site: a high alert within 2 seconds.
    let asked = Instant::now();
    dig(&server, "127.0.0.12", "www.selfharm-site.example");
    let page = inbox_shows(&dsl, "high-risk category: selfharm", Duration::from_secs(2)).await;
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert!(page.contains("device 127.0.0.12"), "{page}");
    assert!(
        page.contains("www.selfharm-site.example"),
        "the evidence: {page}"
    );
    // 50 blocked attempts in a minute: one repeated-attempts alert whose count is 50 (the
    // self-harm query above was the first of them).
    for _ in 0..49 {
        dig(&server, "127.0.0.12", "gaming-demo.example");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let count = loop {
        let page = dsl.get_text("/alerts?status=all").await;
        let repeated = page
            .split("class=\"card alert-card")
            .filter(|card| card.contains("repeated blocked attempts"))
            .collect::<Vec<_>>();
        assert!(repeated.len() <= 1, "one alert, not many: {page}");
        let count = repeated.first().and_then(|c| {
            c.split("<span class=\"count\">")
                .nth(1)?
                .split('<')
                .next()?
                .parse::<i64>()
                .ok()
        });
        if count == Some(50) || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(count, Some(50));
    // A teacher sees no inbox; an alert's actions are not found for them.
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/alerts").await.status().as_u16(), 403);
    let id: i64 = testkit::id_after(&page, "id=\"alert-", '"');
    let res = teacher
        .post_form(&format!("/alerts/{id}/acknowledge"), &[("x", "")])
        .await;
    assert_eq!(res.status().as_u16(), 404);
    // The DSL dismisses it with a reason; it leaves the open list.
    let res = dsl
        .post_form(
            &format!("/alerts/{id}/dismiss"),
            &[("reason", "Checked with the class teacher: a health lesson")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let open = dsl.get_text("/alerts").await;
    assert!(!open.contains(&format!("id=\"alert-{id}\"")), "{open}");
}

both_backends!(
    a_pupils_queries_become_alerts_in_the_inbox,
    alerts_from_pupils_queries
);

async fn alerts_from_searches(backend: Backend) {
    let origin = testkit::http::Origin::start().await;
    let parent = origin.addr.to_string();
    let db = TestDb::new(backend).await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let smtp_port = sink.addr.port().to_string();
    let server = Server::start_with(
        BIN,
        db,
        "holt",
        &[
            "--no-dns",
            "--proxy-parent",
            &parent,
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &smtp_port,
            "--smtp-security",
            "none",
        ],
    );
    let dsl = server.login("dsl").await;
    let asked = Instant::now();
    // A pupil searches in Polish, without the accents: the search goes through (it is not a
    // blocked site) and the safeguarding team hears of it.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            "127.0.0.12",
        ])
        .args(["-x", &format!("http://{}", server.proxy[0])])
        .arg("http://www.google.com/search?q=chce+umrzec")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let page = inbox_shows(&dsl, "keyword (self-harm, pl)", Duration::from_secs(2)).await;
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert!(page.contains("q=chce+umrzec"), "the evidence: {page}");
    assert!(page.contains("high"), "{page}");
    // ... and the safeguarding leads are mailed, without the search.
    let mails = mail_arrives(&sink, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|m| !m.data.contains("umrze") && !m.data.contains("google"))
    );
    // The DSL escalates it to a concern about the pupil using that device.
    let id: i64 = testkit::id_after(&page, "id=\"alert-", '"');
    let res = dsl
        .post_form(
            &format!("/alerts/{id}/escalate"),
            &[
                ("subject", "pupil1"),
                ("category", "content.harmful_lifestyle"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/concerns/"), "{location}");
    let concern = dsl.get_text(&location).await;
    assert!(
        concern.contains("Filtering alert: keyword (self-harm, pl)"),
        "{concern}"
    );
    assert!(
        concern.contains("q=chce+umrzec"),
        "the evidence is in the concern: {concern}"
    );
    let all = dsl.get_text("/alerts?status=all").await;
    assert!(all.contains("escalated"), "{all}");
    let audit = server.login("head").await.get_text("/audit").await;
    assert!(audit.contains("alert.escalated"), "{audit}");
}

both_backends!(
    a_pupils_search_through_the_proxy_becomes_an_alert,
    alerts_from_searches
);

fn mail_server_args(sink: std::net::SocketAddr, upstream: &str) -> Vec<String> {
    let mut args = testkit::smtp::dns_and_mail_args(upstream, sink);
    args.extend(["--mail-retry-seconds".to_string(), "1".to_string()]);
    args
}

/// The alert mails the sink has, once there are two (to the DSL and the deputy) or `within`
/// has passed. Other mail (the daily digest, when the server's clock is past its time) is left
/// out.
pub(crate) async fn mail_arrives(
    sink: &testkit::smtp::SmtpSink,
    within: Duration,
) -> Vec<testkit::smtp::Received> {
    mails_about(sink, "alert: filtering group", 2, within).await
}

/// The mails the sink has whose text holds `text`, once there are `count` or `within` has
/// passed.
pub(crate) async fn mails_about(
    sink: &testkit::smtp::SmtpSink,
    text: &str,
    count: usize,
    within: Duration,
) -> Vec<testkit::smtp::Received> {
    let deadline = Instant::now() + within;
    loop {
        let got: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.data.contains(text))
            .collect();
        if got.len() >= count || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An urgent alert is mailed at once whatever the time of day: at each of the instants the
/// time-sensitive tests run at (the daily digest comes as well when it is due then).
async fn urgent_alert_mail(backend: Backend) {
    for (when, at) in testkit::time_sensitive_instants() {
        urgent_alert_mail_at(backend, when, at).await;
    }
}

async fn urgent_alert_mail_at(backend: Backend, when: &str, at: chrono::DateTime<chrono::Utc>) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let args = mail_server_args(sink.addr, &up.addr.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_at(BIN, TestDb::new(backend).await, "holt", &args, at);
    dig(&server, "127.0.0.12", "www.selfharm-site.example");
    let mails = mail_arrives(&sink, Duration::from_secs(5)).await;
    let digests = if crate::time::digest_due_at_start(when) {
        mails_about(&sink, "Daily alert digest", 2, Duration::from_secs(5)).await
    } else {
        mails_about(&sink, "Daily alert digest", 1, Duration::from_millis(300)).await
    };
    assert_eq!(
        digests.len(),
        if crate::time::digest_due_at_start(when) {
            2
        } else {
            0
        },
        "at {when}: the digest (due at start: {})",
        crate::time::digest_due_at_start(when)
    );
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["deputy@school.example", "dsl@school.example"],
        "at {when}"
    );
    for m in &mails {
        assert!(
            m.data
                .contains("Subject: [Palisade] High alert: filtering group ks2"),
            "{}",
            m.data
        );
        assert!(
            m.data.contains(&format!("{}/alerts#alert-", server.url)),
            "{}",
            m.data
        );
        for secret in ["selfharm", "self-harm", "127.0.0.12"] {
            assert!(!m.data.contains(secret), "{secret} in {}", m.data);
        }
    }
}

both_backends!(
    an_urgent_alert_is_mailed_to_the_safeguarding_leads_without_details,
    urgent_alert_mail
);

async fn mail_server_down(backend: Backend) {
    let up = StubUpstream::start().await;
    // A port with nothing on it: the mail server is down.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let args = mail_server_args(down, &up.addr.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(BIN, TestDb::new(backend).await, "holt", &args);
    let dsl = server.login("dsl").await;
    dig(&server, "127.0.0.12", "www.selfharm-site.example");
    // The failure is visible to the safeguarding leads, and nothing is lost.
    let page = inbox_shows(&dsl, "failed and will be retried", Duration::from_secs(10)).await;
    assert!(page.contains("2 alert mail(s) waiting"), "{page}");
    // The mail server comes back on its port: the mail goes.
    let sink = testkit::smtp::SmtpSink::start_on(down).await;
    let mails = mail_arrives(&sink, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = dsl.get_text("/alerts").await;
        if !page.contains("id=\"mail-state\"") {
            break;
        }
        assert!(Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

both_backends!(
    with_the_mail_server_down_alert_mail_waits_and_goes_when_it_is_back,
    mail_server_down
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_digest_goes_to_the_leads_once_at_the_profiles_time() {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = crate::holt_with_digest_at_midnight(dir.path());
    let args = mail_server_args(sink.addr, &up.addr.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        &profile.to_string_lossy(),
        &args,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let digests = loop {
        let digests: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.data.contains("Daily alert digest"))
            .collect();
        if digests.len() >= 2 || Instant::now() > deadline {
            break digests;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut to: Vec<String> = digests.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["deputy@school.example", "dsl@school.example"]);
    assert!(digests[0].data.contains(&format!("{}/alerts", server.url)));
    // It carries what the leads' dashboards show as due, as counts: Holt's policy review
    // (overdue since 2025-07-01) and the training nobody has done yet; never a name.
    let mail = &digests[0].data;
    assert!(mail.contains("Due or overdue:"), "{mail}");
    // (Quoted-printable may break a long line: the parts are checked one by one.)
    assert!(
        mail.contains("overdue: Review of the Holt Primary Online Safety Policy"),
        "{mail}"
    );
    assert!(mail.contains("1 (was due 2025-07-01)"), "{mail}");
    assert!(mail.contains("Training not yet done: "), "{mail}");
    assert!(
        !mail.contains("Daniel Shaw") && !mail.contains("pupil1") && !mail.contains("Amara"),
        "{mail}"
    );
    // Once both are recorded as sent, restarting the same day sends no second digest. (A mail
    // delivered but not yet recorded when Palisade is killed is sent again: the outbox delivers
    // at least once, never not at all.)
    let store = server.store().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.outbox_state().await.unwrap().waiting > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.outbox_state().await.unwrap().waiting, 0);
    store.close().await;
    let server = server.restart_after_kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = sink
        .received()
        .into_iter()
        .filter(|m| m.data.contains("Daily alert digest"))
        .count();
    assert_eq!(again, 2);
    drop(server);
}

/// A monitoring-gap alert is about Palisade, not a pupil: the inbox names no pupil, shows no
/// empty group and offers no escalation to a concern about someone.
async fn monitoring_gap_in_the_inbox(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dropped = store::Dropped {
        access_events: 1500,
        alert_hits: 3,
    };
    let (id, _) = store::GapWatch::new()
        .check(&store, dropped, 60)
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    let server = Server::start_on(BIN, db, "holt");
    let dsl = server.login("dsl").await;
    let page = inbox_shows(&dsl, store::gaps::GAP_RULE, Duration::from_secs(5)).await;
    let card = page
        .split(&format!("id=\"alert-{id}\""))
        .nth(1)
        .and_then(|c| c.split("class=\"card alert-card").next())
        .unwrap();
    assert!(card.contains("Palisade itself —"), "{card}");
    assert!(card.contains("<span class=\"count\">1503</span>"), "{card}");
    assert!(
        card.contains("1500 access-log event(s) and 3 alert hit(s) dropped"),
        "{card}"
    );
    assert!(
        !card.contains("()") && !card.contains("/escalate"),
        "{card}"
    );
    assert!(card.contains(&format!("/alerts/{id}/dismiss")), "{card}");
}

both_backends!(
    a_monitoring_gap_alert_shows_in_the_inbox_without_a_pupil,
    monitoring_gap_in_the_inbox
);

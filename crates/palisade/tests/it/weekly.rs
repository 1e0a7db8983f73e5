//! The weekly monitoring report through the real binary (issue 19, part 4): a week of blocked
//! requests and alerts is in the store; on Monday at Holt's digest time (16:00 UK time) the DSL
//! and the deputy get the week's mail, with counts and a link and no names or sites; a restart
//! sends no second; the page has the full report for the DSL and the head, and nobody else.

use crate::BIN;
use crate::alerts::mails_about;
use events::{AccessEvent, AlertHit, LogVerdict};
use policy::profile::monitoring::AlertSeverity;
use std::time::Duration;
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

const WEEKLY: &str = "Weekly monitoring report";

fn blocked(at: &str, who: &str, person: i64, site: &str, category: &str) -> AccessEvent {
    AccessEvent {
        person_id: Some(person),
        username: Some(who.to_string()),
        category: Some(category.to_string()),
        ..AccessEvent::new(
            at.to_string(),
            "dns",
            "10.1.2.40".to_string(),
            "ks2".to_string(),
            site.to_string(),
            LogVerdict::Block,
        )
    }
}

async fn a_week_of_events_makes_the_mail_without_names_and_the_page_in_full(backend: Backend) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let args = testkit::smtp::dns_and_mail_args(&up.addr.to_string(), sink.addr);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Monday 30 November 2026, shortly before 16:00 (GMT: UK time is UTC).
    let at = clock::parse_instant("2026-11-30T15:59:15Z").unwrap();
    let server = Server::start_at(BIN, TestDb::new(backend).await, "holt", &args, at);
    let store = server.store().await;
    let pupil = store
        .people(None)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.username == "pupil1")
        .unwrap();
    let year = pupil
        .year_group
        .clone()
        .unwrap_or_else(|| "group ks2".into());
    // The week of 23 to 29 November: blocked requests, and two alerts; one more alert on the
    // Monday after, which the week does not count (but it is open, so untriaged).
    let mut events = Vec::new();
    for day in ["2026-11-24", "2026-11-25", "2026-11-26"] {
        events.push(blocked(
            &format!("{day}T10:15:00.000Z"),
            "pupil1",
            pupil.id,
            "www.casino-royale.example",
            "gambling",
        ));
    }
    events.push(blocked(
        "2026-11-27T11:00:00.000Z",
        "pupil1",
        pupil.id,
        "www.selfharm-site.example",
        "self_harm",
    ));
    // Before the week: not counted.
    events.push(blocked(
        "2026-11-20T11:00:00.000Z",
        "pupil1",
        pupil.id,
        "www.old-site.example",
        "adult",
    ));
    store.access_writer().write(&events).await.unwrap();
    let hit = |severity, rule: &str, event: &AccessEvent| AlertHit {
        severity,
        rule: rule.to_string(),
        subject: "pupil1".to_string(),
        count: 1,
        audience: Default::default(),
        event: event.clone(),
    };
    store
        .record_alert_hit(
            &hit(AlertSeverity::High, "category:self_harm", &events[3]),
            60,
        )
        .await
        .unwrap();
    store
        .record_alert_hit(&hit(AlertSeverity::Low, "repeat:gambling", &events[0]), 60)
        .await
        .unwrap();
    let later = blocked(
        "2026-11-30T09:00:00.000Z",
        "pupil1",
        pupil.id,
        "www.casino-royale.example",
        "gambling",
    );
    store
        .record_alert_hit(&hit(AlertSeverity::Medium, "repeat:gambling", &later), 60)
        .await
        .unwrap();
    assert!(
        server.clock.now() < clock::parse_instant("2026-11-30T16:00:00Z").unwrap(),
        "the week was seeded after the report's time: the machine is too slow for this test"
    );
    // 16:00: the DSL and the deputy get it (Holt's first point of contact is the DSL).
    let mails = mails_about(&sink, WEEKLY, 2, Duration::from_secs(90)).await;
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["deputy@school.example", "dsl@school.example"],
        "{mails:?}"
    );
    // The body is quoted-printable: soft line breaks and `=` as `=3D`.
    let mail = &mails[0]
        .data
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(mail.contains("week of 2026-11-23"), "{mail}");
    assert!(mail.contains("Alerts raised this week: 2."), "{mail}");
    assert!(
        mail.contains("high: 1") && mail.contains("low: 1"),
        "{mail}"
    );
    assert!(mail.contains("Alerts nobody has triaged yet: 3."), "{mail}");
    assert!(mail.contains("Blocked requests this week: 4."), "{mail}");
    assert!(mail.contains("/reports/weekly?week=2026-11-23"), "{mail}");
    for secret in [
        "pupil1",
        &pupil.display_name,
        "casino-royale",
        "selfharm-site",
        "10.1.2.40",
        "gambling",
        "self_harm",
        &year,
    ] {
        assert!(!mail.contains(secret), "`{secret}` in the mail: {mail}");
    }
    // Recorded as sent: a restart that Monday sends no second.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while store.outbox_state().await.unwrap().waiting > 0 {
        assert!(std::time::Instant::now() < deadline, "mail still waiting");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
    let server = server.restart_after_kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        mails_about(&sink, WEEKLY, 3, Duration::ZERO).await.len(),
        2,
        "a second weekly report after the restart"
    );
    // The page: the full report, the last full week by default.
    let dsl = server.login("dsl").await;
    let page = dsl.get_text("/reports/weekly").await;
    assert!(
        page.contains("Monday 2026-11-23 to Sunday 2026-11-29"),
        "{page}"
    );
    assert!(page.contains("category:self_harm") && page.contains("repeat:gambling"));
    assert!(
        page.contains(&year) && page.contains("gambling (3)"),
        "{page}"
    );
    assert!(page.contains("4 blocked request(s)"), "{page}");
    assert!(
        !page.contains("adult ("),
        "a blocked request before the week: {page}"
    );
    let (status, json) = server
        .login("head")
        .await
        .get_json("/api/v1/reports/weekly?week=2026-11-25")
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["week"], "2026-11-23");
    assert_eq!(json["alerts"], 2);
    assert_eq!(json["open_alerts"], 3);
    // A later week counts the Monday's alert; a week not begun is refused, naming it.
    let (_, this) = dsl.get_json("/api/v1/reports/weekly?week=2026-11-30").await;
    assert_eq!(this["alerts"], 1, "{this}");
    let res = dsl.get("/api/v1/reports/weekly?week=2026-12-07").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("week"));
    for who in ["teacher4", "netman", "governor1"] {
        let res = server.login(who).await.get("/reports/weekly").await;
        assert_eq!(res.status(), 403, "{who}");
    }
}

both_backends!(
    a_week_of_events_makes_the_mail_without_names_and_the_page_in_full,
    a_week_of_events_makes_the_mail_without_names_and_the_page_in_full
);

//! Alerts and concerns reach whom each profile names (issue 19, part 5), through the real
//! binary, its DNS gateway and a loopback SMTP sink: Coleridge's Online Safety Coordinator
//! handles the pupils' alerts; a member of staff's alert is the Headteacher's, not the team's;
//! a new concern mails its first point of contact at once; one left untriaged past the
//! profile's hours is escalated; a pupil can say a concern is about a grown-up at school.

use crate::BIN;
use crate::alerts::{inbox_shows, mails_about};
use std::time::Duration;
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

/// A server on `profile` with DNS on loopback and mail to `sink`, started at `at`.
fn start(
    db: TestDb,
    profile: &str,
    up: &StubUpstream,
    sink: &testkit::smtp::SmtpSink,
    at: chrono::DateTime<chrono::Utc>,
) -> Server {
    let mut args = testkit::smtp::dns_and_mail_args(&up.addr.to_string(), sink.addr);
    args.extend(["--mail-retry-seconds".to_string(), "1".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_at(BIN, db, profile, &args, at)
}

/// The recipients of `mails`, sorted.
fn recipients(mails: &[testkit::smtp::Received]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to
}

async fn coordinator_handles_pupils_alerts(backend: Backend) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let db = TestDb::new(backend).await;
    let server = start(db, "coleridge", &up, &sink, testkit::school_morning());
    let osc = server.login("osc").await;
    // Coleridge's first point of contact opens the alert inbox (it was 403 before).
    assert_eq!(osc.get("/alerts").await.status().as_u16(), 200);
    let (status, _) = crate::dns::dig(&server, "127.0.0.12", "www.selfharm-site.example", "A");
    assert!(!status.starts_with("no answer"), "{status}");
    inbox_shows(&osc, "high-risk category: selfharm", Duration::from_secs(5)).await;
    let mails = mails_about(&sink, "alert: filtering group", 3, Duration::from_secs(5)).await;
    assert_eq!(
        recipients(&mails),
        [
            "deputy@school.example",
            "dsl@school.example",
            "osc@school.example"
        ]
    );
    // The network manager keeps Palisade running and reads its own alerts, not the pupils'.
    let netman = server.login("netman").await;
    let page = netman.get_text("/alerts?status=all").await;
    assert!(!page.contains("selfharm"), "{page}");
    // A teacher has no inbox at all.
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/alerts").await.status().as_u16(), 403);
}

both_backends!(
    coleridges_online_safety_coordinator_handles_the_pupils_alerts_and_gets_their_mail,
    coordinator_handles_pupils_alerts
);

async fn staff_alerts_go_to_the_head(backend: Backend) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let db = TestDb::new(backend).await;
    let server = start(db, "holt", &up, &sink, testkit::school_morning());
    // A machine on the staff subnet asks for a site on a mandatory list.
    let (status, _) = crate::dns::dig(&server, "127.0.0.13", "iwf-demo.example", "A");
    assert!(!status.starts_with("no answer"), "{status}");
    let head = server.login("head").await;
    let page = inbox_shows(&head, "mandatory list: iwf", Duration::from_secs(5)).await;
    let id = testkit::id_after(&page, "id=\"alert-", '"');
    let mails = mails_about(
        &sink,
        "alert: filtering group staff",
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(recipients(&mails), ["head@school.example"]);
    for who in ["dsl", "deputy"] {
        let lead = server.login(who).await;
        let page = lead.get_text("/alerts?status=all").await;
        assert!(!page.contains("mandatory list: iwf"), "{who}: {page}");
        // Not even its number leads anywhere: 404, as for an alert that does not exist.
        let res = lead
            .post_form(&format!("/alerts/{id}/acknowledge"), &[("x", "y")])
            .await;
        assert_eq!(res.status().as_u16(), 404, "{who}");
    }
    let res = head
        .post_form(&format!("/alerts/{id}/acknowledge"), &[("x", "y")])
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
}

both_backends!(
    an_alert_about_a_staff_members_traffic_is_the_heads_and_not_the_safeguarding_teams,
    staff_alerts_go_to_the_head
);

async fn new_concern_mail(backend: Backend) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let db = TestDb::new(backend).await;
    let server = start(db, "holt", &up, &sink, testkit::school_morning());
    let teacher = server.login("teacher1").await;
    let sent = std::time::Instant::now();
    let (status, body) = teacher
        .report(
            &["pupil1"],
            "contact.online_bullying",
            "Nasty messages in a game",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap_or_default();
    let subject = format!("New concern #{id} to triage");
    let mails = mails_about(&sink, &subject, 1, Duration::from_secs(2)).await;
    assert!(
        sent.elapsed() < Duration::from_secs(2) && !mails.is_empty(),
        "no mail within 2 s"
    );
    assert_eq!(recipients(&mails), ["dsl@school.example"]);
    for secret in [
        "pupil1",
        "Nasty",
        "game",
        "teacher1",
        "Tom Baker",
        "bullying",
    ] {
        assert!(
            !mails[0].data.contains(secret),
            "{secret} in {}",
            mails[0].data
        );
    }
    // On the first point of contact's home page too.
    let dsl = server.login("dsl").await;
    let home = dsl.get_text("/").await;
    assert!(home.contains("/concerns?status=new"), "{home}");
}

both_backends!(
    a_new_concern_mails_its_first_point_of_contact_within_two_seconds_without_details,
    new_concern_mail
);

async fn untriaged_concern_escalates(backend: Backend) {
    let up = StubUpstream::start().await;
    let sink = testkit::smtp::SmtpSink::start().await;
    let morning = testkit::school_morning();
    let db = TestDb::new(backend).await;
    let server = start(db, "holt", &up, &sink, morning);
    let teacher = server.login("teacher1").await;
    let (status, body) = teacher
        .report(
            &["pupil1"],
            "contact.online_bullying",
            "Nasty messages in a game",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap_or_default();
    let dsl = server.login("dsl").await;
    let page = dsl.get_text("/alerts?status=all").await;
    assert!(!page.contains("untriaged"), "not yet: {page}");
    // Nobody triages it; Holt's profile gives 8 hours. The server comes back 9 hours later.
    let db = server.kill();
    let later = morning + chrono::Duration::hours(9);
    let server = start(db, "holt", &up, &sink, later);
    let subject = format!("concern #{id}");
    for who in ["deputy", "head", "dsl"] {
        let reader = server.login(who).await;
        let page = inbox_shows(&reader, &subject, Duration::from_secs(20)).await;
        assert!(
            page.contains("concern untriaged after 8 hours"),
            "{who}: {page}"
        );
    }
    let mails = mails_about(
        &sink,
        "a concern waits for triage",
        3,
        Duration::from_secs(5),
    )
    .await;
    let mut to = recipients(&mails);
    to.dedup();
    assert!(
        to.contains(&"deputy@school.example".to_string())
            && to.contains(&"head@school.example".to_string()),
        "{to:?}"
    );
    for m in &mails {
        assert!(
            !m.data.contains("pupil1") && !m.data.contains("Nasty"),
            "{}",
            m.data
        );
    }
    // Once: another look finds nothing new to escalate.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let head = server.login("head").await;
    let page = head.get_text("/alerts?status=all").await;
    assert_eq!(page.matches(&format!("— {subject} ")).count(), 1, "{page}");
    // A teacher sees none of it.
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/alerts").await.status().as_u16(), 403);
}

both_backends!(
    a_concern_untriaged_past_the_profiles_hours_is_escalated_to_the_deputies_and_the_head,
    untriaged_concern_escalates
);

async fn pupil_names_a_grown_up(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let pupil = server.login("pupil1").await;
    // The pupil's form offers the grown-ups at school by name.
    let form = pupil.get_text("/concerns/new").await;
    assert!(form.contains("name=\"grown_up\""), "{form}");
    assert!(form.contains("Tom Baker"), "{form}");
    // A pupil cannot pass another pupil off as a grown-up.
    let res = pupil
        .post_json(
            "/api/v1/concerns",
            &serde_json::json!({"category": "contact.online_bullying",
                "details": "He shouted at me.", "grown_up": "pupil2"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 400);
    let res = pupil
        .post_json(
            "/api/v1/concerns",
            &serde_json::json!({"category": "contact.online_bullying",
                "details": "A teacher sent me messages on a game at night.", "grown_up": "teacher1"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    let id = body["id"].as_i64().unwrap_or_default();
    let head = server.login("head").await;
    let (status, concern) = head.get_json(&format!("/api/v1/concerns/{id}")).await;
    assert_eq!(status, 200, "{concern}");
    assert_eq!(concern["route"], "about_staff");
    for who in ["dsl", "teacher1"] {
        let other = server.login(who).await;
        let res = other.get(&format!("/concerns/{id}")).await;
        assert_eq!(res.status().as_u16(), 404, "{who}");
    }
    // The pupil still follows their own report.
    let res = pupil.get(&format!("/concerns/{id}")).await;
    assert_eq!(res.status().as_u16(), 200);
}

both_backends!(
    a_pupils_concern_about_a_grown_up_at_school_is_the_heads_and_hidden_from_the_dsl_and_the_grown_up,
    pupil_names_a_grown_up
);

//! The safeguarding log in a real headless Chromium: a teacher files a concern through the form,
//! the DSL finds it, adds a note and closes it; a pupil's form on a tablet, the list on a phone.
//! Screenshots go to target/screenshots/. A missing browser is a failure, never a skip.

use crate::BIN;
use fantoccini::Locator;
use std::time::{Duration, Instant};
use testkit::browser::{
    body_text, click, click_link, fill, fill_sign_in, scroll_to, shot, sign_in, sign_out,
    start_browser, start_browser_with, text_of, wait_for,
};
use testkit::{Backend, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_reports_and_the_dsl_handles_a_concern_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;

    c.goto(&format!("{base}/login")).await.unwrap();
    wait_for(&c, "#username").await;
    shot(&c, "01-login").await;
    sign_in(&c, &base, "teacher1").await;
    c.goto(&format!("{base}/concerns/new")).await.unwrap();
    wait_for(&c, "#subjects option[value='pupil3']")
        .await
        .click()
        .await
        .unwrap();
    click(&c, "#category option[value='contact.online_bullying']").await;
    fill(&c, "#summary", "Browser test: mean messages in a game chat").await;
    fill(
        &c,
        "#details",
        "pupil3 showed me messages calling her names in the Year 4 game chat.",
    )
    .await;
    fill(&c, "#platform", "Roblox").await;
    shot(&c, "02-report-form-filled").await;
    click(
        &c,
        "form[enctype='multipart/form-data'] button[type=submit]",
    )
    .await;
    wait_for(&c, ".flash.ok").await;
    let text = body_text(&c).await;
    assert!(text.contains("Your report was sent"), "{text}");
    assert!(text.contains("Browser test: mean messages"), "{text}");
    shot(&c, "03-report-sent").await;
    sign_out(&c).await;

    sign_in(&c, &base, "dsl").await;
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&c, "#concern-list").await;
    shot(&c, "04-dsl-list").await;
    click_link(&c, "Browser test: mean messages in a game chat").await;
    wait_for(&c, "#timeline").await;
    click(&c, "#kind option[value='note']").await;
    fill(
        &c,
        "#text",
        "Spoke to pupil3 and her parents; screenshots kept.",
    )
    .await;
    click(&c, "form[action$='/actions'] button[type=submit]").await;
    wait_for(&c, "#timeline").await;
    assert!(
        body_text(&c)
            .await
            .contains("Spoke to pupil3 and her parents")
    );
    shot(&c, "05-concern-with-note").await;
    fill(
        &c,
        "#outcome",
        "Resolved with both families; pupils supported.",
    )
    .await;
    click(&c, "form[action$='/close'] button[type=submit]").await;
    wait_for(&c, "form[action$='/reopen']").await;
    let status = text_of(&c, "#status").await;
    assert_eq!(status, "Closed");
    assert!(body_text(&c).await.contains("Resolved with both families"));
    shot(&c, "06-concern-closed").await;

    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&c, "#concern-list").await;
    shot(&c, "07-list-on-a-phone").await;
    sign_out(&c).await;

    c.set_window_size(820, 1180).await.unwrap();
    sign_in(&c, &base, "pupil5").await;
    c.goto(&format!("{base}/concerns/new")).await.unwrap();
    wait_for(&c, ".pupil-form").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Tell us what happened")
            && text.contains("Someone is being unkind to me online")
            && text.contains("Was it a grown-up at school?"),
        "{text}"
    );
    shot(&c, "08-pupil-form-on-a-tablet").await;
    c.close().await.unwrap();
}

/// A pupil's browser set to use the proxy: the block page, the review request through sign-in,
/// the network manager's queue and approval, then the page itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_pupil_asks_for_a_review_and_the_network_manager_approves_it_in_chromium() {
    let origin = testkit::http::Origin::start().await;
    let parent = origin.addr.to_string();
    let db = testkit::TestDb::new(Backend::Sqlite).await;
    let server = Server::start_with(BIN, db, "holt", &["--no-dns", "--proxy-parent", &parent]);
    let base = server.url.clone();
    // Chromium reaches loopback (the web app) directly and everything else through the proxy.
    let proxy = format!("--proxy-server=http://{}", server.proxy[0]);
    let (_driver, c, _profile) = start_browser_with(&[proxy]).await;

    c.goto("http://www.gaming-site.example/times-tables")
        .await
        .unwrap();
    wait_for(&c, "main h1").await;
    let text = body_text(&c).await;
    assert!(text.contains("This page is blocked"), "{text}");
    assert!(text.contains("gaming"), "{text}");
    shot(&c, "20-proxy-block-page").await;
    click(&c, "a.button").await;
    // Not signed in yet: the sign-in page, then straight back to the form.
    fill_sign_in(&c, "pupil1").await;
    wait_for(&c, "#reason")
        .await
        .send_keys("We are learning the 7 times table with this game in class.")
        .await
        .unwrap();
    let url = text_of(&c, "#review-url").await;
    assert_eq!(url, "http://www.gaming-site.example/times-tables");
    shot(&c, "21-review-request-form").await;
    click(&c, "form[action='/review'] button").await;
    wait_for(&c, "#sent").await;
    shot(&c, "22-review-request-sent").await;
    sign_out(&c).await;

    sign_in(&c, &base, "netman").await;
    c.goto(&format!("{base}/reviews")).await.unwrap();
    wait_for(&c, ".review select").await;
    let text = body_text(&c).await;
    assert!(text.contains("7 times table"), "{text}");
    fill(
        &c,
        ".review input[name=note]",
        "Year 4 maths, agreed with the class teacher",
    )
    .await;
    shot(&c, "23-review-queue").await;
    click(&c, ".review form[action$='/approve'] button").await;
    wait_for(&c, "#decided").await;
    let text = body_text(&c).await;
    assert!(text.contains("approved"), "{text}");
    // The approval is one of the school's own entries, and in the decision log.
    c.goto(&format!("{base}/rules")).await.unwrap();
    wait_for(&c, "#school-entries").await;
    let entries = text_of(&c, "#school-entries").await;
    assert!(entries.contains("www.gaming-site.example"), "{entries}");
    let log = text_of(&c, "#decision-log").await;
    assert!(
        log.contains("Year 4 maths, agreed with the class teacher"),
        "{log}"
    );
    scroll_to(&c, "#school-entries").await;
    shot(&c, "24-review-approved").await;

    // The filter reloads in the background; the page then arrives from the origin.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.goto("http://www.gaming-site.example/times-tables")
            .await
            .unwrap();
        let text = body_text(&c).await;
        if text.contains("host=www.gaming-site.example") {
            break;
        }
        assert!(Instant::now() < deadline, "still blocked: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The network manager blocks a site directly for every group on the rules page; the next
    // visit gets the block page.
    c.goto(&format!("{base}/rules")).await.unwrap();
    wait_for(&c, "#entry-form").await;
    fill(&c, "#entry-site", "www.new-craze.example").await;
    click(&c, "#entry-group option[value='*']").await;
    fill(&c, "#entry-reason", "A game pupils found at break").await;
    shot(&c, "25-rules-block-a-site").await;
    click(&c, "#entry-form button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = body_text(&c).await;
        if text.contains("www.new-craze.example") && text.contains("Site blocked") {
            break;
        }
        assert!(Instant::now() < deadline, "no entry: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scroll_to(&c, "#school-entries").await;
    shot(&c, "26-rules-site-blocked").await;
    scroll_to(&c, "#decision-log").await;
    shot(&c, "27-rules-decision-log").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.goto("http://www.new-craze.example/").await.unwrap();
        let text = body_text(&c).await;
        if text.contains("This page is blocked") {
            break;
        }
        assert!(Instant::now() < deadline, "not blocked: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Acceptable Use Policy as a pupil sees it when the proxy sends them there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_reads_and_accepts_the_acceptable_use_policy_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "pupil2").await;
    c.goto(&format!(
        "{base}/aup?return=http://lessons.example/fractions"
    ))
    .await
    .unwrap();
    wait_for(&c, "#aup-text").await;
    let text = body_text(&c).await;
    assert!(text.contains("version 2023"), "{text}");
    assert!(text.contains("monitors how its internet is used"), "{text}");
    shot(&c, "30-aup").await;
    click(&c, "#accept-aup").await;
    wait_for(&c, "#aup-accepted").await;
    let link = c
        .find(Locator::Css(
            "a.button[href='http://lessons.example/fractions']",
        ))
        .await;
    assert!(link.is_ok(), "a way back to the page asked for");
    shot(&c, "31-aup-accepted").await;
    c.goto(&format!("{base}/account")).await.unwrap();
    let status = wait_for(&c, "#aup-status").await.text().await.unwrap();
    assert!(status.contains("version 2023 signed"), "{status}");
}

/// The DSL's alert inbox after a pupil's device asked for a self-harm site, and the escalation
/// to a concern.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dsl_escalates_an_alert_to_a_concern_in_chromium() {
    let up = testkit::dns::StubUpstream::start().await;
    let db = testkit::TestDb::new(Backend::Sqlite).await;
    let server = crate::dns::start_dns(db, "holt", &up, &["--no-proxy"]);
    for name in ["www.selfharm-site.example", "selfharm-demo.example"] {
        let (status, _) = crate::dns::dig(&server, "127.0.0.12", name, "A");
        assert_eq!(status, "NXDOMAIN");
    }
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "dsl").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        c.goto(&format!("{base}/alerts")).await.unwrap();
        if c.find(Locator::Css(".card.alert-card")).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "no alert in the inbox");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = body_text(&c).await;
    assert!(text.contains("high-risk category: selfharm"), "{text}");
    click(&c, ".card.alert-card details summary").await;
    fill(&c, ".card.alert-card input[name=subject]", "pupil4").await;
    shot(&c, "40-alert-inbox").await;
    click(&c, ".card.alert-card form.escalate button").await;
    wait_for(&c, "main h1").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Filtering alert: high-risk category: selfharm"),
        "{text}"
    );
    assert!(text.contains("www.selfharm-site.example"), "{text}");
    shot(&c, "41-alert-escalated-concern").await;
}

/// The network manager registers a pupil's tablet in Chromium; its next query is in the query
/// log under the tablet's name and its holder, filtered as the tablet's group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_manager_registers_a_device_and_finds_it_in_the_query_log_in_chromium() {
    let up = testkit::dns::StubUpstream::start().await;
    let db = testkit::TestDb::new(Backend::Sqlite).await;
    let server = crate::dns::start_dns(db, "holt", &up, &["--no-proxy"]);
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "netman").await;
    c.goto(&format!("{base}/devices")).await.unwrap();
    wait_for(&c, "#no-devices").await;
    for (field, value) in [
        ("#device-name", "KS1 iPad 12"),
        ("#device-ip", "127.0.0.41"),
        ("#device-holder", "pupil1"),
    ] {
        fill(&c, field, value).await;
    }
    click(&c, "#device-group option[value='ks1']").await;
    shot(&c, "50-device-form").await;
    click(&c, "form[action='/devices'] button").await;
    wait_for(&c, "#devices").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("KS1 iPad 12") && text.contains("ks1"),
        "{text}"
    );
    shot(&c, "51-device-register").await;

    // The register reloads in the background; then the tablet gets KS1's strict YouTube mode
    // where an unknown address (KS2) gets the moderate one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::dns::dig(&server, "127.0.0.41", "www.youtube.com", "A")
        .1
        .first()
        .map(String::as_str)
        != Some("CNAME restrict.youtube.com.")
    {
        assert!(
            Instant::now() < deadline,
            "the tablet is not filtered as KS1"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        crate::dns::dig(&server, "127.0.0.41", "dns.google", "A").0,
        "NXDOMAIN"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.goto(&format!("{base}/network/queries?device=KS1+iPad+12"))
            .await
            .unwrap();
        let text = body_text(&c).await;
        if text.contains("dns.google") {
            assert!(text.contains("pupil1"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "not in the log: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(&c, "52-query-log-by-device").await;
}

/// A trust in Chromium (`demo --trust`, PostgreSQL): the trust's safeguarding lead lands on the
/// trust's page, which lists only Holt (the school the trust profile gives them), chooses it,
/// and works in Holt's safeguarding log; back at the trust's page they may choose again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trusts_safeguarding_lead_chooses_a_school_and_works_in_it_in_chromium() {
    let db = testkit::TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "trust.dsl").await;
    wait_for(&c, "#trust-schools").await;
    let text = body_text(&c).await;
    assert!(text.contains("Fenland Schools Trust"), "{text}");
    assert!(text.contains("Holt Primary"), "{text}");
    assert!(!text.contains("Coleridge"), "{text}");
    shot(&c, "trust-01-schools").await;
    click(&c, "#school-holt button[type=submit]").await;
    wait_for(&c, "header form[action='/logout']").await;
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&c, "#concern-list").await;
    let text = body_text(&c).await;
    assert!(text.contains("Unkind messages about pupil3"), "{text}");
    shot(&c, "trust-02-holt-concerns").await;
    c.goto(&format!("{base}/trust")).await.unwrap();
    wait_for(&c, "#acting").await;
    shot(&c, "trust-03-acting-in-holt").await;
    click(&c, "#acting button[type=submit]").await;
    wait_for(&c, "#trust-schools").await;
    assert!(c.find(Locator::Css("#acting")).await.is_err());
    // The concerns across the trust's schools, each opened in its own school.
    click(&c, "#trust-lists a[href='/trust/concerns']").await;
    wait_for(&c, "#trust-concern-list").await;
    let text = body_text(&c).await;
    assert!(text.contains("Unkind messages about pupil3"), "{text}");
    assert!(
        text.contains("Holt Primary") && !text.contains("Coleridge"),
        "{text}"
    );
    shot(&c, "trust-04-concerns-across-schools").await;
    click(&c, "#trust-concern-list tbody tr button[type=submit]").await;
    wait_for(&c, "header form[action='/logout']").await;
    let url = c.current_url().await.unwrap();
    assert!(url.path().starts_with("/concerns/"), "{url}");
    sign_out(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trusts_it_lead_sees_filtering_across_schools_in_chromium() {
    let db = testkit::TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "trust.it").await;
    wait_for(&c, "#trust-schools").await;
    click(&c, "#trust-lists a[href='/trust/filtering']").await;
    wait_for(&c, "#filtering-coleridge").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("trust-blocked") && text.contains("Coleridge"),
        "{text}"
    );
    shot(&c, "trust-05-filtering-across-schools").await;
    click(&c, "#filtering-coleridge button[type=submit]").await;
    testkit::browser::wait_for_path(&c, "/rules").await;
    wait_for(&c, "header form[action='/logout']").await;
    shot(&c, "trust-06-coleridge-rules").await;
    sign_out(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_manager_records_a_data_processor_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "data").await;
    click(&c, "nav a[href='/registers/processors']").await;
    wait_for(&c, "#processor-form").await;
    fill(&c, "#name", "Arbor MIS").await;
    fill(&c, "#purpose", "Management information system").await;
    fill(&c, "#data_shared", "Names, attendance, contacts").await;
    click(&c, "input[name=pupils]").await;
    click(&c, "input[name=parents]").await;
    fill(&c, "#transfer", "S2S").await;
    fill(&c, "#stored_where", "UK").await;
    click(&c, "input[name=dpia_done]").await;
    // Date inputs take their value in the browser's locale when typed: set it as the form sends it.
    c.execute(
        "document.getElementById('agreement_on').value = '2024-09-01';
         document.getElementById('renewal_on').value = '2027-08-31';
         document.getElementById('review_on').value = '2026-09-01';",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#processor-form button[type=submit]").await;
    wait_for(&c, "#processor-list").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Arbor MIS") && text.contains("pupils, parents"),
        "{text}"
    );
    shot(&c, "registers-01-data-processors").await;
    scroll_to(&c, "#processor-form").await;
    shot(&c, "registers-02-data-processor-form").await;
    // Its review date (2026-09-01) has passed by the server's clock: on the home page.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "#due").await;
    let text = body_text(&c).await;
    assert!(text.contains("Data processors to review"), "{text}");
    shot(&c, "registers-03-home-due").await;
    sign_out(&c).await;
}

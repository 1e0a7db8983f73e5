//! The filter rules page through the real binary: sites blocked directly, the profile's
//! filtering reloaded after an edit (from the page, on SIGHUP, or by a restart), each answered
//! by the DNS gateway at once and recorded in the decision log with who, what and why.

use crate::dns::{dig, start_dns};
use std::time::{Duration, Instant};
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

const KS1: &str = "127.0.0.11";
const KS2: &str = "127.0.0.12";
const STAFF: &str = "127.0.0.13";

/// Waits (up to 10 s) until `name` asked from `from` gets `status`.
async fn until_status(server: &Server, from: &str, name: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = dig(server, from, name, "A").0;
        if got == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} from {from}: still {got}, want {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post_form(c: &testkit::Client, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = c.post_form(path, form).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn a_site_blocked_on_the_rules_page_is_blocked_for_its_group_at_once(backend: Backend) {
    let up = StubUpstream::start().await;
    let server = start_dns(TestDb::new(backend).await, "holt", &up, &["--no-proxy"]);
    let site = "www.new-craze.example";
    until_status(&server, KS2, site, "NOERROR").await;
    // Holt's profile lets the Headteacher change the filtering as well as the network manager.
    let head = server.login("head").await;
    let (status, _) = post_form(
        &head,
        "/rules/entries",
        &[
            ("kind", "block"),
            ("site", "https://WWW.New-Craze.example/play"),
            ("group", "ks2"),
            ("reason", "Pupils found it at break"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    until_status(&server, KS2, site, "NXDOMAIN").await;
    assert_eq!(dig(&server, STAFF, site, "A").0, "NOERROR");
    assert_eq!(dig(&server, KS1, site, "A").0, "NOERROR");
    let page = head.get_text("/rules").await;
    for want in [site, "Pupils found it at break", "Site blocked"] {
        assert!(page.contains(want), "{want} not on the rules page");
    }
    // The same entry again is refused with the form kept; a site that is no name names the
    // field. Neither adds anything.
    let again = [
        ("kind", "block"),
        ("site", site),
        ("group", "ks2"),
        ("reason", "Twice"),
    ];
    let (status, body) = post_form(&head, "/rules/entries", &again).await;
    assert_eq!(status, 400);
    assert!(body.contains("already blocked"), "{body}");
    let bad = [
        ("kind", "block"),
        ("site", "not a name"),
        ("group", "ks2"),
        ("reason", "x"),
    ];
    let (status, body) = post_form(&head, "/rules/entries", &bad).await;
    assert_eq!(status, 400);
    assert!(body.contains("site:"), "{body}");
    // A teacher may not change the filtering.
    let teacher = server.login("teacher1").await;
    let (status, _) = post_form(&teacher, "/rules/entries", &again).await;
    assert_eq!(status, 403);
    // The network manager takes it out again, with a reason; the group gets it back.
    let netman = server.login("netman").await;
    let page = netman.get_text("/rules").await;
    let id = page
        .split("/rules/entries/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let (status, _) = post_form(
        &netman,
        &format!("/rules/entries/{id}/remove"),
        &[("reason", "The craze is over")],
    )
    .await;
    assert_eq!(status, 303);
    until_status(&server, KS2, site, "NOERROR").await;
    let page = netman.get_text("/rules").await;
    assert!(page.contains("Block entry removed"));
    assert!(page.contains("The craze is over"));
    let (intact, out) = server.audit_verify();
    assert!(intact, "{out}");
}

both_backends!(
    a_site_blocked_on_the_rules_page_is_blocked_for_its_group_at_once,
    a_site_blocked_on_the_rules_page_is_blocked_for_its_group_at_once
);

/// Holt's profile text with "gaming" taken out of Key Stage 2's blocked categories only.
fn holt_with_gaming_open_to_ks2() -> String {
    let text = crate::seed_profile_text("holt");
    let (before, after) = text.split_once("name = \"ks2\"").unwrap();
    let after = after.replacen("\"gaming\", ", "", 1);
    format!("{before}name = \"ks2\"{after}")
}

/// The binary with DNS, started from a copy of Holt's profile in a file of its own, to edit;
/// the folder and the stub upstream live as long as the server needs them.
async fn start_from_file() -> (Server, std::path::PathBuf, tempfile::TempDir, StubUpstream) {
    let up = StubUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holt.toml");
    std::fs::write(&path, crate::seed_profile_text("holt")).unwrap();
    let server = start_dns(
        TestDb::new(Backend::Sqlite).await,
        path.to_str().unwrap(),
        &up,
        &["--no-proxy"],
    );
    (server, path, dir, up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_profile_is_put_in_force_without_a_restart_and_recorded_in_the_decision_log() {
    let (server, path, _dir, _up) = start_from_file().await;
    let game = "www.gaming-site.example";
    until_status(&server, KS2, game, "NXDOMAIN").await;

    // The network manager opens gaming to Key Stage 2 in the file and sends SIGHUP.
    std::fs::write(&path, holt_with_gaming_open_to_ks2()).unwrap();
    let pid = server.pid().unwrap().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(hup.success());
    until_status(&server, KS2, game, "NOERROR").await;
    assert_eq!(dig(&server, KS1, game, "A").0, "NXDOMAIN");
    let netman = server.login("netman").await;
    let page = netman.get_text("/rules").await;
    for want in [
        "filtering changed",
        "group `ks2`: no longer blocks `gaming`",
        "put in force on SIGHUP",
        "filtering first put in force",
    ] {
        assert!(page.contains(want), "{want} not on the rules page");
    }

    // A mistake in the file is named, and the filter in force stays.
    std::fs::write(
        &path,
        holt_with_gaming_open_to_ks2().replace("safesearch = true", "safesearch = \"yes\""),
    )
    .unwrap();
    let (status, body) = post_form(&netman, "/rules/reload", &[("reason", "Typo test")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("safesearch"), "{body}");
    assert_eq!(dig(&server, KS2, game, "A").0, "NOERROR");
    // So does a change the running gateways cannot take: a new group needs a restart.
    let with_group = format!(
        "{}\n[[filtering.groups]]\nname = \"sixth_form\"\npupil = true\n",
        holt_with_gaming_open_to_ks2()
    );
    std::fs::write(&path, &with_group).unwrap();
    let (status, body) = post_form(&netman, "/rules/reload", &[("reason", "New group")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("restart"), "{body}");

    // From the page, with a reason: Key Stage 2's gaming is blocked again. The school's new
    // name is not filtering: the page says it waits for a restart.
    std::fs::write(
        &path,
        crate::seed_profile_text("holt")
            .replace("name = \"Holt Primary\"", "name = \"Holt Primary Academy\""),
    )
    .unwrap();
    let res = netman
        .post_form(
            "/rules/reload",
            &[("reason", "Gaming club moved to lunchtime")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let notice = netman.get_text(&location).await;
    assert!(
        notice.contains(
            "Reloaded: 1 change in force now. Not in force until Palisade restarts: [school]."
        ),
        "{notice}"
    );
    assert_eq!(dig(&server, KS2, game, "A").0, "NXDOMAIN");
    let page = netman.get_text("/rules").await;
    for want in [
        "group `ks2`: blocks `gaming`",
        "Gaming club moved to lunchtime",
        "put in force from this page",
    ] {
        assert!(page.contains(want), "{want} not on the rules page");
    }

    // An edit made while Palisade is stopped is recorded when it starts.
    std::fs::write(&path, holt_with_gaming_open_to_ks2()).unwrap();
    let server = server.restart_after_kill();
    until_status(&server, KS2, game, "NOERROR").await;
    let netman = server.login("netman").await;
    let page = netman.get_text("/rules").await;
    assert!(page.contains("put in force at start-up"), "{page}");
    assert_eq!(
        page.matches("no longer blocks `gaming`").count(),
        2,
        "{page}"
    );
    let (intact, out) = server.audit_verify();
    assert!(intact, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_query_goes_unanswered_or_unfiltered_while_the_profile_reloads() {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType;
    let (server, path, _dir, _up) = start_from_file().await;
    until_status(&server, KS2, "adult-demo.example", "NXDOMAIN").await;
    let dns = server.dns[0];
    let ks2: std::net::IpAddr = KS2.parse().unwrap();
    // Key Stage 2 asks all the while: a name every version blocks, and fresh allowed names
    // (each a cache miss, so each takes the full path through the filter in force).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let asking = tokio::spawn(async move {
        use std::sync::atomic::Ordering::Relaxed;
        let mut wrong = Vec::new();
        // Bounded in count and time whatever the reloads do.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut asked = 0;
        while !stopped.load(Relaxed) && asked < 20_000 && Instant::now() < deadline {
            let blocked = testkit::dns::udp(dns, ks2, "adult-demo.example", RecordType::A).await;
            let fresh = format!("page{asked}.school-news.example");
            let allowed = testkit::dns::udp(dns, ks2, &fresh, RecordType::A).await;
            for (name, m, want) in [
                ("adult-demo.example", &blocked, ResponseCode::NXDomain),
                (fresh.as_str(), &allowed, ResponseCode::NoError),
            ] {
                if m.metadata.response_code != want {
                    wrong.push(format!("{name}: {:?}", m.metadata.response_code));
                }
            }
            asked += 1;
        }
        (asked, wrong)
    });
    // Meanwhile the profile changes back and forth, ten times, each put in force by SIGHUP
    // (the next edit waits until the decision log shows the last one in force).
    let netman = server.login("netman").await;
    let pid = server.pid().unwrap().to_string();
    for i in 0..10 {
        let text = if i % 2 == 0 {
            holt_with_gaming_open_to_ks2()
        } else {
            crate::seed_profile_text("holt")
        };
        std::fs::write(&path, text).unwrap();
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(hup.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = netman.get_text("/rules").await;
            if page.matches("put in force on SIGHUP").count() == i + 1 {
                break;
            }
            assert!(Instant::now() < deadline, "reload {} not recorded", i + 1);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (asked, wrong) = asking.await.unwrap();
    assert!(asked >= 100, "only {asked} rounds of queries were asked");
    assert!(wrong.is_empty(), "{} wrong answers: {wrong:?}", wrong.len());
    // The last version (gaming blocked again) is in force.
    assert_eq!(
        dig(&server, KS2, "www.gaming-site.example", "A").0,
        "NXDOMAIN"
    );
}

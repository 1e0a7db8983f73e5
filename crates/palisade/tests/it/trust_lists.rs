//! The trust's lists across its schools (`/trust/concerns`, `/trust/alerts` and their API):
//! each trust person sees there exactly what their role sees in each school their trust roles
//! cover, nothing of any other school; each school whose rows were shown records the view in its
//! own audit trail; and a concern left untriaged past the profile's `triage_within_hours` shows
//! as overdue, there and on the trust's table of schools.

use crate::BIN;
use serde_json::Value;
use testkit::{Backend, Server, TestDb};

/// The rows of a trust list as (school, id), and the rows themselves.
fn rows<'a>(body: &'a Value, key: &str) -> Vec<&'a Value> {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .collect()
}

/// The details of `action` rows by `username` in `school`'s audit trail.
fn audited(server: &Server, school: &str, action: &str, username: &str) -> Vec<String> {
    let text = testkit::psql(
        &server.db.url,
        &format!(
            "SELECT a.details FROM audit_log a JOIN schools s ON s.id = a.school_id
             WHERE s.slug = '{school}' AND a.action = '{action}' AND a.actor_id =
                   (SELECT id FROM people WHERE username = '{username}') ORDER BY a.id"
        ),
    );
    text.lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_lead_lists_the_concerns_of_their_schools_only_and_each_view_is_audited_there() {
    let db = TestDb::new(Backend::Postgres).await;
    let extra = ["--trust", "--no-dns", "--no-proxy"];
    let morning = testkit::school_morning();
    let server = Server::start_at(BIN, db, "holt", &extra, morning);
    let report = |who: &'static str, about: &'static str, summary: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server
                .login(who)
                .await
                .report(&[about], "contact.online_bullying", summary)
                .await;
            assert_eq!(status, 201, "{body}");
            body["id"].as_i64().unwrap()
        }
    };
    let holt_id = report("holt.teacher1", "holt.pupil3", "Unkind messages at Holt").await;
    let col_id = report(
        "coleridge.teacher1",
        "coleridge.pupil3",
        "Unkind messages at Coleridge",
    )
    .await;

    // The trust's safeguarding lead covers Holt (profiles/trust.toml): Holt's concerns, as
    // Holt's DSL sees them, and none of Coleridge's.
    let lead = server.login("trust.dsl").await;
    let (status, body) = lead.get_json("/api/v1/trust/concerns").await;
    assert_eq!(status, 200, "{body}");
    let listed = rows(&body, "concerns");
    assert!(listed.iter().all(|c| c["school"] == "holt"), "{body}");
    let ours = listed
        .iter()
        .find(|c| c["id"] == holt_id)
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(ours["status"], "new");
    assert_eq!(ours["overdue"], false, "reported just now: {body}");
    assert!(!ours["about"].as_str().unwrap().is_empty(), "{body}");
    // Exactly what Holt's DSL handles there (sees in full) and is not closed.
    let (_, at_holt) = server
        .login("holt.dsl")
        .await
        .get_json("/api/v1/concerns")
        .await;
    let mut open_at_holt: Vec<i64> = rows(&at_holt, "concerns")
        .iter()
        .filter(|c| c.get("route").is_some() && c["status"] != "closed")
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    open_at_holt.sort_unstable();
    let mut ids: Vec<i64> = listed.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, open_at_holt, "what Holt's DSL sees open, no more");
    // The view is in Holt's trail with the ids shown, and in no other school's.
    let views = audited(&server, "holt", "concern.listed_for_trust", "trust.dsl");
    assert_eq!(views.len(), 1, "{views:?}");
    assert!(views[0].contains(&holt_id.to_string()), "{views:?}");
    assert!(
        audited(
            &server,
            "coleridge",
            "concern.listed_for_trust",
            "trust.dsl"
        )
        .is_empty(),
        "nothing of Coleridge's was shown"
    );
    assert!(audited(&server, "trust", "concern.listed_for_trust", "trust.dsl").is_empty());
    // Closed ones too when asked; a wrong status is named.
    let (status, body) = lead.get_json("/api/v1/trust/concerns?status=all").await;
    assert_eq!(status, 200, "{body}");
    assert!(rows(&body, "concerns").len() >= listed.len());
    let (status, body) = lead.get_json("/api/v1/trust/concerns?status=lost").await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("lost"), "{body}");

    // The IT lead and the DPO cover every school, but handle no concerns: an empty list. A
    // school's own people, even its DSL, have no trust pages at all.
    for who in ["trust.it", "trust.dpo"] {
        let (status, body) = server
            .login(who)
            .await
            .get_json("/api/v1/trust/concerns")
            .await;
        assert_eq!(status, 200, "{who}: {body}");
        assert!(rows(&body, "concerns").is_empty(), "{who}: {body}");
    }
    for who in ["holt.dsl", "coleridge.dsl", "coleridge.head", "holt.pupil3"] {
        let c = server.login(who).await;
        for path in [
            "/api/v1/trust/concerns",
            "/api/v1/trust/alerts",
            "/trust/concerns",
            "/trust/alerts",
        ] {
            assert_eq!(c.get(path).await.status(), 404, "{who} {path}");
        }
    }
    // Naming Coleridge with the header changes nothing: the trust's pages are the trust's.
    let res = lead
        .request(reqwest::Method::GET, "/api/v1/trust/concerns")
        .header("x-palisade-school", "coleridge")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let listed = rows(&body, "concerns");
    assert!(listed.iter().all(|c| c["school"] == "holt"), "{body}");
    assert!(
        !listed
            .iter()
            .any(|c| c["id"] == col_id && c["school"] == "coleridge")
    );

    // Nine hours later, nobody has triaged it: past Holt's eight hours, it is overdue on the
    // trust's list and counted on the trust's table.
    let db = server.kill();
    let evening = morning + chrono::TimeDelta::hours(9);
    let server = Server::start_at(BIN, db, "holt", &extra, evening);
    let lead = server.login("trust.dsl").await;
    let (_, body) = lead.get_json("/api/v1/trust/concerns").await;
    let ours = rows(&body, "concerns")
        .into_iter()
        .find(|c| c["id"] == holt_id)
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(ours["overdue"], true, "{body}");
    let (_, body) = lead.get_json("/api/v1/trust/schools").await;
    let holt = &rows(&body, "schools")[0];
    assert_eq!(holt["slug"], "holt");
    assert!(holt["overdue_concerns"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(holt["triage_within_hours"], 8);
    // In the browser: the page lists it as overdue, and opening it works in Holt at the
    // concern (and only a local page may be named).
    let page = lead.get_text("/trust/concerns").await;
    assert!(
        page.contains(&format!("id=\"concern-holt-{holt_id}\"")),
        "{page}"
    );
    assert!(page.contains("overdue for triage"), "{page}");
    assert!(!page.contains("Unkind messages at Coleridge"), "{page}");
    let table = lead.get_text("/trust").await;
    assert!(table.contains("/trust/concerns") && table.contains("/trust/alerts"));
    let next = format!("/concerns/{holt_id}");
    let open = lead
        .post_form(
            "/trust/school",
            &[("school", "holt"), ("next", next.as_str())],
        )
        .await;
    assert_eq!(open.status(), 303);
    assert_eq!(open.headers()["location"], next.as_str());
    let away = lead
        .post_form(
            "/trust/school",
            &[("school", "holt"), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(away.headers()["location"], "/");
    // Holt's own list marks it too.
    let holt_list = server.login("holt.dsl").await.get_text("/concerns").await;
    assert!(holt_list.contains("overdue for triage"), "{holt_list}");
    // The IT lead's table has no concern links.
    let it_table = server.login("trust.it").await.get_text("/trust").await;
    assert!(!it_table.contains("/trust/concerns"), "{it_table}");
    // Every school's trail, with the views recorded, still verifies.
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--all", "--database-url", &server.db.url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_it_lead_sees_the_trusts_lists_and_each_schools_filtering_in_counts() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let it = server.login("trust.it").await;
    let (status, body) = it.get_json("/api/v1/trust/filtering").await;
    assert_eq!(status, 200, "{body}");
    // The trust's own list, mandatory, read by every school.
    let lists = rows(&body, "lists");
    assert_eq!(lists.len(), 1, "{body}");
    assert_eq!(lists[0]["name"], "trust-blocked");
    assert_eq!(lists[0]["mandatory"], true);
    // Both schools (the IT lead covers every school), each with its own groups.
    let schools = rows(&body, "schools");
    let slugs: Vec<&str> = schools
        .iter()
        .map(|s| s["school"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["holt", "coleridge"], "{body}");
    let groups = |i: usize| -> Vec<String> {
        schools[i]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(groups(0).contains(&"ks2".to_string()), "{body}");
    assert!(groups(1).contains(&"pupils".to_string()), "{body}");
    assert!(!groups(1).contains(&"ks2".to_string()), "{body}");
    for s in &schools {
        assert!(
            s["allowed_sites"].is_u64() && s["reviews_waiting"].is_u64(),
            "{s}"
        );
        // This server runs without its gateways, and says so rather than blame the profile.
        assert_eq!(s["filtered"], false, "{s}");
        assert!(
            s["not_filtered_because"]
                .as_str()
                .unwrap()
                .contains("DNS resolver"),
            "{s}"
        );
    }
    let page = it.get_text("/trust/filtering").await;
    assert!(page.contains("id=\"filtering-holt\"") && page.contains("id=\"filtering-coleridge\""));
    assert!(page.contains("trust-blocked"), "{page}");
    let table = it.get_text("/trust").await;
    assert!(table.contains("/trust/filtering"), "{table}");
    // Opening a school's rules works in that school, at its rules page.
    let open = it
        .post_form(
            "/trust/school",
            &[("school", "coleridge"), ("next", "/rules")],
        )
        .await;
    assert_eq!(open.status(), 303);
    assert_eq!(open.headers()["location"], "/rules");
    // The trust's safeguarding lead manages no school's filtering: no school here, no link.
    let lead = server.login("trust.dsl").await;
    let (status, body) = lead.get_json("/api/v1/trust/filtering").await;
    assert_eq!(status, 200, "{body}");
    assert!(rows(&body, "schools").is_empty(), "{body}");
    assert!(!lead.get_text("/trust").await.contains("/trust/filtering"));
    // A school's own network manager has no trust pages.
    for who in ["holt.netman", "coleridge.netman"] {
        let c = server.login(who).await;
        assert_eq!(
            c.get("/api/v1/trust/filtering").await.status(),
            404,
            "{who}"
        );
        assert_eq!(c.get("/trust/filtering").await.status(), 404, "{who}");
    }
}

/// The trust's data protection officer acts in each school as its data manager: Coleridge's
/// data processors register (its profile keeps one) is theirs to read and add to there; Holt
/// keeps none, so there it does not exist; and the trust's table counts what is due in each
/// school for their role there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_dpo_keeps_the_registers_of_the_schools_that_keep_them() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let mut dpo = server.login("trust.dpo").await;
    dpo.school = Some("coleridge".into());
    let entry = serde_json::json!({"name": "Arbor MIS", "purpose": "MIS", "data_shared": "Names",
        "whose_data": ["pupils"], "agreement_on": "2024-09-01", "renewal_on": "2026-11-20",
        "transfer": "S2S", "stored_where": "UK", "review_on": "2027-09-01"});
    let res = dpo.post_json("/api/v1/data-processors", &entry).await;
    assert_eq!(res.status(), 201);
    let (status, body) = dpo.get_json("/api/v1/data-processors").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rows(&body, "processors").len(), 1, "{body}");
    // Coleridge's own data manager sees the same entry; Holt's register does not exist.
    let (_, theirs) = server
        .login("coleridge.data")
        .await
        .get_json("/api/v1/data-processors")
        .await;
    assert_eq!(rows(&theirs, "processors").len(), 1, "{theirs}");
    dpo.school = Some("holt".into());
    assert_eq!(dpo.get("/api/v1/data-processors").await.status(), 404);
    let (status, _) = server
        .login("holt.data")
        .await
        .get_json("/api/v1/data-processors")
        .await;
    assert_eq!(status, 404);
    // Nobody at Holt finds Coleridge's entry.
    let mut it = server.login("trust.it").await;
    it.school = Some("coleridge".into());
    assert_eq!(it.get("/api/v1/data-processors").await.status(), 403);
    // The trust's table: what is due for the DPO in each school. Both schools have training
    // nobody has done and photo consent to ask for (the data manager keeps both); Coleridge
    // has its processor's renewal besides, Holt no register to count.
    dpo.school = None;
    let (_, body) = dpo.get_json("/api/v1/trust/schools").await;
    let schools = rows(&body, "schools");
    let coleridge = schools.iter().find(|s| s["slug"] == "coleridge").unwrap();
    let holt = schools.iter().find(|s| s["slug"] == "holt").unwrap();
    assert_eq!(holt["due"], 2, "{body}");
    assert_eq!(coleridge["due"], 3, "{body}");
}

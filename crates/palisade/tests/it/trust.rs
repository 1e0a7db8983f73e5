//! A trust on one PostgreSQL database (`palisade demo --trust`): each school works in its own
//! school, and nothing of one school is found from another, by id, by list or by search,
//! through the real binary's JSON API.

use crate::BIN;
use crate::acceptance::ids_seen_by;
use testkit::{Backend, Server, TestDb};

async fn usernames(server: &Server, username: &str) -> Vec<String> {
    let (status, body) = server
        .login(username)
        .await
        .get_json("/api/v1/people")
        .await;
    assert_eq!(status, 200, "{username}: {body}");
    body["people"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|p| p["username"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holt_concern_is_seen_at_holt_and_is_404_and_absent_at_coleridge() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start_with(BIN, db, "holt", &["--trust", "--no-dns", "--no-proxy"]);
    let teacher = server.login("holt.teacher1").await;
    let (status, body) = teacher
        .report(
            &["holt.pupil3"],
            "contact.online_bullying",
            "Unkind messages in a group chat",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();

    let holt = ids_seen_by(&server, "holt.dsl").await;
    assert!(holt.contains(&id), "{holt:?}");
    let dsl = server.login("holt.dsl").await;
    assert_eq!(
        dsl.get(&format!("/api/v1/concerns/{id}")).await.status(),
        200
    );
    let (_, me) = dsl.get_json("/api/v1/me").await;
    assert_eq!(me["username"], "holt.dsl", "{me}");

    // Every Coleridge login: the Holt concern is not there, by id or in any list, and none of
    // Holt's concerns or people are in Coleridge's lists.
    for who in [
        "coleridge.dsl",
        "coleridge.osc",
        "coleridge.head",
        "coleridge.netman",
        "coleridge.teacher1",
        "coleridge.pupil3",
        "coleridge.parent1",
    ] {
        let c = server.login(who).await;
        let res = c.get(&format!("/api/v1/concerns/{id}")).await;
        assert_eq!(res.status(), 404, "{who} GET /api/v1/concerns/{id}");
        let res = c.get(&format!("/concerns/{id}")).await;
        assert_eq!(res.status(), 404, "{who} GET /concerns/{id}");
        let theirs = ids_seen_by(&server, who).await;
        assert!(
            theirs.iter().all(|c| !holt.contains(c)),
            "{who} sees Holt's concerns: {theirs:?} of {holt:?}"
        );
    }
    let coleridge = ids_seen_by(&server, "coleridge.osc").await;
    assert!(!coleridge.is_empty(), "Coleridge's own sample concerns");
    assert!(coleridge.iter().all(|c| !holt.contains(c)));
    let people = usernames(&server, "coleridge.head").await;
    assert!(people.iter().any(|u| u == "coleridge.pupil3"), "{people:?}");
    assert!(
        people.iter().all(|u| u.starts_with("coleridge.")),
        "{people:?}"
    );
    let people = usernames(&server, "holt.head").await;
    assert!(people.iter().all(|u| u.starts_with("holt.")), "{people:?}");
    // A report naming another school's pupil finds nobody by that name.
    let (status, body) = server
        .login("coleridge.teacher1")
        .await
        .report(
            &["holt.pupil3"],
            "contact.online_bullying",
            "About a Holt pupil",
        )
        .await;
    assert!(status == 400 || status == 404, "{status} {body}");
    assert_eq!(ids_seen_by(&server, "holt.dsl").await, holt);
    // The trust's safeguarding lead covers Holt (profiles/trust.toml), and acts there as its
    // DSL: the concern is theirs to see when they name Holt, and hidden anywhere else.
    let trust_dsl = server.login("trust.dsl").await;
    let in_school = |c: &testkit::Client, school: &str, path: &str| {
        c.request(reqwest::Method::GET, path)
            .header("x-palisade-school", school.to_string())
    };
    let res = in_school(&trust_dsl, "holt", &format!("/api/v1/concerns/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = in_school(&trust_dsl, "holt", "/api/v1/concerns")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen: Vec<i64> = body["concerns"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(seen.contains(&id), "{seen:?}");
    for (who, school, path) in [
        ("trust.dsl", "coleridge", format!("/api/v1/concerns/{id}")),
        ("trust.dsl", "coleridge", "/api/v1/concerns".to_string()),
        ("trust.dsl", "nowhere", "/api/v1/concerns".to_string()),
        // The IT lead covers Coleridge and Holt as their network manager: no concerns.
        ("trust.it", "holt", format!("/api/v1/concerns/{id}")),
        // A school's own people act in their own school only.
        ("coleridge.dsl", "holt", format!("/api/v1/concerns/{id}")),
        ("coleridge.dsl", "holt", "/api/v1/concerns".to_string()),
    ] {
        let c = server.login(who).await;
        let res = in_school(&c, school, &path).send().await.unwrap();
        assert_eq!(res.status(), 404, "{who} as {school}: {path}");
    }
    // Without naming a school the trust's people are in the trust's own row: nothing there.
    assert_eq!(
        trust_dsl
            .get(&format!("/api/v1/concerns/{id}"))
            .await
            .status(),
        404
    );
    // A session cookie moved to another school's prefix finds no session there.
    let mut moved = server.login("holt.dsl").await;
    let cookie = moved.cookie.clone().unwrap();
    let (name, token) = cookie.split_once('=').unwrap();
    let (_, random) = token.split_once('.').unwrap();
    moved.cookie = Some(format!("{name}=2.{random}"));
    assert_eq!(moved.get("/api/v1/me").await.status(), 401);
    // A change by the trust's lead in Holt still needs the session's CSRF token.
    let res = trust_dsl
        .http
        .post(format!("{}/api/v1/concerns/{id}/actions", server.url))
        .header("cookie", trust_dsl.cookie.clone().unwrap())
        .header("x-palisade-school", "holt")
        .json(&serde_json::json!({"kind": "note", "text": "Read by the trust"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = in_school(&trust_dsl, "holt", "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = trust_dsl
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/concerns/{id}/actions"),
        )
        .header("x-palisade-school", "holt")
        .json(&serde_json::json!({"kind": "note", "text": "Read by the trust"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // Holt's DSL reads the trust lead's note under their name (the trust's row, which Holt
    // cannot otherwise read), and Holt's audit trail names them.
    let page = dsl.get_text(&format!("/concerns/{id}")).await;
    assert!(
        page.contains("Read by the trust") && page.contains("Tamsin Dale"),
        "{page}"
    );
    let audit = server.login("holt.dsl").await.get_text("/audit").await;
    assert!(audit.contains("Tamsin Dale"), "{audit}");
    // The trust's page: the schools each person's roles cover, with what waits there.
    let (status, body) = trust_dsl.get_json("/api/v1/trust/schools").await;
    assert_eq!(status, 200, "{body}");
    let schools = body["schools"].as_array().unwrap();
    assert_eq!(schools.len(), 1, "{body}");
    assert_eq!(schools[0]["slug"], "holt");
    assert!(schools[0]["open_concerns"].as_u64().unwrap() >= 2, "{body}");
    assert!(schools[0]["open_alerts"].is_u64(), "{body}");
    let it = server.login("trust.it").await;
    let (_, body) = it.get_json("/api/v1/trust/schools").await;
    let slugs: Vec<&str> = body["schools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["holt", "coleridge"], "{body}");
    // The IT lead sees no concerns there, and of the alerts only Palisade's own (a monitoring
    // gap, a failed self-test), none of which is open.
    assert!(
        body["schools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["open_concerns"] == 0 && s["open_alerts"] == 0),
        "{body}"
    );
    assert_eq!(
        server
            .login("coleridge.dsl")
            .await
            .get("/trust")
            .await
            .status(),
        404
    );
    // In the browser: the trust's lead lands on the trust's page, chooses Holt, and works in it.
    let mut browser = server.login("trust.dsl").await;
    let home = browser.get("/").await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/trust");
    let page = browser.get_text("/trust").await;
    assert!(
        page.contains("id=\"school-holt\"") && !page.contains("id=\"school-coleridge\""),
        "{page}"
    );
    let refused = browser
        .post_form("/trust/school", &[("school", "coleridge")])
        .await;
    assert_eq!(refused.status(), 404);
    let chosen = browser
        .post_form("/trust/school", &[("school", "holt")])
        .await;
    assert_eq!(chosen.status(), 303);
    let set = chosen.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.starts_with("palisade_school=holt;") && set.contains("HttpOnly"),
        "{set}"
    );
    let session = browser.cookie.clone().unwrap();
    browser.cookie = Some(format!("{session}; palisade_school=holt"));
    assert_eq!(browser.get(&format!("/concerns/{id}")).await.status(), 200);
    assert_eq!(browser.get("/").await.status(), 200);
    // A school cookie naming Coleridge hides every page, as the header does.
    let mut elsewhere = browser.clone();
    elsewhere.cookie = Some(format!("{session}; palisade_school=coleridge"));
    assert_eq!(elsewhere.get("/").await.status(), 404);
    // The trust's page stays the trust's, to choose again.
    assert!(elsewhere.get_text("/trust").await.contains("school-holt"));

    // The trust lead's view and note are in Holt's trail under their name, not the trust's.
    let psql = |sql: &str| testkit::psql(&server.db.url, sql);
    let by_trust_lead = |school: &str| {
        psql(&format!(
            "SELECT string_agg(a.action, ',' ORDER BY a.id) FROM audit_log a
             JOIN schools s ON s.id = a.school_id
             WHERE s.slug = '{school}' AND a.object_id = '{id}' AND a.actor_id =
                   (SELECT id FROM people WHERE username = 'trust.dsl')"
        ))
    };
    let holt_rows = by_trust_lead("holt");
    assert!(holt_rows.contains("concern.viewed"), "{holt_rows}");
    assert!(holt_rows.contains("concern.action_added"), "{holt_rows}");
    assert_eq!(by_trust_lead("trust"), "");
    // Each school's trail verifies on its own, and the report is in Holt's.
    for school in ["holt", "coleridge"] {
        let out = std::process::Command::new(BIN)
            .args([
                "audit",
                "verify",
                "--school",
                school,
                "--database-url",
                &server.db.url,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("intact"),
            "{school}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_trust_refuses_sqlite_naming_postgresql() {
    let out = std::process::Command::new(BIN)
        .args([
            "demo",
            "--trust",
            "--database-url",
            "sqlite://nowhere/demo.db",
            "--no-dns",
            "--no-proxy",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PostgreSQL"), "{err}");
}

/// Waits until `username`'s alert inbox shows `text`, and returns the page.
async fn inbox_with(server: &Server, username: &str, text: &str) -> String {
    let lead = server.login(username).await;
    crate::alerts::inbox_shows(&lead, text, std::time::Duration::from_secs(5)).await
}

/// Acceptance: one DNS gateway and one proxy answer for both schools; a `dig` (and a proxied
/// request) from a Holt address and from a Coleridge address get each school's own filtering,
/// and each is logged, and alerts, under its own school only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_set_of_gateways_filters_and_logs_each_client_as_its_schools() {
    use crate::dns::dig;
    let up = testkit::dns::StubUpstream::start().await;
    let db = TestDb::new(Backend::Postgres).await;
    let server = crate::dns::start_dns(db, "holt", &up, &["--trust"]);
    // Holt's KS2 at 127.0.0.12 (Holt's profile), Coleridge's pupils and staff at 127.0.0.22
    // and .23 (the trust profile's subnets for Coleridge).
    let (holt_ks2, holt_staff) = ("127.0.0.12", "127.0.0.13");
    let (col_pupils, col_staff) = ("127.0.0.22", "127.0.0.23");
    let nx = || ("NXDOMAIN".to_string(), Vec::<String>::new());
    let block_page = || ("NOERROR".to_string(), vec!["A 127.0.0.1".to_string()]);
    let allowed = || ("NOERROR".to_string(), vec!["A 127.0.2.1".to_string()]);
    // Holt answers a block NXDOMAIN, Coleridge with its block page: asked in turn, twice, so
    // that the second answers come from the answer cache the schools share.
    for _ in 0..2 {
        assert_eq!(dig(&server, holt_ks2, "adult-demo.example", "A"), nx());
        assert_eq!(
            dig(&server, col_pupils, "adult-demo.example", "A"),
            block_page()
        );
        // Social networks: open to Holt's staff and Coleridge's staff, blocked for Coleridge's
        // pupils.
        assert_eq!(
            dig(&server, holt_staff, "social-demo.example", "A"),
            allowed()
        );
        assert_eq!(
            dig(&server, col_staff, "social-demo.example", "A"),
            allowed()
        );
        assert_eq!(
            dig(&server, col_pupils, "social-demo.example", "A"),
            block_page()
        );
    }
    // Both schools have a group called "staff": Holt's may play games, Coleridge's may not.
    assert_eq!(
        dig(&server, holt_staff, "gaming-demo.example", "A"),
        allowed()
    );
    assert_eq!(
        dig(&server, col_staff, "gaming-demo.example", "A"),
        block_page()
    );
    // The trust's own list (profiles/trust.toml) is in force in both schools, for every group,
    // whatever a school's groups allow: mandatory.
    for client in [holt_ks2, holt_staff] {
        assert_eq!(
            dig(&server, client, "trust-blocked-demo.example", "A"),
            nx()
        );
    }
    for client in [col_pupils, col_staff] {
        assert_eq!(
            dig(&server, client, "trust-blocked-demo.example", "A"),
            block_page()
        );
    }
    // Both schools' name lists come out the same (the trust's list, then the IWF,
    // counter-terrorism and UT1 lists both profiles name): one index between them.
    let metrics = server.client().get_text("/metrics").await;
    assert!(
        metrics.contains("palisade_filter_indexes 1\n"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("palisade_filter"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A self-harm site from each school: an alert in each school's inbox, naming its device
    // and never the other school's.
    dig(&server, holt_ks2, "www.selfharm-site.example", "A");
    dig(&server, col_pupils, "www.selfharm-site.example", "A");
    let holt_inbox = inbox_with(&server, "holt.dsl", "device 127.0.0.12").await;
    assert!(!holt_inbox.contains("127.0.0.22"), "{holt_inbox}");
    let col_inbox = inbox_with(&server, "coleridge.dsl", "device 127.0.0.22").await;
    assert!(!col_inbox.contains("127.0.0.12"), "{col_inbox}");
    // The trust's safeguarding lead (Holt's, by the trust profile) finds Holt's alert on the
    // trust's list, and nothing of Coleridge's; the IT lead handles no alerts.
    let (status, body) = server
        .login("trust.dsl")
        .await
        .get_json("/api/v1/trust/alerts")
        .await;
    assert_eq!(status, 200, "{body}");
    let alerts = body["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["who"].as_str().unwrap().contains("127.0.0.12")),
        "{body}"
    );
    assert!(alerts.iter().all(|a| a["school"] == "holt"), "{body}");
    assert!(!body.to_string().contains("127.0.0.22"), "{body}");
    let it = server.login("trust.it").await;
    let (_, body) = it.get_json("/api/v1/trust/alerts").await;
    assert_eq!(body["alerts"], serde_json::json!([]), "{body}");
    // The IT lead's filtering page: both schools filtered, each with the last day's requests.
    let (_, body) = it.get_json("/api/v1/trust/filtering").await;
    let schools = body["schools"].as_array().unwrap();
    assert_eq!(schools.len(), 2, "{body}");
    for s in schools {
        assert_eq!(s["filtered"], true, "{s}");
        assert!(s["requests_24h"].as_i64().unwrap() > 0, "{s}");
        assert!(s["blocked_24h"].as_i64().unwrap() > 0, "{s}");
    }
    // The proxy too: Coleridge's pupils are refused social networks, Holt's staff are not.
    let social = "http://social-demo.example/";
    let (status, page) = crate::proxy::curl_as(&server, col_pupils, None, social);
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("(pupils)"), "Coleridge's group: {page}");
    let (status, page) = crate::proxy::curl_as(&server, holt_staff, None, social);
    assert_ne!(status, 403, "{page}");
    let (status, page) =
        crate::proxy::curl_as(&server, holt_ks2, None, "http://www.gaming-site.example/");
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("(ks2)"), "Holt's group: {page}");

    // Each school's log holds its own clients' queries and requests, and only theirs.
    let store = server.store().await;
    let coleridge = store.school_id_by_slug("coleridge").await.unwrap().unwrap();
    let (holt, col) = (store.clone(), store.in_school(coleridge));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let everything = store::AccessFilter::default();
    let (holt_rows, col_rows) = loop {
        let h = holt.access_log(&everything, 1000).await.unwrap();
        let c = col.access_log(&everything, 1000).await.unwrap();
        // Holt: 2 x 2 + 2 + 1 + 1 queries and 2 proxy requests; Coleridge: 2 x 3 + 2 + 1 + 1
        // and 1.
        if (h.len() >= 10 && c.len() >= 11) || std::time::Instant::now() > deadline {
            break (h, c);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let clients = |rows: &[store::AccessRow]| {
        let mut c: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.event.source.clone(),
                    r.event.client_ip.clone(),
                    r.event.group_name.clone(),
                )
            })
            .collect();
        c.sort();
        c.dedup();
        c
    };
    let row = |source: &str, ip: &str, group: &str| (source.into(), ip.into(), group.into());
    assert_eq!(holt_rows.len(), 10, "{:?}", clients(&holt_rows));
    assert_eq!(
        clients(&holt_rows),
        [
            row("dns", holt_ks2, "ks2"),
            row("dns", holt_staff, "staff"),
            row("proxy", holt_ks2, "ks2"),
            row("proxy", holt_staff, "staff"),
        ]
    );
    assert_eq!(col_rows.len(), 11, "{:?}", clients(&col_rows));
    assert_eq!(
        clients(&col_rows),
        [
            row("dns", col_pupils, "pupils"),
            row("dns", col_staff, "staff"),
            row("proxy", col_pupils, "pupils"),
        ]
    );
    // The trust's IT lead blocks a site for Holt's staff, working in Holt: in force at once for
    // Holt's staff only, and on Holt's rules page for Holt's own network manager, under the
    // IT lead's name (the entry is Holt's, though its author is the trust's).
    let mut it = server.login("trust.it").await;
    it.school = Some("holt".into());
    let res = it
        .post_form(
            "/rules/entries",
            &[
                ("kind", "block"),
                ("site", "news-demo.example"),
                ("group", "staff"),
                ("reason", "Blocked by the trust for this test"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while dig(&server, holt_staff, "news-demo.example", "A") != nx() {
        assert!(
            std::time::Instant::now() < deadline,
            "the trust's entry is not in force"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(dig(&server, col_staff, "news-demo.example", "A"), allowed());
    let rules = server.login("holt.netman").await.get_text("/rules").await;
    assert!(
        rules.contains("news-demo.example") && rules.contains("Ivan Teller"),
        "{rules}"
    );
    store.close().await;
}

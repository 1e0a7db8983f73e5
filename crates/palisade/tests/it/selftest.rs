//! The filtering self-test through the real binary: `palisade filter-test` against a running
//! demo school's DNS gateway (over a loopback stub upstream) and proxy, for both seed
//! profiles; a category dropped from a group by mistake makes it fail, stored and alerted; a
//! filter that could not load (pupils refused, fail closed) is reported as not working; the
//! page is for the self-testers only.

use crate::BIN;
use crate::dns::start_dns;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

/// `palisade filter-test --json` against `server`'s gateways with `profile` and `args`: the
/// exit code and the parsed output (`Null` when it printed no JSON).
fn filter_test(server: &Server, profile: &str, args: &[&str]) -> (i32, Value, String) {
    let dns = server.dns[0].to_string();
    let proxy = server.proxy[0].to_string();
    let out = Command::new(BIN)
        .args(["filter-test", "--json", "--profile", profile])
        .args([
            "--database-url",
            &server.db.url,
            "--dns",
            &dns,
            "--proxy",
            &proxy,
        ])
        .args(args)
        .env(clock::TEST_CLOCK_VAR, store::timestamp(server.clock.now()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}\n{stderr}"),
    )
}

/// The checks of `group` in a run's JSON.
fn checks<'a>(run: &'a Value, group: &str) -> &'a Vec<Value> {
    run["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == group)
        .unwrap_or_else(|| panic!("no group {group} in {run}"))["checks"]
        .as_array()
        .unwrap()
}

fn failed(run: &Value) -> Vec<String> {
    run["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["pass"] != true)
                .map(move |c| format!("{}: {} (got {})", g["group"], c["check"], c["got"]))
        })
        .collect()
}

async fn every_check_passes_on_the_demo_school(profile: &str) {
    let up = StubUpstream::start().await;
    let server = start_dns(TestDb::new(Backend::Sqlite).await, profile, &up, &[]);
    let (code, run, out) = filter_test(&server, profile, &["--all"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(run["pass"], true, "{:?}", failed(&run));
    let groups = run["groups"].as_array().unwrap();
    let want: Vec<&str> = match profile {
        "holt" => vec!["ks1", "ks2", "staff", "guests"],
        _ => vec!["pupils", "staff", "guests"],
    };
    assert_eq!(
        groups
            .iter()
            .map(|g| g["group"].as_str().unwrap())
            .collect::<Vec<_>>(),
        want
    );
    // Each group spoke from its own loopback address, and the pupils' checks include the
    // DfE minimum, SafeSearch, the DoH checks and the IP literal through the proxy.
    let pupils = if profile == "holt" { "ks2" } else { "pupils" };
    let names: Vec<&str> = checks(&run, pupils)
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for want in [
        "child abuse content (IWF list)",
        "terrorist content (counter-terrorism list)",
        "adult content (DfE minimum for pupils)",
        "category gaming",
        "SafeSearch: Google",
        "DoH canary (browsers keep the school's DNS)",
        "a known DoH resolver",
        "HTTPS to an IP address instead of a name",
        "an allowed name resolves",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert_eq!(
        groups.iter().find(|g| g["group"] == pupils).unwrap()["client"],
        "127.0.0.12"
    );
    // The run is stored, every result with it; nothing failed, so no alert.
    let store = server.store().await;
    let runs = store.filter_test_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].failed, runs[0].cause.as_str()),
        (0, "command line")
    );
    let results = store.filter_test_results(runs[0].id).await.unwrap();
    assert_eq!(results.len() as i64, runs[0].checks);
    assert!(results.iter().all(|r| r.pass && !r.client_ip.is_empty()));
    // The probes are not a pupil's attempts: monitoring raises nothing for them (its rules run
    // on the access log's batches, written within a second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let alerts = store.alerts(&Default::default(), 10).await.unwrap();
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_test_all_passes_every_check_on_holt() {
    every_check_passes_on_the_demo_school("holt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_test_all_passes_every_check_on_coleridge() {
    every_check_passes_on_the_demo_school("coleridge").await;
}

/// Holt's profile text (lists by absolute path) with `adult` taken out of Key Stage 2 only.
fn holt_without_adult_for_ks2() -> String {
    let text = crate::seed_profile_text("holt");
    let (before, after) = text.split_once("name = \"ks2\"").unwrap();
    let after = after.replacen("[\"adult\", ", "[", 1);
    format!("{before}name = \"ks2\"{after}")
}

/// Polls until `store` holds a run whose failed checks include `check` of `group`.
async fn a_failed_run(store: &store::Store, group: &str, check: &str) -> store::FilterTestRun {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for run in store.filter_test_runs(20).await.unwrap() {
            let results = store.filter_test_results(run.id).await.unwrap();
            if results
                .iter()
                .any(|r| r.group == group && r.check == check && !r.pass)
            {
                return run;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no failed {group} {check} run stored"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_category_dropped_from_a_group_fails_the_self_test_is_stored_and_alerts(
    backend: Backend,
) {
    let up = StubUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holt.toml");
    std::fs::write(&path, crate::seed_profile_text("holt")).unwrap();
    let profile = path.to_str().unwrap();
    let server = start_dns(TestDb::new(backend).await, profile, &up, &[]);
    let (code, run, out) = filter_test(&server, profile, &["--all"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(run["pass"], true);

    // A mistake in the copy: KS2 no longer blocks adult content. Reloaded from the rules page,
    // which also runs the server's own self-test.
    std::fs::write(&path, holt_without_adult_for_ks2()).unwrap();
    let netman = server.login("netman").await;
    let res = netman
        .post_form("/rules/reload", &[("reason", "Tidying the categories")])
        .await;
    assert_eq!(res.status(), 303);
    let adult = "adult content (DfE minimum for pupils)";
    let store = server.store().await;
    let after_reload = a_failed_run(&store, "ks2", adult).await;
    assert_eq!(after_reload.cause, "reload");

    let (code, run, out) = filter_test(&server, profile, &["--all"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(run["pass"], false);
    let ks2_adult = checks(&run, "ks2")
        .iter()
        .find(|c| c["check"] == adult)
        .unwrap();
    assert_eq!(ks2_adult["pass"], false, "{ks2_adult}");
    assert_eq!(ks2_adult["got"], "NOERROR 192.0.2.1", "{ks2_adult}");
    // Only that check failed: KS1, staff and guests still block adult content.
    assert_eq!(
        failed(&run),
        [format!("\"ks2\": \"{adult}\" (got \"NOERROR 192.0.2.1\")")]
    );
    // One group alone is tested with --group; exit 1 again.
    let (code, one, _) = filter_test(&server, profile, &["--group", "ks1"]);
    assert_eq!((code, one["pass"].clone()), (0, Value::Bool(true)));
    assert_eq!(one["groups"].as_array().unwrap().len(), 1);
    let (code, _, out) = filter_test(&server, profile, &["--group", "ks9"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ks9"), "{out}");

    // Stored: the command line's run, with the failed result.
    let runs = store.filter_test_runs(10).await.unwrap();
    let cli = runs.iter().find(|r| r.id == run["run_id"]).unwrap();
    assert_eq!((cli.failed, cli.cause.as_str()), (1, "command line"));
    // A high system alert names the group and the check.
    let alerts = store.alerts(&Default::default(), 20).await.unwrap();
    let alert = alerts
        .iter()
        .find(|a| a.rule == format!("filter self-test failed: ks2 {adult}"))
        .unwrap_or_else(|| panic!("no alert in {alerts:?}"));
    assert_eq!(alert.severity.as_str(), "high");
    assert_eq!(alert.subject, store::gaps::SYSTEM_SUBJECT);
    // It reaches the network manager's inbox and the DSL's, and nobody else's.
    let rule = format!("filter self-test failed: ks2 {adult}");
    for who in ["netman", "dsl"] {
        let reader = server.login(who).await;
        crate::alerts::inbox_shows(&reader, &rule, std::time::Duration::from_secs(5)).await;
    }
    let head = server.login("head").await;
    let page = head.get_text("/alerts?status=all").await;
    assert!(!page.contains(&rule), "{page}");

    // The certificate shows the failure; the network manager runs it again from the page.
    let page = netman.get_text("/filtering/self-test").await;
    assert!(page.contains("Certificate: Holt Primary"), "{page}");
    assert!(page.contains("The filter is NOT working"), "{page}");
    let before = store.filter_test_runs(50).await.unwrap().len();
    let res = netman
        .post_form("/filtering/self-test", &[] as &[(&str, &str)])
        .await;
    assert_eq!(res.status(), 303);
    let runs = store.filter_test_runs(50).await.unwrap();
    assert_eq!(runs.len(), before + 1);
    assert_eq!(runs[0].cause, "page");
    assert_eq!(runs[0].run_by.as_deref(), Some("Nina Mensah"));
}

both_backends!(
    a_category_dropped_from_a_group_by_mistake_fails_the_self_test_and_alerts,
    a_category_dropped_from_a_group_fails_the_self_test_is_stored_and_alerts
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_lists_unloadable_the_self_test_reports_the_filter_as_not_working() {
    let up = StubUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holt-broken.toml");
    let broken = crate::seed_profile_text("holt")
        .replace("/lists/demo/iwf.txt", "/lists/demo/missing-iwf.txt");
    assert!(
        broken.contains("missing-iwf.txt"),
        "the seed's IWF list moved"
    );
    std::fs::write(&path, broken).unwrap();
    let profile = path.to_str().unwrap();
    let server = start_dns(TestDb::new(Backend::Sqlite).await, profile, &up, &[]);
    // Fail closed: pupils get REFUSED.
    assert_eq!(
        crate::dns::dig(&server, "127.0.0.12", "example.com", "A").0,
        "REFUSED"
    );
    let (code, run, out) = filter_test(&server, profile, &["--all"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(run["pass"], false);
    for pupils in ["ks1", "ks2"] {
        let all = checks(&run, pupils);
        let iwf = all
            .iter()
            .find(|c| c["check"] == "child abuse content (IWF list)")
            .unwrap();
        assert_eq!(iwf["pass"], false);
        assert!(iwf["got"].as_str().unwrap().starts_with("REFUSED"), "{iwf}");
        // Nothing a pupil asks passes while no filter is in force.
        assert!(all.iter().all(|c| c["pass"] == false), "{pupils}: {all:?}");
    }
    // Staff are answered unfiltered while the lists are missing: their blocks fail too.
    let staff = checks(&run, "staff");
    let adult = staff
        .iter()
        .find(|c| c["check"] == "category adult")
        .unwrap();
    assert_eq!(adult["pass"], false, "{adult}");
    let store = server.store().await;
    assert!(
        store
            .alerts(&Default::default(), 100)
            .await
            .unwrap()
            .iter()
            .any(|a| a.rule == "filter self-test failed: ks2 child abuse content (IWF list)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_test_page_is_for_the_self_testers_only() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    for (user, status) in [
        ("netman", 200),
        ("dsl", 200),
        ("head", 200),
        ("teacher4", 403),
        ("pupil1", 403),
    ] {
        let c = server.login(user).await;
        assert_eq!(
            c.get("/filtering/self-test").await.status(),
            status,
            "{user}"
        );
        assert_eq!(
            c.get("/api/v1/filtering/self-test").await.status(),
            status,
            "{user}"
        );
    }
    // Without the gateways there is nothing to run: the page says why.
    let netman = server.login("netman").await;
    let res = netman
        .post_form("/filtering/self-test", &[] as &[(&str, &str)])
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let page = netman.get_text(&location).await;
    assert!(page.contains("The self-test could not run"), "{page}");
    assert!(page.contains("No self-test has run yet"), "{page}");
}

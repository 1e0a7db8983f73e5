//! The DfE filtering and monitoring standard's records through the real binary (issue 19,
//! parts 2 and 3): the network manager records an outside tool's check with its certificate,
//! and the page shows each group's latest check and which are due; a review with its prompts,
//! participants and actions is recorded, due on the dashboard before and not after, an action
//! past due is on the dashboard until marked done, and a trigger makes a review due again.
//! Governors read it all and record nothing.

use crate::BIN;
use serde_json::{Value, json};
use testkit::{Backend, Server};

fn kinds(dashboard: &Value) -> Vec<String> {
    dashboard["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["kind"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn person_id(server: &Server, username: &str) -> i64 {
    let store = server.store().await;
    store
        .people(None)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.username == username)
        .map(|p| p.id)
        .unwrap_or_else(|| panic!("no {username} in the demo"))
}

async fn an_outside_check_is_recorded_per_group_with_its_certificate(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let netman = server.login("netman").await;
    let governor = server.login("governor1").await;
    // Nothing checked yet: every group of the profile is due; the self-test is linked.
    let page = governor.get_text("/registers/filter-checks").await;
    for group in ["ks1", "ks2", "staff", "guests"] {
        assert!(
            page.contains(&format!("id=\"check-group-{group}\"")),
            "{page}"
        );
    }
    assert!(
        page.contains("never checked with an outside tool"),
        "{page}"
    );
    assert!(page.contains("href=\"/filtering/self-test\""), "{page}");
    assert!(
        !page.contains("id=\"check-form\""),
        "governors read only: {page}"
    );
    // The network manager records a check of ks2 on a laptop, with the tool's certificate.
    let form = reqwest::multipart::Form::new()
        .text("checked_on", "2026-11-02")
        .text("tool", "SWGfL TestFiltering")
        .text("device_type", "laptop")
        .text("device_name", "KS2-LAP-04")
        .text("site", "Holt main site")
        .text("group", "ks2")
        .text("result", "pass")
        .text("notes", "")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 TestFiltering certificate".to_vec())
                .file_name("testfiltering.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let res = netman
        .request(reqwest::Method::POST, "/registers/filter-checks")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, body) = governor.get_json("/api/v1/filter-checks").await;
    assert_eq!(status, 200, "{body}");
    let checks = body["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{body}");
    assert_eq!(checks[0]["certificate"], "testfiltering.pdf");
    let ks2 = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "ks2")
        .unwrap();
    assert_eq!(ks2["latest"], "2026-11-02");
    assert_eq!(ks2["due"], Value::Null);
    let id = checks[0]["id"].as_i64().unwrap();
    let file = governor
        .get(&format!("/registers/filter-checks/{id}/certificate"))
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.bytes().await.unwrap().as_ref(),
        b"%PDF-1.4 TestFiltering certificate"
    );
    // A failed check through the API must say what failed; a group the profile lacks is named.
    let failed = json!({"checked_on": "2026-11-02", "tool": "SWGfL TestFiltering",
        "device_type": "tablet", "site": "Holt main site", "group": "staff", "result": "fail"});
    let res = netman.post_json("/api/v1/filter-checks", &failed).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("notes"));
    let mut other = failed.clone();
    other["group"] = json!("year13");
    other["notes"] = json!("adult content reached");
    let res = netman.post_json("/api/v1/filter-checks", &other).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("year13"));
    let mut ok = failed;
    ok["notes"] = json!("a gambling site was reached");
    assert_eq!(
        netman
            .post_json("/api/v1/filter-checks", &ok)
            .await
            .status(),
        201
    );
    let page = governor.get_text("/registers/filter-checks").await;
    assert!(page.contains("a gambling site was reached"), "{page}");
    // Governors record nothing.
    assert_eq!(
        governor
            .post_json("/api/v1/filter-checks", &other)
            .await
            .status(),
        403
    );
    assert_eq!(
        governor.get_json("/api/v1/filter-checks").await.1["checks"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

both_backends!(
    an_outside_check_is_recorded_per_group_with_its_certificate,
    an_outside_check_is_recorded_per_group_with_its_certificate
);

async fn a_review_is_due_each_year_and_after_a_trigger_and_its_actions_until_done(
    backend: Backend,
) {
    let server = Server::start(BIN, backend, "holt").await;
    let head = server.login("head").await;
    let chair = server.login("chair").await;
    // Never reviewed: due on the leaders' dashboards (and so in the digest).
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    assert!(
        kinds(&dash).contains(&"filtering.review".to_string()),
        "{dash}"
    );
    let (head_id, dsl_id, netman_id, chair_id) = (
        person_id(&server, "head").await,
        person_id(&server, "dsl").await,
        person_id(&server, "netman").await,
        person_id(&server, "chair").await,
    );
    // The form: every prompt answered, participants chosen, one action already past due.
    let mut form: Vec<(String, String)> = vec![
        ("held_on".into(), "2026-10-05".into()),
        ("participants".into(), head_id.to_string()),
        ("participants".into(), dsl_id.to_string()),
        ("participants".into(), netman_id.to_string()),
        (
            "findings".into(),
            "Filtering meets the standard; AI chat needs a rule.".into(),
        ),
        (
            "action_what_1".into(),
            "Block unvetted AI chat for pupils".into(),
        ),
        ("action_owner_1".into(), netman_id.to_string()),
        ("action_due_1".into(), "2026-10-30".into()),
        ("action_what_2".into(), "Brief governors on BYOD".into()),
        ("action_owner_2".into(), head_id.to_string()),
        ("action_due_2".into(), "2027-03-01".into()),
    ];
    for (key, _) in policy::filtering_review::PROMPTS {
        form.push((format!("answer.{key}"), format!("Our answer on {key}")));
    }
    // A prompt left out: refused, naming it, and the answers kept on the form.
    let short: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| k != "answer.generative_ai")
        .cloned()
        .collect();
    let res = head.post_form("/registers/filtering-review", &short).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("answers.generative_ai"), "{page}");
    assert!(page.contains("Our answer on byod"), "{page}");
    let res = head.post_form("/registers/filtering-review", &form).await;
    assert_eq!(res.status(), 303);
    let at = res.headers()["location"].to_str().unwrap().to_string();
    // The review, printable: prompts, answers, and the governor named as missing.
    let page = chair.get_text(&at).await;
    assert!(page.contains("Generative AI") && page.contains("Our answer on generative_ai"));
    assert!(page.contains("the responsible governor"), "{page}");
    assert!(page.contains("@media print"), "{page}");
    assert!(
        !page.contains("action_done") && !page.contains("/done?"),
        "{page}"
    );
    // Held this year: the review is not due, but the action past due is.
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    let k = kinds(&dash);
    assert!(!k.contains(&"filtering.review".to_string()), "{dash}");
    assert!(
        k.contains(&"filtering.review_actions".to_string()),
        "{dash}"
    );
    // Marked done: off the dashboard (the other action is months away).
    let (_, list) = chair.get_json("/api/v1/filtering-reviews").await;
    let open = list["open_actions"].as_array().unwrap();
    assert_eq!(open.len(), 2, "{list}");
    let late = open.iter().find(|a| a["due_on"] == "2026-10-30").unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        chair
            .post_form(
                &format!("/registers/filtering-review/actions/{late}/done"),
                &[("done_on", "2026-11-02")],
            )
            .await
            .status(),
        403
    );
    let res = head
        .post_form(
            &format!("/registers/filtering-review/actions/{late}/done"),
            &[("done_on", "2026-11-02")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    assert!(
        !kinds(&dash).contains(&"filtering.review_actions".to_string()),
        "{dash}"
    );
    // A trigger after the review makes one due now.
    let res = head
        .post_form(
            "/registers/filtering-review/triggers",
            &[
                ("happened_on", "2026-11-02"),
                ("kind", "network_change"),
                ("reason", "New wireless network for the sixth form block"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    assert!(
        kinds(&dash).contains(&"filtering.review".to_string()),
        "{dash}"
    );
    let page = chair.get_text("/registers/filtering-review").await;
    assert!(page.contains("after what happened on 2026-11-02"), "{page}");
    assert!(page.contains("New wireless network"), "{page}");
    // A review through the API with the chair taking part: due no more; the API names a
    // participant who is not here.
    let mut body = json!({"held_on": "2026-11-03",
        "participants": [head_id, dsl_id, netman_id, chair_id],
        "findings": "The new network is filtered.", "answers": {}});
    for (key, _) in policy::filtering_review::PROMPTS {
        body["answers"][key] = json!(format!("After the network change: {key}"));
    }
    let mut stranger = body.clone();
    stranger["participants"] = json!([head_id, 999_999]);
    let res = head.post_json("/api/v1/filtering-reviews", &stranger).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("999999"));
    assert_eq!(
        chair
            .post_json("/api/v1/filtering-reviews", &body)
            .await
            .status(),
        403
    );
    let res = head.post_json("/api/v1/filtering-reviews", &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (status, one) = chair
        .get_json(&format!("/api/v1/filtering-reviews/{id}"))
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["participants"].as_array().map(Vec::len), Some(4));
    let page = chair
        .get_text(&format!("/registers/filtering-review/{id}"))
        .await;
    assert!(!page.contains("id=\"missing-participants\""), "{page}");
    let (_, dash) = head.get_json("/api/v1/dashboard").await;
    assert!(
        !kinds(&dash).contains(&"filtering.review".to_string()),
        "{dash}"
    );
    assert_eq!(
        chair.get_json("/api/v1/filtering-reviews").await.1["reviews"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

both_backends!(
    a_review_is_due_each_year_and_after_a_trigger_and_its_actions_until_done,
    a_review_is_due_each_year_and_after_a_trigger_and_its_actions_until_done
);

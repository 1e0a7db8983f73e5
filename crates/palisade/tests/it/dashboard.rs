//! What is due or overdue on each leader's home page and at `GET /api/v1/dashboard`, by the
//! server's clock (2026-11-03 in the tests): each item only for the roles that may see what it
//! counts, with counts and dates and no names.

use crate::BIN;
use serde_json::{Value, json};
use testkit::{Backend, Server};

async fn items(server: &Server, who: &str) -> Vec<Value> {
    let (status, body) = server.login(who).await.get_json("/api/v1/dashboard").await;
    assert_eq!(status, 200, "{who}: {body}");
    body["items"].as_array().unwrap().clone()
}

fn kind<'a>(items: &'a [Value], kind: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["kind"] == kind)
}

async fn leaders_see_what_is_due(backend: Backend) {
    // Coleridge's policy was due for review on 2021-09-01: overdue, for its leaders and
    // governors, never for a teacher, a pupil or a parent.
    let server = Server::start(BIN, backend, "coleridge").await;
    for who in ["head", "dsl", "osc", "chair"] {
        let items = items(&server, who).await;
        let review = kind(&items, "policy.review").unwrap_or_else(|| panic!("{who}: {items:?}"));
        assert_eq!(review["status"], "overdue", "{who}");
        assert_eq!(review["due_on"], "2021-09-01", "{who}");
        assert_eq!(
            items[0]["status"], "overdue",
            "the overdue first: {items:?}"
        );
    }
    for who in ["teacher1", "pupil1", "parent1", "netman"] {
        let items = items(&server, who).await;
        assert!(kind(&items, "policy.review").is_none(), "{who}: {items:?}");
        assert!(
            kind(&items, "concerns.untriaged").is_none(),
            "{who}: {items:?}"
        );
    }
    // The demo's new concerns wait for the safeguarding team's triage.
    let dsl = items(&server, "dsl").await;
    let waiting = kind(&dsl, "concerns.untriaged").unwrap_or_else(|| panic!("{dsl:?}"));
    assert!(waiting["count"].as_u64().unwrap() >= 1);
    assert_eq!(waiting["link"], "/concerns?status=new");
    // Data processors: an agreement to renew within 30 days, a review already past.
    let data = server.login("data").await;
    let res = data
        .post_json(
            "/api/v1/data-processors",
            &json!({"name": "Arbor MIS", "purpose": "MIS", "data_shared": "Names",
                    "whose_data": ["pupils"], "agreement_on": "2024-09-01",
                    "renewal_on": "2026-11-20", "transfer": "S2S", "stored_where": "UK",
                    "review_on": "2026-10-01"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let items = items(&server, "data").await;
    let renew = kind(&items, "data_processors.renewal").unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(
        (
            renew["status"].clone(),
            renew["due_on"].clone(),
            renew["count"].clone()
        ),
        (json!("due"), json!("2026-11-20"), json!(1))
    );
    let review = kind(&items, "data_processors.review").unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(review["status"], "overdue");
    // The head's home page lists them, with links; no names in the dashboard.
    let home = server.login("head").await.get_text("/").await;
    assert!(
        home.contains("id=\"due\"") && home.contains("Due or overdue"),
        "{home}"
    );
    assert!(home.contains("was due 2021-09-01"), "{home}");
    assert!(home.contains("href=\"/registers/processors\""), "{home}");
    let body = json!(items).to_string();
    assert!(!body.contains("Arbor"), "{body}");
}

both_backends!(leaders_see_what_is_due_and_overdue, leaders_see_what_is_due);

/// Holt's policy (next review 2025-07-01) is overdue too; Holt keeps no data processors
/// register, so nothing of one is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holts_review_is_overdue_and_it_counts_no_register_it_does_not_keep() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let head = items(&server, "head").await;
    let review = kind(&head, "policy.review").unwrap_or_else(|| panic!("{head:?}"));
    assert_eq!(review["due_on"], "2025-07-01");
    assert!(
        head.iter()
            .all(|i| !i["kind"].as_str().unwrap().starts_with("data_processors"))
    );
}

/// The roles register: each role of Coleridge's profile with what it does and who holds it,
/// the DfE's filtering and monitoring duties on the roles the profile gives them; a duty
/// nobody holds is overdue on the leaders' dashboards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_register_shows_the_dfe_duties_and_a_duty_nobody_holds_is_overdue() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let teacher = server.login("teacher1").await;
    let (status, body) = teacher.get_json("/api/v1/registers/roles").await;
    assert_eq!(status, 200, "{body}");
    let roles = body["roles"].as_array().unwrap();
    let role = |r: &str| {
        roles
            .iter()
            .find(|x| x["role"] == r)
            .unwrap_or_else(|| panic!("{r}: {body}"))
            .clone()
    };
    let head = role("headteacher");
    assert!(
        head["duties"][0]
            .as_str()
            .unwrap()
            .contains("Senior leader"),
        "{head}"
    );
    assert!(
        head["responsibilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("filtered Internet")),
        "{head}"
    );
    assert_eq!(head["holders"][0]["username"], "head");
    let chair = role("chair_of_governors");
    assert!(
        chair["duties"][0].as_str().unwrap().contains("Governor"),
        "{chair}"
    );
    assert_eq!(chair["holders"][0]["username"], "chair");
    for who in ["pupil1", "parent1"] {
        let c = server.login(who).await;
        assert_eq!(
            c.get("/api/v1/registers/roles").await.status(),
            403,
            "{who}"
        );
    }
    assert!(
        items(&server, "head")
            .await
            .iter()
            .all(|i| i["kind"] != "roles.duty_unheld")
    );
    // The Chair leaves (the server's operator switches them off): nobody holds the governor's
    // duty, overdue for the leaders.
    let out = std::process::Command::new(BIN)
        .args([
            "user",
            "deactivate",
            "--username",
            "chair",
            "--profile",
            "coleridge",
        ])
        .args(["--database-url", &server.db.url])
        .env(clock::TEST_CLOCK_VAR, store::timestamp(server.clock.now()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = server.login("head").await;
    let items = items(&server, "head").await;
    let unheld = kind(&items, "roles.duty_unheld").unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(unheld["status"], "overdue");
    assert!(
        unheld["title"].as_str().unwrap().contains("Chair"),
        "{unheld}"
    );
    assert_eq!(unheld["link"], "/registers/roles");
    let page = head.get_text("/registers/roles").await;
    assert!(
        page.contains("id=\"role-chair_of_governors\"") && page.contains("nobody"),
        "{page}"
    );
}

/// `palisade policy check FILE --database-url`: every role holder the profile names is a person
/// of the school holding that role, or the check says which is not, by key, and fails; the
/// roles register says so too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_check_names_a_role_holder_who_is_not_a_person_holding_the_role() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let dir = std::env::temp_dir().join(format!(
        "palisade-holders-{}",
        store::testing::random_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string(format!(
        "{}/../../profiles/coleridge.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let check = |holders: &str| {
        let text = shipped.replacen(
            "[roles.headteacher]\ntitle = \"Headteacher\"\n",
            &format!("[roles.headteacher]\ntitle = \"Headteacher\"\nholders = {holders}\n"),
            1,
        );
        assert_ne!(text, shipped);
        let file = dir.join("coleridge.toml");
        std::fs::write(&file, text).unwrap();
        let out = std::process::Command::new(BIN)
            .args(["policy", "check", file.to_str().unwrap()])
            .args(["--database-url", &server.db.url])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(check("[\"head\"]"), (true, String::new()));
    let (ok, err) = check("[\"head\", \"nobody\", \"teacher1\"]");
    assert!(!ok);
    assert!(
        err.contains("roles.headteacher.holders[1]: `nobody` is not a person in the database"),
        "{err}"
    );
    assert!(
        err.contains("roles.headteacher.holders[2]: `teacher1` does not hold the role headteacher"),
        "{err}"
    );
    assert!(!err.contains("holders[0]"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

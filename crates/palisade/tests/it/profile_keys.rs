//! Every profile key does something (issue 19, part 6): `policy explain` names an effect for
//! each key of both shipped profiles, `policy check` warns when the review date has passed, and
//! the keys this part gave an effect change what a user sees.

use crate::BIN;
use std::process::Command;
use testkit::{Backend, Server};

fn profile_path(name: &str) -> String {
    format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn policy_explain_names_an_effect_for_every_key_of_both_shipped_profiles() {
    for name in ["holt", "coleridge"] {
        let out = Command::new(BIN)
            .args(["policy", "explain", &profile_path(name), "--json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect();
        assert!(keys.len() > 80, "{name}: {} keys", keys.len());
        for k in &keys {
            let effect = k["effect"].as_str().unwrap_or_default();
            assert!(effect.len() > 10, "{name}: {k}");
        }
        // The key this issue added is there with its value.
        assert!(
            keys.iter().any(
                |k| k["key"].as_str().is_some_and(|s| s.ends_with("].staff"))
                    && k["value"] == "true"
            ),
            "{name}"
        );
    }
    // The text form: key = value, then the effect.
    let out = Command::new(BIN)
        .args(["policy", "explain", "coleridge"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("concerns.triage_within_hours = 6\n    a concern still untriaged"),
        "{text}"
    );
}

#[test]
fn policy_check_warns_but_passes_when_the_review_date_has_passed() {
    let check = |clock: &str| {
        let out = Command::new(BIN)
            .env(clock::TEST_CLOCK_VAR, clock)
            .args(["policy", "check", &profile_path("holt")])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // Holt's next review is July 2025.
    let before = check("2025-06-30T12:00:00Z");
    assert!(!before.contains("warning"), "{before}");
    let after = check("2026-12-03T12:00:00Z");
    assert!(
        after.contains("warning: policy.next_review") && after.contains("2025-07"),
        "{after}"
    );
}

/// `passwords.rotation_applies_to`: Coleridge rotates the network's and the MIS's passwords
/// on the same cycle, and the account page tells staff so; pupils are not told.
async fn rotation_applies_to(backend: Backend) {
    let server = Server::start(BIN, backend, "coleridge").await;
    let teacher = server.login("teacher1").await;
    let page = teacher.get_text("/account").await;
    assert!(
        page.contains("id=\"also-rotate\"") && page.contains("Management Information System"),
        "{page}"
    );
    let pupil = server.login("pupil1").await;
    let page = pupil.get_text("/account").await;
    assert!(!page.contains("also-rotate"), "{page}");
    // Holt names no other systems.
    let holt = Server::start(BIN, backend, "holt").await;
    let page = holt.login("teacher1").await.get_text("/account").await;
    assert!(!page.contains("also-rotate"), "{page}");
}

both_backends!(
    the_account_page_names_the_other_systems_the_password_rotation_applies_to,
    rotation_applies_to
);

/// `school.local_authority`: a concern that needs a LADO referral names the authority whose
/// LADO takes it; and the policy's approval date dates the dashboard's review item.
async fn authority_and_dates(backend: Backend) {
    let server = Server::start(BIN, backend, "coleridge").await;
    let teacher = server.login("teacher1").await;
    let (status, body) = teacher
        .report(
            &["head"],
            "conduct.privacy",
            "Shared pupils' records on a personal phone",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap_or_default();
    let chair = server.login("chair").await;
    let page = chair.get_text(&format!("/concerns/{id}")).await;
    assert!(
        page.contains("id=\"lado-badge\"")
            && page.contains("Local Authority Designated Officer at London Grid for Learning"),
        "{page}"
    );
    let holt = Server::start(BIN, backend, "holt").await;
    let head = holt.login("head").await;
    let home = head.get_text("/").await;
    assert!(
        home.contains("version 2023, approved by the governors 2023-05-17"),
        "{home}"
    );
}

both_backends!(
    a_lado_referral_names_the_local_authority_and_the_review_item_its_approval_date,
    authority_and_dates
);

use crate::shipped;
use policy::profile::{ConsentRenewal, StaffConductRule};
use policy::{ConcernStatus, PolicyError, Profile, Role};

#[test]
fn both_shipped_profiles_parse_and_validate() {
    for name in ["coleridge", "holt"] {
        let p = shipped(name);
        assert!(p.validate().is_empty(), "{name}: {:?}", p.validate());
    }
}

#[test]
fn shipped_profiles_express_the_differences_of_spec_section_7() {
    let c = shipped("coleridge");
    let h = shipped("holt");
    assert_eq!(c.concerns.first_contact, Role::OnlineSafetyCoordinator);
    assert_eq!(h.concerns.first_contact, Role::Dsl);
    assert_eq!(
        c.concerns.about_headteacher.route_to,
        vec![Role::ChairOfGovernors]
    );
    assert!(c.concerns.about_headteacher.lado_required);
    assert!(!h.concerns.about_headteacher.lado_required);
    assert_eq!(c.passwords.staff_rotation_days, Some(90));
    assert_eq!(h.passwords.staff_rotation_days, None);
    assert_eq!(c.consent.photo_renewal, ConsentRenewal::OnAdmission);
    assert_eq!(h.consent.photo_renewal, ConsentRenewal::Annually);
    assert!(h.consent.individual_for_high_profile);
    assert_eq!(c.code_of_conduct.staff, StaffConductRule::Abide);
    assert_eq!(h.code_of_conduct.staff, StaffConductRule::SignBeforeUse);
    assert!(h.code_of_conduct.discussed_each_year && h.code_of_conduct.issued_on_entry);
    assert_eq!(
        c.next_review().map(|d| d.to_string()).as_deref(),
        Some("2021-09-01")
    );
    assert_eq!(
        h.next_review().map(|d| d.to_string()).as_deref(),
        Some("2025-07-01")
    );
    assert!(h.policy.review_group.is_some() && c.policy.review_group.is_none());
    assert!(c.registers.data_processors && !h.registers.data_processors);
    // Coleridge lists health and well-being and sexting; Holt does not.
    assert!(c.category("conduct.sexting").is_some());
    assert!(h.category("conduct.sexting").is_none());
    assert!(h.category("contact.online_bullying").is_some());
}

fn holt_text() -> String {
    std::fs::read_to_string(format!(
        "{}/../../profiles/holt.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_unknown_key_is_rejected_with_its_name_and_line() {
    let text = holt_text().replace("[passwords]\n", "[passwords]\nrotate_weekly = true\n");
    let err = Profile::from_toml(&text, "holt.toml")
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("holt.toml"), "{err}");
    assert!(err.contains("rotate_weekly"), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn a_wrong_type_is_rejected_with_its_key() {
    let text = holt_text().replace("min_length = 10", "min_length = \"ten\"");
    let err = Profile::from_toml(&text, "holt.toml")
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("min_length"), "{err}");
}

#[test]
fn an_unknown_role_is_rejected() {
    let text = holt_text().replace("first_contact = \"dsl\"", "first_contact = \"wizard\"");
    let err = Profile::from_toml(&text, "holt.toml")
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("wizard"));
}

#[test]
fn cross_reference_problems_name_their_keys() {
    let text = holt_text()
        .replace(
            "team = [\"dsl\", \"deputy_dsl\"]",
            "team = [\"deputy_dsl\"]",
        )
        .replace("min_length = 10", "min_length = 4")
        .replace("triage_within_hours = 8", "triage_within_hours = 0")
        .replace(
            "filtering_governor = \"chair_of_governors\"",
            "filtering_governor = \"headteacher\"",
        )
        .replace("next_review = 2025-07-01", "next_review = 2018-07-01")
        .replace("id = \"content.hate\"", "id = \"content.inappropriate\"")
        .replace(
            "route_to = [\"chair_of_governors\"]",
            "route_to = [\"pupil\"]",
        )
        .replace(
            "changes_by = [\"network_manager\", \"headteacher\"]",
            "changes_by = [\"network_manager\", \"parent\"]",
        );
    match Profile::from_toml(&text, "holt.toml") {
        Err(PolicyError::ProfileInvalid { problems, .. }) => {
            let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
            for key in [
                "concerns.team",
                "passwords.min_length",
                "concerns.triage_within_hours",
                "registers.filtering_governor",
                "policy.next_review",
                "concerns.categories[2].id",
                "concerns.about_headteacher.route_to",
                "filtering.changes_by[1]",
            ] {
                assert!(keys.contains(&key), "{key} missing from {keys:?}");
            }
        }
        other => panic!("expected ProfileInvalid, got {other:?}"),
    }
}

#[test]
fn a_new_concern_is_overdue_once_the_profiles_triage_hours_have_passed() {
    let holt = crate::shipped("holt");
    assert_eq!(holt.concerns.triage_within_hours, 8);
    let at = |s: &str| clock::parse_instant(s).unwrap_or_else(|e| panic!("{e}"));
    let reported = at("2026-12-01T09:00:00Z");
    let overdue = |status, now| holt.concerns.triage_overdue(status, reported, at(now));
    assert!(!overdue(ConcernStatus::New, "2026-12-01T16:59:59Z"));
    assert!(overdue(ConcernStatus::New, "2026-12-01T17:00:00Z"));
    assert!(overdue(ConcernStatus::New, "2026-12-03T17:00:00Z"));
    for triaged in [
        ConcernStatus::Monitoring,
        ConcernStatus::InProgress,
        ConcernStatus::Closed,
    ] {
        assert!(!overdue(triaged, "2026-12-03T17:00:00Z"), "{triaged:?}");
    }
    // Across the change to British Summer Time the hours are real hours.
    let spring = at("2026-03-29T00:30:00Z");
    let later = at("2026-03-29T08:30:00Z");
    assert!(
        holt.concerns
            .triage_overdue(ConcernStatus::New, spring, later)
    );
}

fn holt_with(from: &str, to: &str) -> Profile {
    let text = holt_text();
    assert!(text.contains(from), "holt.toml has no `{from}`");
    Profile::from_toml(&text.replacen(from, to, 1), "holt.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_filtering_change_is_described_in_words_for_the_decision_log() {
    let before = crate::shipped("holt");
    let after = holt_with(
        "youtube = \"moderate\"",
        "youtube = \"strict\"\nallow = [\"scratch.mit.edu\"]\nblock = [\"www.example-game.com\"]",
    );
    let after = {
        let mut a = after;
        a.filtering.groups[1]
            .block_categories
            .retain(|c| c != "gaming");
        a.filtering.groups[2]
            .block_categories
            .push("gambling".into());
        a.filtering.retention_days = 30;
        a.filtering.lists.pop();
        a
    };
    let changes = after.filtering.changes_since(&before.filtering);
    for want in [
        "access log kept 30 days (was 365)",
        "list `categories` removed",
        "group `ks2`: no longer blocks `gaming`",
        "group `ks2`: allows `scratch.mit.edu`",
        "group `ks2`: always blocks `www.example-game.com`",
        "group `ks2`: YouTube restricted mode strict (was moderate)",
        "group `staff`: blocks `gambling`",
    ] {
        assert!(
            changes.iter().any(|c| c == want),
            "{want} missing from {changes:?}"
        );
    }
    assert_eq!(changes.len(), 7, "{changes:?}");
    assert!(
        after
            .filtering
            .needs_restart_from(&before.filtering)
            .is_none()
    );
    assert!(before.filtering.changes_since(&before.filtering).is_empty());
}

#[test]
fn adding_a_group_or_making_one_pupil_level_needs_a_restart() {
    let before = crate::shipped("holt");
    let mut after = before.clone();
    after.filtering.groups[3].pupil = true;
    let why = after.filtering.needs_restart_from(&before.filtering);
    assert_eq!(why.as_deref(), Some("group `guests` is now pupil-level"));
    let mut after = before.clone();
    after.filtering.groups.remove(3);
    let why = after.filtering.needs_restart_from(&before.filtering);
    assert_eq!(why.as_deref(), Some("group `guests` removed"));
}

#[test]
fn a_fallback_that_cannot_help_when_the_head_and_chair_are_the_subjects_names_its_key() {
    for (route_to, says) in [
        ("[]", "at least one role"),
        ("[\"chair_of_governors\"]", "chair_of_governors"),
        ("[\"headteacher\", \"governor\"]", "headteacher"),
        ("[\"parent\"]", "may not see"),
    ] {
        let text = holt_text().replace(
            "[concerns.fallback]\nroute_to = [\"governor\"]",
            &format!("[concerns.fallback]\nroute_to = {route_to}"),
        );
        match Profile::from_toml(&text, "holt.toml") {
            Err(PolicyError::ProfileInvalid { problems, .. }) => {
                let p = problems
                    .iter()
                    .find(|p| p.key == "concerns.fallback.route_to")
                    .unwrap_or_else(|| panic!("{route_to}: {problems:?}"));
                assert!(p.to_string().contains(says), "{route_to}: {p}");
            }
            other => panic!("{route_to}: expected ProfileInvalid, got {other:?}"),
        }
    }
    // The key is optional: without it the profile loads (and such a concern is refused).
    let text = holt_text().replace(
        "[concerns.fallback]\nroute_to = [\"governor\"]\nlado_required = true\n",
        "",
    );
    let profile = Profile::from_toml(&text, "holt.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(profile.concerns.fallback.is_none());
}

#[test]
fn the_proxy_reach_keys_parse_and_bad_values_name_their_key() {
    let holt = crate::shipped("holt");
    let proxy = &holt
        .network
        .as_ref()
        .map(|n| n.proxy.clone())
        .unwrap_or_default();
    assert_eq!(proxy.intranet_subnets, vec!["10.1.30.0/24".to_string()]);
    assert_eq!(proxy.connect_ports, vec![443]);
    let text = holt_text().replacen(
        "connect_ports = [443]",
        "connect_ports = [443, 0]\nallow_destinations = [\"intranet\"]",
        1,
    );
    let text = text.replacen(
        "intranet_subnets = [\"10.1.30.0/24\"]",
        "intranet_subnets = [\"0.0.0.0/0\"]",
        1,
    );
    match Profile::from_toml(&text, "holt.toml") {
        Err(PolicyError::ProfileInvalid { problems, .. }) => {
            let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
            for key in [
                "network.proxy.intranet_subnets[0]",
                "network.proxy.connect_ports",
                "network.proxy.allow_destinations[0]",
            ] {
                assert!(keys.contains(&key), "{key} missing from {keys:?}");
            }
        }
        other => panic!("expected ProfileInvalid, got {other:?}"),
    }
    let text = holt_text().replacen("connect_ports = [443]", "connect_port = 443", 1);
    let err = Profile::from_toml(&text, "holt.toml")
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("connect_port"));
}

#[test]
fn the_roles_that_need_a_second_factor_are_read_and_checked() {
    let h = shipped("holt");
    for role in [
        Role::Dsl,
        Role::DeputyDsl,
        Role::Headteacher,
        Role::ChairOfGovernors,
    ] {
        assert!(
            h.passwords.totp_required(policy::RoleSet::of(role)),
            "{role}"
        );
    }
    assert!(
        !h.passwords
            .totp_required(policy::RoleSet::of(Role::Teacher))
    );
    // Coleridge's first point of contact is on its safeguarding team too.
    assert!(
        shipped("coleridge")
            .passwords
            .totp_required(policy::RoleSet::of(Role::OnlineSafetyCoordinator))
    );
    // Left out, nobody needs one.
    let without = holt_text()
        .lines()
        .filter(|l| !l.starts_with("totp_required_for"))
        .collect::<Vec<_>>()
        .join("\n");
    let p = Profile::from_toml(&without, "holt.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(p.passwords.totp_required_for.is_empty());
    // An unknown role is refused by name, a pupil or a repeat with its key.
    let wizard = holt_text().replace("\"chair_of_governors\"]\n", "\"wizard\"]\n");
    let err = Profile::from_toml(&wizard, "holt.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("wizard"), "{err}");
    let bad = holt_text().replace(
        "totp_required_for = [\"dsl\",",
        "totp_required_for = [\"pupil\", \"dsl\", \"dsl\",",
    );
    match Profile::from_toml(&bad, "holt.toml") {
        Err(PolicyError::ProfileInvalid { problems, .. }) => {
            let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
            assert!(keys.contains(&"passwords.totp_required_for[0]"), "{keys:?}");
            assert!(keys.contains(&"passwords.totp_required_for[2]"), "{keys:?}");
        }
        other => panic!("expected ProfileInvalid, got {other:?}"),
    }
}

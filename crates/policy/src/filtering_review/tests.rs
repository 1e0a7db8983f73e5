//! The review's and checks' rules at fixed dates.

use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

#[test]
fn a_school_that_never_reviewed_is_due_today() {
    let d = review_due(None, &[], day("2026-12-03"));
    assert_eq!(d.due_on, day("2026-12-03"));
    assert_eq!(d.reason, ReviewReason::Never);
    assert_eq!(d.status, Some(DueStatus::Due));
}

#[test]
fn a_review_is_due_by_the_end_of_the_next_academic_year() {
    // Held in 2025-26 (October 2025): the next is due within 2026-27.
    let d = review_due(Some(day("2025-10-15")), &[], day("2026-12-03"));
    assert_eq!(d.due_on, day("2027-08-31"));
    assert_eq!(d.reason, ReviewReason::Yearly);
    assert_eq!(d.status, None);
    let d = review_due(Some(day("2025-10-15")), &[], day("2027-08-05"));
    assert_eq!(d.status, Some(DueStatus::Due));
    let d = review_due(Some(day("2025-10-15")), &[], day("2027-09-01"));
    assert_eq!(d.status, Some(DueStatus::Overdue));
    // Held on the last day of a year: still the next year's end.
    let d = review_due(Some(day("2026-08-31")), &[], day("2026-09-01"));
    assert_eq!(d.due_on, day("2027-08-31"));
}

#[test]
fn a_trigger_after_the_last_review_makes_one_due_now_and_overdue_after_thirty_days() {
    let last = Some(day("2026-10-01"));
    let d = review_due(last, &[day("2026-11-20")], day("2026-12-03"));
    assert_eq!(d.reason, ReviewReason::Trigger(day("2026-11-20")));
    assert_eq!(d.due_on, day("2026-12-20"));
    assert_eq!(d.status, Some(DueStatus::Due));
    let d = review_due(last, &[day("2026-11-20")], day("2026-12-21"));
    assert_eq!(d.status, Some(DueStatus::Overdue));
    // A trigger before the last review was dealt with by it.
    let d = review_due(last, &[day("2026-09-20")], day("2026-12-03"));
    assert_eq!(d.reason, ReviewReason::Yearly);
    assert_eq!(d.status, None);
}

#[test]
fn the_academic_year_ends_on_31_august() {
    assert_eq!(school_year_end(day("2026-12-03")), day("2027-08-31"));
    assert_eq!(school_year_end(day("2027-08-31")), day("2027-08-31"));
    assert_eq!(school_year_end(day("2027-09-01")), day("2028-08-31"));
}

#[test]
fn a_group_not_checked_this_academic_year_is_due() {
    let today = day("2026-12-03");
    assert_eq!(group_checked(Some(day("2026-09-10")), today).due, None);
    let old = group_checked(Some(day("2026-07-10")), today);
    assert!(old.due.is_some_and(|d| d.contains("2026-09-01")));
    assert!(group_checked(None, today).due.is_some());
}

#[test]
fn an_action_is_due_until_done() {
    let today = day("2026-12-03");
    assert_eq!(
        action_status(day("2026-12-01"), None, today),
        Some(DueStatus::Overdue)
    );
    assert_eq!(
        action_status(day("2026-12-01"), Some(day("2026-12-02")), today),
        None
    );
    assert_eq!(action_status(day("2027-03-01"), None, today), None);
}

fn check_entry() -> NewCheck {
    NewCheck {
        checked_on: "2026-11-30".into(),
        tool: "SWGfL TestFiltering".into(),
        device_type: "laptop".into(),
        device_name: "KS2-LAP-04".into(),
        site: "Main site".into(),
        group: "ks2".into(),
        result: "pass".into(),
        notes: String::new(),
    }
}

#[test]
fn a_check_names_the_field_that_is_wrong() {
    let today = day("2026-12-03");
    let groups = ["ks2", "staff"];
    let ok = check_entry().check(&groups, today);
    assert!(
        ok.as_ref().is_ok_and(|c| c.passed && c.group == "ks2"),
        "{ok:?}"
    );
    let field = |e: NewCheck| match e.check(&groups, today) {
        Err(PolicyError::InvalidInput { field, .. }) => field,
        other => format!("{other:?}"),
    };
    assert_eq!(
        field(NewCheck {
            group: "ks9".into(),
            ..check_entry()
        }),
        "group"
    );
    assert_eq!(
        field(NewCheck {
            checked_on: "2026-12-04".into(),
            ..check_entry()
        }),
        "checked_on"
    );
    assert_eq!(
        field(NewCheck {
            result: "maybe".into(),
            ..check_entry()
        }),
        "result"
    );
    assert_eq!(
        field(NewCheck {
            result: "fail".into(),
            ..check_entry()
        }),
        "notes"
    );
    assert_eq!(
        field(NewCheck {
            tool: " ".into(),
            ..check_entry()
        }),
        "tool"
    );
}

fn review_entry() -> NewReview {
    NewReview {
        held_on: "2026-11-30".into(),
        participants: vec![1, 2, 2],
        answers: PROMPTS
            .iter()
            .map(|(k, _)| (k.to_string(), format!("answer to {k}")))
            .collect(),
        findings: "All fine".into(),
        actions: vec![NewAction {
            what: "Block a new AI tool".into(),
            owner: 2,
            due_on: "2027-01-15".into(),
        }],
    }
}

#[test]
fn a_review_answers_every_prompt_and_names_what_is_missing() {
    let today = day("2026-12-03");
    let ok = review_entry().check(today);
    assert!(
        ok.as_ref()
            .is_ok_and(|r| r.participants == vec![1, 2] && r.answers.len() == PROMPTS.len()),
        "{ok:?}"
    );
    let field = |e: NewReview| match e.check(today) {
        Err(PolicyError::InvalidInput { field, .. }) => field,
        other => format!("{other:?}"),
    };
    let mut e = review_entry();
    e.answers.remove("generative_ai");
    assert_eq!(field(e), "answers.generative_ai");
    let mut e = review_entry();
    e.answers.insert("weather".into(), "sunny".into());
    assert_eq!(field(e), "answers.weather");
    let mut e = review_entry();
    e.participants.clear();
    assert_eq!(field(e), "participants");
    let mut e = review_entry();
    e.actions[0].due_on = "soon".into();
    assert_eq!(field(e), "actions[1].due_on");
    let mut e = review_entry();
    e.findings = String::new();
    assert_eq!(field(e), "findings");
}

#[test]
fn a_trigger_has_a_known_kind_and_a_reason() {
    let today = day("2026-12-03");
    let t = NewTrigger {
        happened_on: "2026-12-01".into(),
        kind: "network_change".into(),
        reason: "New wireless network".into(),
    };
    assert!(t.check(today).is_ok());
    let bad = NewTrigger {
        kind: "weather".into(),
        ..t.clone()
    };
    assert!(
        matches!(bad.check(today), Err(PolicyError::InvalidInput { field, .. }) if field == "kind")
    );
    let bad = NewTrigger {
        reason: String::new(),
        ..t
    };
    assert!(
        matches!(bad.check(today), Err(PolicyError::InvalidInput { field, .. }) if field == "reason")
    );
}

#[test]
fn the_participants_missing_are_named_by_the_profile_roles() {
    let registers = Registers {
        filtering_senior_leader: Some(Role::DeputyDsl),
        filtering_governor: Some(Role::ChairOfGovernors),
        ..Registers::default()
    };
    let present = [
        crate::roles::RoleSet::of(Role::DeputyDsl),
        crate::roles::RoleSet::of(Role::Dsl),
    ];
    assert_eq!(
        missing_participants(&registers, &present),
        vec!["IT (the network manager)", "the responsible governor"]
    );
}

//! The filtering and monitoring records in storage, on both backends: outside checks with their
//! certificate, reviews with participants, answers and actions (marked done later), triggers;
//! each write takes its permit, refuses whom it must with nothing stored, and is audited.

use crate::{person, profile};
use policy::concern::NewAttachment;
use policy::filtering_review::{NewAction, NewCheck, NewReview, NewTrigger, PROMPTS};
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, permit};
use store::both_backends;

fn keeper(id: i64, role: Role) -> policy::Permit {
    let actor = Actor {
        person_id: id,
        roles: RoleSet::of(role),
    };
    permit(&actor, Action::KeepFilteringRecords, Object::School).unwrap()
}

fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

both_backends!(
    an_outside_check_is_kept_with_its_certificate_and_audited,
    |store, _db| {
        let holt = profile("holt");
        let groups: Vec<&str> = holt
            .filtering
            .groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let entry = NewCheck {
            checked_on: "2026-11-30".into(),
            tool: "SWGfL TestFiltering".into(),
            device_type: "laptop".into(),
            device_name: "KS2-LAP-04".into(),
            site: "Main site".into(),
            group: groups[0].to_string(),
            result: "pass".into(),
            notes: String::new(),
        }
        .check(&groups, day("2026-12-03"))
        .unwrap();
        let certificate = NewAttachment {
            filename: "certificate.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 certificate".to_vec(),
        };
        let p = keeper(netman, Role::NetworkManager);
        let id = store
            .record_filter_check(&p, &entry, Some(&certificate))
            .await
            .unwrap();
        let plain = store.record_filter_check(&p, &entry, None).await.unwrap();
        let all = store.filter_checks().await.unwrap();
        assert_eq!(all.len(), 2);
        let kept = all.iter().find(|c| c.id == id).unwrap();
        assert!(kept.passed && kept.group == groups[0] && kept.site == "Main site");
        assert_eq!(kept.certificate.as_deref(), Some("certificate.pdf"));
        let (name, kind, bytes) = store.filter_check_certificate(id).await.unwrap().unwrap();
        assert_eq!(
            (name.as_str(), kind.as_str(), bytes.as_slice()),
            (
                "certificate.pdf",
                "application/pdf",
                &b"%PDF-1.4 certificate"[..]
            )
        );
        assert!(
            store
                .filter_check_certificate(plain)
                .await
                .unwrap()
                .is_none()
        );
        let audit = store
            .audit_of("filter_check", &id.to_string())
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        // A permit for another action records nothing.
        let other = permit(
            &Actor {
                person_id: netman,
                roles: RoleSet::of(Role::NetworkManager),
            },
            Action::ManageDevices,
            Object::School,
        )
        .unwrap();
        assert!(
            store
                .record_filter_check(&other, &entry, None)
                .await
                .is_err()
        );
        assert_eq!(store.filter_checks().await.unwrap().len(), 2);
    }
);

fn review(participants: Vec<i64>, owner: i64) -> NewReview {
    NewReview {
        held_on: "2026-11-30".into(),
        participants,
        answers: PROMPTS
            .iter()
            .map(|(k, _)| (k.to_string(), format!("We discussed {k}")))
            .collect(),
        findings: "The filtering meets the standard; AI chat needs a rule.".into(),
        actions: vec![NewAction {
            what: "Block unvetted AI chat for pupils".into(),
            owner,
            due_on: "2027-01-15".into(),
        }],
    }
}

both_backends!(
    a_review_keeps_everything_in_one_go_or_nothing_and_its_actions_are_done_later,
    |store, _db| {
        let today = day("2026-12-03");
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let dsl = person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let p = keeper(head, Role::Headteacher);
        let checked = review(vec![head, dsl, netman], netman)
            .check(today)
            .unwrap();
        let id = store.record_filtering_review(&p, &checked).await.unwrap();
        let r = store.filtering_review(id).await.unwrap().unwrap();
        assert_eq!(r.review.held_on, "2026-11-30");
        assert_eq!(r.participants.len(), 3);
        assert_eq!(r.answers.len(), PROMPTS.len());
        assert_eq!(r.answers[0].0, PROMPTS[0].0);
        assert_eq!(r.actions.len(), 1);
        assert_eq!(r.actions[0].owner_name, "netman Example");
        assert!(r.actions[0].done_on.is_none());
        assert_eq!(store.open_review_actions().await.unwrap().len(), 1);
        // Done later, once.
        let action = r.actions[0].id;
        assert!(
            store
                .mark_review_action_done(&p, action, day("2026-12-02"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .mark_review_action_done(&p, action, day("2026-12-03"))
                .await
                .unwrap()
        );
        assert!(store.open_review_actions().await.unwrap().is_empty());
        let r = store.filtering_review(id).await.unwrap().unwrap();
        assert_eq!(r.actions[0].done_on.as_deref(), Some("2026-12-02"));
        assert!(
            store
                .mark_review_action_done(&p, 999_999, today)
                .await
                .is_err()
        );
        let audit = store
            .audit_of("filtering_review", &id.to_string())
            .await
            .unwrap();
        assert_eq!(audit.len(), 2);
        // Someone who is not here, as a participant or an owner: nothing is stored.
        for bad in [
            review(vec![head, 999_999], netman),
            review(vec![head], 999_999),
        ] {
            let checked = bad.check(today).unwrap();
            assert!(store.record_filtering_review(&p, &checked).await.is_err());
        }
        assert_eq!(store.filtering_reviews().await.unwrap().len(), 1);
        assert!(store.filtering_review(999_999).await.unwrap().is_none());
    }
);

both_backends!(
    a_trigger_is_recorded_and_listed_newest_first,
    |store, _db| {
        let today = day("2026-12-03");
        let dsl = person(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let p = keeper(dsl, Role::Dsl);
        for (on, kind) in [
            ("2026-10-01", "new_technology"),
            ("2026-11-20", "serious_incident"),
        ] {
            let t = NewTrigger {
                happened_on: on.into(),
                kind: kind.into(),
                reason: format!("{kind} happened"),
            }
            .check(today)
            .unwrap();
            store.record_review_trigger(&p, &t).await.unwrap();
        }
        let all = store.review_triggers().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].kind, "serious_incident");
        assert_eq!(all[0].recorded_by_name, "dsl Example");
    }
);

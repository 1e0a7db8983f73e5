//! Training, sign-offs and photo consent in storage, on both backends: each write takes its
//! permit, refuses whom it must with nothing stored, and is in the audit trail.

use crate::{operator_for, person, profile};
use policy::concern::NewAttachment;
use policy::conduct::{DocumentKind, NewDocument};
use policy::consent::NewConsent;
use policy::training::NewSession;
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, permit};
use store::both_backends;

fn own(id: i64, role: Role) -> policy::Permit {
    let actor = Actor {
        person_id: id,
        roles: RoleSet::of(role),
    };
    permit(&actor, Action::ManageOwnAccount, Object::Person(id)).unwrap()
}

/// The permit `id`, holding `role`, is given for `action` on the school.
fn as_role(id: i64, role: Role, action: Action) -> policy::Permit {
    let actor = Actor {
        person_id: id,
        roles: RoleSet::of(role),
    };
    permit(&actor, action, Object::School).unwrap()
}

fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

both_backends!(
    a_signature_is_kept_once_per_version_and_yearly_where_the_code_is_discussed_each_year,
    |store, _db| {
        let holt = profile("holt");
        let rules = &holt.code_of_conduct;
        let pupil = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let who = store.person(pupil).await.unwrap().unwrap();
        // No code in the register: the profile's version, the built-in text.
        let s = store.code_standing(&who, rules).await.unwrap().unwrap();
        assert_eq!(
            (s.kind, s.version.as_str()),
            (DocumentKind::PupilCode, "2023")
        );
        assert!(s.document.is_none() && s.signed_at.is_none());
        let me = own(pupil, Role::Pupil);
        let kind = DocumentKind::PupilCode;
        assert!(
            store
                .acknowledge(&me, pupil, kind, "2023", None, "10.1.2.40")
                .await
                .unwrap()
        );
        assert!(
            !store
                .acknowledge(&me, pupil, kind, "2023", None, "10.1.2.41")
                .await
                .unwrap()
        );
        let s = store.code_standing(&who, rules).await.unwrap().unwrap();
        assert!(s.signed_at.is_some());
        // Counting from after it was signed, it is signed again.
        let later = Some(day("2026-11-04"));
        assert!(
            store
                .acknowledge(&me, pupil, kind, "2023", later, "10.1.2.41")
                .await
                .unwrap()
        );
        let log = store.audit_of("person", &pupil.to_string()).await.unwrap();
        assert_eq!(
            log.iter()
                .filter(|e| e.action == "document.acknowledged")
                .count(),
            2
        );
        // Nobody signs for someone else with their own permit.
        let other = person(&store, "pupil2", PersonKind::Pupil, Role::Pupil).await;
        assert!(
            store
                .acknowledge(&me, other, kind, "2023", None, "")
                .await
                .is_err()
        );
        assert!(
            store
                .acknowledgements(Some(other))
                .await
                .unwrap()
                .is_empty()
        );

        // A new staff code in the register is what staff must sign now.
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let keeper = permit(
            &Actor {
                person_id: head,
                roles: RoleSet::of(Role::Headteacher),
            },
            Action::ManageDocuments,
            Object::School,
        )
        .unwrap();
        let v = NewDocument {
            kind: "staff_code".into(),
            version: "2026".into(),
            title: "Staff Code of Conduct".into(),
            body: "I will keep my password to myself.".into(),
            approved_on: "2026-10-20".into(),
            ..NewDocument::default()
        };
        let checked = v.check(Some(24), day("2026-11-03")).unwrap();
        store.add_document(&keeper, &checked, None).await.unwrap();
        assert!(
            store.add_document(&keeper, &checked, None).await.is_err(),
            "a version is added once"
        );
        assert_eq!(store.documents().await.unwrap().len(), 1);
        let teacher = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let t = store.person(teacher).await.unwrap().unwrap();
        let s = store.code_standing(&t, rules).await.unwrap().unwrap();
        assert_eq!(s.version, "2026");
        assert_eq!(
            s.document.map(|d| d.review_on),
            Some("2028-10-20".to_string())
        );
        // A class's paper sign-off is for that code's audience only.
        let pupils = vec![who.clone()];
        let paper = as_role(teacher, Role::Teacher, Action::RecordPaperSignOff);
        let n = store
            .record_paper_sign_off(&paper, &pupils, DocumentKind::PupilCode, "2026", None)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let wrong = store
            .record_paper_sign_off(&paper, &[t], DocumentKind::PupilCode, "2026", None)
            .await;
        assert!(wrong.is_err());
    }
);

both_backends!(
    training_is_recorded_for_staff_only_with_its_evidence_and_audited,
    |store, _db| {
        let holt = profile("holt");
        let course = holt
            .training
            .iter()
            .find(|c| c.id == "online_safety_update")
            .unwrap();
        let a = person(&store, "t1", PersonKind::Staff, Role::Teacher).await;
        let b = person(&store, "t2", PersonKind::Staff, Role::Teacher).await;
        let pupil = person(&store, "p1", PersonKind::Pupil, Role::Pupil).await;
        let session = |people: Vec<i64>| NewSession {
            course: course.id.clone(),
            held_on: "2026-11-02".into(),
            people,
            note: "Staff meeting".into(),
        };
        let today = day("2026-11-03");
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let p = as_role(head, Role::Headteacher, Action::ManageTraining);
        let evidence = NewAttachment {
            filename: "register.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"signed register".to_vec(),
        };
        let id = store
            .record_training(
                &p,
                course,
                &session(vec![a, b]).check(&holt.training, today).unwrap(),
                Some(&evidence),
            )
            .await
            .unwrap();
        let all = store.completions(None).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(store.completions(Some(a)).await.unwrap().len(), 1);
        let (name, _, bytes) = store.training_evidence(id).await.unwrap().unwrap();
        assert_eq!(
            (name.as_str(), bytes.as_slice()),
            ("register.txt", &b"signed register"[..])
        );
        let audit = store
            .audit_of("training_session", &id.to_string())
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        // A pupil, or someone who is not here, refuses the whole session.
        for people in [vec![a, pupil], vec![a, 999_999]] {
            let checked = session(people).check(&holt.training, today).unwrap();
            assert!(
                store
                    .record_training(&p, course, &checked, None)
                    .await
                    .is_err()
            );
        }
        assert_eq!(store.completions(None).await.unwrap().len(), 2);
        let wrong = operator_for(Action::ManageDevices);
        let checked = session(vec![a]).check(&holt.training, today).unwrap();
        assert!(
            store
                .record_training(&wrong, course, &checked, None)
                .await
                .is_err()
        );
    }
);

both_backends!(
    the_latest_consent_answer_decides_and_only_pupils_have_one,
    |store, _db| {
        let rules = profile("coleridge").consent;
        let pupil = person(&store, "p1", PersonKind::Pupil, Role::Pupil).await;
        let teacher = person(&store, "t1", PersonKind::Staff, Role::Teacher).await;
        let today = day("2026-11-03");
        let answer = |who: i64, given: bool| NewConsent {
            pupil: who,
            purpose: "website".into(),
            given,
            named: false,
            by_whom: "Mrs Jones (mother)".into(),
            on: "2026-11-01".into(),
            note: String::new(),
        };
        let dm = person(&store, "dm", PersonKind::Staff, Role::DataManager).await;
        let p = as_role(dm, Role::DataManager, Action::ManageConsents);
        store
            .record_consent(&p, &answer(pupil, true).check(&rules, today).unwrap())
            .await
            .unwrap();
        store
            .record_consent(&p, &answer(pupil, false).check(&rules, today).unwrap())
            .await
            .unwrap();
        let latest = store.latest_consents().await.unwrap();
        assert!(
            !latest[&(pupil, "website".to_string())].given,
            "the withdrawal decides"
        );
        assert_eq!(
            store.consents(Some(&[pupil])).await.unwrap().len(),
            2,
            "history is kept"
        );
        let not_a_pupil = answer(teacher, true).check(&rules, today).unwrap();
        assert!(store.record_consent(&p, &not_a_pupil).await.is_err());
        assert_eq!(store.consents(None).await.unwrap().len(), 2);
        let audit = store.audit_of("person", &pupil.to_string()).await.unwrap();
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "consent.recorded")
                .count(),
            2
        );
    }
);

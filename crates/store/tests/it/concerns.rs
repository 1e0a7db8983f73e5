use crate::{Cast, person, profile, reporting};
use policy::concern::{ActionInput, ReportForm};
use policy::{
    Action, Actor, Agency, ConcernStatus, Object, PersonKind, Role, RoleSet, RouteKind, Severity,
    permit,
};
use store::{ConcernFilter, NewAttachment, NewConcern, Store, Triage, both_backends};

fn report(reporter: i64, subjects: Vec<i64>) -> NewConcern {
    NewConcern {
        reporter_id: reporter,
        form: ReportForm::Staff,
        subjects,
        category: "contact.online_bullying".into(),
        summary: "Unkind messages in the class group chat".into(),
        details: "Seen on Tuesday at lunch.".into(),
        about_text: None,
        occurred_at: Some("2026-11-20".into()),
        platform: Some("WhatsApp".into()),
        attachments: vec![],
    }
}

fn actor(id: i64, role: Role) -> Actor {
    Actor {
        person_id: id,
        roles: RoleSet::of(role),
    }
}

async fn visible(store: &Store, who: Actor) -> Vec<i64> {
    store
        .concerns_for(&who, &ConcernFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| {
            policy::can(&who, Action::ViewConcern, Object::Concern(&c.facts()))
                == policy::Decision::Allow
        })
        .map(|c| c.id)
        .collect()
}

both_backends!(
    a_concern_about_a_pupil_reaches_the_first_point_of_contact,
    |store, _db| {
        let cast = Cast::new(&store).await;
        let (dsl, teacher, pupil) = (cast.dsl, cast.teacher, cast.pupil);
        let id = cast.file(&store, &report(teacher, vec![pupil])).await;
        let c = store.concern(id).await.unwrap().unwrap();
        assert_eq!(c.route, RouteKind::Safeguarding);
        assert_eq!(c.assignee_id, Some(dsl));
        assert_eq!(c.status, ConcernStatus::New);
        assert_eq!(c.subjects, vec![pupil]);
        assert_eq!(visible(&store, actor(dsl, Role::Dsl)).await, vec![id]);
        assert!(
            visible(&store, actor(teacher, Role::Teacher))
                .await
                .is_empty()
        );
        let timeline = store.actions(id).await.unwrap();
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].kind, policy::ActionKind::Reported);
    }
);

both_backends!(
    a_concern_about_a_teacher_is_seen_by_the_headteacher_not_the_dsl,
    |store, _db| {
        let cast = Cast::new(&store).await;
        let (holt, dsl, t1) = (&cast.holt, cast.dsl, cast.teacher);
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let t2 = person(&store, "teacher2", PersonKind::Staff, Role::Teacher).await;
        let id = store
            .create_concern(&reporting(t2), &holt.concerns, &report(t2, vec![t1]))
            .await
            .unwrap();
        assert_eq!(
            store.concern(id).await.unwrap().unwrap().assignee_id,
            Some(head)
        );
        assert_eq!(
            visible(&store, actor(head, Role::Headteacher)).await,
            vec![id]
        );
        assert!(visible(&store, actor(dsl, Role::Dsl)).await.is_empty());
        assert!(visible(&store, actor(t1, Role::Teacher)).await.is_empty());
        // The reporter finds it in their list, for the status view.
        let mine = store
            .concerns_for(&actor(t2, Role::Teacher), &ConcernFilter::default())
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
    }
);

both_backends!(
    coleridge_cannot_close_a_concern_about_the_head_before_the_lado_step,
    |store, _db| {
        let col = profile("coleridge");
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let chair = crate::chair(&store).await;
        let t = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let id = store
            .create_concern(&reporting(t), &col.concerns, &report(t, vec![head]))
            .await
            .unwrap();
        let c = store.concern(id).await.unwrap().unwrap();
        assert!(c.lado_required);
        assert_eq!(c.assignee_id, Some(chair));
        let chair_actor = actor(chair, Role::ChairOfGovernors);
        let close = permit(
            &chair_actor,
            Action::CloseConcern,
            Object::Concern(&c.facts()),
        )
        .unwrap();
        let err = store
            .close_concern(&close, id, "Resolved")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("LADO"), "{err}");
        let add = permit(
            &chair_actor,
            Action::AddConcernAction,
            Object::Concern(&c.facts()),
        )
        .unwrap();
        let referral = ActionInput::Referral {
            agency: Agency::Lado,
            reference: "LADO-2026-117".into(),
            text: None,
            corrects: None,
        };
        store.add_action(&add, &col, id, &referral).await.unwrap();
        store
            .close_concern(&close, id, "LADO advised no further action")
            .await
            .unwrap();
        let c = store.concern(id).await.unwrap().unwrap();
        assert_eq!(c.status, ConcernStatus::Closed);
        assert_eq!(c.outcome.as_deref(), Some("LADO advised no further action"));
    }
);

both_backends!(
    triage_actions_corrections_close_and_reopen_are_all_on_the_timeline,
    |store, _db| {
        let cast = Cast::new(&store).await;
        let (holt, dsl, t, p) = (&cast.holt, cast.dsl, cast.teacher, cast.pupil);
        let deputy = person(&store, "deputy", PersonKind::Staff, Role::DeputyDsl).await;
        let id = cast.file(&store, &report(t, vec![p])).await;
        let me = actor(dsl, Role::Dsl);
        let facts = store.concern(id).await.unwrap().unwrap().facts();
        let triage = permit(&me, Action::TriageConcern, Object::Concern(&facts)).unwrap();
        store
            .triage(
                &triage,
                id,
                &Triage {
                    assignee_id: Some(deputy),
                    severity: Some(Severity::High),
                    status: None,
                },
            )
            .await
            .unwrap();
        let add = permit(&me, Action::AddConcernAction, Object::Concern(&facts)).unwrap();
        let note = store
            .add_action(
                &add,
                holt,
                id,
                &ActionInput::Note {
                    text: "Spoke to pupil1".into(),
                    corrects: None,
                },
            )
            .await
            .unwrap();
        store
            .add_action(
                &add,
                holt,
                id,
                &ActionInput::Note {
                    text: "Spoke to pupil1 and pupil2".into(),
                    corrects: Some(note),
                },
            )
            .await
            .unwrap();
        let bad = ActionInput::Sanction {
            sanction: "detention_forever".into(),
            text: None,
            corrects: None,
        };
        assert!(
            store
                .add_action(&add, holt, id, &bad)
                .await
                .unwrap_err()
                .to_string()
                .contains("sanction")
        );
        // A permit for one action is not a permit for another.
        assert!(store.close_concern(&add, id, "x").await.is_err());
        let close = permit(&me, Action::CloseConcern, Object::Concern(&facts)).unwrap();
        assert!(
            store
                .close_concern(&close, id, "  ")
                .await
                .unwrap_err()
                .to_string()
                .contains("outcome")
        );
        store
            .close_concern(&close, id, "Resolved with parents")
            .await
            .unwrap();
        let closed = store.concern(id).await.unwrap().unwrap().facts();
        let reopen = permit(&me, Action::ReopenConcern, Object::Concern(&closed)).unwrap();
        store
            .reopen_concern(&reopen, id, "New messages")
            .await
            .unwrap();
        let c = store.concern(id).await.unwrap().unwrap();
        assert_eq!(c.status, ConcernStatus::InProgress);
        assert_eq!(c.severity, Some(Severity::High));
        assert_eq!(c.assignee_id, Some(deputy));
        let kinds: Vec<&str> = store
            .actions(id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            ["reported", "triaged", "note", "note", "closed", "reopened"]
        );
        assert_eq!(store.actions(id).await.unwrap()[3].corrects_id, Some(note));
    }
);

both_backends!(
    attachments_are_type_checked_and_stored_once_by_hash,
    |store, _db| {
        let holt = profile("holt");
        let t = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let p = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
        let mut r = report(t, vec![p]);
        r.attachments = vec![
            NewAttachment {
                filename: "a.png".into(),
                content_type: "image/png".into(),
                bytes: png.clone(),
            },
            NewAttachment {
                filename: "b.png".into(),
                content_type: "image/png".into(),
                bytes: png.clone(),
            },
        ];
        let id = store
            .create_concern(&reporting(r.reporter_id), &holt.concerns, &r)
            .await
            .unwrap();
        let atts = store.attachments(id).await.unwrap();
        assert_eq!(atts.len(), 2);
        assert_eq!(atts[0].sha256, atts[1].sha256);
        let (_, bytes) = store
            .attachment_bytes(id, atts[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bytes, png);
        // An executable calling itself a PNG is refused, and nothing of the concern is stored.
        let mut r = report(t, vec![p]);
        r.attachments = vec![NewAttachment {
            filename: "x.png".into(),
            content_type: "image/png".into(),
            bytes: b"MZ\x90\0\x03".to_vec(),
        }];
        assert!(
            store
                .create_concern(&reporting(r.reporter_id), &holt.concerns, &r)
                .await
                .is_err()
        );
        assert_eq!(
            store
                .concerns_for(&actor(t, Role::Teacher), &ConcernFilter::default())
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

both_backends!(bad_reports_are_refused_and_store_nothing, |store, _db| {
    let holt = profile("holt");
    let t = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
    let p = person(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
    // Why the store refuses a report (it must refuse it).
    let refusal = async |r: &NewConcern| {
        let permit = reporting(r.reporter_id);
        let err = store.create_concern(&permit, &holt.concerns, r).await;
        err.unwrap_err().to_string()
    };
    let mut r = report(t, vec![p]);
    r.category = "contact.unknown".into();
    assert!(refusal(&r).await.contains("category"));
    let mut r = report(t, vec![p]);
    r.summary = "x".repeat(5000);
    assert!(refusal(&r).await.contains("summary"));
    let r = report(t, vec![9999]);
    assert!(refusal(&r).await.contains("9999"));
    let r = report(t, vec![]);
    assert!(refusal(&r).await.contains("subjects"));
    assert!(
        store
            .concerns_for(&actor(t, Role::Teacher), &ConcernFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
});

both_backends!(
    a_permit_for_one_concern_is_refused_for_another,
    |store, _db| {
        let cast = Cast::new(&store).await;
        let (holt, dsl, t, p) = (&cast.holt, cast.dsl, cast.teacher, cast.pupil);
        let a = cast.file(&store, &report(t, vec![p])).await;
        let b = cast.file(&store, &report(t, vec![p])).await;
        let me = actor(dsl, Role::Dsl);
        let facts_a = store.concern(a).await.unwrap().unwrap().facts();
        // The DSL may triage both, but a permit asked about A is for A only.
        let triage_a = permit(&me, Action::TriageConcern, Object::Concern(&facts_a)).unwrap();
        let severe = Triage {
            severity: Some(Severity::High),
            ..Triage::default()
        };
        let err = store.triage(&triage_a, b, &severe).await.unwrap_err();
        assert!(matches!(err, store::StoreError::Conflict(_)), "{err}");
        let close_a = permit(&me, Action::CloseConcern, Object::Concern(&facts_a)).unwrap();
        assert!(matches!(
            store.close_concern(&close_a, b, "done").await,
            Err(store::StoreError::Conflict(_))
        ));
        let add_a = permit(&me, Action::AddConcernAction, Object::Concern(&facts_a)).unwrap();
        let note = ActionInput::Note {
            text: "Spoke to pupil1".into(),
            corrects: None,
        };
        assert!(matches!(
            store.add_action(&add_a, holt, b, &note).await,
            Err(store::StoreError::Conflict(_))
        ));
        // Nothing happened to B; the same permits work on A.
        let untouched = store.concern(b).await.unwrap().unwrap();
        assert_eq!(untouched.status, ConcernStatus::New);
        assert_eq!(untouched.severity, None);
        assert_eq!(store.actions(b).await.unwrap().len(), 1);
        store.triage(&triage_a, a, &severe).await.unwrap();
        store.add_action(&add_a, holt, a, &note).await.unwrap();
        assert_eq!(
            store.concern(a).await.unwrap().unwrap().severity,
            Some(Severity::High)
        );
    }
);

both_backends!(
    a_report_is_filed_only_by_the_holder_of_the_permit,
    |store, _db| {
        let cast = Cast::new(&store).await;
        let (holt, t1, p) = (&cast.holt, cast.teacher, cast.pupil);
        let t2 = person(&store, "teacher2", PersonKind::Staff, Role::Teacher).await;
        let err = store
            .create_concern(&reporting(t1), &holt.concerns, &report(t2, vec![p]))
            .await
            .unwrap_err();
        assert!(matches!(err, store::StoreError::Conflict(_)), "{err}");
        assert!(
            store
                .concerns_for(&actor(t2, Role::Teacher), &ConcernFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
);

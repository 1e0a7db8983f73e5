//! Subject access and erasure (issue 20, parts 7 and 3): one pupil's export holds their concerns
//! with everyone else's names taken out and nothing of another pupil's; erasure waits for the
//! profile's retention and leaves an audit chain that still verifies.

use crate::{Cast, operator, reporting};
use events::{AccessEvent, LogVerdict};
use policy::concern::{ActionInput, ReportForm};
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, permit};
use store::testing::TestDb;
use store::{AuditVerdict, NewConcern, NewPerson, Store, both_backends};

/// A person with a name of their own (the cast's are all "<username> Example").
async fn named(store: &Store, username: &str, name: &str, kind: PersonKind, role: Role) -> i64 {
    store
        .create_person(
            &operator(),
            RoleSet::EMPTY,
            &NewPerson {
                username: username.into(),
                display_name: name.into(),
                kind,
                roles: RoleSet::of(role),
                year_group: (kind == PersonKind::Pupil).then(|| "Year 5".into()),
                class_name: (kind == PersonKind::Pupil).then(|| "5B".into()),
            },
        )
        .await
        .unwrap()
}

/// Sets what the MIS would (date of birth, marked as left on a day) straight in the database,
/// as the MIS import does: the import's own tests cover how it gets there.
async fn mis_details(db: &TestDb, id: i64, born: &str, left_at: Option<&str>) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "UPDATE people SET date_of_birth = $1, left_at = $2, \
         active = CASE WHEN $3 = 1 THEN 0 ELSE active END WHERE id = $4",
    )
    .bind(born)
    .bind(left_at)
    .bind(i64::from(left_at.is_some()))
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

fn report(reporter: i64, subjects: Vec<i64>, summary: &str, details: &str) -> NewConcern {
    NewConcern {
        reporter_id: reporter,
        form: ReportForm::Staff,
        subjects,
        category: "contact.online_bullying".into(),
        summary: summary.into(),
        details: details.into(),
        about_text: None,
        occurred_at: None,
        platform: Some("WhatsApp".into()),
        attachments: vec![],
    }
}

fn browsing(person: i64, username: &str, host: &str, search: Option<&str>) -> AccessEvent {
    AccessEvent {
        person_id: Some(person),
        username: Some(username.into()),
        url: Some(format!("https://{host}/")),
        search_term: search.map(str::to_string),
        ..AccessEvent::new(
            "2026-11-02T09:00:00.000Z".into(),
            "proxy",
            "10.0.5.20".into(),
            "ks2".into(),
            host.into(),
            LogVerdict::Allow,
        )
    }
}

fn actor(id: i64, role: Role) -> Actor {
    Actor {
        person_id: id,
        roles: RoleSet::of(role),
    }
}

/// The cast: two pupils (Amy Pond, Rory Williams), Rory's mother, a teacher who reports and
/// the DSL who writes notes, each concern naming the other pupil; (amy, rory, data manager).
async fn two_pupils(store: &Store) -> (Cast, i64, i64, i64) {
    let cast = Cast::new(store).await;
    let amy = named(
        store,
        "amy.pond",
        "Amy Pond",
        PersonKind::Pupil,
        Role::Pupil,
    )
    .await;
    let rory = named(
        store,
        "rory.w",
        "Rory Williams",
        PersonKind::Pupil,
        Role::Pupil,
    )
    .await;
    let mum = named(
        store,
        "jwilliams",
        "Jane Williams",
        PersonKind::Parent,
        Role::Parent,
    )
    .await;
    store
        .link_parent(&crate::operator_for(Action::ManagePeople), mum, rory)
        .await
        .unwrap();
    let data = named(
        store,
        "data",
        "Dee Manager",
        PersonKind::Staff,
        Role::DataManager,
    )
    .await;
    let teacher = cast.teacher;
    let about_amy = store
        .create_concern(
            &reporting(teacher),
            &cast.holt.concerns,
            &report(
                teacher,
                vec![amy],
                "Amy upset after RORY WILLIAMS posted her photo",
                "rory.w shared a photo of Amy Pond in the class chat; teacher1 Example saw it.",
            ),
        )
        .await
        .unwrap();
    let c = store.concern(about_amy).await.unwrap().unwrap();
    let note = permit(
        &actor(cast.dsl, Role::Dsl),
        Action::AddConcernAction,
        Object::Concern(&c.facts()),
    )
    .unwrap();
    store
        .add_action(
            &note,
            &cast.holt,
            about_amy,
            &ActionInput::Note {
                text: "Spoke with Amy Pond, then with Rory Williams and Jane Williams.".into(),
                corrects: None,
            },
        )
        .await
        .unwrap();
    // Rory's own concern names Amy: it is Rory's record, not Amy's.
    store
        .create_concern(
            &reporting(teacher),
            &cast.holt.concerns,
            &report(
                teacher,
                vec![rory],
                "Rory's secret worry",
                "Rory Williams told me Amy Pond is not to blame for the RORYSECRET matter.",
            ),
        )
        .await
        .unwrap();
    // Amy reported Rory herself: Rory's record again, counted on Amy's as a report she made.
    store
        .create_concern(
            &reporting(amy),
            &cast.holt.concerns,
            &report(amy, vec![rory], "A report", "ABOUTRORY by amy.pond."),
        )
        .await
        .unwrap();
    store
        .access_writer()
        .write(&[
            browsing(
                amy,
                "amy.pond",
                "amy-homework.example",
                Some("rory williams band"),
            ),
            browsing(rory, "rory.w", "rory-only.example", Some("amy pond")),
        ])
        .await
        .unwrap();
    (cast, amy, rory, data)
}

both_backends!(
    a_pupils_export_redacts_everyone_else_and_holds_nothing_of_another_pupil,
    |store, _db| {
        let (cast, amy, rory, data) = two_pupils(&store).await;
        let export_permit = permit(
            &actor(data, Role::DataManager),
            Action::ExportSubjectAccess,
            Object::Person(amy),
        )
        .unwrap();
        let export = store
            .subject_access(&export_permit, amy, "json")
            .await
            .unwrap();
        let text = serde_json::to_string(&export).unwrap();
        assert_eq!(export.prepared_by, "Dee Manager");
        assert_eq!(export.person.display_name, "Amy Pond");
        assert_eq!(export.concerns.len(), 1, "{text}");
        let c = &export.concerns[0];
        assert_eq!(
            c.summary,
            "Amy upset after [redacted: another pupil] posted her photo"
        );
        assert_eq!(
            c.details,
            "[redacted: another pupil] shared a photo of Amy Pond in the class chat; \
             [redacted: a member of staff] saw it."
        );
        assert_eq!(c.reported_by, "[redacted: a member of staff]");
        assert_eq!(
            c.handled_by.as_deref(),
            Some("[redacted: a member of staff]")
        );
        let note = c.timeline.iter().find(|e| e.kind == "note").unwrap();
        assert_eq!(note.by, "[redacted: a member of staff]");
        assert_eq!(
            note.body["text"],
            "Spoke with Amy Pond, then with [redacted: another pupil] and \
             [redacted: a parent or carer]."
        );
        assert_eq!(export.reports_about_others, 1);
        assert_eq!(export.access_log.total, 1);
        assert_eq!(export.access_log.rows[0].name, "amy-homework.example");
        assert_eq!(
            export.access_log.rows[0].search_term.as_deref(),
            Some("[redacted: another pupil] band")
        );
        // No trace of Rory: not his names, his concern, the report about him, his browsing.
        for gone in [
            "Rory",
            "rory.w",
            "RORY",
            "Williams",
            "RORYSECRET",
            "ABOUTRORY",
            "rory-only",
            "teacher1",
            "dsl Example",
        ] {
            assert!(!text.contains(gone), "`{gone}` in {text}");
        }
        // Rory's export, for the other side: none of Amy's concern either.
        let rory_permit = permit(
            &actor(data, Role::DataManager),
            Action::ExportSubjectAccess,
            Object::Person(rory),
        )
        .unwrap();
        let theirs = store
            .subject_access(&rory_permit, rory, "json")
            .await
            .unwrap();
        let text = serde_json::to_string(&theirs).unwrap();
        assert_eq!(theirs.concerns.len(), 2);
        for gone in ["Amy", "amy.pond", "posted her photo", "amy-homework"] {
            assert!(!text.contains(gone), "`{gone}` in {text}");
        }
        assert_eq!(theirs.links.len(), 1);
        // Audited, with who and whom.
        let rows = store.audit_of("person", &amy.to_string()).await.unwrap();
        let row = rows
            .iter()
            .find(|r| r.action == "person.subject_access_exported")
            .unwrap();
        assert_eq!(row.actor_id, Some(data));
        assert_eq!(row.details, r#"{"format":"json"}"#);
        // A permit for Rory's export does not export Amy's; nobody else gets a permit at all.
        assert!(
            store
                .subject_access(&rory_permit, amy, "json")
                .await
                .is_err()
        );
        for (who, role) in [(cast.teacher, Role::Teacher), (cast.dsl, Role::Dsl)] {
            assert_eq!(
                policy::can(
                    &actor(who, role),
                    Action::ExportSubjectAccess,
                    Object::Person(amy)
                ),
                policy::Decision::Hide
            );
        }
        assert_eq!(
            policy::can(
                &actor(amy, Role::Pupil),
                Action::ExportSubjectAccess,
                Object::Person(amy)
            ),
            policy::Decision::Hide
        );
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    erasure_is_refused_within_retention_allowed_past_it_and_the_chain_still_verifies,
    |store, db| {
        let (cast, amy, rory, data) = two_pupils(&store).await;
        let rules = cast.holt.retention.clone();
        let erase = permit(
            &actor(data, Role::DataManager),
            Action::EraseRecords,
            Object::Person(amy),
        )
        .unwrap();
        // At school, without a date of birth: kept, and the refusal says why.
        let err = store.erase_person(&erase, &rules, amy).await.unwrap_err();
        assert!(err.to_string().contains("still at the school"), "{err}");
        // Left in 2027, born in 2016: kept until 2041-04-01.
        mis_details(db, amy, "2016-04-01", Some("2027-07-21T15:00:00.000Z")).await;
        mis_details(db, rory, "2016-05-01", Some("2027-07-21T15:00:00.000Z")).await;
        let err = store.erase_person(&erase, &rules, amy).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("Kept until 2041-04-01 (date of birth + 25 years)"),
            "{err}"
        );
        let before = store.audit_head().await.unwrap();

        // The clock set past retention: a store on the same database, in 2041.
        let later = db
            .store_on(clock::Clock::starting_at(
                clock::parse_instant("2041-04-02T09:00:00Z").unwrap(),
            ))
            .await;
        assert!(later.retention(&rules, amy).await.unwrap().erasable());
        let erased = later.erase_person(&erase, &rules, amy).await.unwrap();
        assert_eq!(erased.count("concerns"), 1);
        assert_eq!(erased.count("concern_entries"), 2);
        assert_eq!(erased.count("access_log_rows"), 1);
        assert_eq!(erased.count("account"), 0);
        let gone = later.person(amy).await.unwrap().unwrap();
        assert_eq!(gone.display_name, "Erased person");
        assert_eq!(gone.username, format!("#erased-{amy}"));
        assert_eq!(gone.date_of_birth, None);
        // Rory's records are untouched; the report Amy made about him stays, by an erased person.
        let export_rory = permit(
            &actor(data, Role::DataManager),
            Action::ExportSubjectAccess,
            Object::Person(rory),
        )
        .unwrap();
        let rorys = later
            .subject_access(&export_rory, rory, "json")
            .await
            .unwrap();
        assert_eq!(rorys.concerns.len(), 2);
        assert_eq!(rorys.access_log.total, 1);
        // Amy's export now holds nothing but the stripped row.
        let export_amy = permit(
            &actor(data, Role::DataManager),
            Action::ExportSubjectAccess,
            Object::Person(amy),
        )
        .unwrap();
        let amys = later
            .subject_access(&export_amy, amy, "json")
            .await
            .unwrap();
        assert!(amys.erased_at.is_some());
        assert!(amys.concerns.is_empty() && amys.access_log.total == 0);
        let text = serde_json::to_string(&amys).unwrap();
        assert!(
            !text.contains("Amy") && !text.contains("amy.pond"),
            "{text}"
        );
        // Audited with counts only, and no audit row was cut: the chain verifies from the
        // head recorded before.
        let row = later
            .audit_of("person", &amy.to_string())
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.action == "person.erased")
            .unwrap();
        assert!(row.details.contains("\"concerns\":1"), "{}", row.details);
        assert!(!row.details.contains("Amy") && !row.details.contains("amy"));
        assert!(matches!(
            later.verify_audit_against(&before).await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
        // Twice is refused.
        let again = later.erase_person(&erase, &rules, amy).await.unwrap_err();
        assert!(again.to_string().contains("already erased"), "{again}");
        later.close().await;
    }
);

both_backends!(
    erasing_a_member_of_staff_keeps_what_other_peoples_records_need,
    |store, db| {
        let (cast, amy, _rory, data) = two_pupils(&store).await;
        let rules = cast.holt.retention.clone();
        let teacher = cast.teacher;
        store
            .create_account(&operator(), teacher, "not-a-real-hash")
            .await
            .unwrap();
        let netman = named(
            &store,
            "netman",
            "Net Manager",
            PersonKind::Staff,
            Role::NetworkManager,
        )
        .await;
        let devices = permit(
            &actor(netman, Role::NetworkManager),
            Action::ManageDevices,
            Object::School,
        )
        .unwrap();
        store
            .add_device(
                &devices,
                &store::NewDevice {
                    name: "Teacher laptop 1".into(),
                    ip: "10.0.9.10".into(),
                    holder: "teacher1".into(),
                    ..Default::default()
                },
                &[],
            )
            .await
            .unwrap();
        // Left on 31 August 2027; no allegation about them: kept six years.
        mis_details(db, teacher, "1980-02-02", Some("2027-08-31T12:00:00.000Z")).await;
        let erase = permit(
            &actor(data, Role::DataManager),
            Action::EraseRecords,
            Object::Person(teacher),
        )
        .unwrap();
        let err = store
            .erase_person(&erase, &rules, teacher)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("2033-08-31"), "{err}");
        let later = db
            .store_on(clock::Clock::starting_at(
                clock::parse_instant("2033-09-01T09:00:00Z").unwrap(),
            ))
            .await;
        let erased = later.erase_person(&erase, &rules, teacher).await.unwrap();
        assert_eq!(erased.count("account"), 1);
        assert_eq!(erased.count("devices_unassigned"), 1);
        assert_eq!(erased.count("concerns"), 0);
        // The concerns they reported are the pupils' records: still there, by an erased person.
        let export = permit(
            &actor(data, Role::DataManager),
            Action::ExportSubjectAccess,
            Object::Person(amy),
        )
        .unwrap();
        let amys = later.subject_access(&export, amy, "json").await.unwrap();
        assert_eq!(amys.concerns.len(), 1);
        assert_eq!(
            amys.concerns[0].reported_by,
            "[redacted: a member of staff]"
        );
        assert!(later.account(teacher).await.unwrap().is_none());
        let device = later
            .devices()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == "Teacher laptop 1")
            .unwrap();
        assert_eq!(device.holder_id, None);
        assert!(matches!(
            later.verify_audit().await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
        later.close().await;
    }
);

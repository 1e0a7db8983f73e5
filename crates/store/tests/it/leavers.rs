//! Guests, leavers and device loans (issue 20, parts 2 to 4): accounts that end by their date,
//! the checklist, loans and their return.

use crate::{operator, operator_for, person};
use chrono::Duration;
use policy::leavers::GuestPurpose;
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, permit};
use store::{NewDevice, NewGuest, StoreError, both_backends};

const PASSWORD: &str = "correct horse battery";

fn as_role(id: i64, role: Role) -> Actor {
    Actor {
        person_id: id,
        roles: RoleSet::of(role),
    }
}

async fn with_account(store: &store::Store, id: i64) {
    let hash = store::passwords::hash(PASSWORD).unwrap();
    store.create_account(&operator(), id, &hash).await.unwrap();
}

async fn signs_in(store: &store::Store, username: &str) -> bool {
    store
        .check_credentials(username, PASSWORD, 5, 15)
        .await
        .unwrap()
        .is_ok()
}

both_backends!(
    a_guest_account_ends_at_its_time_for_sign_in_and_sessions,
    |_store, db| {
        let store = db
            .store_on(clock::Clock::manual(store::testing::school_day()))
            .await;
        let office = person(&store, "office", PersonKind::Staff, Role::DataManager).await;
        let roles = [Role::DataManager];
        let may = permit(
            &as_role(office, Role::DataManager),
            Action::CreateGuest,
            Object::Guests { created_by: &roles },
        )
        .unwrap();
        let ends = store::timestamp(store.now_utc() + Duration::hours(1));
        let new = NewGuest {
            username: "guest-abc".into(),
            display_name: "A. Visitor".into(),
            purpose: GuestPurpose::SupplyTeacher,
            expires_at: ends.clone(),
        };
        let hash = store::passwords::hash(PASSWORD).unwrap();
        let id = store.create_guest(&may, &new, &hash).await.unwrap();
        let guest = store.person(id).await.unwrap().unwrap();
        assert_eq!(guest.kind, PersonKind::Visitor);
        assert_eq!(guest.expires_at.as_deref(), Some(ends.as_str()));
        assert_eq!(guest.guest_purpose.as_deref(), Some("supply_teacher"));
        assert!(signs_in(&store, "guest-abc").await);
        store
            .start_session(id, "tok", "csrf", Duration::hours(8))
            .await
            .unwrap();
        assert!(store.session("tok").await.unwrap().is_some());

        // An hour and a second later: sign-in refused at once, the session too.
        store.clock().advance(Duration::seconds(3601));
        assert!(!signs_in(&store, "guest-abc").await);
        assert!(store.session("tok").await.unwrap().is_none());
        // The run closes it for good, audited, and only once.
        let closed = store
            .close_due_accounts(&store.school_today())
            .await
            .unwrap();
        assert_eq!(closed.guests, vec![id]);
        assert!(!store.person(id).await.unwrap().unwrap().active);
        let again = store
            .close_due_accounts(&store.school_today())
            .await
            .unwrap();
        assert_eq!(again, store::Closed::default());
        let audit = store.audit_page(None, 100).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "guest.created"));
        assert!(audit.iter().any(|e| e.action == "guest.expired"));
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    guests_are_refused_past_now_and_to_those_the_profile_does_not_name,
    |store, _db| {
        let teacher = person(&store, "teacher", PersonKind::Staff, Role::Teacher).await;
        let roles = [Role::DataManager];
        assert!(
            permit(
                &as_role(teacher, Role::Teacher),
                Action::CreateGuest,
                Object::Guests { created_by: &roles },
            )
            .is_err()
        );
        let past = NewGuest {
            username: "guest-old".into(),
            display_name: "Late".into(),
            purpose: GuestPurpose::Visitor,
            expires_at: store::timestamp(store.now_utc() - Duration::minutes(1)),
        };
        let err = store
            .create_guest(&operator_for(Action::CreateGuest), &past, "x")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        // A permit for something else is refused, and nothing is written.
        let wrong = store
            .create_guest(
                &operator_for(Action::ManagePeople),
                &NewGuest {
                    expires_at: store::timestamp(store.now_utc() + Duration::hours(1)),
                    ..past
                },
                "x",
            )
            .await
            .unwrap_err();
        assert!(matches!(wrong, StoreError::Conflict(_)), "{wrong}");
        assert!(
            store
                .person_by_username("guest-old")
                .await
                .unwrap()
                .is_none()
        );
    }
);

both_backends!(
    a_leaver_is_refused_on_their_date_and_the_run_ends_their_sessions,
    |store, _db| {
        let teacher = person(&store, "teacher", PersonKind::Staff, Role::Teacher).await;
        with_account(&store, teacher).await;
        store
            .start_session(teacher, "tok", "csrf", Duration::hours(8))
            .await
            .unwrap();
        let today = store.school_today();
        let tomorrow = (store.clock().school_now().date_naive() + Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let may = operator_for(Action::ManagePeople);
        store
            .set_leaving_date(&may, teacher, Some(&tomorrow))
            .await
            .unwrap();
        // Before the date: nothing closes.
        assert_eq!(
            store.close_due_accounts(&today).await.unwrap(),
            store::Closed::default()
        );
        assert!(signs_in(&store, "teacher").await);
        // A bad date names the field and changes nothing.
        let err = store
            .set_leaving_date(&may, teacher, Some("31/07/2027"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("leaves_on"), "{err}");
        store
            .set_leaving_date(&may, teacher, Some(&today))
            .await
            .unwrap();
        // On the date: sign-in refused at once; the daily run closes the account and ends
        // the session.
        assert!(!signs_in(&store, "teacher").await);
        let closed = store.close_due_accounts(&today).await.unwrap();
        assert_eq!(closed.leavers, vec![teacher]);
        let p = store.person(teacher).await.unwrap().unwrap();
        assert!(!p.active);
        assert!(p.left_at.is_some());
        assert!(store.session("tok").await.unwrap().is_none());
        let audit = store.audit_page(None, 100).await.unwrap();
        let left = audit.iter().find(|e| e.action == "person.left").unwrap();
        assert!(left.actor_id.is_none());
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    a_loaned_laptop_is_on_the_leavers_checklist_until_returned,
    |store, _db| {
        let netman = person(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let teacher = person(&store, "teacher", PersonKind::Staff, Role::Teacher).await;
        let devices = permit(
            &as_role(netman, Role::NetworkManager),
            Action::ManageDevices,
            Object::School,
        )
        .unwrap();
        let laptop = store
            .add_device(
                &devices,
                &NewDevice {
                    name: "Laptop 12".into(),
                    mac: "aa:bb:cc:00:11:22".into(),
                    ..NewDevice::default()
                },
                &[],
            )
            .await
            .unwrap();
        let management = store::devices::Management {
            mdm: "Intune".into(),
            mdm_last_seen: "2026-11-02".into(),
            passcode_set: true,
            school_account: "laptop12@school.example".into(),
        };
        store
            .set_device_management(&devices, laptop, &management)
            .await
            .unwrap();
        let d = store.devices().await.unwrap().remove(0);
        assert_eq!(d.mdm.as_deref(), Some("Intune"));
        assert_eq!(d.passcode_set, 1);
        let loan = store
            .lend_device(
                &devices,
                laptop,
                "teacher",
                "2026-09-01",
                "2027-07-21",
                "Good",
            )
            .await
            .unwrap();
        // One loan at a time.
        let twice = store
            .lend_device(&devices, laptop, "netman", "2026-09-02", "", "Good")
            .await
            .unwrap_err();
        assert!(matches!(twice, StoreError::Conflict(_)), "{twice}");
        // A bad date names its field.
        let bad = store
            .lend_device(&devices, laptop, "teacher", "yesterday", "", "Good")
            .await
            .unwrap_err()
            .to_string();
        assert!(bad.contains("lent_on"), "{bad}");

        let leavers = policy::leavers::LeaverPolicy::default();
        let checklist = |loans: &[store::devices::Loan], ticks| {
            let items: Vec<policy::leavers::LoanItem> = loans
                .iter()
                .map(|l| policy::leavers::LoanItem {
                    loan_id: l.id,
                    device: l.device_name.clone(),
                    returned: l.returned_on.as_ref().map(|at| policy::leavers::Done {
                        by: String::new(),
                        at: at.clone(),
                        note: String::new(),
                    }),
                })
                .collect();
            leavers.checklist(ticks, &items)
        };
        let loans = store.loans_of(teacher).await.unwrap();
        assert_eq!(loans.len(), 1);
        let list = checklist(&loans, &[]);
        let item = list
            .iter()
            .find(|i| i.key == format!("loan:{loan}"))
            .unwrap();
        assert!(item.label.contains("Laptop 12"));
        assert!(item.done.is_none());

        // Ticking needs a leaving date; with one, an item is ticked once.
        let keep = permit(
            &as_role(netman, Role::NetworkManager),
            Action::ManageLeavers,
            Object::School,
        )
        .unwrap();
        assert!(
            store
                .tick_leaver_item(&keep, teacher, "item:0", "")
                .await
                .is_err()
        );
        store
            .set_leaving_date(
                &operator_for(Action::ManagePeople),
                teacher,
                Some("2027-07-21"),
            )
            .await
            .unwrap();
        store
            .tick_leaver_item(&keep, teacher, "item:0", "PIN written down")
            .await
            .unwrap();
        assert!(
            store
                .tick_leaver_item(&keep, teacher, "item:0", "")
                .await
                .is_err()
        );
        let ticks = store.leaver_ticks(teacher).await.unwrap();
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].1.by, "netman Example");

        store
            .return_device(&devices, loan, "2026-11-03", "Scratched lid")
            .await
            .unwrap();
        let loans = store.loans_of(teacher).await.unwrap();
        let list = checklist(&loans, &ticks);
        let item = list
            .iter()
            .find(|i| i.key == format!("loan:{loan}"))
            .unwrap();
        assert!(item.done.is_some());
        assert!(store.open_loans().await.unwrap().is_empty());
        assert_eq!(loans[0].condition_back.as_deref(), Some("Scratched lid"));
        // Returned twice: not found.
        assert!(
            store
                .return_device(&devices, loan, "2026-11-03", "x")
                .await
                .is_err()
        );
        store
            .report_device(&devices, laptop, "stolen", "Taken from the staff room")
            .await
            .unwrap();
        assert!(
            store
                .report_device(&devices, laptop, "eaten", "x")
                .await
                .is_err()
        );
        assert_eq!(store.device_reports().await.unwrap().len(), 1);
        let audit = store.audit_page(None, 100).await.unwrap();
        for action in [
            "device.management_set",
            "device.lent",
            "device.returned",
            "device.reported",
            "person.leaving_date_set",
            "person.leaver_item_ticked",
        ] {
            assert!(audit.iter().any(|e| e.action == action), "{action}");
        }
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
    }
);

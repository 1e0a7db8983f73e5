//! "My password may be known" and the second factor (TOTP, recovery codes, the code's step).

use crate::{operator, operator_for, person};
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet};
use store::factors::{CodeRefused, SecondFactor};
use store::{Store, StoreError, both_backends};

fn actor(id: i64, role: Role) -> Actor {
    Actor {
        person_id: id,
        roles: RoleSet::of(role),
    }
}

/// A person holding `role` with a login account (password "a long password") and, for staff,
/// a mail address; their id.
async fn account_holder(store: &Store, username: &str, kind: PersonKind, role: Role) -> i64 {
    let id = person(store, username, kind, role).await;
    let hash = store::passwords::hash("a long password").unwrap();
    store.create_account(&operator(), id, &hash).await.unwrap();
    store
        .set_email(
            &operator_for(Action::ManagePeople),
            id,
            Some(&format!("{username}@school.example")),
        )
        .await
        .unwrap();
    id
}

/// The recipients of the queued mails of `kind`.
async fn mailed(store: &Store, kind: &str) -> Vec<String> {
    let mut to: Vec<String> = store
        .due_mail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind)
        .map(|m| m.recipient)
        .collect();
    to.sort();
    to
}

/// The code an authenticator app shows at `at` for `secret`, by totp-rs itself.
fn app_code(secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    testkit::totp_code(secret, at)
}

both_backends!(
    a_password_said_to_be_known_ends_every_session_and_needs_a_new_one,
    |store, _db| {
        // Who reads concerns under Holt: the safeguarding roles and the Headteacher (staff).
        let safeguarding = crate::profile("holt")
            .concerns
            .audiences()
            .concern_readers();
        let teacher = account_holder(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let netman =
            account_holder(&store, "netman", PersonKind::Staff, Role::NetworkManager).await;
        let _dsl = account_holder(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let head = account_holder(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let pupil = account_holder(&store, "pupil1", PersonKind::Pupil, Role::Pupil).await;
        let hours = chrono::Duration::hours(8);
        for token in ["laptop", "phone"] {
            store
                .start_session(teacher, token, "csrf", hours)
                .await
                .unwrap();
        }
        store
            .start_challenge(teacher, "half-way", hours)
            .await
            .unwrap();
        let generation = store::passwords::accounts_generation();

        // Someone else's account is not the teacher's to mark: refused, nothing changed.
        let own = policy::permit(
            &actor(teacher, Role::Teacher),
            Action::ReportOwnPasswordKnown,
            Object::Person(teacher),
        )
        .unwrap();
        let err = store
            .report_password_known(&own, safeguarding, pupil, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert!(
            !store
                .account(pupil)
                .await
                .unwrap()
                .unwrap()
                .must_change_password()
        );

        // Their own: every session and the half-way sign-in end, but for the fresh one kept.
        let fresh = store::compromised::FreshSession {
            token_hash: "fresh",
            csrf_token: "fresh-csrf",
            lifetime: hours,
        };
        store
            .report_password_known(&own, safeguarding, teacher, Some(fresh))
            .await
            .unwrap();
        assert!(store.session("laptop").await.unwrap().is_none());
        assert!(store.session("phone").await.unwrap().is_none());
        assert!(store.challenge("half-way").await.unwrap().is_none());
        assert!(store.session("fresh").await.unwrap().is_some());
        assert!(
            store
                .account(teacher)
                .await
                .unwrap()
                .unwrap()
                .must_change_password()
        );
        assert!(store::passwords::accounts_generation() > generation);
        // The network manager is told; the DSL is not, for a teacher.
        assert_eq!(
            mailed(&store, "password_known").await,
            ["netman@school.example"]
        );
        let rows = store
            .audit_of("person", &teacher.to_string())
            .await
            .unwrap();
        let row = rows
            .iter()
            .find(|r| r.action == "account.compromised")
            .unwrap();
        assert_eq!(row.actor_id, Some(teacher));
        assert!(row.details.contains("holder"), "{}", row.details);
        assert!(!row.details.contains("password\""), "{}", row.details);

        // A new password clears the mark.
        let hash = store::passwords::hash("another long password").unwrap();
        let keep = policy::permit(
            &actor(teacher, Role::Teacher),
            Action::ManageOwnAccount,
            Object::Person(teacher),
        )
        .unwrap();
        store.set_password(&keep, teacher, &hash).await.unwrap();
        assert!(
            !store
                .account(teacher)
                .await
                .unwrap()
                .unwrap()
                .must_change_password()
        );

        // The Headteacher marks a pupil's: the DSL is told too, and the row names the head.
        let forced = policy::permit(
            &actor(head, Role::Headteacher),
            Action::ForcePasswordChange,
            Object::Person(pupil),
        )
        .unwrap();
        store
            .start_session(pupil, "pupil-tab", "csrf", hours)
            .await
            .unwrap();
        store
            .report_password_known(&forced, safeguarding, pupil, None)
            .await
            .unwrap();
        assert!(store.session("pupil-tab").await.unwrap().is_none());
        assert!(
            store
                .account(pupil)
                .await
                .unwrap()
                .unwrap()
                .must_change_password()
        );
        let rows = store.audit_of("person", &pupil.to_string()).await.unwrap();
        let row = rows
            .iter()
            .find(|r| r.action == "account.compromised")
            .unwrap();
        assert_eq!(row.actor_id, Some(head));
        assert!(row.details.contains("other"), "{}", row.details);
        let to = mailed(&store, "password_known").await;
        assert_eq!(
            to.iter().filter(|t| *t == "dsl@school.example").count(),
            1,
            "{to:?}"
        );
        assert_eq!(
            to.iter().filter(|t| *t == "netman@school.example").count(),
            2,
            "{to:?}"
        );
        // And a holder of a role that reads concerns (the head, by the network manager) too.
        let by_netman = policy::permit(
            &actor(netman, Role::NetworkManager),
            Action::ForcePasswordChange,
            Object::Person(head),
        )
        .unwrap();
        store
            .report_password_known(&by_netman, safeguarding, head, None)
            .await
            .unwrap();
        let to = mailed(&store, "password_known").await;
        assert_eq!(to.iter().filter(|t| *t == "dsl@school.example").count(), 2);
        // A person without an account: not found, nothing written.
        let nobody = person(&store, "governor1", PersonKind::Governor, Role::Governor).await;
        let op = operator_for(Action::ForcePasswordChange);
        assert!(matches!(
            store
                .report_password_known(&op, safeguarding, nobody, None)
                .await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    totp_is_enrolled_with_a_code_and_no_code_works_twice,
    |_store, db| {
        let clock = store::Clock::manual(store::testing::school_day());
        let store = db.store_on(clock.clone()).await;
        let dsl = account_holder(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let own = policy::permit(
            &actor(dsl, Role::Dsl),
            Action::ManageOwnAccount,
            Object::Person(dsl),
        )
        .unwrap();
        assert!(
            store
                .totp_setup(dsl, "Palisade Holt", "dsl")
                .await
                .unwrap()
                .is_none()
        );
        store.begin_totp(&own, dsl).await.unwrap();
        let setup = store
            .totp_setup(dsl, "Palisade Holt", "dsl")
            .await
            .unwrap()
            .unwrap();
        assert!(setup.url.starts_with("otpauth://totp/"), "{}", setup.url);
        assert!(setup.url.contains(&format!("secret={}", setup.secret)));
        assert!(setup.qr_png_base64.starts_with("iVBORw0KGgo"), "a PNG");
        let secret = setup.secret;
        // Nothing is on until a code confirms it.
        assert!(!store.account(dsl).await.unwrap().unwrap().has_totp());
        assert_eq!(
            store.confirm_totp(&own, dsl, "000000x").await.unwrap(),
            Err(CodeRefused::Wrong)
        );
        let codes = store
            .confirm_totp(&own, dsl, &app_code(&secret, clock.now()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(codes.len(), 10);
        assert!(store.account(dsl).await.unwrap().unwrap().has_totp());
        assert_eq!(store.recovery_codes_left(dsl).await.unwrap(), 10);
        // Only hashes are kept.
        let kept = store.audit_of("person", &dsl.to_string()).await.unwrap();
        assert!(kept.iter().any(|r| r.action == "account.totp_enrolled"));
        assert!(kept.iter().all(|r| !r.details.contains(&secret)));
        assert!(kept.iter().all(|r| !r.details.contains(&codes[0])));

        let check = |input: String| {
            let store = store.clone();
            async move { store.check_second_factor(dsl, &input, 5, 15).await.unwrap() }
        };
        let failed =
            |store: Store| async move { store.account(dsl).await.unwrap().unwrap().failed_logins };
        // The code that confirmed it is used: the same step again is a replay, and counted.
        assert_eq!(
            check(app_code(&secret, clock.now())).await,
            SecondFactor::Refused {
                why: CodeRefused::Replayed,
                locked: false
            }
        );
        assert_eq!(failed(store.clone()).await, 1);
        // The next step's code works once; then it, and the step before it, are replays.
        clock.advance(chrono::Duration::seconds(30));
        let now_code = app_code(&secret, clock.now());
        assert_eq!(check(now_code.clone()).await, SecondFactor::Code);
        assert_eq!(
            check(now_code).await,
            SecondFactor::Refused {
                why: CodeRefused::Replayed,
                locked: false
            }
        );
        let earlier = app_code(&secret, clock.now() - chrono::Duration::seconds(30));
        assert!(matches!(
            check(earlier).await,
            SecondFactor::Refused {
                why: CodeRefused::Replayed,
                ..
            }
        ));
        // A phone a step ahead is still accepted (one step of skew), two steps is not.
        let ahead = app_code(&secret, clock.now() + chrono::Duration::seconds(30));
        assert_eq!(check(ahead).await, SecondFactor::Code);
        clock.advance(chrono::Duration::seconds(120));
        let far = app_code(&secret, clock.now() + chrono::Duration::seconds(60));
        assert!(matches!(
            check(far).await,
            SecondFactor::Refused {
                why: CodeRefused::Wrong,
                ..
            }
        ));

        // Recovery codes work once each, whatever their case and dashes, and are counted.
        let typed = codes[3].to_uppercase().replace('-', " ");
        assert_eq!(
            check(typed.clone()).await,
            SecondFactor::RecoveryCode { left: 9 }
        );
        assert!(matches!(
            check(typed).await,
            SecondFactor::Refused {
                why: CodeRefused::Wrong,
                ..
            }
        ));
        assert_eq!(store.recovery_codes_left(dsl).await.unwrap(), 9);
        let rows = store.audit_of("person", &dsl.to_string()).await.unwrap();
        assert_eq!(
            rows.iter()
                .filter(|r| r.action == "account.recovery_code_used")
                .count(),
            1
        );

        // Five refusals so far, none cleared by a finished sign-in: the last one locked.
        assert_eq!(
            check(app_code(&secret, clock.now())).await,
            SecondFactor::Locked
        );
        // A sign-in that finishes clears the count, as after a password.
        clock.advance(chrono::Duration::minutes(16));
        store
            .start_session(dsl, "tab", "csrf", chrono::Duration::hours(8))
            .await
            .unwrap();
        assert_eq!(failed(store.clone()).await, 0);
        // Wrong codes lock the account like wrong passwords; then nothing is checked.
        let mut locked = false;
        for _ in 0..5 {
            if let SecondFactor::Refused { locked: l, .. } = check("123456".into()).await {
                locked = l;
            }
            if locked {
                break;
            }
        }
        assert!(locked, "wrong codes lock the account");
        let code = app_code(&secret, clock.now());
        assert_eq!(check(code).await, SecondFactor::Locked);
        assert_eq!(check(codes[4].clone()).await, SecondFactor::Locked);

        // Turned off with a current code (not a used or wrong one), its recovery codes go too.
        clock.advance(chrono::Duration::minutes(16));
        assert_eq!(
            store.remove_totp(&own, dsl, "000000").await.unwrap(),
            Err(CodeRefused::Wrong)
        );
        store
            .remove_totp(&own, dsl, &app_code(&secret, clock.now()))
            .await
            .unwrap()
            .unwrap();
        assert!(!store.account(dsl).await.unwrap().unwrap().has_totp());
        assert_eq!(store.recovery_codes_left(dsl).await.unwrap(), 0);
        let rows = store.audit_of("person", &dsl.to_string()).await.unwrap();
        assert!(rows.iter().any(|r| r.action == "account.totp_removed"));
        // Someone else's permit does nothing here.
        let other = policy::permit(
            &actor(dsl + 1, Role::Teacher),
            Action::ManageOwnAccount,
            Object::Person(dsl + 1),
        )
        .unwrap();
        assert!(matches!(
            store.begin_totp(&other, dsl).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            store::AuditVerdict::Intact { .. }
        ));
    }
);

both_backends!(
    the_half_way_sign_in_lasts_minutes_and_one_at_a_time,
    |_store, db| {
        let clock = store::Clock::manual(store::testing::school_day());
        let store = db.store_on(clock.clone()).await;
        let dsl = account_holder(&store, "dsl", PersonKind::Staff, Role::Dsl).await;
        let five = chrono::Duration::minutes(5);
        store.start_challenge(dsl, "first", five).await.unwrap();
        assert_eq!(store.challenge("first").await.unwrap(), Some(dsl));
        // It is no session: nothing signed in knows it.
        assert!(store.session("first").await.unwrap().is_none());
        // A new password step replaces it.
        store.start_challenge(dsl, "second", five).await.unwrap();
        assert_eq!(store.challenge("first").await.unwrap(), None);
        assert_eq!(store.challenge("second").await.unwrap(), Some(dsl));
        clock.advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
        assert_eq!(store.challenge("second").await.unwrap(), None);
        store.start_challenge(dsl, "third", five).await.unwrap();
        store.end_challenge("third").await.unwrap();
        assert_eq!(store.challenge("third").await.unwrap(), None);
    }
);

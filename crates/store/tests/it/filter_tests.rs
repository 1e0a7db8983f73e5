//! The filtering self-test's record: runs and results stored on both backends, the latest run
//! per group, and a high system alert for each failed check.

use policy::Action;
use store::filter_tests::SELF_TEST_RULE;
use store::{NewFilterTestResult, NewFilterTestRun, both_backends};

fn result(group: &str, check: &str, pass: bool) -> NewFilterTestResult {
    NewFilterTestResult {
        group: group.into(),
        client_ip: "127.0.0.12".into(),
        check: check.into(),
        sent: format!("A {check}.test.palisade.invalid"),
        expected: "blocked".into(),
        got: if pass {
            "NXDOMAIN".into()
        } else {
            "NOERROR 192.0.2.1".into()
        },
        pass,
    }
}

both_backends!(
    a_self_test_run_is_stored_with_each_result_and_a_failure_raises_a_high_system_alert,
    |store, _db| {
        let permit = testkit::cast::operator_for(Action::RunFilterTest);
        let passing = NewFilterTestRun {
            site: "Holt Primary".into(),
            cause: "command line".into(),
            results: vec![result("ks2", "adult", true), result("staff", "adult", true)],
        };
        let (first, none) = store.record_filter_test(&permit, &passing).await.unwrap();
        assert!(none.is_empty());
        assert!(
            store
                .alerts(&Default::default(), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let failing = NewFilterTestRun {
            site: "Holt Primary".into(),
            cause: "reload".into(),
            results: vec![result("ks2", "adult", false), result("ks2", "gaming", true)],
        };
        let (second, new_alerts) = store.record_filter_test(&permit, &failing).await.unwrap();
        assert_eq!(new_alerts.len(), 1);
        assert!(second > first);
        let runs = store.filter_test_runs(10).await.unwrap();
        assert_eq!(
            runs.iter()
                .map(|r| (r.id, r.checks, r.failed, r.cause.as_str()))
                .collect::<Vec<_>>(),
            [(second, 2, 1, "reload"), (first, 2, 0, "command line")]
        );
        assert_eq!(
            runs[0].run_by, None,
            "the operator's run has nobody behind it"
        );
        let results = store.filter_test_results(second).await.unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(
            (
                results[0].check.as_str(),
                results[0].pass,
                results[0].got.as_str()
            ),
            ("adult", false, "NOERROR 192.0.2.1")
        );
        assert_eq!(results[0].run_at, runs[0].run_at);
        // The latest run per group: ks2's from the second run, staff's still from the first.
        let latest = store.latest_filter_tests().await.unwrap();
        let of = |g: &str| {
            latest
                .iter()
                .filter(|r| r.group == g)
                .map(|r| r.run_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(of("ks2"), [second, second]);
        assert_eq!(of("staff"), [first]);
        let alerts = store.alerts(&Default::default(), 10).await.unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].severity.as_str(), "high");
        assert_eq!(alerts[0].rule, format!("{SELF_TEST_RULE}: ks2 adult"));
        assert_eq!(alerts[0].subject, store::gaps::SYSTEM_SUBJECT);
        assert_eq!(alerts[0].audience, policy::alerts::AlertAudience::System);
        // A permit for another action is refused and stores nothing.
        let wrong = testkit::cast::operator_for(Action::ManageDevices);
        assert!(store.record_filter_test(&wrong, &failing).await.is_err());
        assert_eq!(store.filter_test_runs(10).await.unwrap().len(), 2);
    }
);

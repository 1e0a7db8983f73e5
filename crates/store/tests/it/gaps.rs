use std::sync::atomic::Ordering;
use store::gaps::{GAP_RULE, SYSTEM_SUBJECT};
use store::{AccessEvent, AccessLogger, Dropped, GapWatch, both_backends};

fn event(i: usize) -> AccessEvent {
    let (at, client) = ("2026-11-24T09:00:00.000Z", format!("10.0.0.{}", i % 250));
    AccessEvent {
        qtype: Some("A".into()),
        ..AccessEvent::new(
            at.into(),
            "dns",
            client,
            "ks2".into(),
            format!("host{i}.example"),
            events::LogVerdict::Allow,
        )
    }
}

/// Feeds `n` events at once to a logger whose queue holds 10: most are dropped.
fn flood(logger: &AccessLogger, n: usize) -> u64 {
    for i in 0..n {
        logger.log(event(i));
    }
    logger.stats().dropped.load(Ordering::Relaxed)
}

both_backends!(
    dropped_access_log_events_raise_one_alert_that_grows,
    |store, _db| {
        let (logger, writer) = crate::small_logger(&store);
        let mut watch = GapWatch::new();
        assert_eq!(
            watch.check(&store, Dropped::default(), 60).await.unwrap(),
            None,
            "nothing dropped: no alert"
        );
        let first = flood(&logger, 5000);
        assert!(first > 0);
        let dropped = Dropped {
            access_events: first,
            alert_hits: 2,
        };
        let (id, new) = watch.check(&store, dropped, 60).await.unwrap().unwrap();
        assert!(new);
        let alert = store.alert(id).await.unwrap();
        assert_eq!(
            (
                alert.severity.as_str(),
                alert.rule.as_str(),
                alert.subject.as_str(),
                alert.count
            ),
            ("high", GAP_RULE, SYSTEM_SUBJECT, first as i64 + 2)
        );
        assert_eq!(alert.person_id, None);
        let evidence = alert.events();
        assert!(
            evidence[0]
                .name
                .starts_with(&format!("{first} access-log event(s) and 2 alert hit(s)")),
            "{evidence:?}"
        );
        // Nothing more dropped: nothing more recorded.
        assert_eq!(watch.check(&store, dropped, 60).await.unwrap(), None);
        // More dropped within the window: the same alert counts them.
        let second = flood(&logger, 5000);
        assert!(second > first);
        let dropped = Dropped {
            access_events: second,
            alert_hits: 2,
        };
        assert_eq!(
            watch.check(&store, dropped, 60).await.unwrap(),
            Some((id, false))
        );
        let alert = store.alert(id).await.unwrap();
        assert_eq!(alert.count, second as i64 + 2);
        assert_eq!(alert.events().len(), 2, "one evidence entry per window");
        drop(logger);
        writer.await.unwrap();
    }
);

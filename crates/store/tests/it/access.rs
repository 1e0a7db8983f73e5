use store::{AccessEvent, AccessFilter, both_backends};

fn event(i: usize, at: &str) -> AccessEvent {
    let group = if i.is_multiple_of(3) { "ks1" } else { "staff" };
    let blocked = i.is_multiple_of(5);
    let verdict = if blocked {
        events::LogVerdict::Block
    } else {
        events::LogVerdict::Allow
    };
    let client = format!("10.0.{}.{}", i / 250, i % 250);
    let name = format!("host{i}.example");
    AccessEvent {
        device: Some(format!("ipad-{}", i % 7)),
        username: i.is_multiple_of(2).then(|| "pupil1".to_string()),
        qtype: Some("A".into()),
        category: blocked.then(|| "adult".to_string()),
        rule: blocked.then(|| "example".to_string()),
        upstream_ms: Some(3),
        ..AccessEvent::new(at.to_string(), "dns", client, group.into(), name, verdict)
    }
}

both_backends!(events_are_written_in_batches_and_filtered, |store, _db| {
    let events: Vec<_> = (0..1000)
        .map(|i| event(i, "2026-11-24T09:00:00.000Z"))
        .collect();
    store.access_writer().write(&events).await.unwrap();
    assert_eq!(store.access_count().await.unwrap(), 1000);
    let blocked = store
        .access_log(
            &AccessFilter {
                verdict: Some(events::LogVerdict::Block),
                ..AccessFilter::default()
            },
            10_000,
        )
        .await
        .unwrap();
    assert_eq!(blocked.len(), 200);
    assert!(
        blocked
            .iter()
            .all(|r| r.event.category.as_deref() == Some("adult"))
    );
    let page = store
        .access_log(&AccessFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].event, events[999]);
    let older = store
        .access_log(
            &AccessFilter {
                before_id: Some(page[9].id),
                ..AccessFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(older[0].event, events[989]);
});

both_backends!(old_rows_roll_up_into_daily_counts, |store, _db| {
    let mut events: Vec<_> = (0..30)
        .map(|i| event(i, "2026-11-01T10:00:00.000Z"))
        .collect();
    events.extend((0..5).map(|i| event(i, "2026-11-24T10:00:00.000Z")));
    store.access_writer().write(&events).await.unwrap();
    assert_eq!(
        store
            .roll_up_access_log("2026-11-20T00:00:00.000Z", 10_000)
            .await
            .unwrap(),
        30
    );
    assert_eq!(store.access_count().await.unwrap(), 5);
    let daily = store.access_daily("2026-11-01").await.unwrap();
    assert_eq!(daily.iter().map(|d| d.4).sum::<i64>(), 30);
    // Rolling up the same day again adds to it rather than failing.
    store
        .access_writer()
        .write(&[event(1, "2026-11-01T11:00:00.000Z")])
        .await
        .unwrap();
    store
        .roll_up_access_log("2026-11-20T00:00:00.000Z", 10_000)
        .await
        .unwrap();
    let daily = store.access_daily("2026-11-01").await.unwrap();
    assert_eq!(daily.iter().map(|d| d.4).sum::<i64>(), 31);
});

/// (day, source, group, verdict, category) -> requests, of the days given.
async fn daily(
    store: &store::Store,
    days: &[&str],
) -> std::collections::BTreeMap<(String, String, String, String, String), i64> {
    let mut all = std::collections::BTreeMap::new();
    for day in days {
        for (source, group, verdict, category, n) in store.access_daily(day).await.unwrap() {
            all.insert((day.to_string(), source, group, verdict, category), n);
        }
    }
    all
}

both_backends!(
    a_backlog_rolls_up_in_small_chunks_into_the_same_daily_counts,
    |store, _db| {
        // Three old days (one of them with 40 rows in one millisecond, more than a chunk) and
        // rows after the cutoff, part of them on the cutoff's own day.
        let mut events = Vec::new();
        for (day, n) in [("2026-10-30", 23), ("2026-10-31", 40), ("2026-11-02", 17)] {
            for i in 0..n {
                let at = if day == "2026-10-31" {
                    format!("{day}T08:00:00.000Z")
                } else {
                    format!("{day}T{:02}:{:02}:00.000Z", i % 24, i % 60)
                };
                events.push(event(i, &at));
            }
        }
        for i in 0..9 {
            events.push(event(i, "2026-11-02T23:30:00.000Z"));
        }
        store.access_writer().write(&events).await.unwrap();
        let cutoff = "2026-11-02T20:00:00.000Z";
        let expected = {
            let mut counts = std::collections::BTreeMap::new();
            for e in events.iter().filter(|e| e.at.as_str() < cutoff) {
                *counts
                    .entry((
                        e.at[..10].to_string(),
                        e.source.clone(),
                        e.group_name.clone(),
                        e.verdict.to_string(),
                        e.category.clone().unwrap_or_default(),
                    ))
                    .or_insert(0) += 1;
            }
            counts
        };
        let days = ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"];
        assert_eq!(store.roll_up_access_log(cutoff, 5).await.unwrap(), 80);
        assert_eq!(daily(&store, &days).await, expected);
        // The rows after the cutoff are untouched, and the newest days read whole: rolled-up
        // counts plus detailed rows, each once.
        let left = store
            .access_log(&AccessFilter::default(), 100)
            .await
            .unwrap();
        assert_eq!(left.len(), 9);
        assert!(left.iter().all(|r| r.event.at.as_str() >= cutoff));
        let by_day = store.daily_requests_by_group("2026-10-31").await.unwrap();
        let total = |day: &str| {
            by_day
                .iter()
                .filter(|r| r.0 == day)
                .map(|r| r.3)
                .sum::<i64>()
        };
        assert_eq!((total("2026-11-02"), total("2026-10-31")), (26, 40));
        assert_eq!(total("2026-10-30"), 0, "before the day asked for");
        assert_eq!(by_day[0].0, "2026-11-02", "newest day first");
        // A second run finds nothing more to do and changes nothing.
        assert_eq!(store.roll_up_access_log(cutoff, 5).await.unwrap(), 0);
        assert_eq!(daily(&store, &days).await, expected);
        assert_eq!(store.access_count().await.unwrap(), 9);
    }
);

both_backends!(
    daily_requests_by_group_add_the_roll_up_to_the_detailed_rows,
    |store, _db| {
        let mut events: Vec<_> = (0..10)
            .map(|i| event(i, "2026-11-20T09:00:00.000Z"))
            .collect();
        events.extend((0..6).map(|i| event(i, "2026-11-20T15:00:00.000Z")));
        events.extend((0..4).map(|i| event(i, "2026-11-21T09:00:00.000Z")));
        store.access_writer().write(&events).await.unwrap();
        let before = store.daily_requests_by_group("2026-11-01").await.unwrap();
        // Half of the 20th rolled up: the day's counts are what they were.
        store
            .roll_up_access_log("2026-11-20T12:00:00.000Z", 3)
            .await
            .unwrap();
        assert_eq!(store.access_count().await.unwrap(), 10);
        let after = store.daily_requests_by_group("2026-11-01").await.unwrap();
        assert_eq!(after, before);
        let ks1_allowed_20th = events
            .iter()
            .filter(|e| {
                e.at.starts_with("2026-11-20") && e.group_name == "ks1" && e.verdict == "allow"
            })
            .count() as i64;
        assert!(after.contains(&(
            "2026-11-20".to_string(),
            "ks1".to_string(),
            "allow".to_string(),
            ks1_allowed_20th
        )));
        assert_eq!(after.iter().map(|r| r.3).sum::<i64>(), 20);
        assert_eq!(
            after
                .iter()
                .filter(|r| r.0 == "2026-11-21")
                .map(|r| r.3)
                .sum::<i64>(),
            4
        );
    }
);

both_backends!(
    the_logger_writes_everything_it_accepts_and_counts_what_it_drops,
    |store, _db| {
        // A queue of 10 fed 5,000 events at once: it must never block, and every event is either
        // written or counted as dropped.
        let (logger, writer) = crate::small_logger(&store);
        for i in 0..5000 {
            logger.log(event(i, "2026-11-24T09:00:00.000Z"));
        }
        let dropped = logger
            .stats()
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed);
        drop(logger);
        writer.await.unwrap();
        let written = store.access_count().await.unwrap() as u64;
        assert!(dropped > 0);
        assert_eq!(written + dropped, 5000);
    }
);

both_backends!(
    statistics_count_per_group_and_the_most_blocked_names,
    |store, _db| {
        let events: Vec<_> = (0..100)
            .map(|i| event(i, "2026-11-24T09:00:00.000Z"))
            .collect();
        store.access_writer().write(&events).await.unwrap();
        let by_group = store
            .access_by_group("2026-11-24T00:00:00.000Z")
            .await
            .unwrap();
        assert_eq!(by_group.iter().map(|r| r.2).sum::<i64>(), 100);
        assert!(
            by_group.contains(&("ks1".to_string(), "block".to_string(), 7)),
            "{by_group:?}"
        );
        let top = store
            .top_blocked("2026-11-24T00:00:00.000Z", 5)
            .await
            .unwrap();
        assert_eq!(top.len(), 5);
        assert!(top.iter().all(|t| t.1 == "adult" && t.2 == 1));
        assert!(
            store
                .access_by_group("2026-11-25T00:00:00.000Z")
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both_backends!(
    days_that_are_over_are_counted_once_and_read_from_their_counts,
    |store, _db| {
        let mut events: Vec<_> = (0..12)
            .map(|i| event(i, "2026-11-18T09:00:00.000Z"))
            .collect();
        events.extend((0..7).map(|i| event(i, "2026-11-19T23:59:59.999Z")));
        events.extend((0..5).map(|i| event(i, "2026-11-20T08:00:00.000Z")));
        store.access_writer().write(&events).await.unwrap();
        let before = store.daily_requests_by_group("2026-11-01").await.unwrap();
        // The 18th and 19th are over; the 20th is today and stays rows only.
        assert_eq!(store.count_access_days("2026-11-20").await.unwrap(), 2);
        assert_eq!(store.count_access_days("2026-11-20").await.unwrap(), 0);
        let total = |rows: &[(String, String, String, String, i64)]| -> i64 {
            rows.iter().map(|r| r.4).sum()
        };
        assert_eq!(total(&store.access_daily("2026-11-18").await.unwrap()), 12);
        assert_eq!(total(&store.access_daily("2026-11-19").await.unwrap()), 7);
        assert!(store.access_daily("2026-11-20").await.unwrap().is_empty());
        // The rows are still there, but each is counted once in the statistics.
        assert_eq!(store.access_count().await.unwrap(), 24);
        assert_eq!(
            store.daily_requests_by_group("2026-11-01").await.unwrap(),
            before
        );
        // Retention then deletes a counted day's rows without counting them again.
        store
            .roll_up_access_log("2026-11-20T00:00:00.000Z", 5)
            .await
            .unwrap();
        assert_eq!(store.access_count().await.unwrap(), 5);
        assert_eq!(total(&store.access_daily("2026-11-18").await.unwrap()), 12);
        assert_eq!(total(&store.access_daily("2026-11-19").await.unwrap()), 7);
        assert_eq!(
            store.daily_requests_by_group("2026-11-01").await.unwrap(),
            before
        );
        // A counted day is read from its counts, not its rows: a row written for it afterwards
        // (which retention must not see, hence counting only days that are over) is not in them.
        store
            .access_writer()
            .write(&[event(1, "2026-11-19T12:00:00.000Z")])
            .await
            .unwrap();
        assert_eq!(
            store.daily_requests_by_group("2026-11-01").await.unwrap(),
            before
        );
    }
);

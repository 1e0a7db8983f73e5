//! Access-log retention in the running server: rows older than the profile's `retention_days`
//! become daily counts shortly after start, and the statistics page shows the days kept, on
//! SQLite and on PostgreSQL.

use crate::BIN;
use std::time::{Duration, Instant};
use testkit::{Backend, Server, TestDb};

fn event(at: &str, group: &str, verdict: &str) -> store::AccessEvent {
    let parsed = events::LogVerdict::parse(verdict).expect("a verdict");
    let (client, name) = ("127.0.0.12".to_string(), "www.example.org".to_string());
    store::AccessEvent {
        qtype: Some("A".into()),
        category: (verdict == "block").then(|| "gaming".to_string()),
        ..store::AccessEvent::new(at.to_string(), "dns", client, group.into(), name, parsed)
    }
}

/// Retention at each instant the time-sensitive tests run at (around midnight UTC too, when
/// the day that just ended is not counted yet).
async fn old_rows_are_rolled_up_after_start(backend: Backend) {
    for (when, now) in testkit::time_sensitive_instants() {
        eprintln!("retention with the clock at {when}");
        old_rows_are_rolled_up_at(backend, now).await;
    }
}

async fn old_rows_are_rolled_up_at(backend: Backend, now: chrono::DateTime<chrono::Utc>) {
    // Holt keeps detailed rows for 365 days: rows of 400 and 401 days ago are past it, rows of
    // two days ago are not.
    let at = |days: i64| store::timestamp(now - chrono::Duration::days(days));
    let day = |days: i64| at(days)[..10].to_string();
    let mut events = Vec::new();
    events.extend((0..30).map(|_| event(&at(401), "ks2", "block")));
    events.extend((0..20).map(|_| event(&at(400), "ks1", "allow")));
    events.extend((0..7).map(|_| event(&at(2), "ks2", "block")));
    let db = TestDb::new(backend).await;
    let seeded = db.store().await;
    seeded.access_writer().write(&events).await.unwrap();
    seeded.close().await;

    let server = Server::start_at(BIN, db, "holt", &["--no-dns", "--no-proxy"], now);
    let store = server.store().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.access_count().await.unwrap() > 7 {
        assert!(
            Instant::now() < deadline,
            "the old rows are still in the access log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counts = |rows: Vec<(String, String, String, String, i64)>| {
        rows.into_iter()
            .map(|(_, group, verdict, _, n)| (group, verdict, n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(store.access_daily(&day(401)).await.unwrap()),
        [("ks2".to_string(), "block".to_string(), 30)]
    );
    assert_eq!(
        counts(store.access_daily(&day(400)).await.unwrap()),
        [("ks1".to_string(), "allow".to_string(), 20)]
    );
    // The day two days ago is over: it is counted once (the page reads it from its counts)
    // and its rows are kept, within retention.
    assert_eq!(
        counts(store.access_daily(&day(2)).await.unwrap()),
        [("ks2".to_string(), "block".to_string(), 7)]
    );
    let kept = store
        .access_log(&store::AccessFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(kept.len(), 7);
    store.close().await;

    // The statistics page (`/network`) shows that day once, not its counts and its rows.
    let page = server.login("netman").await.get_text("/network").await;
    let by_day = page
        .split("id=\"by-day\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_default();
    assert!(
        by_day.contains(&format!(
            "<tr><td>{}</td><td>ks2</td><td>0</td><td>7</td>",
            day(2)
        )),
        "{page}"
    );
}

both_backends!(
    access_log_rows_past_retention_become_daily_counts,
    old_rows_are_rolled_up_after_start
);

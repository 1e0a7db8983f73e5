//! Upkeep tasks of a running server that answer no request: the access log's retention.

use std::time::Duration;
use store::Store;

/// How long after start the first retention run waits (start-up loads the filter first).
const RETENTION_FIRST_RUN: Duration = Duration::from_secs(1);

/// How often retention runs after that.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Rows rolled up per transaction: on SQLite a chunk holds the write lock for tens of
/// milliseconds, well within what the access-log writer's queue absorbs.
const ROLL_UP_ROWS: i64 = 20_000;

/// Rolls up access-log rows older than the profile's `retention_days` into daily counts, shortly
/// after start and then every hour. A failure is logged and the next run tries again.
pub fn spawn_retention(store: &Store, retention_days: u32) {
    let store = store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RETENTION_FIRST_RUN).await;
        loop {
            apply_retention(&store, retention_days).await;
            tokio::time::sleep(RETENTION_EVERY).await;
        }
    });
}

async fn apply_retention(store: &Store, retention_days: u32) {
    let cutoff =
        store::timestamp(chrono::Utc::now() - chrono::Duration::days(i64::from(retention_days)));
    let started = std::time::Instant::now();
    match store.roll_up_access_log(&cutoff, ROLL_UP_ROWS).await {
        Ok(0) => tracing::debug!(%cutoff, "access log retention: nothing to roll up"),
        Ok(rows) => tracing::info!(
            rows,
            %cutoff,
            ms = started.elapsed().as_millis() as u64,
            "access log retention: rows rolled up into daily counts"
        ),
        Err(e) => tracing::error!(
            error = %e,
            %cutoff,
            "access log retention failed; it is tried again in an hour"
        ),
    }
}

//! Upkeep tasks of a running server that answer no request: the access log's retention, and the
//! watch that turns dropped events into an alert.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use store::Store;

/// How long after start the first retention run waits (start-up loads the filter first).
const RETENTION_FIRST_RUN: Duration = Duration::from_secs(1);

/// How often retention runs after that.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Rows rolled up per transaction: on SQLite a chunk holds the write lock for tens of
/// milliseconds, well within what the access-log writer's queue absorbs.
const ROLL_UP_ROWS: i64 = 20_000;

/// The profile's `retention_days` in force (it may change with a reload).
pub type RetentionDays = Arc<dyn Fn() -> u32 + Send + Sync>;

/// Counts the days that are over into daily counts, and rolls up access-log rows older than the
/// profile's `retention_days`, shortly after start and then every hour. A failure is logged and the next run tries again.
pub fn spawn_retention(store: &Store, retention_days: RetentionDays) {
    let store = store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RETENTION_FIRST_RUN).await;
        loop {
            apply_retention(&store, retention_days()).await;
            tokio::time::sleep(RETENTION_EVERY).await;
        }
    });
}

/// How long after midnight (UTC) a day is counted: the writer's queue has long been written.
const DAY_OVER_AFTER: chrono::Duration = chrono::Duration::hours(1);

async fn apply_retention(store: &Store, retention_days: u32) {
    // Days that are over are counted once, so the statistics read them from their counts.
    let before_day = (store.now_utc() - DAY_OVER_AFTER)
        .format("%Y-%m-%d")
        .to_string();
    match store.count_access_days(&before_day).await {
        Ok(0) => {}
        Ok(days) => tracing::info!(days, "access log: past days counted"),
        Err(e) => tracing::error!(error = %e, "access log: past days could not be counted"),
    }
    let cutoff =
        store::timestamp(store.now_utc() - chrono::Duration::days(i64::from(retention_days)));
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

/// How often the monitoring-gap watch looks at the dropped counters.
const GAP_WATCH_EVERY: Duration = Duration::from_secs(10);

/// Every [`GAP_WATCH_EVERY`], turns access-log events and alert hits dropped since the last look
/// into one high alert (see [`store::GapWatch`]), whose id goes to `new_alerts` (for its mail)
/// when it is new. It reads two atomics and nothing else unless something was dropped.
pub fn spawn_gap_watch(
    store: &Store,
    access_log: Arc<store::access::AccessLogStats>,
    hits_dropped: Arc<AtomicU64>,
    window_minutes: u32,
    new_alerts: tokio::sync::mpsc::Sender<i64>,
) {
    let store = store.clone();
    tokio::spawn(async move {
        let mut watch = store::GapWatch::new();
        let mut every = tokio::time::interval(GAP_WATCH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let dropped = store::Dropped {
                access_events: access_log.dropped.load(Ordering::Relaxed),
                alert_hits: hits_dropped.load(Ordering::Relaxed),
            };
            match watch.check(&store, dropped, window_minutes).await {
                Ok(Some((id, new))) => {
                    tracing::warn!(
                        alert = id,
                        access_events = dropped.access_events,
                        alert_hits = dropped.alert_hits,
                        "monitoring gap: dropped events recorded as an alert"
                    );
                    if new && new_alerts.send(id).await.is_err() {
                        tracing::error!(alert = id, "the monitoring-gap alert cannot be mailed");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(
                    error = %e,
                    "the monitoring-gap alert could not be stored; it is tried again"
                ),
            }
        }
    });
}

/// How often each school's untriaged concerns are looked at.
const TRIAGE_WATCH_EVERY: Duration = Duration::from_secs(10);

/// Every [`TRIAGE_WATCH_EVERY`], escalates the concerns left untriaged past the profile's
/// `triage_within_hours` (one high alert each, see [`Store::escalate_untriaged`]) and mails
/// each new alert to its readers: the profile's `escalate_to` and the safeguarding team.
pub fn spawn_triage_watch(
    store: &Store,
    profile: &policy::Profile,
    alerts: Arc<dyn monitor::pipeline::AlertStore>,
    wake: Arc<tokio::sync::Notify>,
    web_url: &str,
) {
    let store = store.clone();
    let hours = profile.concerns.triage_within_hours;
    let readers = profile.concerns.alert_readers();
    let web_url = web_url.to_string();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TRIAGE_WATCH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let new = match store.escalate_untriaged(hours).await {
                Ok(new) => new,
                Err(e) => {
                    tracing::error!(error = %e, "untriaged concerns could not be escalated; tried again");
                    continue;
                }
            };
            for id in new {
                tracing::warn!(
                    alert = id,
                    hours,
                    "a concern was escalated: untriaged past the profile's time"
                );
                let queued =
                    monitor::pipeline::queue_alert_mail(alerts.as_ref(), id, &readers, &web_url)
                        .await;
                if let Err(e) = queued {
                    tracing::error!(error = %e, alert = id, "the escalation's mail could not be queued");
                }
                wake.notify_one();
            }
        }
    });
}

/// How often the accounts that end by their date are looked for.
const ACCOUNT_CLOSING_EVERY: Duration = Duration::from_secs(30);

/// Every [`ACCOUNT_CLOSING_EVERY`] (the first run at start): closes the accounts of leavers
/// whose leaving date has come (by the school's date) and of guests whose time is over, ending
/// their sessions (see [`Store::close_due_accounts`]). Sign-in refuses them from the moment
/// their time is over; this run is what ends the sessions they already had.
pub fn spawn_account_closing(store: &Store) {
    let store = store.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(ACCOUNT_CLOSING_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let today = store.school_today();
            match store.close_due_accounts(&today).await {
                Ok(closed) if closed == store::Closed::default() => {}
                Ok(closed) => tracing::info!(
                    leavers = closed.leavers.len(),
                    guests = closed.guests.len(),
                    "accounts closed: leaving dates came, guest accounts ended"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "accounts due to close could not be closed; tried again")
                }
            }
        }
    });
}

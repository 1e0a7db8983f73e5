//! The gateways' access log: a queue that never makes a request wait, and the writer that
//! drains it in batches on a paced thread of its own, showing each batch to the monitoring
//! rules first.
//!
//! The bulk of the log is batched: a batch waits up to [`LINGER`] for company, and a crash
//! (SIGKILL, power) loses what is queued, at most that much and what the writer had not yet
//! committed. An event that will raise a safeguarding alert (see [`Urgency`]) does not wait:
//! the writer is raised and writes it, with whatever else is queued, at once, so that the
//! event's row and its alert are committed within milliseconds of the answer.

use super::{AccessEvent, AccessWriter};
use crate::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Counters the gateways export as metrics.
#[derive(Debug, Default)]
pub struct AccessLogStats {
    /// Events dropped because the queue was full or the store failed.
    pub dropped: AtomicU64,
    /// Events written.
    pub written: AtomicU64,
    /// Batches that failed to write (their events are counted in `dropped`).
    pub failed_batches: AtomicU64,
}

/// The gateways' handle: `log` never waits.
#[derive(Clone, Debug)]
pub struct AccessLogger {
    tx: mpsc::Sender<AccessEvent>,
    capacity: usize,
    stats: Arc<AccessLogStats>,
    pace: Arc<crate::background::Pace>,
    urgent: Option<UrgentLane>,
}

/// How urgent events reach the writer ahead of their batch's linger.
#[derive(Clone)]
struct UrgentLane {
    urgent: Urgency,
    /// Urgent events queued and not yet taken by the writer.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for UrgentLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrgentLane")
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

/// Sees every batch of events as it is written.
pub type BatchWatcher = Arc<dyn Fn(&[AccessEvent]) + Send + Sync>;

/// Whether an event will raise a safeguarding alert, asked on the answer path: it must be
/// cheap and must not wait (the monitoring's own rules answer it, see
/// `monitor::UrgentRules`).
pub type Urgency = Arc<dyn Fn(&AccessEvent) -> bool + Send + Sync>;

/// What watches the log: the monitoring rules' batch watcher and which events are urgent.
#[derive(Clone)]
pub struct Watch {
    pub watcher: BatchWatcher,
    pub urgent: Urgency,
}

/// Tuning for the writer.
#[derive(Debug, Clone, Copy)]
pub struct AccessLogConfig {
    /// Events that may wait in memory.
    pub capacity: usize,
    /// Most events per write.
    pub batch: usize,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        AccessLogConfig {
            capacity: 200_000,
            batch: 4_000,
        }
    }
}

impl AccessLogger {
    /// Starts the writer task on the current runtime; it ends when every logger is dropped,
    /// after writing what is queued.
    pub fn start(
        store: Store,
        config: AccessLogConfig,
    ) -> (AccessLogger, tokio::task::JoinHandle<()>) {
        AccessLogger::start_watched(store, config, None)
    }

    /// Like [`AccessLogger::start`], and every batch is also shown to the watch's `watcher`
    /// (the monitoring rules) before it is written; an event the watch calls urgent is
    /// written without lingering (see the module).
    ///
    /// The writer runs on a thread of its own at the lowest scheduling priority, paced by the
    /// queue (see [`crate::background`]): quiet while it keeps up, busy from a tenth of the queue
    /// waiting. If answering leaves it too little CPU even then, the queue fills and events
    /// are dropped and counted, as the module says.
    pub fn start_watched(
        store: Store,
        config: AccessLogConfig,
        watch: Option<Watch>,
    ) -> (AccessLogger, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let urgent = watch.as_ref().map(|w| UrgentLane {
            urgent: w.urgent.clone(),
            waiting: Arc::default(),
        });
        let writer_urgent = urgent.as_ref().map(|u| u.waiting.clone());
        let watcher = watch.map(|w| w.watcher);
        let stats = Arc::new(AccessLogStats::default());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let writer_stats = stats.clone();
        let batch = config.batch.max(1);
        // Busy from a tenth of the queue: after a burst the writer drains most of it quiet,
        // on CPU the answers leave free, instead of competing with them (at full rate the
        // backlog passes the mark within a fraction of a second, and it is raised).
        let pace = crate::background::Pace::new((config.capacity / 10).max(batch / 2));
        let spawned =
            crate::background::spawn_paced("access-log", pace.clone(), move |pacer| async move {
                let watch = Watching {
                    watcher,
                    urgent: writer_urgent,
                };
                write_batches(store, rx, batch, writer_stats, watch, pacer).await;
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            // The receiver is gone with the closure: every event will be counted as dropped.
            tracing::error!(error = %e, "cannot start the access log writer");
        }
        let handle = tokio::spawn(async move {
            let _ = done_rx.await;
        });
        (
            AccessLogger {
                tx,
                capacity: config.capacity.max(1),
                stats,
                pace,
                urgent,
            },
            handle,
        )
    }

    /// Queues an event; if the queue is full it is dropped and counted, never waited for.
    pub fn log(&self, event: AccessEvent) {
        let urgent = self.urgent.as_ref().filter(|u| (u.urgent)(&event));
        if let Some(u) = urgent {
            // Counted before it is queued, so that the writer, which takes the count when it
            // takes the event, never sees the event without it.
            u.waiting.fetch_add(1, Ordering::AcqRel);
        }
        if self.tx.try_send(event).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            if let Some(u) = urgent {
                u.waiting.fetch_sub(1, Ordering::AcqRel);
            }
        } else if urgent.is_some() {
            self.pace.urge();
        } else {
            self.pace.waiting(self.queue_depth());
        }
    }

    /// Events waiting to be written.
    pub fn queue_depth(&self) -> usize {
        self.capacity - self.tx.capacity()
    }

    /// The writer's counters.
    pub fn stats(&self) -> &AccessLogStats {
        &self.stats
    }

    /// The writer's counters, for a watcher that must not keep the writer running (as a
    /// logger would: the writer ends when every logger is dropped).
    pub fn shared_stats(&self) -> Arc<AccessLogStats> {
        self.stats.clone()
    }
}

impl events::AccessSink for AccessLogger {
    fn send(&self, event: AccessEvent) {
        self.log(event);
    }
}

/// One school's handle on a log several schools share (a trust's gateways): every event it
/// takes is marked as that school's, and written there. The logger's store must act across
/// those schools (see [`crate::Scope::across`]).
#[derive(Clone, Debug)]
pub struct SchoolLog {
    school: i64,
    logger: AccessLogger,
}

impl AccessLogger {
    /// This log as school `school`'s (see [`SchoolLog`]).
    pub fn for_school(&self, school: i64) -> SchoolLog {
        SchoolLog {
            school,
            logger: self.clone(),
        }
    }
}

impl events::AccessSink for SchoolLog {
    fn send(&self, mut event: AccessEvent) {
        event.school = Some(self.school);
        self.logger.log(event);
    }
}

/// How long the writer waits for more events after the first of a batch: it turns a trickle
/// into a few writes a second, and stays far below the monitoring rules' two seconds. It is
/// also the most a crash loses of the bulk of the log once the writer keeps up (an urgent
/// event is not kept waiting).
pub const LINGER: Duration = Duration::from_millis(50);

/// The writer's side of the watch.
struct Watching {
    watcher: Option<BatchWatcher>,
    /// Urgent events queued (see [`UrgentLane`]).
    urgent: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

impl Watching {
    /// Takes the count of urgent events queued: whether any is.
    fn take_urgent(&self) -> bool {
        self.urgent
            .as_ref()
            .is_some_and(|n| n.swap(0, Ordering::AcqRel) > 0)
    }
}

async fn write_batches(
    store: Store,
    mut rx: mpsc::Receiver<AccessEvent>,
    batch: usize,
    stats: Arc<AccessLogStats>,
    watch: Watching,
    mut pacer: crate::background::Pacer,
) {
    use crate::background::Effort;
    let mut writer = store.access_writer();
    let mut buf = Vec::with_capacity(batch);
    loop {
        // A quiet writer may be starved in the middle of a write when the CPUs fill up, so
        // its batches are small: the busy connection takes over after at most one of them.
        let limit = match pacer.settle(rx.len()) {
            Effort::Quiet => (batch / 4).max(1),
            Effort::Busy => batch,
        };
        if rx.recv_many(&mut buf, limit).await == 0 {
            break;
        }
        // An urgent event is queued (in this batch, or in the next when this one is full):
        // this batch does not wait for company.
        if buf.len() < limit && !watch.take_urgent() {
            tokio::time::sleep(LINGER).await;
            let more = rx.len().min(limit - buf.len());
            if more > 0 {
                rx.recv_many(&mut buf, more).await;
            }
        }
        if buf.iter().any(|e| e.school.is_some()) {
            // Each school's events together, in the order they came: the watcher hands each
            // school's run to that school's rules.
            buf.sort_by_key(|e| e.school);
        }
        if let Some(w) = &watch.watcher {
            w(&buf);
        }
        write_with_retries(&mut writer, &buf, &stats).await;
        buf.clear();
    }
}

/// Writes one batch, retrying a failed write three times before dropping (and counting) it.
async fn write_with_retries(
    writer: &mut AccessWriter,
    events: &[AccessEvent],
    stats: &AccessLogStats,
) {
    let mut attempt = 0;
    loop {
        match writer.write(events).await {
            Ok(()) => {
                stats
                    .written
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                return;
            }
            Err(e) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "access log batch failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, events = events.len(), "access log batch dropped");
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                stats
                    .dropped
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                return;
            }
        }
    }
}

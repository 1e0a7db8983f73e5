//! Work that must never delay an answer (writing the access log, storing alerts) runs on
//! threads of its own at the lowest scheduling priority, paced by how far behind it is:
//!
//! - **Quiet** (`SCHED_IDLE`) while it keeps up. The thread runs only on a CPU nothing else
//!   wants, and a gateway thread that wakes takes that CPU at once. At nice 19 under
//!   `SCHED_BATCH`, a waking gateway thread could wait for the writer's protected time slice
//!   to end, which put a steady trickle of slow answers into the DNS gateway's p99.
//! - **Busy** (`SCHED_BATCH`, nice 19) once work backs up: a small but sure share of a loaded
//!   CPU, so the work cannot be starved and nothing queued is dropped.
//!
//! A quiet thread may get no CPU for a long while when every CPU is loaded, so it cannot be
//! relied on to notice its own backlog: the producers do, and a small helper thread raises it.
//! A SQLite connection's thread inherits its scheduling policy from the thread that opens it,
//! so the writers keep one connection per [`Effort`] (see [`current_effort`]).
//!
//! Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or an `RLIMIT_NICE` of at least 1. Without it the
//! threads stay busy all the time, as before pacing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use thread_priority::{
    NormalThreadSchedulePolicy, ThreadId, ThreadPriority, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};

/// How a paced thread runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Effort {
    /// `SCHED_IDLE`.
    Quiet = 0,
    /// `SCHED_BATCH`, nice 19.
    Busy = 1,
}

/// How long the backlog must stay low before a busy thread goes quiet again: long enough not
/// to flap at the mark, short enough that a drained writer stops competing with answers soon
/// (at 1 s the drain after a burst put a second of slow answers into the DNS tail).
const QUIET_AFTER: Duration = Duration::from_millis(200);

/// The pacing of one background thread, shared with the producers that feed it.
#[derive(Debug)]
pub struct Pace {
    /// Work waiting at which the thread is made busy.
    high: usize,
    thread: OnceLock<ThreadId>,
    busy: AtomicBool,
    /// A request to raise the thread is with the raiser.
    raising: AtomicBool,
}

impl Pace {
    /// Pacing that makes the thread busy when `high` items are waiting.
    pub fn new(high: usize) -> Arc<Pace> {
        Arc::new(Pace {
            high: high.max(1),
            thread: OnceLock::new(),
            busy: AtomicBool::new(true),
            raising: AtomicBool::new(false),
        })
    }

    /// The thread's effort now.
    pub fn effort(&self) -> Effort {
        if self.busy.load(Ordering::Acquire) {
            Effort::Busy
        } else {
            Effort::Quiet
        }
    }

    /// Producers call this with the work now waiting: it raises a quiet thread that has
    /// fallen behind. Cheap when there is nothing to do (two atomic loads).
    pub fn waiting(self: &Arc<Self>, waiting: usize) {
        if waiting >= self.high {
            self.urge();
        }
    }

    /// Raises a quiet thread now, however little waits: work that must be durable soon (an
    /// event that raises a safeguarding alert) has arrived.
    pub fn urge(self: &Arc<Self>) {
        if !self.busy.load(Ordering::Acquire)
            && !self.raising.swap(true, Ordering::AcqRel)
            && raiser().try_send(self.clone()).is_err()
        {
            self.raising.store(false, Ordering::Release);
        }
    }

    fn raise(&self) {
        if let Some(&thread) = self.thread.get()
            && set_policy(thread, NormalThreadSchedulePolicy::Batch).is_ok()
        {
            self.busy.store(true, Ordering::Release);
        }
        self.raising.store(false, Ordering::Release);
    }
}

fn set_policy(
    thread: ThreadId,
    policy: NormalThreadSchedulePolicy,
) -> Result<(), thread_priority::Error> {
    set_thread_priority_and_policy(
        thread,
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(policy),
    )
}

/// The helper thread that raises quiet threads for the producers. It is started once; it
/// sets its own nice value to 19 as a side effect of the call it makes (the call sets the
/// target's policy and the caller's nice value), which suits it.
fn raiser() -> &'static std::sync::mpsc::SyncSender<Arc<Pace>> {
    static RAISER: OnceLock<std::sync::mpsc::SyncSender<Arc<Pace>>> = OnceLock::new();
    RAISER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Pace>>(64);
        let spawned = std::thread::Builder::new()
            .name("pace-raiser".into())
            .spawn(move || {
                while let Ok(pace) = rx.recv() {
                    pace.raise();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the thread that raises background writers");
        }
        tx
    })
}

/// Whether a thread of this process may leave `SCHED_IDLE` again (tried once, on a thread of
/// its own): if not, paced threads are never made quiet.
fn can_leave_idle() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        std::thread::Builder::new()
            .name("pace-probe".into())
            .spawn(|| {
                set_policy(thread_native_id(), NormalThreadSchedulePolicy::Idle).is_ok()
                    && set_policy(thread_native_id(), NormalThreadSchedulePolicy::Batch).is_ok()
            })
            .ok()
            .and_then(|probe| probe.join().ok())
            .unwrap_or(false)
    })
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<Pace>>> = const { std::cell::RefCell::new(None) };
}

/// The calling thread's effort: busy on a thread that is not paced.
pub fn current_effort() -> Effort {
    CURRENT.with(|c| c.borrow().as_ref().map_or(Effort::Busy, |p| p.effort()))
}

/// The paced thread's own view: it goes quiet after [`QUIET_AFTER`] of low backlog and busy
/// as soon as it sees a high one itself.
pub struct Pacer {
    pace: Arc<Pace>,
    quiet_allowed: bool,
    last_high: Instant,
}

impl Pacer {
    /// Call with the work waiting before each unit of work; returns the effort to work at.
    pub fn settle(&mut self, waiting: usize) -> Effort {
        let now = Instant::now();
        let pace = &self.pace;
        if waiting >= pace.high {
            self.last_high = now;
            if !pace.busy.load(Ordering::Acquire)
                && set_policy(thread_native_id(), NormalThreadSchedulePolicy::Batch).is_ok()
            {
                pace.busy.store(true, Ordering::Release);
            }
        } else if self.quiet_allowed
            && pace.busy.load(Ordering::Acquire)
            && now.duration_since(self.last_high) >= QUIET_AFTER
            && set_policy(thread_native_id(), NormalThreadSchedulePolicy::Idle).is_ok()
        {
            pace.busy.store(false, Ordering::Release);
        }
        pace.effort()
    }
}

/// Runs `work` on a new thread named `name`, busy at first and then paced by `pace` (see the
/// module), on a single-threaded runtime of its own. `work` gets the thread's [`Pacer`].
pub fn spawn_paced<F, Fut>(
    name: &str,
    pace: Arc<Pace>,
    work: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce(Pacer) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let thread = name.to_string();
    let quiet_allowed = can_leave_idle();
    if quiet_allowed {
        // Started here, so that no gateway thread starts it on its way to an answer.
        let _ = raiser();
    }
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Err(e) = set_policy(thread_native_id(), NormalThreadSchedulePolicy::Batch) {
                tracing::warn!(error = ?e, %thread, "a background thread keeps normal priority");
            }
            let _ = pace.thread.set(thread_native_id());
            CURRENT.with(|c| *c.borrow_mut() = Some(pace.clone()));
            let pacer = Pacer {
                pace,
                quiet_allowed,
                last_high: Instant::now(),
            };
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(work(pacer)),
                Err(e) => {
                    tracing::error!(error = %e, %thread, "cannot start a background thread's runtime")
                }
            }
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The calling thread's scheduling policy, as the kernel has it.
    fn policy_now() -> ThreadSchedulePolicy {
        thread_priority::thread_schedule_policy().expect("the thread's policy")
    }

    #[test]
    fn a_paced_thread_goes_quiet_when_it_keeps_up_and_is_raised_when_work_backs_up() {
        if !can_leave_idle() {
            // Without CAP_SYS_NICE or RLIMIT_NICE, pacing keeps threads busy: nothing to see.
            assert_eq!(current_effort(), Effort::Busy);
            return;
        }
        let pace = Pace::new(10);
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let producer = pace.clone();
        let thread = spawn_paced("pace-test", pace, move |mut pacer| async move {
            let start = (pacer.settle(0), policy_now());
            std::thread::sleep(QUIET_AFTER + Duration::from_millis(100));
            let quiet = (pacer.settle(3), current_effort(), policy_now());
            seen_tx.send((start, quiet, None)).unwrap();
            // The producer raises it while it waits.
            go_rx.recv().unwrap();
            let raised = (current_effort(), policy_now());
            seen_tx.send((start, quiet, Some(raised))).unwrap();
        })
        .unwrap();
        let (start, quiet, _) = seen_rx.recv().unwrap();
        let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        assert_eq!(start, (Effort::Busy, batch), "busy at first");
        assert_eq!(
            quiet,
            (Effort::Quiet, Effort::Quiet, idle),
            "quiet after a calm second"
        );
        producer.waiting(9);
        assert!(
            !producer.raising.load(Ordering::Acquire),
            "below the mark: left quiet"
        );
        producer.waiting(10);
        let deadline = Instant::now() + Duration::from_secs(5);
        while producer.effort() != Effort::Busy && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        go_tx.send(()).unwrap();
        let (_, _, raised) = seen_rx.recv().unwrap();
        assert_eq!(
            raised,
            Some((Effort::Busy, batch)),
            "raised by the producer's backlog"
        );
        thread.join().unwrap();
    }

    #[test]
    fn threads_that_are_not_paced_are_busy() {
        assert_eq!(current_effort(), Effort::Busy);
    }
}

//! Imports of people previewed on `/people/import` and waiting to be applied, or running, kept
//! in memory under a random token: "Apply" applies the plan that was previewed (the store
//! works it out again and refuses if it changed), and the progress page reads how far it got.
//! Nothing here outlives the process; an import not applied is forgotten after
//! [`KEPT_MINUTES`].

use chrono::{DateTime, Utc};
use policy::import::{Export, Plan};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use store::{ImportReport, ImportedFile, Leavers};

/// How long a preview waits to be applied, and a finished import's report is shown.
pub const KEPT_MINUTES: i64 = 60;
/// The most imports kept at once (the oldest finished or previewed go first).
const MOST_KEPT: usize = 32;

/// Where an import is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Shown, not applied.
    Previewed,
    /// Being written: `done` of `total` writes.
    Running {
        done: usize,
        total: usize,
    },
    Done(ImportReport),
    /// Refused or failed, in words for the page; nothing was written.
    Failed(String),
}

/// One import: its export, the plan previewed, and how far it got.
pub struct Job {
    pub school: i64,
    /// Who previewed it: nobody else applies or sees it.
    pub person: i64,
    pub created: DateTime<Utc>,
    pub export: Export,
    pub plan: Plan,
    pub files: Vec<ImportedFile>,
    pub leavers: Leavers,
    stage: Mutex<Stage>,
}

impl Job {
    /// A previewed import.
    pub fn new(
        school: i64,
        person: i64,
        created: DateTime<Utc>,
        export: Export,
        plan: Plan,
        files: Vec<ImportedFile>,
        leavers: Leavers,
    ) -> Job {
        Job {
            school,
            person,
            created,
            export,
            plan,
            files,
            leavers,
            stage: Mutex::new(Stage::Previewed),
        }
    }

    fn stage_lock(&self) -> MutexGuard<'_, Stage> {
        // A panic while holding the lock leaves a stage that is still readable.
        self.stage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where it is now.
    pub fn stage(&self) -> Stage {
        self.stage_lock().clone()
    }

    /// Moves a previewed import to running; false when it was already applied (a second
    /// click, another tab), which must not apply it twice.
    pub fn start(&self) -> bool {
        let mut stage = self.stage_lock();
        if matches!(*stage, Stage::Previewed) {
            let total = self.plan.writes(self.leavers == Leavers::Mark);
            *stage = Stage::Running { done: 0, total };
            true
        } else {
            false
        }
    }

    /// Sets where it is.
    pub fn set(&self, to: Stage) {
        *self.stage_lock() = to;
    }
}

/// Every import kept, by token.
#[derive(Default)]
pub struct Imports {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl Imports {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `job` under `token`, forgetting what is past [`KEPT_MINUTES`] at `now` (or the
    /// oldest, beyond [`MOST_KEPT`]); a running import is never forgotten.
    pub fn keep(&self, token: String, job: Job, now: DateTime<Utc>) -> Arc<Job> {
        let mut jobs = self.lock();
        let running = |j: &Job| matches!(j.stage(), Stage::Running { .. });
        jobs.retain(|_, j| running(j) || now - j.created < chrono::Duration::minutes(KEPT_MINUTES));
        while jobs.len() >= MOST_KEPT {
            let oldest = jobs
                .iter()
                .filter(|(_, j)| !running(j))
                .min_by_key(|(_, j)| j.created)
                .map(|(t, _)| t.clone());
            match oldest {
                Some(t) => {
                    jobs.remove(&t);
                }
                None => break,
            }
        }
        let job = Arc::new(job);
        jobs.insert(token, job.clone());
        job
    }

    /// The import under `token`, if it is `person`'s in `school`.
    pub fn get(&self, token: &str, school: i64, person: i64) -> Option<Arc<Job>> {
        self.lock()
            .get(token)
            .filter(|j| j.school == school && j.person == person)
            .cloned()
    }
}

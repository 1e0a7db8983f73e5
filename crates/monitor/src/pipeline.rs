//! The monitoring rules on the access log as they run: every batch of events is evaluated as
//! it is written, and the hits are stored as alerts by a task of their own (bounded: if the
//! store falls far behind, hits are dropped and counted rather than piling up). The new
//! critical and high alerts are mailed through the outbox. Storage is reached through
//! [`AlertStore`] and [`AlertRecorder`], which the binary implements over the store.

use crate::{KeywordList, Monitor};
use events::{AccessEvent, Alert, AlertHit, AuditHead, OutboxMail};
use policy::Profile;
use policy::profile::monitoring::AlertSeverity;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, mpsc};

/// The store could not do what was asked (the database is out of reach, a row is corrupt).
pub type AlertStoreError = Box<dyn std::error::Error + Send + Sync>;

/// What the monitoring and its mail ask of the store: alerts, people's mail addresses, the
/// outbox and the audit trail's head.
#[async_trait::async_trait]
pub trait AlertStore: Send + Sync + 'static {
    /// One alert.
    async fn alert(&self, id: i64) -> Result<Alert, AlertStoreError>;
    /// The year group of a person, if they have one.
    async fn year_group(&self, person_id: i64) -> Result<Option<String>, AlertStoreError>;
    /// The mail addresses of the active people holding any of `roles`, but `except`.
    async fn emails_of(
        &self,
        roles: &[policy::Role],
        except: Option<i64>,
    ) -> Result<Vec<String>, AlertStoreError>;
    /// Queues a mail of `kind` (`alert`, `digest`, `reminder`) in the outbox.
    async fn enqueue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), AlertStoreError>;
    /// Whether a mail of `kind` was queued at or after `since` (a stored timestamp).
    async fn mail_queued_since(&self, kind: &str, since: &str) -> Result<bool, AlertStoreError>;
    /// Alerts of `audiences` first seen at or after `since`, counted by severity.
    async fn alert_counts_since(
        &self,
        since: &str,
        audiences: &[policy::alerts::AlertAudience],
    ) -> Result<Vec<(String, i64)>, AlertStoreError>;
    /// The audit trail's head.
    async fn audit_head(&self) -> Result<AuditHead, AlertStoreError>;
    /// Concerns reported at or after `since` that nobody has triaged.
    async fn untriaged_concerns_since(&self, since: &str) -> Result<i64, AlertStoreError>;
    /// What the registers have due or overdue for the digest's readers, one line each: counts
    /// and dates, never names (the dashboard's items).
    async fn due_lines(&self) -> Result<Vec<String>, AlertStoreError>;
    /// What the weekly report of the week starting on the Monday `week` counts.
    async fn weekly_facts(
        &self,
        week: chrono::NaiveDate,
    ) -> Result<crate::weekly::WeeklyFacts, AlertStoreError>;
    /// Unsent mail whose next attempt is due, oldest first.
    async fn due_mail(&self, limit: i64) -> Result<Vec<OutboxMail>, AlertStoreError>;
    /// Marks a mail sent.
    async fn mail_sent(&self, id: i64) -> Result<(), AlertStoreError>;
    /// Records a failed attempt and when to try again.
    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_in: chrono::Duration,
    ) -> Result<(), AlertStoreError>;
    /// Now, by the injected clock.
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc>;
}

/// Stores alert hits as alerts, on the recorder's own thread.
#[async_trait::async_trait(?Send)]
pub trait AlertRecorder: 'static {
    /// Records `hits` in one transaction; returns each one's alert id and whether it is new.
    async fn record(
        &mut self,
        hits: &[AlertHit],
        window_minutes: u32,
    ) -> Result<Vec<(i64, bool)>, AlertStoreError>;
}

/// How the recorder's thread is paced by the hits waiting for it (see `store::background`).
pub trait Pace: Send + Sync + 'static {
    /// Says how many batches of hits wait.
    fn waiting(&self, waiting: usize);
    /// Says that hits which must be stored at once (critical or high) wait.
    fn urge(&self);
}

/// The recorder thread's own view of its pace.
pub trait Pacer: 'static {
    /// Called with the batches waiting before each write.
    fn settle(&mut self, waiting: usize);
}

/// Batches of hits waiting at which the recorder works busy: a second's worth of access-log
/// batches.
pub const BUSY_AT: usize = 20;

/// Sees every batch of access-log events as it is written.
pub type BatchWatcher = Arc<dyn Fn(&[AccessEvent]) + Send + Sync>;

/// Why the monitoring could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A keyword list the profile names cannot be read.
    #[error("monitoring keyword list `{name}`: cannot read {path}")]
    Keywords {
        name: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The recorder's thread could not start.
    #[error("cannot start the thread that stores alerts")]
    Recorder(#[source] std::io::Error),
}

/// The monitoring rules as they run: what the access log shows its batches to, and what the
/// monitoring-gap watch needs.
pub struct Monitoring {
    pub watcher: BatchWatcher,
    /// Which events the access log must store at once, their alerts too.
    pub urgent: crate::UrgentRules,
    /// Alert hits dropped so far (the alert queue was full or the store failed).
    pub hits_dropped: Arc<AtomicU64>,
    /// Where new critical or high alerts go for their mail.
    pub new_alerts: mpsc::Sender<i64>,
}

/// The alert recorder's work, handed to whatever runs it (a paced thread of the store's).
pub struct RecorderTask {
    hits_rx: mpsc::Receiver<Vec<AlertHit>>,
    window: u32,
    new_alerts: mpsc::Sender<i64>,
    hits_dropped: Arc<AtomicU64>,
}

impl RecorderTask {
    /// Records hits with `recorder` until the rules are gone.
    pub fn run(self, recorder: impl AlertRecorder, pacer: impl Pacer) -> impl Future<Output = ()> {
        record_alerts(
            recorder,
            pacer,
            self.hits_rx,
            self.window,
            self.new_alerts,
            self.hits_dropped,
        )
    }
}

/// The profile's monitoring rules with their keyword lists (paths relative to `profile_dir`).
pub fn rules_from_profile(
    profile: &Profile,
    profile_dir: &std::path::Path,
    clock: clock::Clock,
) -> Result<Monitor, PipelineError> {
    let mandatory = profile
        .filtering
        .lists
        .iter()
        .filter(|l| l.mandatory)
        .filter_map(|l| l.category.clone());
    let pupils = profile
        .filtering
        .pupil_group_names()
        .into_iter()
        .map(str::to_string);
    let mut keywords = Vec::new();
    for list in &profile.monitoring.keywords {
        let path = profile_dir.join(&list.path);
        let text = std::fs::read_to_string(&path).map_err(|source| PipelineError::Keywords {
            name: list.name.clone(),
            path: path.display().to_string(),
            source,
        })?;
        let file = path.display().to_string();
        let (words, _) = filter::urls::parse_keywords(&text, &file);
        keywords.push(KeywordList {
            name: list.name.clone(),
            language: list.language.clone(),
            severity: list.severity,
            words: words
                .into_iter()
                .map(|(w, line)| (w, format!("{file}:{line}")))
                .collect(),
        });
    }
    Ok(Monitor::new(&profile.monitoring, mandatory, pupils, clock)
        .with_staff_groups(profile.filtering.staff_groups())
        .with_keywords(keywords))
}

/// Starts the monitoring rules on the access log. `spawn_recorder` starts the alert recorder
/// (on a thread of its own) and returns its pace; new critical or high alerts are queued for
/// mail to the safeguarding leads, and `mail_wake` wakes the mailer.
pub fn start_monitoring(
    profile: &Profile,
    profile_dir: &std::path::Path,
    clock: clock::Clock,
    store: Arc<dyn AlertStore>,
    web_url: &str,
    mail_wake: Arc<Notify>,
    spawn_recorder: impl FnOnce(RecorderTask) -> std::io::Result<Arc<dyn Pace>>,
) -> Result<Monitoring, PipelineError> {
    let rules = rules_from_profile(profile, profile_dir, clock)?;
    let urgent = rules.urgent_rules();
    let rules = std::sync::Mutex::new(rules);
    // One message per access-log batch: the hits it set off, those of one rule by one subject
    // merged into one. They are stored on a low-priority thread of their own; the alerts that
    // need a mail come back to this runtime, where the outbox is.
    let (tx, rx) = mpsc::channel::<Vec<AlertHit>>(1_000);
    let (new_tx, mut new_rx) = mpsc::channel::<i64>(1_000);
    let hits_dropped = Arc::new(AtomicU64::new(0));
    let pace = spawn_recorder(RecorderTask {
        hits_rx: rx,
        window: profile.monitoring.aggregate_minutes,
        new_alerts: new_tx.clone(),
        hits_dropped: hits_dropped.clone(),
    })
    .map_err(PipelineError::Recorder)?;
    let web_url = web_url.to_string();
    let readers = profile.concerns.alert_readers();
    tokio::spawn(async move {
        while let Some(id) = new_rx.recv().await {
            if let Err(e) = queue_alert_mail(store.as_ref(), id, &readers, &web_url).await {
                tracing::error!(error = %e, alert = id, "the alert's mail could not be queued");
            }
            mail_wake.notify_one();
        }
    });
    let drops = hits_dropped.clone();
    let watcher = Arc::new(move |events: &[AccessEvent]| {
        let Ok(mut rules) = rules.lock() else { return };
        let mut merged: Vec<AlertHit> = Vec::new();
        for e in events {
            for hit in rules.evaluate(e) {
                merge_hit(&mut merged, hit);
            }
        }
        if merged.is_empty() {
            return;
        }
        let hits = merged.len() as u64;
        let urgent = merged.iter().any(is_urgent);
        match tx.try_send(merged) {
            Ok(()) if urgent => pace.urge(),
            Ok(()) => pace.waiting(tx.max_capacity() - tx.capacity()),
            Err(_) => {
                drops.fetch_add(hits, Ordering::Relaxed);
                tracing::error!("alert queue full: a batch of alert hits was dropped");
            }
        }
    });
    Ok(Monitoring {
        watcher,
        urgent,
        hits_dropped,
        new_alerts: new_tx,
    })
}

/// Mail about a new urgent alert to everyone who reads its audience (see
/// [`policy::alerts`]), never to the person it is about.
pub async fn queue_alert_mail(
    store: &dyn AlertStore,
    alert_id: i64,
    readers: &policy::alerts::AlertReaders,
    web_url: &str,
) -> Result<(), AlertStoreError> {
    let alert = store.alert(alert_id).await?;
    let year_group = match alert.person_id {
        Some(id) => store.year_group(id).await?,
        None => None,
    };
    let (subject, body) = crate::notify::alert_mail(&alert, year_group.as_deref(), web_url);
    let roles = readers.roles_of(alert.audience);
    let recipients = store.emails_of(&roles, alert.person_id).await?;
    if recipients.is_empty() {
        tracing::warn!(
            alert = alert_id,
            "nobody who reads this alert has a mail address: the alert is in the inbox only"
        );
    }
    for to in recipients {
        store.enqueue_mail(&to, &subject, &body, "alert").await?;
    }
    Ok(())
}

/// Stores the monitoring rules' hits as alerts until the rules are gone, and hands each new
/// critical or high alert to `new_alerts` (for its mail).
async fn record_alerts(
    mut recorder: impl AlertRecorder,
    mut pacer: impl Pacer,
    mut hits_rx: mpsc::Receiver<Vec<AlertHit>>,
    window: u32,
    new_alerts: mpsc::Sender<i64>,
    hits_dropped: Arc<AtomicU64>,
) {
    loop {
        pacer.settle(hits_rx.len());
        let Some(mut hits) = hits_rx.recv().await else {
            return;
        };
        // What the next batches set off within ALERT_LINGER joins these: one transaction
        // for all of them (a commit per hit cost the DNS answers' tail). A critical or high
        // hit does not wait: it is stored within milliseconds, to survive a crash.
        if !hits.iter().any(is_urgent) {
            tokio::time::sleep(ALERT_LINGER).await;
        }
        while let Ok(more) = hits_rx.try_recv() {
            for hit in more {
                merge_hit(&mut hits, hit);
            }
        }
        match recorder.record(&hits, window).await {
            Ok(recorded) => {
                for (hit, (id, new)) in hits.iter().zip(recorded) {
                    if new
                        && hit.severity >= AlertSeverity::High
                        && new_alerts.send(id).await.is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                hits_dropped.fetch_add(hits.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, hits = hits.len(), "alerts could not be stored")
            }
        }
    }
}

/// How long the alert task gathers hits before storing them: a few writes a second at most,
/// well within the two seconds an alert may take.
const ALERT_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

/// Whether a hit must be stored at once: critical and high alerts, whose evidence a crash
/// must not lose.
fn is_urgent(hit: &AlertHit) -> bool {
    hit.severity >= AlertSeverity::High
}

/// Adds `hit` to `hits`, into the hit of the same rule about the same subject if there is one.
pub fn merge_hit(hits: &mut Vec<AlertHit>, hit: AlertHit) {
    match hits
        .iter_mut()
        .find(|m| m.subject == hit.subject && m.rule == hit.rule)
    {
        Some(m) => m.count += hit.count,
        None => hits.push(hit),
    }
}

//! The store behind the traits the gateways and the monitoring talk to: the proxy's sign-in
//! ([`gateway::proxy::ProxyAccounts`]), alerts, outbox and audit head
//! ([`monitor::pipeline::AlertStore`]) and the alert recorder on the store's paced thread.

use gateway::proxy::{AccountHolder, AccountsError, LoginFailure, ProxyAccounts};
use monitor::pipeline::{AlertRecorder, AlertStore, AlertStoreError, Pace, Pacer, RecorderTask};
use std::sync::Arc;
use store::Store;

/// The school's accounts as the proxy's sign-in sees them.
pub struct StoreAccounts(pub Store, pub policy::profile::CodeOfConduct);

#[async_trait::async_trait]
impl ProxyAccounts for StoreAccounts {
    async fn check_credentials(
        &self,
        username: &str,
        password: &str,
        lockout_attempts: u32,
        lockout_minutes: u32,
    ) -> Result<Result<AccountHolder, LoginFailure>, AccountsError> {
        let checked = self
            .0
            .check_credentials(username, password, lockout_attempts, lockout_minutes)
            .await?;
        let p = match checked {
            Ok(p) => p,
            Err(failure) => return Ok(Err(failure)),
        };
        let must_change_password = self
            .0
            .account(p.id)
            .await?
            .is_some_and(|a| a.must_change_password());
        Ok(Ok(AccountHolder {
            id: p.id,
            username: p.username,
            roles: p.roles,
            must_change_password,
        }))
    }

    async fn password_changed_at(&self, person_id: i64) -> Result<Option<String>, AccountsError> {
        Ok(self
            .0
            .account(person_id)
            .await?
            .map(|a| a.password_changed_at))
    }

    async fn code_signed(&self, person_id: i64) -> Result<bool, AccountsError> {
        let Some(person) = self.0.person(person_id).await? else {
            return Ok(false);
        };
        Ok(self
            .0
            .code_standing(&person, &self.1)
            .await?
            .is_none_or(|s| s.signed_at.is_some()))
    }

    fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now_utc()
    }

    fn generation(&self) -> u64 {
        store::passwords::accounts_generation()
    }
}

/// Alerts, the outbox and the audit head as the monitoring sees them, with the school's profile
/// for what its registers have due.
pub struct StoreAlerts(pub Store, pub std::sync::Arc<policy::Profile>);

#[async_trait::async_trait]
impl AlertStore for StoreAlerts {
    async fn alert(&self, id: i64) -> Result<events::Alert, AlertStoreError> {
        Ok(self.0.alert(id).await?)
    }

    async fn year_group(&self, person_id: i64) -> Result<Option<String>, AlertStoreError> {
        Ok(self.0.person(person_id).await?.and_then(|p| p.year_group))
    }

    async fn emails_of(
        &self,
        roles: &[policy::Role],
        except: Option<i64>,
    ) -> Result<Vec<String>, AlertStoreError> {
        Ok(self.0.emails_of(roles, except).await?)
    }

    async fn enqueue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), AlertStoreError> {
        self.0.enqueue_mail(to, subject, body, kind).await?;
        Ok(())
    }

    async fn mail_queued_since(&self, kind: &str, since: &str) -> Result<bool, AlertStoreError> {
        Ok(self.0.mail_queued_since(kind, since).await?)
    }

    async fn alert_counts_since(
        &self,
        since: &str,
        audiences: &[policy::alerts::AlertAudience],
    ) -> Result<Vec<(String, i64)>, AlertStoreError> {
        Ok(self.0.alert_counts_since(since, audiences).await?)
    }

    async fn audit_head(&self) -> Result<events::AuditHead, AlertStoreError> {
        Ok(self.0.audit_head().await?)
    }

    async fn untriaged_concerns_since(&self, since: &str) -> Result<i64, AlertStoreError> {
        Ok(self.0.untriaged_concerns_since(since).await?)
    }

    async fn due_lines(&self) -> Result<Vec<String>, AlertStoreError> {
        // The digest goes to those who handle alerts: what their roles see on the dashboard.
        let readers = policy::Actor {
            person_id: 0,
            roles: self
                .1
                .concerns
                .alert_readers()
                .of(policy::alerts::AlertAudience::Safeguarding),
        };
        let may = |a: policy::Action, o: policy::Object<'_>| {
            policy::can(&readers, a, o) == policy::Decision::Allow
        };
        let items = web::dashboard::register_items(&self.0, &self.1, may)
            .await
            .map_err(|e| e.to_string())?;
        Ok(items
            .into_iter()
            .map(|i| {
                let when = match (&i.due_on, i.status) {
                    (Some(d), "overdue") => format!(" (was due {d})"),
                    (Some(d), _) => format!(" (due {d})"),
                    (None, _) => String::new(),
                };
                format!("{}: {}: {}{when}", i.status, i.title, i.count)
            })
            .collect())
    }

    async fn weekly_facts(
        &self,
        week: chrono::NaiveDate,
    ) -> Result<monitor::weekly::WeeklyFacts, AlertStoreError> {
        web::weekly_facts(&self.0, week)
            .await
            .map_err(|e| e.to_string().into())
    }

    async fn due_mail(&self, limit: i64) -> Result<Vec<events::OutboxMail>, AlertStoreError> {
        Ok(self.0.due_mail(limit).await?)
    }

    async fn mail_sent(&self, id: i64) -> Result<(), AlertStoreError> {
        Ok(self.0.mail_sent(id).await?)
    }

    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_in: chrono::Duration,
    ) -> Result<(), AlertStoreError> {
        Ok(self.0.mail_failed(id, error, retry_in).await?)
    }

    fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now_utc()
    }
}

/// The store's alert writer as the monitoring's recorder.
struct StoreRecorder(store::AlertWriter);

#[async_trait::async_trait(?Send)]
impl AlertRecorder for StoreRecorder {
    async fn record(
        &mut self,
        hits: &[events::AlertHit],
        window_minutes: u32,
    ) -> Result<Vec<(i64, bool)>, AlertStoreError> {
        Ok(self.0.record(hits, window_minutes).await?)
    }
}

struct StorePace(Arc<store::background::Pace>);

impl Pace for StorePace {
    fn waiting(&self, waiting: usize) {
        self.0.waiting(waiting);
    }

    fn urge(&self) {
        self.0.urge();
    }
}

struct StorePacer(store::background::Pacer);

impl Pacer for StorePacer {
    fn settle(&mut self, waiting: usize) {
        self.0.settle(waiting);
    }
}

/// Starts the alert recorder on a low-priority thread of the store's, paced by the hits
/// waiting (see `store::background`).
pub fn spawn_recorder(
    store: &Store,
) -> impl FnOnce(RecorderTask) -> std::io::Result<Arc<dyn Pace>> {
    let writer = store.alert_writer();
    move |task| {
        let pace = store::background::Pace::new(monitor::pipeline::BUSY_AT);
        store::background::spawn_paced("alerts", pace.clone(), move |pacer| {
            task.run(StoreRecorder(writer), StorePacer(pacer))
        })?;
        Ok(Arc::new(StorePace(pace)) as Arc<dyn Pace>)
    }
}

//! A subject access request (issue 20, part 7): everything Palisade holds about one person,
//! read in one transaction and audited just after, with every other person's name redacted
//! (`policy::subject_access::Redactor`); and the erasure of a person's records once the
//! profile's retention has passed (part 3).
//!
//! Nothing about anyone else goes in: a concern about several people is theirs too, so it is
//! copied with the others named only as what they are; a concern the person reported about
//! someone else is that person's record, and is counted, not copied.

use crate::permits::check;
use crate::{Person, Result, Store, StoreError};
use policy::retention::{RetentionPolicy, Standing};
use policy::{Action, Permit, Target};
use serde::Serialize;

mod erase;
mod gather;

pub use erase::Erased;

/// Most access-log rows an export copies (the newest); the total is always given.
pub const ACCESS_ROWS: i64 = 1000;
/// Most failed sign-ins an export copies (the newest).
pub const SIGN_IN_ROWS: i64 = 200;
/// Most audit-trail entries about the person an export copies (the newest).
pub const HISTORY_ROWS: i64 = 500;

/// Everything Palisade holds about one person, as exported.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccess {
    /// When it was prepared (as stored) and who prepared it.
    pub prepared_at: String,
    pub prepared_by: String,
    /// Every field the school holds of them (the MIS's too).
    pub person: Person,
    pub email: Option<String>,
    /// When their records were erased past retention, if they were.
    pub erased_at: Option<String>,
    pub account: Option<AccountCopy>,
    /// Their parents and carers (a pupil) or children (a parent), with the relationship.
    pub links: Vec<LinkCopy>,
    pub concerns: Vec<ConcernCopy>,
    /// Concerns they reported about other people: those people's records, counted only.
    pub reports_about_others: i64,
    pub alerts: Vec<AlertCopy>,
    pub access_log: Capped<AccessCopy>,
    pub consents: Vec<ConsentCopy>,
    pub acknowledgements: Vec<crate::Acknowledgement>,
    pub training: Vec<TrainingCopy>,
    pub devices: Vec<DeviceCopy>,
    pub loans: Vec<LoanCopy>,
    pub sign_in_failures: Capped<crate::sign_ins::SignInFailure>,
    pub review_requests: Vec<ReviewRequestCopy>,
    /// The audit trail's entries about their record: when and what (who did it is staff's).
    pub record_history: Capped<HistoryEntry>,
}

/// The newest rows of a long list, and how many there are in all.
#[derive(Debug, Clone, Serialize)]
pub struct Capped<T> {
    pub total: i64,
    pub rows: Vec<T>,
}

impl<T> Capped<T> {
    /// Whether some rows were left out.
    pub fn is_cut(&self) -> bool {
        self.total > i64::try_from(self.rows.len()).unwrap_or(i64::MAX)
    }
}

/// Their login account, without its secrets (no password hash, no second-factor secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccountCopy {
    pub active: i64,
    pub created_at: String,
    pub password_changed_at: String,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub totp_enrolled_at: Option<String>,
}

/// A parent, carer or child linked to them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkCopy {
    pub id: i64,
    pub display_name: String,
    pub kind: String,
    pub relationship: Option<String>,
    pub parental_responsibility: i64,
}

/// A concern about them, other people's names redacted.
#[derive(Debug, Clone, Serialize)]
pub struct ConcernCopy {
    pub id: i64,
    pub category: String,
    /// Which form it came through (staff, pupil, parent).
    pub form: String,
    pub reported_at: String,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub status: String,
    pub severity: Option<String>,
    pub reported_by: String,
    pub handled_by: Option<String>,
    /// The other people it is about, as what they are.
    pub others_about: Vec<String>,
    pub summary: String,
    pub details: String,
    pub about_text: Option<String>,
    pub outcome: Option<String>,
    pub timeline: Vec<EntryCopy>,
    /// Listed by name and type: the files themselves are available on request.
    pub attachments: Vec<AttachmentCopy>,
}

/// One entry of a concern's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EntryCopy {
    pub at: String,
    pub kind: String,
    pub by: String,
    /// What was recorded, per kind (see `policy::concern::ActionInput`), redacted.
    pub body: serde_json::Value,
}

/// A file attached to a concern: listed, not copied.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentCopy {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub added_at: String,
}

/// A monitoring alert about them.
#[derive(Debug, Clone, Serialize)]
pub struct AlertCopy {
    pub id: i64,
    pub severity: String,
    pub rule: String,
    pub group_name: String,
    pub first_at: String,
    pub last_at: String,
    pub count: i64,
    pub status: String,
    pub status_note: Option<String>,
    pub handled_by: Option<String>,
    pub handled_at: Option<String>,
    /// The first events that raised it (their own requests), search terms redacted.
    pub evidence: serde_json::Value,
}

/// One of their access-log rows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccessCopy {
    pub at: String,
    pub source: String,
    pub name: String,
    pub url: Option<String>,
    pub search_term: Option<String>,
    pub verdict: String,
    pub category: Option<String>,
    pub device: Option<String>,
    pub client_ip: String,
}

/// A photo or video consent answer for them (a pupil).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConsentCopy {
    pub purpose: String,
    pub given: i64,
    pub named: i64,
    pub by_whom: String,
    pub given_on: String,
    pub note: String,
    pub recorded_at: String,
}

/// A training session they attended.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrainingCopy {
    pub course: String,
    pub held_on: String,
    pub note: String,
    /// The evidence file's name, when one was kept (available on request).
    pub evidence_name: Option<String>,
}

/// A device they hold or held.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeviceCopy {
    pub name: String,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub group_name: Option<String>,
    pub added_at: String,
    pub retired_at: Option<String>,
}

/// A device lent to them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LoanCopy {
    pub device: String,
    pub lent_on: String,
    pub due_on: Option<String>,
    pub condition_out: String,
    pub returned_on: Option<String>,
    pub condition_back: Option<String>,
}

/// A review of a blocked page they asked for.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewRequestCopy {
    pub requested_at: String,
    pub url: String,
    pub category: Option<String>,
    pub reason: String,
    pub status: String,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

/// An audit-trail entry about their record.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryEntry {
    pub at: String,
    pub action: String,
}

impl SubjectAccess {
    /// How many of each thing the export holds, for its summary: (what, how many).
    pub fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("Concerns about them", n(self.concerns.len())),
            (
                "Timeline entries",
                n(self.concerns.iter().map(|c| c.timeline.len()).sum()),
            ),
            (
                "Attachments (listed)",
                n(self.concerns.iter().map(|c| c.attachments.len()).sum()),
            ),
            ("Monitoring alerts", n(self.alerts.len())),
            ("Access-log rows", self.access_log.total),
            ("Photo consent answers", n(self.consents.len())),
            ("Acknowledgements", n(self.acknowledgements.len())),
            ("Training", n(self.training.len())),
            ("Devices", n(self.devices.len())),
            ("Device loans", n(self.loans.len())),
            ("Failed sign-ins", self.sign_in_failures.total),
            ("Review requests", n(self.review_requests.len())),
            ("Record history entries", self.record_history.total),
        ]
    }
}

/// Today's date at the school (retention is counted in school days, not UTC ones).
fn today(store: &Store) -> chrono::NaiveDate {
    clock::school_time(store.now_utc()).date_naive()
}

impl Store {
    /// Everything held about `person_id`, other people's names redacted; the permit is for
    /// [`Action::ExportSubjectAccess`] of that person. Read in one transaction, then audited
    /// (`person.subject_access_exported`, naming `format`) before it is returned: an export
    /// that could not be audited is not given.
    pub async fn subject_access(
        &self,
        permit: &Permit,
        person_id: i64,
        format: &str,
    ) -> Result<SubjectAccess> {
        check(
            permit,
            Action::ExportSubjectAccess,
            Target::Person(person_id),
        )?;
        let mut tx = self.read().await?;
        let export = gather::gather(&mut tx, self.now(), permit.actor_id(), person_id).await?;
        drop(tx);
        let what = crate::AuditAction::SubjectAccessExported {
            person: person_id,
            format,
        };
        self.audit_event(permit.actor_id(), what).await?;
        Ok(export)
    }

    /// Where `person_id`'s records stand under `rules` today; not found when there is no such
    /// person.
    pub async fn retention(&self, rules: &RetentionPolicy, person_id: i64) -> Result<Standing> {
        let mut tx = self.read().await?;
        let facts = erase::facts(&mut tx, rules, person_id, today(self)).await?;
        Ok(policy::retention::standing(rules, &facts, today(self)))
    }
}

/// Not found, for a person this school does not hold.
fn no_person(id: i64) -> StoreError {
    StoreError::NotFound {
        what: format!("person {id}"),
    }
}

//! Erasing a person's records once the profile's retention has passed (`policy::retention`),
//! in one transaction with its audit row.
//!
//! What is the person's alone is deleted: the concerns about them alone (timelines, files),
//! their alerts, access-log rows, consents, acknowledgements, training attendance, returned
//! loans, leaver's ticks, failed sign-ins, account, sessions and links. What other people's
//! records still need is kept and stripped: their row in `people` stays (concerns they
//! reported about others, entries they wrote, devices they added and the audit chain point at
//! its id) with every name, identifier and date of their life taken out; a concern that is
//! also about someone else stays, without the link to them; a device they held stays in the
//! register, held by nobody. The audit trail is never cut: its rows name people by id, and
//! the hash chain must still verify.

use super::{Store, no_person, today};
use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, StoreError};
use chrono::NaiveDate;
use policy::retention::{Facts, RetentionPolicy, standing};
use policy::{Action, Permit, PersonKind, Target};
use sqlx::{Any, Transaction};

type Tx = Transaction<'static, Any>;

/// What an erasure removed: how many of each kind (as its audit row says).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub counts: Vec<(&'static str, u64)>,
}

impl Erased {
    /// How many of `what` were removed.
    pub fn count(&self, what: &str) -> u64 {
        self.counts
            .iter()
            .find(|(w, _)| *w == what)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// The date part of a stored date or timestamp.
fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// What the retention rules need of one person, without their children.
async fn own_facts(tx: &mut Tx, person_id: i64, today: NaiveDate) -> Result<Facts> {
    type Row = (String, Option<String>, i64, Option<String>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT kind, date_of_birth, active, left_at, leaves_on FROM people WHERE id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (kind, born, active, left_at, leaves_on) = row.ok_or_else(|| no_person(person_id))?;
    let kind = PersonKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
        table: "people",
        id: person_id.to_string(),
        message: format!("unknown kind `{kind}`"),
    })?;
    // Gone: marked as having left, or past the leaving date set in advance.
    let left_on = if active == 0 {
        left_at.as_deref().and_then(date)
    } else {
        leaves_on.as_deref().and_then(date).filter(|d| *d <= today)
    };
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT MAX(c.created_at) FROM concerns c \
         JOIN concern_subjects s ON s.concern_id = c.id WHERE s.person_id = $1",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Facts {
        kind,
        date_of_birth: born.as_deref().and_then(date),
        left_on,
        latest_concern: latest.as_deref().and_then(date),
        children: Vec::new(),
    })
}

/// What the retention rules need of `person_id`: for a parent, with where each child stands.
pub(super) async fn facts(
    tx: &mut Tx,
    rules: &RetentionPolicy,
    person_id: i64,
    today: NaiveDate,
) -> Result<Facts> {
    let mut facts = own_facts(tx, person_id, today).await?;
    if facts.kind == PersonKind::Parent {
        let children: Vec<i64> =
            sqlx::query_scalar("SELECT child_id FROM parent_links WHERE parent_id = $1")
                .bind(person_id)
                .fetch_all(&mut **tx)
                .await?;
        for child in children {
            let child = own_facts(tx, child, today).await?;
            facts.children.push(standing(rules, &child, today));
        }
    }
    Ok(facts)
}

/// Runs `sql` with `id` as `$1`: how many rows it changed.
async fn run(tx: &mut Tx, sql: &'static str, id: i64) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Deletes the concerns about `person_id` and nobody else, with their timelines and files:
/// (concerns, entries, attachments, files no other row needs).
async fn erase_own_concerns(tx: &mut Tx, person_id: i64) -> Result<[u64; 4]> {
    let own: Vec<i64> = sqlx::query_scalar(
        "SELECT concern_id FROM concern_subjects WHERE person_id = $1 AND concern_id NOT IN \
         (SELECT concern_id FROM concern_subjects WHERE person_id <> $1)",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut n = [0u64; 4];
    let mut files: Vec<String> = Vec::new();
    for c in own {
        let shas: Vec<String> =
            sqlx::query_scalar("SELECT sha256 FROM attachments WHERE concern_id = $1")
                .bind(c)
                .fetch_all(&mut **tx)
                .await?;
        files.extend(shas);
        n[2] += run(tx, "DELETE FROM attachments WHERE concern_id = $1", c).await?;
        n[1] += run(tx, "DELETE FROM concern_actions WHERE concern_id = $1", c).await?;
        run(tx, "DELETE FROM concern_subjects WHERE concern_id = $1", c).await?;
        n[0] += run(tx, "DELETE FROM concerns WHERE id = $1", c).await?;
    }
    files.sort_unstable();
    files.dedup();
    for sha in files {
        // A file is kept once however many rows name it: it goes when none is left.
        n[3] += sqlx::query(
            "DELETE FROM blobs WHERE sha256 = $1 \
             AND NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1) \
             AND NOT EXISTS (SELECT 1 FROM training_sessions WHERE evidence_sha256 = $1) \
             AND NOT EXISTS (SELECT 1 FROM policy_documents WHERE file_sha256 = $1) \
             AND NOT EXISTS (SELECT 1 FROM filter_checks WHERE certificate_sha256 = $1)",
        )
        .bind(&sha)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(n)
}

/// The statements that delete or strip the rest of a person's rows, each with what its count
/// is called; `$1` is the person's id.
const ERASE: [(&str, &str); 18] = [
    (
        "shared_concern_links",
        "DELETE FROM concern_subjects WHERE person_id = $1",
    ),
    ("alerts", "DELETE FROM alerts WHERE person_id = $1"),
    (
        "access_log_rows",
        "DELETE FROM access_log WHERE person_id = $1",
    ),
    (
        "photo_consents",
        "DELETE FROM photo_consents WHERE pupil_id = $1",
    ),
    (
        "acknowledgements",
        "DELETE FROM acknowledgements WHERE person_id = $1",
    ),
    (
        "aup_acceptances",
        "DELETE FROM aup_acceptances WHERE person_id = $1",
    ),
    (
        "training_attendance",
        "DELETE FROM training_attendance WHERE person_id = $1",
    ),
    (
        "devices_unassigned",
        "UPDATE devices SET holder_id = NULL WHERE holder_id = $1",
    ),
    // A device still out is the school's to get back: its loan stays, naming the row by id.
    (
        "device_loans",
        "DELETE FROM device_loans WHERE person_id = $1 AND returned_on IS NOT NULL",
    ),
    (
        "leaver_ticks",
        "DELETE FROM leaver_ticks WHERE person_id = $1",
    ),
    ("sessions", "DELETE FROM sessions WHERE person_id = $1"),
    (
        "sign_in_challenges",
        "DELETE FROM sign_in_challenges WHERE person_id = $1",
    ),
    (
        "recovery_codes",
        "DELETE FROM recovery_codes WHERE person_id = $1",
    ),
    (
        "account_welcomes",
        "DELETE FROM account_welcomes WHERE person_id = $1",
    ),
    ("account", "DELETE FROM accounts WHERE person_id = $1"),
    (
        "parent_links",
        "DELETE FROM parent_links WHERE parent_id = $1 OR child_id = $1",
    ),
    // The review stays (an allow entry may come from it): who asked is kept by id only.
    (
        "review_requests_stripped",
        "UPDATE review_requests SET reason = '', client_ip = '' WHERE requested_by = $1",
    ),
    (
        "mail",
        "DELETE FROM mail_outbox WHERE recipient IN \
         (SELECT email FROM people WHERE id = $1 AND email IS NOT NULL)",
    ),
];

impl Store {
    /// Erases `person_id`'s records, refused (a conflict that says until when they are kept,
    /// and why) while `rules` keep them; the permit is for [`Action::EraseRecords`] of that
    /// person. All or nothing, with its `person.erased` audit row (counts only).
    pub async fn erase_person(
        &self,
        permit: &Permit,
        rules: &RetentionPolicy,
        person_id: i64,
    ) -> Result<super::Erased> {
        check(permit, Action::EraseRecords, Target::Person(person_id))?;
        let today = today(self);
        let mut tx = self.begin_write().await?;
        let erased: Option<Option<String>> =
            sqlx::query_scalar("SELECT erased_at FROM people WHERE id = $1")
                .bind(person_id)
                .fetch_optional(&mut *tx)
                .await?;
        match erased {
            None => return Err(no_person(person_id)),
            Some(Some(at)) => {
                return Err(StoreError::Conflict(format!(
                    "these records were already erased, at {at}"
                )));
            }
            Some(None) => {}
        }
        let facts = facts(&mut tx, rules, person_id, today).await?;
        let standing = standing(rules, &facts, today);
        if !standing.erasable() {
            return Err(StoreError::Conflict(format!(
                "these records may not be erased yet. {}",
                standing.sentence()
            )));
        }
        let [concerns, entries, attachments, files] =
            erase_own_concerns(&mut tx, person_id).await?;
        let mut counts = vec![
            ("concerns", concerns),
            ("concern_entries", entries),
            ("attachments", attachments),
            ("files", files),
        ];
        let username: String = sqlx::query_scalar("SELECT username FROM people WHERE id = $1")
            .bind(person_id)
            .fetch_one(&mut *tx)
            .await?;
        for (what, sql) in ERASE {
            counts.push((what, run(&mut tx, sql, person_id).await?));
        }
        let failures = sqlx::query("DELETE FROM sign_in_failures WHERE LOWER(username) = $1")
            .bind(username.to_lowercase())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        counts.push(("sign_in_failures", failures));
        // The row stays for the ids that point at it; nothing in it names or describes them.
        // `#` cannot begin a username anyone is given, so the placeholder is never taken.
        sqlx::query(
            "UPDATE people SET username = $2, display_name = 'Erased person', roles = '', \
             year_group = NULL, class_name = NULL, email = NULL, mis_id = NULL, upn = NULL, \
             legal_name = NULL, date_of_birth = NULL, admitted_on = NULL, leaves_on = NULL, \
             phone = NULL, expires_at = NULL, active = 0, left_at = NULL, erased_at = $3 \
             WHERE id = $1",
        )
        .bind(person_id)
        .bind(format!("#erased-{person_id}"))
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::PersonErased {
            person: person_id,
            counts: &counts,
        };
        record(&mut tx, &self.clock, permit.actor_id(), what).await?;
        tx.commit().await?;
        Ok(super::Erased { counts })
    }
}

//! Reading one person's records for their subject access export, in the caller's transaction,
//! with every other person's name redacted from names and free text alike.

use super::{
    ACCESS_ROWS, AccessCopy, AccountCopy, AlertCopy, AttachmentCopy, Capped, ConcernCopy,
    ConsentCopy, DeviceCopy, EntryCopy, HISTORY_ROWS, HistoryEntry, LinkCopy, LoanCopy,
    ReviewRequestCopy, SIGN_IN_ROWS, SubjectAccess, TrainingCopy, no_person,
};
use crate::concerns::{ACTION_COLUMNS, CONCERN_COLUMNS};
use crate::people::person_in;
use crate::{ActionRecord, ConcernRecord, Result};
use policy::PersonKind;
use policy::subject_access::{Redactor, SOMEONE, redaction_label};
use serde_json::Value;
use sqlx::{Any, FromRow, Transaction};
use std::collections::HashMap;

type Tx = Transaction<'static, Any>;

/// Everyone the school holds, as the export names them.
#[derive(FromRow)]
struct Known {
    id: i64,
    username: String,
    display_name: String,
    legal_name: Option<String>,
    kind: String,
    erased_at: Option<String>,
}

/// Who is who: the subject by name, anyone else as what they are.
struct Directory {
    subject: i64,
    subject_name: String,
    kinds: HashMap<i64, (String, PersonKind)>,
    redactor: Redactor,
}

impl Directory {
    async fn load(tx: &mut Tx, subject: i64, subject_name: &str) -> Result<Directory> {
        let known: Vec<Known> = sqlx::query_as(
            "SELECT id, username, display_name, legal_name, kind, erased_at FROM people",
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut kinds = HashMap::new();
        let mut own: Vec<&str> = Vec::new();
        let mut others: Vec<(&str, PersonKind)> = Vec::new();
        for k in &known {
            let kind = PersonKind::parse(&k.kind).unwrap_or(PersonKind::Visitor);
            kinds.insert(k.id, (k.display_name.clone(), kind));
            let names = [
                Some(k.display_name.as_str()),
                k.legal_name.as_deref(),
                Some(k.username.as_str()),
            ];
            if k.id == subject {
                own.extend(names.into_iter().flatten());
            } else if k.erased_at.is_none() {
                // An erased person's row holds no name any more.
                others.extend(names.into_iter().flatten().map(|n| (n, kind)));
            }
        }
        Ok(Directory {
            subject,
            subject_name: subject_name.to_string(),
            kinds,
            redactor: Redactor::new(own, others),
        })
    }

    /// How person `id` appears in the export: the subject by name, anyone else redacted.
    fn name(&self, id: i64) -> String {
        if id == self.subject {
            return self.subject_name.clone();
        }
        match self.kinds.get(&id) {
            Some((_, kind)) => redaction_label(*kind).to_string(),
            None => SOMEONE.to_string(),
        }
    }

    fn text(&self, s: &str) -> String {
        self.redactor.text(s)
    }

    fn opt(&self, s: &Option<String>) -> Option<String> {
        s.as_deref().map(|s| self.text(s))
    }

    /// `value` with every string in it redacted.
    fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| match (k.as_str(), v.as_i64()) {
                        // A person named by id in a timeline entry (its assignee).
                        ("assignee_id", Some(id)) => ("assignee".to_string(), self.name(id).into()),
                        _ => (k.clone(), self.json(v)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// What the export reads of an alert.
#[derive(FromRow)]
struct AlertRow {
    id: i64,
    severity: String,
    rule: String,
    group_name: String,
    first_at: String,
    last_at: String,
    count: i64,
    status: String,
    status_note: Option<String>,
    handled_by: Option<i64>,
    handled_at: Option<String>,
    evidence: String,
}

#[derive(FromRow)]
struct AttachmentRow {
    filename: String,
    content_type: String,
    size: i64,
    added_at: String,
}

/// Everything held about `person_id`, prepared at `now` by `actor` (`None`: the operator).
pub(super) async fn gather(
    tx: &mut Tx,
    now: String,
    actor: Option<i64>,
    person_id: i64,
) -> Result<SubjectAccess> {
    let person = person_in(tx, person_id)
        .await?
        .ok_or_else(|| no_person(person_id))?;
    let dir = Directory::load(tx, person_id, &person.display_name).await?;
    // A trust's person acting in the school is not one of the school's people.
    let prepared_by = match (actor, dir.kinds.get(&actor.unwrap_or_default())) {
        (None, _) => "the server's operator".to_string(),
        (Some(_), Some((name, _))) => name.clone(),
        (Some(_), None) => "someone from the trust".to_string(),
    };
    let (email, erased_at): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT email, erased_at FROM people WHERE id = $1")
            .bind(person_id)
            .fetch_one(&mut **tx)
            .await?;
    let account: Option<AccountCopy> = sqlx::query_as(
        "SELECT active, created_at, password_changed_at, failed_logins, locked_until, \
         totp_enrolled_at FROM accounts WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    let links: Vec<LinkCopy> = sqlx::query_as(
        "SELECT p.id, p.display_name, p.kind, l.relationship, l.parental_responsibility \
         FROM parent_links l JOIN people p ON p.id = CASE WHEN l.child_id = $1 \
         THEN l.parent_id ELSE l.child_id END \
         WHERE l.child_id = $1 OR l.parent_id = $1 ORDER BY p.display_name",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    let concerns = concerns(tx, &dir).await?;
    let (reports_about_others,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM concerns WHERE reporter_id = $1 \
         AND id NOT IN (SELECT concern_id FROM concern_subjects WHERE person_id = $1)",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    let alerts = alerts(tx, &dir).await?;
    let access_log = access_log(tx, &dir).await?;
    let mut consents: Vec<ConsentCopy> = sqlx::query_as(
        "SELECT purpose, given, named, by_whom, given_on, note, recorded_at FROM photo_consents \
         WHERE pupil_id = $1 ORDER BY id DESC",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    for c in &mut consents {
        c.by_whom = dir.text(&c.by_whom);
        c.note = dir.text(&c.note);
    }
    let acknowledgements: Vec<crate::Acknowledgement> = sqlx::query_as(
        "SELECT person_id, document, version, acknowledged_at, method FROM acknowledgements \
         WHERE person_id = $1 ORDER BY acknowledged_at DESC, id DESC",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut training: Vec<TrainingCopy> = sqlx::query_as(
        "SELECT s.course, s.held_on, s.note, s.evidence_name FROM training_attendance a \
         JOIN training_sessions s ON s.id = a.session_id WHERE a.person_id = $1 \
         ORDER BY s.held_on DESC, s.id DESC",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    for t in &mut training {
        t.note = dir.text(&t.note);
        t.evidence_name = dir.opt(&t.evidence_name);
    }
    let devices: Vec<DeviceCopy> = sqlx::query_as(
        "SELECT name, ip, mac, group_name, added_at, retired_at FROM devices \
         WHERE holder_id = $1 ORDER BY added_at, id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut loans: Vec<LoanCopy> = sqlx::query_as(
        "SELECT d.name AS device, l.lent_on, l.due_on, l.condition_out, l.returned_on, \
         l.condition_back FROM device_loans l JOIN devices d ON d.id = l.device_id \
         WHERE l.person_id = $1 ORDER BY l.lent_on DESC, l.id DESC",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    for l in &mut loans {
        l.condition_out = dir.text(&l.condition_out);
        l.condition_back = dir.opt(&l.condition_back);
    }
    let sign_in_failures = sign_in_failures(tx, &person.username).await?;
    let mut review_requests: Vec<ReviewRequestCopy> = sqlx::query_as(
        "SELECT requested_at, url, category, reason, status, decided_at, decision_note \
         FROM review_requests WHERE requested_by = $1 ORDER BY id DESC",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    for r in &mut review_requests {
        r.reason = dir.text(&r.reason);
        r.decision_note = dir.opt(&r.decision_note);
    }
    let record_history = record_history(tx, person_id).await?;
    Ok(SubjectAccess {
        prepared_at: now,
        prepared_by,
        person,
        email,
        erased_at,
        account,
        links,
        concerns,
        reports_about_others,
        alerts,
        access_log,
        consents,
        acknowledgements,
        training,
        devices,
        loans,
        sign_in_failures,
        review_requests,
        record_history,
    })
}

/// The concerns about the subject, oldest first, each with its timeline and files listed.
async fn concerns(tx: &mut Tx, dir: &Directory) -> Result<Vec<ConcernCopy>> {
    let records: Vec<ConcernRecord> = sqlx::query_as(sql!(
        "SELECT {CONCERN_COLUMNS} FROM concerns WHERE id IN \
         (SELECT concern_id FROM concern_subjects WHERE person_id = $1) ORDER BY id"
    ))
    .bind(dir.subject)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(records.len());
    for c in records {
        let subjects: Vec<i64> = sqlx::query_scalar(
            "SELECT person_id FROM concern_subjects WHERE concern_id = $1 ORDER BY person_id",
        )
        .bind(c.id)
        .fetch_all(&mut **tx)
        .await?;
        let actions: Vec<ActionRecord> = sqlx::query_as(sql!(
            "SELECT {ACTION_COLUMNS} FROM concern_actions WHERE concern_id = $1 ORDER BY id"
        ))
        .bind(c.id)
        .fetch_all(&mut **tx)
        .await?;
        let files: Vec<AttachmentRow> = sqlx::query_as(
            "SELECT filename, content_type, size, added_at FROM attachments \
             WHERE concern_id = $1 ORDER BY id",
        )
        .bind(c.id)
        .fetch_all(&mut **tx)
        .await?;
        out.push(ConcernCopy {
            id: c.id,
            category: c.category.clone(),
            form: c.form.clone(),
            reported_at: c.created_at.clone(),
            occurred_at: dir.opt(&c.occurred_at),
            platform: dir.opt(&c.platform),
            status: c.status.as_str().to_string(),
            severity: c.severity.map(|s| s.as_str().to_string()),
            reported_by: dir.name(c.reporter_id),
            handled_by: c.assignee_id.map(|id| dir.name(id)),
            others_about: subjects
                .iter()
                .filter(|s| **s != dir.subject)
                .map(|s| dir.name(*s))
                .collect(),
            summary: dir.text(&c.summary),
            details: dir.text(&c.details),
            about_text: dir.opt(&c.about_text),
            outcome: dir.opt(&c.outcome),
            timeline: actions
                .iter()
                .map(|a| EntryCopy {
                    at: a.at.clone(),
                    kind: a.kind.as_str().to_string(),
                    by: dir.name(a.actor_id),
                    body: dir.json(&a.body),
                })
                .collect(),
            attachments: files
                .into_iter()
                .map(|f| AttachmentCopy {
                    filename: dir.text(&f.filename),
                    content_type: f.content_type,
                    size: f.size,
                    added_at: f.added_at,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// The monitoring alerts about the subject, oldest first.
async fn alerts(tx: &mut Tx, dir: &Directory) -> Result<Vec<AlertCopy>> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "SELECT id, severity, rule, group_name, first_at, last_at, count, status, status_note, \
         handled_by, handled_at, evidence FROM alerts WHERE person_id = $1 ORDER BY id",
    )
    .bind(dir.subject)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| AlertCopy {
            id: a.id,
            severity: a.severity,
            rule: a.rule,
            group_name: a.group_name,
            first_at: a.first_at,
            last_at: a.last_at,
            count: a.count,
            status: a.status,
            status_note: dir.opt(&a.status_note),
            handled_by: a.handled_by.map(|id| dir.name(id)),
            handled_at: a.handled_at,
            evidence: dir.json(&serde_json::from_str(&a.evidence).unwrap_or(Value::Null)),
        })
        .collect())
}

/// The subject's newest access-log rows (the log links them by id; every row that names a
/// user names their id too), and how many there are.
async fn access_log(tx: &mut Tx, dir: &Directory) -> Result<Capped<AccessCopy>> {
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM access_log WHERE person_id = $1")
        .bind(dir.subject)
        .fetch_one(&mut **tx)
        .await?;
    let mut rows: Vec<AccessCopy> = sqlx::query_as(
        "SELECT at, source, name, url, search_term, verdict, category, device, client_ip \
         FROM access_log WHERE person_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(dir.subject)
    .bind(ACCESS_ROWS)
    .fetch_all(&mut **tx)
    .await?;
    for r in &mut rows {
        r.search_term = dir.opt(&r.search_term);
    }
    Ok(Capped { total, rows })
}

/// Failed sign-ins under the subject's username (as typed, in any case), newest first.
async fn sign_in_failures(
    tx: &mut Tx,
    username: &str,
) -> Result<Capped<crate::sign_ins::SignInFailure>> {
    let username = username.to_lowercase();
    let (total,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sign_in_failures WHERE LOWER(username) = $1")
            .bind(&username)
            .fetch_one(&mut **tx)
            .await?;
    let rows = sqlx::query_as(
        "SELECT at, reason, source, username, path FROM sign_in_failures \
         WHERE LOWER(username) = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(&username)
    .bind(SIGN_IN_ROWS)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Capped { total, rows })
}

/// The audit trail's entries about the subject's record, newest first: when and what.
async fn record_history(tx: &mut Tx, person_id: i64) -> Result<Capped<HistoryEntry>> {
    // People's ids are unique across schools, so their rows are theirs in any scope.
    let id = person_id.to_string();
    let (total,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE object_type = 'person' AND object_id = $1",
    )
    .bind(&id)
    .fetch_one(&mut **tx)
    .await?;
    let rows = sqlx::query_as(
        "SELECT at, action FROM audit_log WHERE object_type = 'person' AND object_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(&id)
    .bind(HISTORY_ROWS)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Capped { total, rows })
}

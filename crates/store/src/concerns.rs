//! The confidential safeguarding log: concerns, their subjects, timelines and attachments.
//!
//! Nothing is edited or deleted: triage, closing and reopening update a concern's current
//! state *and* add a timeline entry; corrections are new entries. Every change is audited in
//! the same transaction.

use crate::audit::{AuditAction, record};
use crate::{Result, Store, StoreError};
use policy::concern::{ActionInput, MAX_SUBJECTS, MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, ReportForm};
use policy::profile::ConcernPolicy;
use crate::permits::check;
use policy::{
    Action, ActionKind, Actor, Agency, ConcernFacts, ConcernStatus, Permit, PolicyError, RoleSet,
    RouteKind, Severity, Target,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

/// A concern as reported.
#[derive(Debug, Clone)]
pub struct NewConcern {
    pub reporter_id: i64,
    pub form: ReportForm,
    /// People the concern is about (ids).
    pub subjects: Vec<i64>,
    pub category: String,
    pub summary: String,
    pub details: String,
    /// Who it is about in the reporter's own words (pupil and parent forms).
    pub about_text: Option<String>,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

/// A file to attach; it is stored once by its SHA-256.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A stored concern with its current state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConcernRecord {
    pub id: i64,
    pub reporter_id: i64,
    pub form: String,
    pub route: RouteKind,
    #[serde(skip)]
    pub audience: RoleSet,
    pub lado_required: bool,
    pub category: String,
    pub summary: String,
    pub details: String,
    pub about_text: Option<String>,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub status: ConcernStatus,
    pub severity: Option<Severity>,
    pub assignee_id: Option<i64>,
    pub outcome: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub subjects: Vec<i64>,
}

impl ConcernRecord {
    /// What the permission check needs to know.
    pub fn facts(&self) -> ConcernFacts {
        ConcernFacts {
            id: self.id,
            reporter: self.reporter_id,
            subjects: self.subjects.clone(),
            audience: self.audience,
            status: self.status,
        }
    }
}

fn decode_err(column: &str, id: i64, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("concern {id}: unknown value `{value}`").into(),
    }
}

impl<'r> FromRow<'r, AnyRow> for ConcernRecord {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        let id: i64 = row.try_get("id")?;
        let route: String = row.try_get("route")?;
        let audience: String = row.try_get("audience")?;
        let status: String = row.try_get("status")?;
        let severity: Option<String> = row.try_get("severity")?;
        Ok(ConcernRecord {
            id,
            reporter_id: row.try_get("reporter_id")?,
            form: row.try_get("form")?,
            route: RouteKind::parse(&route).ok_or_else(|| decode_err("route", id, &route))?,
            audience: RoleSet::from_csv(&audience).map_err(|b| decode_err("audience", id, &b))?,
            lado_required: row.try_get::<i64, _>("lado_required")? != 0,
            category: row.try_get("category")?,
            summary: row.try_get("summary")?,
            details: row.try_get("details")?,
            about_text: row.try_get("about_text")?,
            occurred_at: row.try_get("occurred_at")?,
            platform: row.try_get("platform")?,
            status: ConcernStatus::parse(&status)
                .ok_or_else(|| decode_err("status", id, &status))?,
            severity: match severity {
                Some(s) => Some(Severity::parse(&s).ok_or_else(|| decode_err("severity", id, &s))?),
                None => None,
            },
            assignee_id: row.try_get("assignee_id")?,
            outcome: row.try_get("outcome")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            subjects: Vec::new(),
        })
    }
}

/// One entry of a concern's timeline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionRecord {
    pub id: i64,
    pub concern_id: i64,
    pub kind: ActionKind,
    pub actor_id: i64,
    pub at: String,
    /// Fields per kind (see `policy::concern::ActionInput`).
    pub body: serde_json::Value,
    pub corrects_id: Option<i64>,
}

impl<'r> FromRow<'r, AnyRow> for ActionRecord {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        let id: i64 = row.try_get("id")?;
        let kind: String = row.try_get("kind")?;
        let body: String = row.try_get("body")?;
        Ok(ActionRecord {
            id,
            concern_id: row.try_get("concern_id")?,
            kind: ActionKind::parse(&kind).ok_or_else(|| decode_err("kind", id, &kind))?,
            actor_id: row.try_get("actor_id")?,
            at: row.try_get("at")?,
            body: serde_json::from_str(&body).map_err(|e| sqlx::Error::ColumnDecode {
                index: "body".into(),
                source: Box::new(e),
            })?,
            corrects_id: row.try_get("corrects_id")?,
        })
    }
}

/// A file attached to a concern.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Attachment {
    pub id: i64,
    pub concern_id: i64,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub added_by: i64,
    pub added_at: String,
}

/// A change of a concern's triage fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    pub assignee_id: Option<i64>,
    pub severity: Option<Severity>,
    pub status: Option<ConcernStatus>,
}

/// Which concerns a list shows.
#[derive(Debug, Clone, Default)]
pub struct ConcernFilter {
    pub status: Option<ConcernStatus>,
    /// Only concerns about this person.
    pub subject: Option<i64>,
}

const CONCERN_COLUMNS: &str = "id, reporter_id, form, route, audience, lado_required, category, summary, details, about_text, occurred_at, platform, status, severity, assignee_id, outcome, created_at, updated_at";
const ACTION_COLUMNS: &str = "id, concern_id, kind, actor_id, at, body, corrects_id";

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(PolicyError::invalid(field, message))
}

impl NewConcern {
    /// Checks the fields that need no database, naming the first that is wrong.
    pub fn validate(&self, policy: &ConcernPolicy) -> Result<(), PolicyError> {
        use policy::concern::{check_optional_text, check_text};
        if !policy.categories.iter().any(|c| c.id == self.category) {
            return Err(PolicyError::invalid(
                "category",
                format!("`{}` is not one of the school's categories", self.category),
            ));
        }
        check_text("summary", &self.summary, MAX_SUMMARY_CHARS)?;
        check_text("details", &self.details, MAX_TEXT_CHARS)?;
        for (field, v, max) in [
            ("about", &self.about_text, 500),
            ("occurred_at", &self.occurred_at, 50),
            ("platform", &self.platform, 100),
        ] {
            if let Some(v) = v {
                check_optional_text(field, v, max)?;
            }
        }
        if self.subjects.len() > MAX_SUBJECTS {
            return Err(PolicyError::invalid(
                "subjects",
                format!("at most {MAX_SUBJECTS} people"),
            ));
        }
        if self.form == ReportForm::Staff && self.subjects.is_empty() {
            return Err(PolicyError::invalid(
                "subjects",
                "choose at least one person the concern is about",
            ));
        }
        for a in &self.attachments {
            check_attachment(policy, a)?;
        }
        Ok(())
    }
}

/// File types accepted as evidence: screenshots, photos, PDFs and plain text.
pub const ALLOWED_CONTENT_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// Checks an attachment's size and that its bytes are what its type says.
pub fn check_attachment(policy: &ConcernPolicy, a: &NewAttachment) -> Result<(), PolicyError> {
    policy::concern::check_text("filename", &a.filename, 200)?;
    if a.bytes.is_empty() {
        return Err(PolicyError::invalid(
            "attachment",
            format!("`{}` is empty", a.filename),
        ));
    }
    if a.bytes.len() as u64 > policy.max_attachment_bytes {
        return Err(PolicyError::invalid(
            "attachment",
            format!(
                "`{}` is {} bytes; the limit is {}",
                a.filename,
                a.bytes.len(),
                policy.max_attachment_bytes
            ),
        ));
    }
    let sniffed = sniff(&a.bytes);
    if !ALLOWED_CONTENT_TYPES.contains(&a.content_type.as_str())
        || sniffed != Some(a.content_type.as_str())
    {
        return Err(PolicyError::invalid(
            "attachment",
            format!(
                "`{}` must be a PNG, JPEG, GIF, WebP, PDF or text file whose contents match its type (declared {}, looks like {})",
                a.filename,
                a.content_type,
                sniffed.unwrap_or("something else")
            ),
        ));
    }
    Ok(())
}

/// The extension of a verified content type.
fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "txt",
    }
}

/// The name an attachment is kept and served under: the user's name with its extension
/// replaced by the verified type's, so `evil.html` uploaded as a PNG is `evil.png`.
pub fn verified_filename(filename: &str, content_type: &str) -> String {
    let name = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => name,
    };
    let stem = stem.trim_matches('.');
    let stem = if stem.is_empty() { "attachment" } else { stem };
    format!("{stem}.{}", extension_of(content_type))
}

/// The content type the bytes themselves show, from their signature.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if std::str::from_utf8(bytes).is_ok_and(|s| !s.contains('\0')) {
        Some("text/plain")
    } else {
        None
    }
}

async fn insert_action(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
    kind: ActionKind,
    actor_id: i64,
    body: &serde_json::Value,
    corrects_id: Option<i64>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO concern_actions (concern_id, kind, actor_id, at, body, corrects_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(concern_id)
    .bind(kind.as_str())
    .bind(actor_id)
    .bind(crate::stamp(clock.now()))
    .bind(body.to_string())
    .bind(corrects_id)
    .fetch_one(&mut **tx)
    .await?)
}

async fn insert_attachment(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
    actor_id: i64,
    a: &NewAttachment,
) -> Result<i64> {
    let sha = hex::encode(Sha256::digest(&a.bytes));
    let size = i64::try_from(a.bytes.len()).unwrap_or(i64::MAX);
    // `check_attachment` verified the type against the bytes; the name follows the type.
    let filename = verified_filename(&a.filename, &a.content_type);
    sqlx::query(
        "INSERT INTO blobs (sha256, content, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&sha)
    .bind(a.bytes.clone())
    .bind(size)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO attachments (concern_id, sha256, filename, content_type, size, added_by, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(concern_id)
    .bind(&sha)
    .bind(&filename)
    .bind(&a.content_type)
    .bind(size)
    .bind(actor_id)
    .bind(crate::stamp(clock.now()))
    .fetch_one(&mut **tx)
    .await?;
    let body = json!({"attachment_id": id, "filename": filename, "sha256": sha, "size": size});
    insert_action(
        tx,
        clock,
        concern_id,
        ActionKind::Attachment,
        actor_id,
        &body,
        None,
    )
    .await?;
    let what = AuditAction::ConcernAttachmentAdded {
        concern: concern_id,
        attachment_id: id,
        sha256: &sha,
        size,
    };
    record(tx, clock, Some(actor_id), what).await?;
    Ok(id)
}

async fn load_for_update(tx: &mut Transaction<'static, Any>, id: i64) -> Result<ConcernRecord> {
    sqlx::query_as::<_, ConcernRecord>(sql!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("concern {id}"),
        })
}

impl Store {
    /// Files a concern, routed by the profile; returns its id. All or nothing. The permit is
    /// for [`Action::ReportConcern`], and its holder is the reporter (the operator's aside,
    /// which files the demo's concerns in their reporters' names).
    pub async fn create_concern(
        &self,
        permit: &Permit,
        policy: &ConcernPolicy,
        new: &NewConcern,
    ) -> Result<i64> {
        let actor = check(permit, Action::ReportConcern, Target::School)?;
        if !permit.is_operator() && actor.person_id != new.reporter_id {
            return Err(StoreError::Conflict(format!(
                "a permit for person {} to report cannot file a report by person {}",
                actor.person_id, new.reporter_id
            )));
        }
        new.validate(policy)?;
        let mut subjects = new.subjects.clone();
        subjects.sort_unstable();
        subjects.dedup();
        let mut subject_roles = Vec::with_capacity(subjects.len());
        for id in &subjects {
            let person = self
                .person(*id)
                .await?
                .ok_or_else(|| invalid("subjects", format!("person {id} does not exist")))?;
            subject_roles.push(person.roles);
        }
        let route = policy::route(policy, &subject_roles)?;
        // The first point of contact is assigned, unless they are a subject themselves.
        let candidates: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, roles FROM people WHERE active = 1 ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let assignee = candidates.into_iter().find_map(|(id, roles)| {
            let roles = RoleSet::from_csv(&roles).ok()?;
            (roles.contains(route.first_contact) && !subjects.contains(&id)).then_some(id)
        });

        let mut tx = self.begin_write().await?;
        let at = self.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO concerns (reporter_id, form, route, audience, lado_required, category, summary, details,
                                   about_text, occurred_at, platform, status, severity, assignee_id, outcome, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, NULL, $14, $14) RETURNING id",
        )
        .bind(new.reporter_id)
        .bind(new.form.as_str())
        .bind(route.kind.as_str())
        .bind(route.audience.to_csv())
        .bind(i64::from(route.lado_required))
        .bind(&new.category)
        .bind(new.summary.trim())
        .bind(&new.details)
        .bind(&new.about_text)
        .bind(&new.occurred_at)
        .bind(&new.platform)
        .bind(ConcernStatus::New.as_str())
        .bind(assignee)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        for s in &subjects {
            sqlx::query("INSERT INTO concern_subjects (concern_id, person_id) VALUES ($1, $2)")
                .bind(id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
        }
        let body = json!({"route": route.kind.as_str(), "assignee_id": assignee});
        insert_action(
            &mut tx,
            &self.clock,
            id,
            ActionKind::Reported,
            new.reporter_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernReported {
            id,
            category: &new.category,
            route: route.kind,
            audience: route.audience,
            fallback: route.fallback,
            subjects: &subjects,
            assignee,
        };
        record(&mut tx, &self.clock, Some(new.reporter_id), what).await?;
        for a in &new.attachments {
            insert_attachment(&mut tx, &self.clock, id, new.reporter_id, a).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// One concern with its subjects.
    pub async fn concern(&self, id: i64) -> Result<Option<ConcernRecord>> {
        let c: Option<ConcernRecord> =
            sqlx::query_as(sql!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match c {
            Some(mut c) => {
                c.subjects = self.subjects_of(c.id).await?;
                Ok(Some(c))
            }
            None => Ok(None),
        }
    }

    async fn subjects_of(&self, concern_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT person_id FROM concern_subjects WHERE concern_id = $1 ORDER BY person_id",
        )
        .bind(concern_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Concerns `actor` might see (reported by them, or routed to one of their roles), newest
    /// first. A pre-filter only: callers still ask `policy::can` of each.
    pub async fn concerns_for(
        &self,
        actor: &Actor,
        filter: &ConcernFilter,
    ) -> Result<Vec<ConcernRecord>> {
        let mut sql = format!("SELECT {CONCERN_COLUMNS} FROM concerns WHERE (reporter_id = $1");
        let roles: Vec<&str> = actor.roles.iter().map(policy::Role::as_str).collect();
        for i in 0..roles.len() {
            sql.push_str(&format!(" OR (',' || audience || ',') LIKE ${}", i + 4));
        }
        sql.push_str(") AND ($2 = '' OR status = $2)");
        sql.push_str(
            " AND ($3 = 0 OR id IN (SELECT concern_id FROM concern_subjects WHERE person_id = $3))",
        );
        sql.push_str(" ORDER BY id DESC");
        let mut q = sqlx::query_as::<_, ConcernRecord>(sqlx::AssertSqlSafe(sql))
            .bind(actor.person_id)
            .bind(filter.status.map(ConcernStatus::as_str).unwrap_or_default())
            .bind(filter.subject.unwrap_or(0));
        for r in &roles {
            q = q.bind(format!("%,{r},%"));
        }
        let mut out = q.fetch_all(&self.pool).await?;
        for c in &mut out {
            c.subjects = self.subjects_of(c.id).await?;
        }
        Ok(out)
    }

    /// A concern's timeline, oldest first.
    pub async fn actions(&self, concern_id: i64) -> Result<Vec<ActionRecord>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {ACTION_COLUMNS} FROM concern_actions WHERE concern_id = $1 ORDER BY id"
        ))
        .bind(concern_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A concern's attachments.
    pub async fn attachments(&self, concern_id: i64) -> Result<Vec<Attachment>> {
        Ok(sqlx::query_as(
            "SELECT id, concern_id, sha256, filename, content_type, size, added_by, added_at
             FROM attachments WHERE concern_id = $1 ORDER BY id",
        )
        .bind(concern_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The bytes of one attachment of one concern.
    pub async fn attachment_bytes(
        &self,
        concern_id: i64,
        attachment_id: i64,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        let a: Option<Attachment> = sqlx::query_as(
            "SELECT id, concern_id, sha256, filename, content_type, size, added_by, added_at
             FROM attachments WHERE concern_id = $1 AND id = $2",
        )
        .bind(concern_id)
        .bind(attachment_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(a) = a else { return Ok(None) };
        let bytes: Vec<u8> = sqlx::query_scalar("SELECT content FROM blobs WHERE sha256 = $1")
            .bind(&a.sha256)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((a, bytes)))
    }

    /// Adds a staff timeline entry (note, parents informed, sanction, police, referral).
    pub async fn add_action(
        &self,
        permit: &Permit,
        profile: &policy::Profile,
        concern_id: i64,
        input: &ActionInput,
    ) -> Result<i64> {
        let actor = check(permit, Action::AddConcernAction, Target::Concern(concern_id))?;
        input.validate(profile)?;
        let mut tx = self.begin_write().await?;
        load_for_update(&mut tx, concern_id).await?;
        if let Some(c) = input.corrects() {
            let belongs: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM concern_actions WHERE id = $1 AND concern_id = $2",
            )
            .bind(c)
            .bind(concern_id)
            .fetch_optional(&mut *tx)
            .await?;
            if belongs.is_none() {
                return Err(invalid(
                    "corrects",
                    format!("entry {c} is not on this concern's timeline"),
                ));
            }
        }
        let body = serde_json::to_value(input).map_err(|e| invalid("action", e.to_string()))?;
        let id = insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            input.kind(),
            actor.person_id,
            &body,
            input.corrects(),
        )
        .await?;
        touch(&mut tx, &self.clock, concern_id).await?;
        let agency = match input {
            ActionInput::Referral { agency, .. } => Some(*agency),
            _ => None,
        };
        let what = AuditAction::ConcernActionAdded {
            concern: concern_id,
            action_id: id,
            kind: input.kind(),
            agency,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Attaches a file to an existing concern.
    pub async fn add_attachment(
        &self,
        permit: &Permit,
        policy: &ConcernPolicy,
        concern_id: i64,
        a: &NewAttachment,
    ) -> Result<i64> {
        let actor = check(permit, Action::AddConcernAction, Target::Concern(concern_id))?;
        check_attachment(policy, a)?;
        let mut tx = self.begin_write().await?;
        load_for_update(&mut tx, concern_id).await?;
        let id = insert_attachment(&mut tx, &self.clock, concern_id, actor.person_id, a).await?;
        touch(&mut tx, &self.clock, concern_id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Assigns, sets severity and status (not closed: closing needs an outcome).
    pub async fn triage(&self, permit: &Permit, concern_id: i64, t: &Triage) -> Result<()> {
        let actor = check(permit, Action::TriageConcern, Target::Concern(concern_id))?;
        if t.status == Some(ConcernStatus::Closed) {
            return Err(invalid("status", "close a concern with an outcome instead"));
        }
        if let Some(a) = t.assignee_id {
            let ok = self.person(a).await?.is_some_and(|p| p.active);
            if !ok {
                return Err(invalid(
                    "assignee",
                    format!("person {a} is not an active member of staff"),
                ));
            }
        }
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status == ConcernStatus::Closed {
            return Err(invalid("status", "the concern is closed; reopen it first"));
        }
        let status = t.status.unwrap_or(if c.status == ConcernStatus::New {
            ConcernStatus::InProgress
        } else {
            c.status
        });
        let severity = t.severity.or(c.severity);
        let assignee = t.assignee_id.or(c.assignee_id);
        sqlx::query("UPDATE concerns SET status = $1, severity = $2, assignee_id = $3, updated_at = $4 WHERE id = $5")
            .bind(status.as_str())
            .bind(severity.map(Severity::as_str))
            .bind(assignee)
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let what = AuditAction::ConcernTriaged {
            concern: concern_id,
            status,
            severity,
            assignee,
        };
        // The timeline entry says what the audit row says.
        let body = what.details();
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Triaged,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes a concern with its outcome; refused while the profile's LADO step is missing.
    pub async fn close_concern(
        &self,
        permit: &Permit,
        concern_id: i64,
        outcome: &str,
    ) -> Result<()> {
        let actor = check(permit, Action::CloseConcern, Target::Concern(concern_id))?;
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status == ConcernStatus::Closed {
            return Err(invalid("status", "the concern is already closed"));
        }
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM concern_actions WHERE concern_id = $1 AND kind = $2",
        )
        .bind(concern_id)
        .bind(ActionKind::Referral.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let agencies: Vec<Agency> = bodies
            .iter()
            .filter_map(|b| serde_json::from_str::<ActionInput>(b).ok())
            .filter_map(|a| match a {
                ActionInput::Referral { agency, .. } => Some(agency),
                _ => None,
            })
            .collect();
        policy::concern::close_blocker(c.lado_required, &agencies, outcome)?;
        sqlx::query("UPDATE concerns SET status = $1, outcome = $2, updated_at = $3 WHERE id = $4")
            .bind(ConcernStatus::Closed.as_str())
            .bind(outcome)
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let body = json!({"outcome": outcome});
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Closed,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernClosed {
            concern: concern_id,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reopens a closed concern; the reason is a timeline entry.
    pub async fn reopen_concern(
        &self,
        permit: &Permit,
        concern_id: i64,
        reason: &str,
    ) -> Result<()> {
        let actor = check(permit, Action::ReopenConcern, Target::Concern(concern_id))?;
        policy::concern::check_text("reason", reason, MAX_TEXT_CHARS)?;
        let mut tx = self.begin_write().await?;
        let c = load_for_update(&mut tx, concern_id).await?;
        if c.status != ConcernStatus::Closed {
            return Err(invalid("status", "only a closed concern can be reopened"));
        }
        sqlx::query("UPDATE concerns SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(ConcernStatus::InProgress.as_str())
            .bind(self.now())
            .bind(concern_id)
            .execute(&mut *tx)
            .await?;
        let body = json!({"reason": reason});
        insert_action(
            &mut tx,
            &self.clock,
            concern_id,
            ActionKind::Reopened,
            actor.person_id,
            &body,
            None,
        )
        .await?;
        let what = AuditAction::ConcernReopened {
            concern: concern_id,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn touch(
    tx: &mut Transaction<'static, Any>,
    clock: &clock::Clock,
    concern_id: i64,
) -> Result<()> {
    sqlx::query("UPDATE concerns SET updated_at = $1 WHERE id = $2")
        .bind(crate::stamp(clock.now()))
        .bind(concern_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

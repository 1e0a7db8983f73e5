//! The confidential safeguarding log: concerns, their subjects, timelines and attachments.
//!
//! Nothing is edited or deleted: triage, closing and reopening update a concern's current
//! state *and* add a timeline entry; corrections are new entries. Every change is audited in
//! the same transaction.

use crate::StoreError;
use policy::{ActionKind, ConcernFacts, ConcernStatus, PolicyError, RoleSet, RouteKind, Severity};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

mod attachments;
mod create;
mod escalate;
pub use escalate::untriaged_rule;
mod read;
mod timeline;
mod triage;

pub use policy::concern::{NewAttachment, NewConcern};

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

pub(crate) const CONCERN_COLUMNS: &str = "id, reporter_id, form, route, audience, lado_required, category, summary, details, about_text, occurred_at, platform, status, severity, assignee_id, outcome, created_at, updated_at";
pub(crate) const ACTION_COLUMNS: &str = "id, concern_id, kind, actor_id, at, body, corrects_id";

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(PolicyError::invalid(field, message))
}

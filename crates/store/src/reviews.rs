//! Review requests from the block page, the network manager's decisions on them, and the
//! school's own allow and block entries (from those decisions, or added directly). Every change
//! is in the audit chain with who, when, what and why: that is the filtering decision log.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, PolicyError, Target};
use sqlx::FromRow;

/// What the block page's form sends.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub url: String,
    pub host: String,
    pub category: Option<String>,
    pub rule: Option<String>,
    /// The filtering group of the device the request came from.
    pub group_name: String,
    pub client_ip: String,
    pub reason: String,
}

/// A stored review request, with the names of who asked and who decided.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Review {
    pub id: i64,
    pub url: String,
    pub host: String,
    pub category: Option<String>,
    pub rule: Option<String>,
    pub group_name: String,
    pub client_ip: String,
    pub requested_by: i64,
    pub requester_name: String,
    pub reason: String,
    pub requested_at: String,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decider_name: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

/// A host the school allows or blocks for a group (`*`: every group) beyond the profile's
/// lists.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct FilterEntry {
    pub id: i64,
    /// `allow` or `block`.
    pub kind: String,
    pub host: String,
    pub group_name: String,
    pub reason: String,
    pub added_by: i64,
    pub added_by_name: String,
    pub added_at: String,
    pub review_id: Option<i64>,
}

/// An entry added directly (not by approving a review request).
#[derive(Debug, Clone)]
pub struct NewFilterEntry {
    /// `allow` or `block`.
    pub kind: String,
    /// Already normalised (lower case, punycode), as the filter compares names.
    pub host: String,
    /// A group of the profile, or `*` for every group.
    pub group_name: String,
    pub reason: String,
}

/// The network manager's answer to a review request.
#[derive(Debug, Clone)]
pub enum ReviewDecision {
    /// Allow the host for `group` (`*` for every group), for the reason given.
    Approve {
        group: String,
        note: String,
    },
    Decline {
        note: String,
    },
}

/// The longest free text kept (a reason or note).
const MAX_TEXT: usize = 2000;

fn invalid(field: &str, message: &str) -> StoreError {
    StoreError::Invalid(PolicyError::invalid(field, message))
}

fn text(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(field, "say why"));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(invalid(field, "is longer than 2000 characters"));
    }
    Ok(v.to_string())
}

const REVIEW_SELECT: &str = "SELECT r.id, r.url, r.host, r.category, r.rule, r.group_name, \
     r.client_ip, r.requested_by, COALESCE(p.display_name, 'someone from the trust') AS \
     requester_name, r.reason, r.requested_at, r.status, r.decided_by, \
     COALESCE(d.display_name, CASE WHEN r.decided_by IS NULL THEN NULL ELSE 'someone from the trust' END) AS decider_name, \
     r.decided_at, r.decision_note \
     FROM review_requests r LEFT JOIN people p ON p.id = r.requested_by \
     LEFT JOIN people d ON d.id = r.decided_by";

impl Store {
    /// Files a review request from the block page; returns its id.
    pub async fn request_review(&self, permit: &Permit, new: &NewReview) -> Result<i64> {
        let actor = check(permit, Action::RequestReview, Target::School)?;
        let reason = text("reason", &new.reason)?;
        if new.host.is_empty() || new.url.len() > 4096 {
            return Err(invalid("url", "is not an address that was blocked"));
        }
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO review_requests (url, host, category, rule, group_name, client_ip, \
             requested_by, reason, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(&new.url)
        .bind(&new.host)
        .bind(&new.category)
        .bind(&new.rule)
        .bind(&new.group_name)
        .bind(&new.client_ip)
        .bind(actor.person_id)
        .bind(&reason)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::ReviewRequested {
            id,
            host: &new.host,
            group: &new.group_name,
            category: new.category.as_deref(),
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Review requests, pending first (oldest first), then decided ones (newest first).
    pub async fn reviews(&self, limit: i64) -> Result<Vec<Review>> {
        let sql = format!(
            "{REVIEW_SELECT} ORDER BY CASE WHEN r.status = 'pending' THEN 0 ELSE 1 END, \
             CASE WHEN r.status = 'pending' THEN r.requested_at ELSE '' END, \
             r.decided_at DESC, r.id DESC LIMIT $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// The review requests one person made, newest first.
    pub async fn reviews_by(&self, person_id: i64, limit: i64) -> Result<Vec<Review>> {
        let sql = format!("{REVIEW_SELECT} WHERE r.requested_by = $1 ORDER BY r.id DESC LIMIT $2");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(person_id)
            .bind(limit)
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// One review request.
    pub async fn review(&self, id: i64) -> Result<Review> {
        let sql = format!("{REVIEW_SELECT} WHERE r.id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?
            .ok_or(StoreError::NotFound {
                what: format!("review request {id}"),
            })
    }

    /// Approves (adding an allow entry) or declines a pending request, in one transaction with
    /// its audit rows. A request already decided is a conflict, so two managers cannot both act.
    pub async fn decide_review(
        &self,
        permit: &Permit,
        id: i64,
        decision: &ReviewDecision,
    ) -> Result<()> {
        let actor = check(permit, Action::ChangeFiltering, Target::Filtering)?;
        let (status, note) = match decision {
            ReviewDecision::Approve { note, .. } => ("approved", text("note", note)?),
            ReviewDecision::Decline { note } => ("declined", text("note", note)?),
        };
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT host, status FROM review_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((host, current)) = found else {
            return Err(StoreError::NotFound {
                what: format!("review request {id}"),
            });
        };
        if current != "pending" {
            return Err(StoreError::Conflict(format!(
                "review request {id} was already {current}"
            )));
        }
        let at = self.now();
        sqlx::query(
            "UPDATE review_requests SET status = $1, decided_by = $2, decided_at = $3, \
             decision_note = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(actor.person_id)
        .bind(&at)
        .bind(&note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut what = AuditAction::ReviewDeclined {
            id,
            host: &host,
            why: &note,
        };
        if let ReviewDecision::Approve { group, .. } = decision {
            let (entry,): (i64,) = sqlx::query_as(
                "INSERT INTO allow_entries (host, group_name, reason, added_by, added_at, review_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&host)
            .bind(group)
            .bind(&note)
            .bind(actor.person_id)
            .bind(&at)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            what = AuditAction::ReviewApproved {
                id,
                host: &host,
                group,
                why: &note,
                allow_entry: entry,
            };
        }
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The school's allow and block entries in force.
    pub async fn filter_entries(&self) -> Result<Vec<FilterEntry>> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.kind, a.host, a.group_name, a.reason, a.added_by, \
             COALESCE(p.display_name, 'someone from the trust') AS added_by_name, a.added_at, \
             a.review_id FROM allow_entries a LEFT JOIN people p ON p.id = a.added_by \
             WHERE a.removed_at IS NULL ORDER BY a.kind, a.host, a.group_name",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Allows or blocks a host for a group directly, with its audit row; returns the entry's
    /// id. The same host, group and kind already in force is a conflict, not a second row.
    pub async fn add_filter_entry(&self, permit: &Permit, new: &NewFilterEntry) -> Result<i64> {
        let actor = check(permit, Action::ChangeFiltering, Target::Filtering)?;
        if !matches!(new.kind.as_str(), "allow" | "block") {
            return Err(invalid("kind", "must be allow or block"));
        }
        let host = new.host.trim();
        if host.is_empty() {
            return Err(invalid("host", "name a site, e.g. www.example.com"));
        }
        if new.group_name.trim().is_empty() {
            return Err(invalid("group", "choose a group"));
        }
        let reason = text("reason", &new.reason)?;
        let mut tx = self.begin_write().await?;
        let existing: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM allow_entries WHERE host = $1 AND group_name = $2 AND kind = $3 \
             AND removed_at IS NULL",
        )
        .bind(host)
        .bind(&new.group_name)
        .bind(&new.kind)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = existing {
            return Err(StoreError::Conflict(format!(
                "{host} is already {}ed for {} (entry {id})",
                new.kind, new.group_name
            )));
        }
        let (entry,): (i64,) = sqlx::query_as(
            "INSERT INTO allow_entries (kind, host, group_name, reason, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&new.kind)
        .bind(host)
        .bind(&new.group_name)
        .bind(&reason)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::FilterEntryAdded {
            entry,
            block: new.kind == "block",
            host,
            group: &new.group_name,
            why: &reason,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Takes an allow or block entry out of force, keeping it on record with who and why.
    pub async fn remove_filter_entry(&self, permit: &Permit, id: i64, why: &str) -> Result<()> {
        let actor = check(permit, Action::ChangeFiltering, Target::Filtering)?;
        let why = text("reason", why)?;
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String, String)> = sqlx::query_as(
            "SELECT host, group_name, kind FROM allow_entries WHERE id = $1 AND removed_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((host, group, kind)) = found else {
            return Err(StoreError::NotFound {
                what: format!("filter entry {id}"),
            });
        };
        sqlx::query("UPDATE allow_entries SET removed_by = $1, removed_at = $2 WHERE id = $3")
            .bind(actor.person_id)
            .bind(self.now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let what = AuditAction::FilterEntryRemoved {
            entry: id,
            block: kind == "block",
            host: &host,
            group: &group,
            why: &why,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }
}

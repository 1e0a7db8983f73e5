//! The filtering decision log's record of the profile: each version of its `[filtering]`
//! section put in force, with what changed since the one before, who put it in force and why.
//! The school's own allow and block entries and the review decisions are recorded where they
//! are made (`reviews`); [`Store::filtering_decisions`] reads all of them together.

use crate::audit::{AuditAction, AuditEntry, record};
use crate::permits::check;
use crate::{Result, Store};
use policy::profile::filtering::FilteringPolicy;
use policy::{Action, Permit, Target};
use sha2::{Digest, Sha256};

/// Who puts a version of the filtering in force.
#[derive(Debug, Clone, Copy)]
pub enum FilteringChangedBy<'a> {
    /// A signed-in user allowed to change the filtering, from the web.
    User(&'a Permit),
    /// Whoever runs the server: `via` says how (`start`, `SIGHUP`).
    Operator { via: &'a str },
}

/// What [`Store::record_filtering`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilteringRecorded {
    /// The same section as the one last recorded: nothing was written.
    Unchanged,
    /// The first version recorded in this database.
    First { audit_id: i64 },
    /// A new version, and the changes since the last one, in words.
    Changed { audit_id: i64, changes: Vec<String> },
}

/// The audit rows' object types that make up the filtering decision log.
const DECISION_OBJECTS: &str = "('filtering', 'review', 'allow_entry', 'block_entry')";

impl Store {
    /// Records `filtering` as the version in force, with the changes since the version last
    /// recorded, in one transaction with its audit row. Nothing is written when it is the same.
    pub async fn record_filtering(
        &self,
        by: FilteringChangedBy<'_>,
        filtering: &FilteringPolicy,
        why: &str,
    ) -> Result<FilteringRecorded> {
        let (actor_id, via) = match by {
            FilteringChangedBy::User(permit) => (
                Some(check(permit, Action::ChangeFiltering, Target::Filtering)?.person_id),
                "web",
            ),
            FilteringChangedBy::Operator { via } => (None, via),
        };
        let text = serde_json::to_string(filtering)
            .map_err(|e| crate::StoreError::Conflict(format!("filtering section: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        let mut tx = self.begin_write().await?;
        let last: Option<(String, String)> = sqlx::query_as(
            "SELECT sha256, filtering FROM filtering_versions ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let changes = match &last {
            Some((last_sha, _)) if *last_sha == sha256 => return Ok(FilteringRecorded::Unchanged),
            Some((_, last_text)) => match read_version(last_text) {
                Ok(before) => {
                    let mut changes = filtering.changes_since(&before);
                    if changes.is_empty() {
                        changes.push("wording only (descriptions, refresh times)".into());
                    }
                    Some(changes)
                }
                // A version stored by an older Palisade that this one cannot read.
                Err(_) => Some(vec![
                    "the previous version could not be read to compare".into(),
                ]),
            },
            None => None,
        };
        let why = why.trim();
        let what = AuditAction::FilteringRecorded {
            sha256: &sha256,
            via,
            why,
            changes: changes.as_deref(),
        };
        let audit_id = record(&mut tx, &self.clock, actor_id, what).await?;
        sqlx::query(
            "INSERT INTO filtering_versions (at, sha256, filtering, audit_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(self.now())
        .bind(&sha256)
        .bind(&text)
        .bind(audit_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match changes {
            Some(changes) => FilteringRecorded::Changed { audit_id, changes },
            None => FilteringRecorded::First { audit_id },
        })
    }

    /// The filtering decision log, newest first: versions of the profile's filtering put in
    /// force, review decisions and the school's own allow and block entries.
    pub async fn filtering_decisions(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as(sql!(
            "SELECT id, at, actor_id, action, object_type, object_id, details, prev_hash, hash \
             FROM audit_log WHERE object_type IN {DECISION_OBJECTS} ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

/// A stored version of the filtering section, read past the keys it no longer has.
fn read_version(text: &str) -> serde_json::Result<FilteringPolicy> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    if let Some(map) = value.as_object_mut() {
        for key in policy::profile::filtering::RETIRED_KEYS {
            map.remove(key);
        }
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions stored before `log_changes` and `log_all_requests` were retired still compare.
    #[test]
    fn a_version_stored_with_retired_keys_is_still_read() {
        let old = r#"{"changes_by":["network_manager"],"log_changes":true,"log_all_requests":false,"retention_days":90,"lists":[],"groups":[]}"#;
        let read = read_version(old).map(|f| f.retention_days);
        assert_eq!(read.ok(), Some(90));
    }
}

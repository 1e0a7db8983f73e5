//! The append-only, hash-chained audit log.
//!
//! Row `n` stores `hash = SHA-256(hash of row n-1 || canonical(row n))`, where the canonical
//! form is the JSON array of the row's stored columns. Editing any byte of a row, deleting a
//! row or reordering rows breaks the chain at the first affected row, which
//! [`Store::verify_audit`] names.

mod action;

pub use action::AuditAction;

use crate::{Result, Store};
use sha2::{Digest, Sha256};
use sqlx::{Any, FromRow, Transaction};

pub use events::audit::{AuditHead, GENESIS, HEAD_LINE};

/// One row of the audit log.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// A JSON object with what changed (never secrets, never free text of a concern).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every row links to the one before and hashes to what it says.
    Intact { rows: u64, head: String },
    /// The first row that does not.
    Broken { row_id: i64, reason: String },
}

fn canonical(
    id: i64,
    at: &str,
    actor_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: &str,
    details: &str,
) -> String {
    serde_json::json!([id, at, actor_id, action, object_type, object_id, details]).to_string()
}

fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

impl AuditEntry {
    /// The hash this row should carry, given the previous row's hash.
    fn expected_hash(&self, prev_hash: &str) -> String {
        chain_hash(
            prev_hash,
            &canonical(
                self.id,
                &self.at,
                self.actor_id,
                &self.action,
                &self.object_type,
                &self.object_id,
                &self.details,
            ),
        )
    }
}

/// Appends the row of `what`, done by `actor_id` (`None`: the operator or the server itself),
/// inside the caller's write transaction (see `Store::begin_write`); returns its id. The one
/// way rows are written.
pub(crate) async fn record(
    tx: &mut Transaction<'_, Any>,
    clock: &clock::Clock,
    actor_id: Option<i64>,
    what: AuditAction<'_>,
) -> Result<i64> {
    let (object_type, object_id) = what.object();
    let action = what.action();
    // The acting school's chain: on PostgreSQL the transaction's school (see `Store::begin_write`),
    // on SQLite the one school the file holds. The new row takes the same school by default.
    let head_sql = if tx
        .backend_name()
        .to_ascii_lowercase()
        .starts_with("postgres")
    {
        "SELECT id, hash FROM audit_log WHERE school_id = palisade_school() ORDER BY id DESC LIMIT 1"
    } else {
        "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
    };
    let head: Option<(i64, String)> = sqlx::query_as(head_sql).fetch_optional(&mut **tx).await?;
    let (prev_id, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
    let id = prev_id + 1;
    let at = crate::stamp(clock.now());
    let details = what.details().to_string();
    let hash = chain_hash(
        &prev_hash,
        &canonical(id, &at, actor_id, action, object_type, &object_id, &details),
    );
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, object_type, object_id, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(&at)
    .bind(actor_id)
    .bind(action)
    .bind(object_type)
    .bind(&object_id)
    .bind(&details)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

const AUDIT_COLUMNS: &str =
    "id, at, actor_id, action, object_type, object_id, details, prev_hash, hash";

impl Store {
    /// Records an event that changes nothing else (a concern read, the access log searched).
    /// The reading was allowed by a permit the caller holds; the row records who read.
    pub async fn audit_event(&self, actor_id: Option<i64>, what: AuditAction<'_>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        record(&mut tx, &self.clock, actor_id, what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Walks the acting school's whole chain in order and names the first row that breaks it.
    pub async fn verify_audit(&self) -> Result<AuditVerdict> {
        const PAGE: i64 = 2000;
        let mut prev_hash = GENESIS.to_string();
        let mut expected_id = 1;
        loop {
            let rows: Vec<AuditEntry> = sqlx::query_as(sql!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE school_id = $1 AND id >= $2
                 ORDER BY id LIMIT $3"
            ))
            .bind(self.school_id())
            .bind(expected_id)
            .bind(PAGE)
            .fetch_all(&mut *self.read().await?)
            .await?;
            let page_len = rows.len();
            for row in rows {
                if row.id != expected_id {
                    return Ok(AuditVerdict::Broken {
                        row_id: expected_id,
                        reason: format!("row {expected_id} is missing (next row is {})", row.id),
                    });
                }
                if row.prev_hash != prev_hash {
                    return Ok(AuditVerdict::Broken {
                        row_id: row.id,
                        reason: "prev_hash does not match the previous row's hash".into(),
                    });
                }
                if row.expected_hash(&prev_hash) != row.hash {
                    return Ok(AuditVerdict::Broken {
                        row_id: row.id,
                        reason: "contents do not match the row's hash (the row was changed)".into(),
                    });
                }
                prev_hash = row.hash;
                expected_id += 1;
            }
            if (page_len as i64) < PAGE {
                break;
            }
        }
        let rows = u64::try_from(expected_id - 1).unwrap_or_default();
        Ok(AuditVerdict::Intact {
            rows,
            head: prev_hash,
        })
    }

    /// The head as stored (the newest row's id and hash; ids run from 1 without gaps), without
    /// walking the chain: for the daily mail.
    pub async fn audit_head(&self) -> Result<AuditHead> {
        let head: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, hash FROM audit_log WHERE school_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(self.school_id())
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(match head {
            Some((id, hash)) => AuditHead {
                count: u64::try_from(id).unwrap_or_default(),
                hash,
            },
            None => AuditHead {
                count: 0,
                hash: GENESIS.to_string(),
            },
        })
    }

    /// Walks the chain as [`Store::verify_audit`] does, and also checks that it still holds the
    /// head recorded earlier as `expected` (unchanged, at the same row): rows cut from the end,
    /// or every row deleted, break it at the first missing row.
    pub async fn verify_audit_against(&self, expected: &AuditHead) -> Result<AuditVerdict> {
        let verdict = self.verify_audit().await?;
        let AuditVerdict::Intact { rows, .. } = &verdict else {
            return Ok(verdict);
        };
        if *rows < expected.count {
            return Ok(AuditVerdict::Broken {
                row_id: i64::try_from(*rows + 1).unwrap_or(i64::MAX),
                reason: format!(
                    "the trail ends at row {rows} but the recorded head is row {} \
                     (rows were deleted from the end)",
                    expected.count
                ),
            });
        }
        if expected.count == 0 {
            return Ok(verdict);
        }
        let id = i64::try_from(expected.count).unwrap_or(i64::MAX);
        let (hash,): (String,) =
            sqlx::query_as("SELECT hash FROM audit_log WHERE school_id = $1 AND id = $2")
                .bind(self.school_id())
                .bind(id)
                .fetch_one(&mut *self.read().await?)
                .await?;
        if hash != expected.hash {
            return Ok(AuditVerdict::Broken {
                row_id: id,
                reason: format!(
                    "row {id} does not carry the recorded head's hash (the trail was rewritten \
                     from there or before)"
                ),
            });
        }
        Ok(verdict)
    }

    /// The head carried by the newest digest mail in the outbox that carries one.
    pub async fn audit_head_in_mail(&self) -> Result<Option<AuditHead>> {
        let bodies: Vec<(String,)> = sqlx::query_as(
            "SELECT body FROM mail_outbox WHERE kind = 'digest' ORDER BY id DESC LIMIT 50",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(bodies.iter().find_map(|(b,)| AuditHead::find_in(b)))
    }

    /// The newest audit rows, newest first, optionally only those before `before_id`.
    pub async fn audit_page(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE school_id = $1 AND id < $2
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(self.school_id())
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Every audit row about one object, oldest first.
    pub async fn audit_of(&self, object_type: &str, object_id: &str) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE school_id = $1 AND object_type = $2 AND object_id = $3 ORDER BY id"
        ))
        .bind(self.school_id())
        .bind(object_type)
        .bind(object_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_as_printed_and_bad_heads_are_refused() {
        let head = AuditHead {
            count: 12,
            hash: "ab".repeat(32),
        };
        assert_eq!(head.to_string().parse::<AuditHead>(), Ok(head.clone()));
        let mail = format!("Hello\r\n{HEAD_LINE} {head} (keep this mail)\r\n");
        assert_eq!(AuditHead::find_in(&mail), Some(head.clone()));
        let mail = format!("Hello\r\n{HEAD_LINE}\r\n\r\n  {head}\r\n");
        assert_eq!(AuditHead::find_in(&mail), Some(head));
        for bad in [
            "",
            "12",
            "x:ab",
            "12:abc",
            &format!("0:{}", "ab".repeat(32)),
        ] {
            assert!(bad.parse::<AuditHead>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_canonical_form_is_unambiguous() {
        // Moving a separator between fields must change the canonical text.
        let a = canonical(1, "t", None, "a|b", "c", "d", "{}");
        let b = canonical(1, "t", None, "a", "b|c", "d", "{}");
        assert_ne!(a, b);
        assert_ne!(chain_hash(GENESIS, &a), chain_hash(GENESIS, &b));
    }
}

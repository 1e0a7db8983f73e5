//! Access-log rows as read: the event type lives below the store (in `events`, without sqlx),
//! so its columns are read here.

use super::AccessEvent;
use serde::Serialize;
use sqlx::FromRow;

/// A stored row: the event and its id.
#[derive(Debug, Clone, Serialize)]
pub struct AccessRow {
    pub id: i64,
    #[serde(flatten)]
    pub event: AccessEvent,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for AccessRow {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<AccessRow> {
        use sqlx::Row;
        Ok(AccessRow {
            id: row.try_get("id")?,
            event: AccessEvent {
                // Rows are read in one school's scope: they are that school's.
                school: None,
                at: row.try_get("at")?,
                source: row.try_get("source")?,
                client_ip: row.try_get("client_ip")?,
                device: row.try_get("device")?,
                person_id: row.try_get("person_id")?,
                username: row.try_get("username")?,
                group_name: row.try_get("group_name")?,
                name: row.try_get("name")?,
                qtype: row.try_get("qtype")?,
                url: row.try_get("url")?,
                search_term: row.try_get("search_term")?,
                verdict: {
                    let v: String = row.try_get("verdict")?;
                    events::LogVerdict::parse(&v).ok_or_else(|| sqlx::Error::ColumnDecode {
                        index: "verdict".into(),
                        source: format!("unknown verdict `{v}`").into(),
                    })?
                },
                category: row.try_get("category")?,
                rule: row.try_get("rule")?,
                upstream_ms: row.try_get("upstream_ms")?,
            },
        })
    }
}

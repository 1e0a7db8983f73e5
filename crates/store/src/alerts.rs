//! Alerts for the safeguarding team. The monitoring rules produce [`AlertHit`]s; hits of the
//! same rule by the same subject within a window add to one alert (its count grows, its first
//! events are kept as evidence). What the team does with an alert is audited.

use crate::audit::{AuditAction, record};
use crate::{Result, Store, StoreError};
use policy::alerts::AlertAudience;
use policy::profile::monitoring::AlertSeverity;
use sqlx::FromRow;

/// Most events kept as an alert's evidence; the count goes on beyond it.
pub const MAX_EVIDENCE: usize = 20;

pub use events::{Alert, AlertHit};

/// A stored alert as read (see [`Alert`]).
#[derive(FromRow)]
struct AlertRow {
    id: i64,
    severity: String,
    rule: String,
    subject: String,
    person_id: Option<i64>,
    username: Option<String>,
    client_ip: String,
    group_name: String,
    first_at: String,
    last_at: String,
    count: i64,
    status: String,
    status_note: Option<String>,
    handled_by: Option<i64>,
    handled_at: Option<String>,
    evidence: String,
    audience: String,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;

    fn try_from(r: AlertRow) -> Result<Alert> {
        let severity = AlertSeverity::parse(&r.severity).ok_or_else(|| {
            StoreError::Conflict(format!("alert {}: unknown severity `{}`", r.id, r.severity))
        })?;
        let audience = AlertAudience::parse(&r.audience).ok_or_else(|| {
            StoreError::Conflict(format!("alert {}: unknown audience `{}`", r.id, r.audience))
        })?;
        Ok(Alert {
            audience,
            id: r.id,
            severity,
            rule: r.rule,
            subject: r.subject,
            person_id: r.person_id,
            username: r.username,
            client_ip: r.client_ip,
            group_name: r.group_name,
            first_at: r.first_at,
            last_at: r.last_at,
            count: r.count,
            status: r.status,
            status_note: r.status_note,
            handled_by: r.handled_by,
            handled_at: r.handled_at,
            evidence: r.evidence,
        })
    }
}

/// Which alerts the inbox shows.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub severity: Option<AlertSeverity>,
    /// `open` (open and acknowledged), or one status.
    pub status: Option<String>,
    pub group_name: Option<String>,
    /// Only alerts about pupils in this year group.
    pub year_group: Option<String>,
    /// Only alerts of these audiences (`None`: every audience).
    pub audiences: Option<Vec<AlertAudience>>,
    /// Not the alerts about this person (a reader is never shown alerts about themselves).
    pub not_about: Option<i64>,
}

/// What a team member does with an alert.
#[derive(Debug, Clone)]
pub enum AlertAction {
    Acknowledge,
    Dismiss {
        reason: String,
    },
    /// Turned into this safeguarding concern.
    Escalate {
        concern_id: i64,
    },
}

const COLUMNS: &str = "id, severity, rule, subject, person_id, username, client_ip, group_name, \
     first_at, last_at, count, status, status_note, handled_by, handled_at, evidence, audience";

/// A hit's event as one item of an alert's evidence.
fn evidence_of(hit: &AlertHit) -> Result<serde_json::Value> {
    serde_json::to_value(&hit.event)
        .map_err(|e| StoreError::Conflict(format!("alert evidence: {e}")))
}

/// The query for a subject's open alert of one rule (`$1`, `$2`) whose last event is at or
/// after `$3`: its id, and its evidence while that holds fewer than MAX_EVIDENCE events. The
/// evidence keeps the first events only, so a full one is left alone rather than parsed and
/// rewritten (most hits of a busy alert).
fn find_open_alert_sql(backend: crate::Backend) -> String {
    let length = match backend {
        crate::Backend::Sqlite => "json_array_length(evidence)",
        crate::Backend::Postgres => "json_array_length(evidence::json)",
    };
    format!(
        "SELECT id, CASE WHEN {length} < {MAX_EVIDENCE} THEN evidence END FROM alerts \
         WHERE subject = $1 AND rule = $2 AND status IN ('open', 'acknowledged') \
         AND last_at >= $3 ORDER BY id DESC LIMIT 1"
    )
}

/// Who reads a new alert: the hit's audience, refined by the roles of the person it is about
/// (a staff alert about the Headteacher goes to the route for the Headteacher: see
/// [`AlertAudience::for_subject`]). Only staff alerts about a known person look anyone up.
async fn audience_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    hit: &AlertHit,
) -> Result<AlertAudience> {
    let Some(person) = hit
        .event
        .person_id
        .filter(|_| hit.audience == AlertAudience::Staff)
    else {
        return Ok(hit.audience);
    };
    let roles: Option<String> = sqlx::query_scalar("SELECT roles FROM people WHERE id = $1")
        .bind(person)
        .fetch_optional(&mut **tx)
        .await?;
    let roles = roles
        .and_then(|r| policy::RoleSet::from_csv(&r).ok())
        .unwrap_or_default();
    Ok(hit.audience.for_subject(roles))
}

/// `audiences` as an SQL list of their stored names. They are a closed set of fixed names,
/// never user text, so they are written into the query rather than bound.
pub(crate) fn audience_list(audiences: &[AlertAudience]) -> String {
    audiences
        .iter()
        .map(|a| format!("'{}'", a.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One hit within a writing transaction (see [`Store::record_alert_hit`]).
async fn record_hit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    find_open: &str,
    hit: &AlertHit,
    since: &str,
) -> Result<(i64, bool)> {
    let open: Option<(i64, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(find_open))
        .bind(&hit.subject)
        .bind(&hit.rule)
        .bind(since)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match open {
        Some((id, None)) => {
            sqlx::query("UPDATE alerts SET count = count + $1, last_at = $2 WHERE id = $3")
                .bind(hit.count)
                .bind(&hit.event.at)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            (id, false)
        }
        Some((id, Some(evidence))) => {
            let mut events: Vec<serde_json::Value> =
                serde_json::from_str(&evidence).unwrap_or_default();
            if events.len() < MAX_EVIDENCE {
                events.push(evidence_of(hit)?);
            }
            sqlx::query(
                "UPDATE alerts SET count = count + $1, last_at = $2, evidence = $3 WHERE id = $4",
            )
            .bind(hit.count)
            .bind(&hit.event.at)
            .bind(serde_json::Value::Array(events).to_string())
            .bind(id)
            .execute(&mut **tx)
            .await?;
            (id, false)
        }
        None => {
            let audience = audience_of(tx, hit).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO alerts (severity, rule, subject, person_id, username, client_ip, \
                 group_name, first_at, last_at, count, evidence, audience) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) RETURNING id",
            )
            .bind(hit.severity.as_str())
            .bind(&hit.rule)
            .bind(&hit.subject)
            .bind(hit.event.person_id)
            .bind(&hit.event.username)
            .bind(&hit.event.client_ip)
            .bind(&hit.event.group_name)
            .bind(&hit.event.at)
            .bind(hit.count)
            .bind(serde_json::Value::Array(vec![evidence_of(hit)?]).to_string())
            .bind(audience.as_str())
            .fetch_one(&mut **tx)
            .await?;
            (id, true)
        }
    })
}

/// Each hit within a writing transaction, in order.
async fn record_hits(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    clock: &clock::Clock,
    backend: crate::Backend,
    hits: &[AlertHit],
    window_minutes: u32,
) -> Result<Vec<(i64, bool)>> {
    let since =
        crate::timestamp(clock.now() - chrono::Duration::minutes(i64::from(window_minutes)));
    let find_open = find_open_alert_sql(backend);
    let mut recorded = Vec::with_capacity(hits.len());
    for hit in hits {
        recorded.push(record_hit(tx, &find_open, hit, &since).await?);
    }
    Ok(recorded)
}

/// Records the monitoring rules' hits as [`Store::record_alert_hits`] does, over a connection of
/// its own opened on first use (and again after a failure) by the thread that records: on the
/// gateways' paced alert thread (see [`crate::background`]) its
/// writes, like the access log's, never take CPU from answering. Alerts are kept as durably as
/// the access-log events that set them off (see `BACKGROUND_PRAGMAS`).
pub struct AlertWriter {
    store: Store,
    /// One per effort of a paced thread, as [`crate::AccessWriter`]'s.
    conns: [Option<sqlx::AnyConnection>; 2],
}

impl AlertWriter {
    /// Records `hits` in one transaction; returns each one's alert id and whether it is new.
    pub async fn record(
        &mut self,
        hits: &[AlertHit],
        window_minutes: u32,
    ) -> Result<Vec<(i64, bool)>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.store.backend();
        let slot = &mut self.conns[crate::background::current_effort() as usize];
        let conn = match slot {
            Some(conn) => conn,
            None => slot.insert(self.store.own_any_connection().await?),
        };
        let recorded = async {
            let mut tx = crate::db::begin_write_on(conn, backend, self.store.scope()).await?;
            let recorded =
                record_hits(&mut tx, self.store.clock(), backend, hits, window_minutes).await?;
            tx.commit().await?;
            Ok(recorded)
        }
        .await;
        if recorded.is_err() {
            // Start the next attempt on a fresh connection.
            *slot = None;
        }
        recorded
    }
}

impl Store {
    /// Records a hit: added to the subject's open alert for the same rule whose last event is
    /// within `window_minutes`, else a new alert. Returns the alert's id and whether it is new.
    pub async fn record_alert_hit(
        &self,
        hit: &AlertHit,
        window_minutes: u32,
    ) -> Result<(i64, bool)> {
        let recorded = self
            .record_alert_hits(std::slice::from_ref(hit), window_minutes)
            .await?;
        recorded
            .first()
            .copied()
            .ok_or_else(|| StoreError::Conflict("an alert hit was not recorded".into()))
    }

    /// Records several hits as [`Store::record_alert_hit`] does, in one transaction (one
    /// commit for a whole batch of the access log, however many rules it set off).
    pub async fn record_alert_hits(
        &self,
        hits: &[AlertHit],
        window_minutes: u32,
    ) -> Result<Vec<(i64, bool)>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let recorded =
            record_hits(&mut tx, &self.clock, self.backend(), hits, window_minutes).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// A recorder of alert hits on a connection of its own (see [`AlertWriter`]).
    pub fn alert_writer(&self) -> AlertWriter {
        AlertWriter {
            store: self.clone(),
            conns: [None, None],
        }
    }

    /// Alerts, most severe and most recent first.
    pub async fn alerts(&self, filter: &AlertFilter, limit: i64) -> Result<Vec<Alert>> {
        let mut sql = format!("SELECT {COLUMNS} FROM alerts WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = filter.severity {
            binds.push(s.as_str().to_string());
            sql.push_str(&format!(" AND severity = ${}", binds.len()));
        }
        match filter.status.as_deref() {
            Some("open") => sql.push_str(" AND status IN ('open', 'acknowledged')"),
            Some(s) => {
                binds.push(s.to_string());
                sql.push_str(&format!(" AND status = ${}", binds.len()));
            }
            None => {}
        }
        if let Some(g) = &filter.group_name {
            binds.push(g.clone());
            sql.push_str(&format!(" AND group_name = ${}", binds.len()));
        }
        if let Some(audiences) = &filter.audiences {
            if audiences.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND audience IN ({})", audience_list(audiences)));
        }
        if let Some(me) = filter.not_about {
            binds.push(me.to_string());
            sql.push_str(&format!(
                " AND (person_id IS NULL OR CAST(person_id AS TEXT) <> ${})",
                binds.len()
            ));
        }
        if let Some(y) = &filter.year_group {
            binds.push(y.clone());
            sql.push_str(&format!(
                " AND person_id IN (SELECT id FROM people WHERE year_group = ${})",
                binds.len()
            ));
        }
        sql.push_str(&format!(
            " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 \
             WHEN 'medium' THEN 2 ELSE 3 END, last_at DESC LIMIT ${}",
            binds.len() + 1
        ));
        let mut q = sqlx::query_as::<_, AlertRow>(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&mut *self.read().await?).await?;
        rows.into_iter().map(Alert::try_from).collect()
    }

    /// The year groups of pupils with alerts, for the inbox's filter.
    pub async fn alert_year_groups(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT p.year_group FROM alerts a JOIN people p ON p.id = a.person_id \
             WHERE p.year_group IS NOT NULL ORDER BY p.year_group",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Alert> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE id = $1");
        sqlx::query_as::<_, AlertRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?
            .ok_or(StoreError::NotFound {
                what: format!("alert {id}"),
            })
            .and_then(Alert::try_from)
    }

    /// Acknowledges, dismisses or escalates an alert, audited with who and (for a dismissal)
    /// why; the permit is for [`policy::Action::HandleAlerts`] of this alert.
    pub async fn act_on_alert(
        &self,
        permit: &policy::Permit,
        id: i64,
        action: &AlertAction,
    ) -> Result<()> {
        let actor_id = crate::permits::check(
            permit,
            policy::Action::HandleAlerts,
            policy::Target::Alert(id),
        )?
        .person_id;
        let (status, note) = match action {
            AlertAction::Acknowledge => ("acknowledged", None),
            AlertAction::Dismiss { reason } => {
                let r = reason.trim();
                if r.is_empty() {
                    return Err(StoreError::Invalid(policy::PolicyError::invalid(
                        "reason",
                        "say why the alert is dismissed",
                    )));
                }
                ("dismissed", Some(r.to_string()))
            }
            AlertAction::Escalate { concern_id } => {
                ("escalated", Some(format!("concern {concern_id}")))
            }
        };
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE alerts SET status = $1, status_note = $2, handled_by = $3, handled_at = $4 \
             WHERE id = $5 AND status IN ('open', 'acknowledged')",
        )
        .bind(status)
        .bind(&note)
        .bind(actor_id)
        .bind(self.now())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("open alert {id}"),
            });
        }
        let what = match action {
            AlertAction::Acknowledge => AuditAction::AlertAcknowledged { id },
            AlertAction::Dismiss { .. } => AuditAction::AlertDismissed {
                id,
                reason: note.as_deref().unwrap_or_default(),
            },
            AlertAction::Escalate { concern_id } => AuditAction::AlertEscalated {
                id,
                concern: *concern_id,
            },
        };
        record(&mut tx, &self.clock, Some(actor_id), what).await?;
        tx.commit().await?;
        Ok(())
    }
}

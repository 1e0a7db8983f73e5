//! The filtering self-test's record (issue 19, part 1): each run of the checks through the
//! running gateways and each check's result, kept as the DfE standard's record that filtering
//! was checked per group. A run with a failed check raises a high system alert per failed
//! check, for the network manager and the safeguarding team.

use crate::permits::check;
use crate::{AccessEvent, AlertHit, Result, Store};
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};

/// The rule of the alert a failed self-test check raises: `filter self-test failed: <group>
/// <check>`.
pub const SELF_TEST_RULE: &str = "filter self-test failed";

/// Minutes within which the same failed check adds to its open alert rather than a new one.
const ALERT_WINDOW_MINUTES: u32 = 24 * 60;

/// One check's result, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFilterTestResult {
    pub group: String,
    /// The address the check was sent from (the group's).
    pub client_ip: String,
    pub check: String,
    /// What was sent, in words.
    pub sent: String,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

/// A run to store: where, why, and every result.
#[derive(Debug, Clone)]
pub struct NewFilterTestRun {
    /// The school and the gateways tested, in words.
    pub site: String,
    /// What started it: `command line`, `schedule`, `reload`, `page`.
    pub cause: String,
    pub results: Vec<NewFilterTestResult>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilterTestRun {
    pub id: i64,
    pub run_at: String,
    pub site: String,
    pub cause: String,
    /// Who ran it from the page (`None`: the server or the operator).
    pub run_by: Option<String>,
    pub checks: i64,
    pub failed: i64,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for FilterTestRun {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<FilterTestRun> {
        Ok(FilterTestRun {
            id: row.try_get("id")?,
            run_at: row.try_get("run_at")?,
            site: row.try_get("site")?,
            cause: row.try_get("cause")?,
            run_by: row.try_get("run_by_name")?,
            checks: row.try_get("checks")?,
            failed: row.try_get("failed")?,
        })
    }
}

/// A stored result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilterTestResult {
    pub run_id: i64,
    pub run_at: String,
    pub group: String,
    pub client_ip: String,
    pub check: String,
    pub sent: String,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for FilterTestResult {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<FilterTestResult> {
        Ok(FilterTestResult {
            run_id: row.try_get("run_id")?,
            run_at: row.try_get("run_at")?,
            group: row.try_get("group_name")?,
            client_ip: row.try_get("client_ip")?,
            check: row.try_get("check_name")?,
            sent: row.try_get("sent")?,
            expected: row.try_get("expected")?,
            got: row.try_get("got")?,
            pass: row.try_get::<i64, _>("pass")? != 0,
        })
    }
}

const RESULT_COLUMNS: &str = "r.run_id, t.run_at, r.group_name, r.client_ip, r.check_name, \
     r.sent, r.expected, r.got, r.pass";

impl Store {
    /// Stores a run and its results in one transaction (at the store's now), then raises a high
    /// system alert for each failed check. Returns the run's id and the alerts that are new
    /// (for their mail).
    pub async fn record_filter_test(
        &self,
        permit: &Permit,
        run: &NewFilterTestRun,
    ) -> Result<(i64, Vec<i64>)> {
        let actor = check(permit, Action::RunFilterTest, Target::School)?;
        let run_by = permit.actor_id().map(|_| actor.person_id);
        let failed: Vec<&NewFilterTestResult> = run.results.iter().filter(|r| !r.pass).collect();
        let at = self.now();
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO filter_test_runs (run_at, site, cause, run_by, checks, failed) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&at)
        .bind(&run.site)
        .bind(&run.cause)
        .bind(run_by)
        .bind(i64::try_from(run.results.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(failed.len()).unwrap_or(i64::MAX))
        .fetch_one(&mut *tx)
        .await?;
        for r in &run.results {
            sqlx::query(
                "INSERT INTO filter_test_results (run_id, group_name, client_ip, check_name, \
                 sent, expected, got, pass) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(&r.group)
            .bind(&r.client_ip)
            .bind(&r.check)
            .bind(&r.sent)
            .bind(&r.expected)
            .bind(&r.got)
            .bind(i64::from(r.pass))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let hits: Vec<AlertHit> = failed
            .iter()
            .map(|r| AlertHit {
                severity: policy::profile::monitoring::AlertSeverity::High,
                rule: format!("{SELF_TEST_RULE}: {} {}", r.group, r.check),
                subject: crate::gaps::SYSTEM_SUBJECT.to_string(),
                audience: policy::alerts::AlertAudience::System,
                count: 1,
                event: AccessEvent::new(
                    at.clone(),
                    "palisade",
                    r.client_ip.clone(),
                    r.group.clone(),
                    format!("{}: expected {}, got {}", r.sent, r.expected, r.got),
                    events::LogVerdict::Error,
                ),
            })
            .collect();
        let recorded = self.record_alert_hits(&hits, ALERT_WINDOW_MINUTES).await?;
        let new = recorded
            .into_iter()
            .filter_map(|(alert, new)| new.then_some(alert))
            .collect();
        Ok((id, new))
    }

    /// The latest `limit` runs, newest first.
    pub async fn filter_test_runs(&self, limit: i64) -> Result<Vec<FilterTestRun>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.run_at, t.site, t.cause, p.display_name AS run_by_name, t.checks, \
             t.failed FROM filter_test_runs t LEFT JOIN people p ON p.id = t.run_by \
             ORDER BY t.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The results of run `id`, in the order they were made.
    pub async fn filter_test_results(&self, id: i64) -> Result<Vec<FilterTestResult>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {RESULT_COLUMNS} FROM filter_test_results r \
             JOIN filter_test_runs t ON t.id = r.run_id WHERE r.run_id = $1 ORDER BY r.id"
        ))
        .bind(id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Each group's results from the latest run that tested it, by group then in order.
    pub async fn latest_filter_tests(&self) -> Result<Vec<FilterTestResult>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {RESULT_COLUMNS} FROM filter_test_results r \
             JOIN filter_test_runs t ON t.id = r.run_id \
             WHERE r.run_id = (SELECT MAX(l.run_id) FROM filter_test_results l \
                               WHERE l.group_name = r.group_name AND l.school_id = r.school_id) \
             ORDER BY r.group_name, r.id"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

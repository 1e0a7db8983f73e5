//! What the weekly monitoring report counts (issue 19, part 4): the alerts first seen in a
//! week by severity and by rule, the alerts still open, and the week's blocked requests by year
//! group and category. Counts only; the report itself is `monitor::weekly`'s. Alerts about
//! staff (and about the Headteacher) are left out: the report goes to the safeguarding team,
//! and those are their routes' alone.

use crate::{Result, Store};

/// One week's counts, between two stored timestamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyCounts {
    /// (severity, alerts first seen in the week).
    pub by_severity: Vec<(String, i64)>,
    /// (rule, alerts first seen in the week).
    pub by_rule: Vec<(String, i64)>,
    /// Alerts open now (nobody has triaged them), however old.
    pub open_alerts: i64,
    /// (year group, category, blocked requests): a request with no known person, or by a
    /// person with no year group, is counted under its filtering group.
    pub blocked: Vec<(String, String, i64)>,
}

impl Store {
    /// The counts of the week from `from` up to `to` (stored timestamps).
    pub async fn weekly_counts(&self, from: &str, to: &str) -> Result<WeeklyCounts> {
        let mut tx = self.read().await?;
        let by_severity = sqlx::query_as(
            "SELECT severity, COUNT(*) FROM alerts WHERE first_at >= $1 AND first_at < $2 \
             AND audience NOT IN ('staff', 'about_headteacher') \
             GROUP BY severity ORDER BY severity",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        let by_rule = sqlx::query_as(
            "SELECT rule, COUNT(*) FROM alerts WHERE first_at >= $1 AND first_at < $2 \
             AND audience NOT IN ('staff', 'about_headteacher') \
             GROUP BY rule ORDER BY COUNT(*) DESC, rule",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        let open_alerts = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE status = 'open' \
             AND audience NOT IN ('staff', 'about_headteacher')",
        )
        .fetch_one(&mut *tx)
        .await?;
        let blocked = sqlx::query_as(
            "SELECT COALESCE(p.year_group, 'group ' || a.group_name) AS year_group, \
             COALESCE(a.category, '') AS category, COUNT(*) \
             FROM access_log a LEFT JOIN people p ON p.id = a.person_id \
             WHERE a.at >= $1 AND a.at < $2 AND a.verdict = 'block' \
             GROUP BY 1, 2 ORDER BY 1, 3 DESC",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        Ok(WeeklyCounts {
            by_severity,
            by_rule,
            open_alerts,
            blocked,
        })
    }
}

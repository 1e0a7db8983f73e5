//! The access log: every filtered DNS query and proxy request, queued on a bounded channel by the
//! gateways and written here in batches. A full queue drops the event and counts it (a metric and
//! an alert), so that a slow disk never stalls a pupil's DNS answer.

use crate::{Result, Store};
use std::sync::Arc;
use std::time::Duration;

pub use events::AccessEvent;
pub use logger::{
    AccessLogConfig, AccessLogStats, AccessLogger, BatchWatcher, LINGER, SchoolLog, Urgency, Watch,
};
pub use row::AccessRow;

mod logger;
mod row;

/// Which access-log rows a page shows.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    pub username: Option<String>,
    pub device: Option<String>,
    pub group_name: Option<String>,
    pub verdict: Option<events::LogVerdict>,
    pub category: Option<String>,
    /// Only rows at or after this stored timestamp.
    pub since: Option<String>,
    /// Only rows before this id (paging backwards).
    pub before_id: Option<i64>,
}

const COLUMNS: &str = "at, source, client_ip, device, person_id, username, group_name, name, qtype, url, search_term, verdict, category, rule, upstream_ms";
const COLUMN_COUNT: usize = 15;

/// Rows per SQLite statement: [`COLUMN_COUNT`] values each, under SQLite's limit of 32,766 bound values.
const SQLITE_ROWS_PER_STATEMENT: usize = 1024;

/// `INSERT ... VALUES (...), (...)` for `rows` rows of bound values.
fn sqlite_insert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO access_log ({COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..COLUMN_COUNT {
            if c > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// [`sqlite_insert_sql`], built once for each size [`sqlite_chunks`] makes (powers of two).
fn sqlite_insert_sql_cached(rows: usize) -> String {
    static SQL: [std::sync::OnceLock<String>; 11] = [const { std::sync::OnceLock::new() }; 11];
    match SQL.get(rows.max(1).ilog2() as usize) {
        Some(cell) if rows.is_power_of_two() => {
            cell.get_or_init(|| sqlite_insert_sql(rows)).clone()
        }
        _ => sqlite_insert_sql(rows),
    }
}

/// Splits `n` rows into statement sizes that are powers of two (at most
/// [`SQLITE_ROWS_PER_STATEMENT`]), so that a handful of prepared statements serve every batch.
fn sqlite_chunks(mut n: usize) -> Vec<usize> {
    let mut chunks = Vec::new();
    while n > 0 {
        let size = if n >= SQLITE_ROWS_PER_STATEMENT {
            SQLITE_ROWS_PER_STATEMENT
        } else {
            1 << n.ilog2()
        };
        chunks.push(size);
        n -= size;
    }
    chunks
}

/// The pause between two transactions of a roll-up (see [`Store::roll_up_access_log`]).
const ROLL_UP_PAUSE: Duration = Duration::from_millis(20);

/// The stored timestamp of midnight after the day of stored timestamp `at`, if `at` has a date.
fn next_day(at: &str) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(at.get(..10)?, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc();
    Some(crate::timestamp(next))
}

/// Writes batches of access events over a typed connection of its own (binding through sqlx's
/// `Any` layer copied every value twice more), opened on first use and again after a failure.
/// The connections belong to the runtime of the thread that writes; there is one per effort
/// of a paced thread (see [`crate::background`]), so that SQLite's thread runs at the writer's.
pub struct AccessWriter {
    store: Store,
    conns: [Option<crate::db::OwnConnection>; 2],
}

impl Store {
    /// A writer of access-log batches (see [`AccessWriter`]).
    pub fn access_writer(&self) -> AccessWriter {
        AccessWriter {
            store: self.clone(),
            conns: [None, None],
        }
    }

    /// The newest rows matching `filter`, newest first.
    pub async fn access_log(&self, filter: &AccessFilter, limit: i64) -> Result<Vec<AccessRow>> {
        let sql = format!(
            "SELECT id, {COLUMNS} FROM access_log
             WHERE ($1 = '' OR username = $1) AND ($2 = '' OR device = $2) AND ($3 = '' OR group_name = $3)
               AND ($4 = '' OR verdict = $4) AND ($5 = '' OR category = $5) AND ($6 = '' OR at >= $6)
               AND id < $7
             ORDER BY id DESC LIMIT $8"
        );
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(s(&filter.username))
            .bind(s(&filter.device))
            .bind(s(&filter.group_name))
            .bind(
                filter
                    .verdict
                    .map(events::LogVerdict::as_str)
                    .unwrap_or_default(),
            )
            .bind(s(&filter.category))
            .bind(s(&filter.since))
            .bind(filter.before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// Requests per group and verdict since `since` (a stored timestamp).
    pub async fn access_by_group(&self, since: &str) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT group_name, verdict, COUNT(*) FROM access_log WHERE at >= $1
             GROUP BY group_name, verdict ORDER BY group_name, verdict",
        )
        .bind(since)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The most blocked names since `since`: (name, category, requests).
    pub async fn top_blocked(&self, since: &str, limit: i64) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT name, COALESCE(category, ''), COUNT(*) FROM access_log WHERE at >= $1 AND verdict = 'block'
             GROUP BY name, category ORDER BY COUNT(*) DESC, name LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// How many detailed rows the access log holds.
    pub async fn access_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM access_log")
            .fetch_one(&mut *self.read().await?)
            .await?)
    }

    /// Adds the daily counts of rows older than `cutoff` (a stored timestamp) to the roll-up and
    /// deletes those rows, oldest first, in transactions of at most one day and about
    /// `rows_per_chunk` rows each, so that a long backlog never holds the database's write lock
    /// (and the access-log writer) for long. Each row is counted in `access_daily` in the same
    /// transaction that deletes it, so a failure part-way loses nothing and counts nothing
    /// twice. Returns how many rows were rolled up.
    pub async fn roll_up_access_log(&self, cutoff: &str, rows_per_chunk: i64) -> Result<u64> {
        let mut rolled = 0;
        loop {
            let n = self.roll_up_chunk(cutoff, rows_per_chunk.max(1)).await?;
            if n == 0 {
                return Ok(rolled);
            }
            rolled += n;
            // SQLite's waiting writers poll for the lock: a pause lets them in between chunks.
            tokio::time::sleep(ROLL_UP_PAUSE).await;
        }
    }

    /// Rolls up the oldest rows before `cutoff`: those of their day, before `cutoff`, and before
    /// the timestamp of the row `rows` further on. Returns how many there were.
    async fn roll_up_chunk(&self, cutoff: &str, rows: i64) -> Result<u64> {
        let oldest: Option<String> =
            sqlx::query_scalar("SELECT MIN(at) FROM access_log WHERE at < $1")
                .bind(cutoff)
                .fetch_one(&mut *self.read().await?)
                .await?;
        let Some(oldest) = oldest else {
            return Ok(0);
        };
        let mut end = next_day(&oldest)
            .filter(|day| day.as_str() < cutoff)
            .unwrap_or_else(|| cutoff.to_string());
        let bound: Option<String> = sqlx::query_scalar(
            "SELECT at FROM access_log WHERE at < $1 ORDER BY at LIMIT 1 OFFSET $2",
        )
        .bind(&end)
        .bind(rows)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        if let Some(bound) = bound {
            // More than `rows` rows share the oldest timestamp: they go together (`at = oldest`).
            end = bound;
        }
        let mut tx = self.begin_counting().await?;
        let day = oldest.get(..10).unwrap_or_default();
        let counted: Option<String> =
            sqlx::query_scalar("SELECT day FROM access_days_counted WHERE day = $1")
                .bind(day)
                .fetch_optional(&mut *tx)
                .await?;
        // A counted day's rows are in access_daily already.
        if counted.is_none() {
            add_to_daily(&mut tx, "", &end, &oldest).await?;
        }
        let deleted = sqlx::query("DELETE FROM access_log WHERE (at >= $1 AND at < $2) OR at = $3")
            .bind("")
            .bind(&end)
            .bind(&oldest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// A transaction that reads rows and then writes counts of exactly those rows.
    async fn begin_counting(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend() {
            // Take the write lock first: a read that later wants to write can fail at once.
            crate::Backend::Sqlite => self.begin_write().await?,
            // The delete must see the rows the counts saw, not old rows committed between.
            crate::Backend::Postgres => {
                self.begin_pg_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    .await?
            }
        })
    }

    /// Adds every day before `before_day` (YYYY-MM-DD) that has rows and is not counted yet to
    /// `access_daily`, oldest first, one transaction a day, and marks it counted: from then on
    /// the statistics read that day from its counts. Only days that are over should be given
    /// (rows still arriving for a counted day would be deleted uncounted by retention). Returns
    /// how many days were counted.
    pub async fn count_access_days(&self, before_day: &str) -> Result<u32> {
        let mut from = String::new();
        let mut counted = 0;
        loop {
            let oldest: Option<String> =
                sqlx::query_scalar("SELECT MIN(at) FROM access_log WHERE at >= $1 AND at < $2")
                    .bind(&from)
                    .bind(before_day)
                    .fetch_one(&mut *self.read().await?)
                    .await?;
            let Some(day_start) = oldest.and_then(|at| at.get(..10).map(str::to_string)) else {
                return Ok(counted);
            };
            let Some(next) = next_day(&day_start) else {
                return Ok(counted);
            };
            let mut tx = self.begin_counting().await?;
            let done: Option<String> =
                sqlx::query_scalar("SELECT day FROM access_days_counted WHERE day = $1")
                    .bind(&day_start)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                add_to_daily(&mut tx, &day_start, &next, "").await?;
                sqlx::query("INSERT INTO access_days_counted (day, counted_at) VALUES ($1, $2)")
                    .bind(&day_start)
                    .bind(self.now())
                    .execute(&mut *tx)
                    .await?;
                counted += 1;
            }
            tx.commit().await?;
            from = next;
        }
    }

    /// Daily counts for `day` (YYYY-MM-DD): (source, group, verdict, category, requests).
    pub async fn access_daily(
        &self,
        day: &str,
    ) -> Result<Vec<(String, String, String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT source, group_name, verdict, category, requests FROM access_daily WHERE day = $1
             ORDER BY source, group_name, verdict, category",
        )
        .bind(day)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Requests per day, group and verdict from day `since_day` (YYYY-MM-DD, UTC) on, newest day
    /// first: (day, group, verdict, requests). The days' counts come from `access_daily` and
    /// from the detailed rows not counted there: a counted day is read from its counts alone
    /// (its rows are not scanned again), and a day part rolled up by retention is its counts
    /// plus the rows left. Each row is counted once.
    pub async fn daily_requests_by_group(
        &self,
        since_day: &str,
    ) -> Result<Vec<(String, String, String, i64)>> {
        // Days are counted oldest first, so every day after the last counted one is not.
        let last_counted: Option<String> =
            sqlx::query_scalar("SELECT MAX(day) FROM access_days_counted")
                .fetch_one(&mut *self.read().await?)
                .await?;
        let rows_from = match last_counted.as_deref().and_then(next_day) {
            Some(next) if next.as_str() > since_day => next,
            _ => since_day.to_string(),
        };
        Ok(sqlx::query_as(
            "SELECT day, group_name, verdict, CAST(SUM(requests) AS BIGINT) FROM (
               SELECT day, group_name, verdict, requests FROM access_daily WHERE day >= $1
               UNION ALL
               SELECT substr(at, 1, 10), group_name, verdict, COUNT(*) FROM access_log
               WHERE at >= $2 GROUP BY 1, 2, 3
             ) AS days GROUP BY day, group_name, verdict ORDER BY day DESC, group_name, verdict",
        )
        .bind(since_day)
        .bind(&rows_from)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

/// Adds the counts of the rows with `from <= at < to`, or `at = also_at`, to `access_daily`.
async fn add_to_daily(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    from: &str,
    to: &str,
    also_at: &str,
) -> Result<()> {
    let groups: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT substr(at, 1, 10), source, group_name, verdict, COALESCE(category, ''), COUNT(*)
         FROM access_log WHERE (at >= $1 AND at < $2) OR at = $3 GROUP BY 1, 2, 3, 4, 5",
    )
    .bind(from)
    .bind(to)
    .bind(also_at)
    .fetch_all(&mut **tx)
    .await?;
    for (day, source, group, verdict, category, n) in &groups {
        sqlx::query(
            "INSERT INTO access_daily (day, source, group_name, verdict, category, requests) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (school_id, day, source, group_name, verdict, category) DO UPDATE SET requests = access_daily.requests + excluded.requests",
        )
        .bind(day)
        .bind(source)
        .bind(group)
        .bind(verdict)
        .bind(category)
        .bind(n)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl AccessWriter {
    /// Writes `events` in one transaction. On SQLite the rows go as bound values of a few
    /// cached multi-row statements (binding is several times cheaper than having SQLite unpack
    /// JSON); on PostgreSQL as one JSON array unpacked by `jsonb_to_recordset`, one round trip
    /// whatever the batch size.
    pub async fn write(&mut self, events: &[AccessEvent]) -> Result<()> {
        use crate::db::OwnConnection;
        if events.is_empty() {
            return Ok(());
        }
        let slot = &mut self.conns[crate::background::current_effort() as usize];
        let conn = match slot {
            Some(conn) => conn,
            None => slot.insert(self.store.own_connection().await?),
        };
        let written = match conn {
            OwnConnection::Sqlite(conn) => insert_sqlite(conn, events).await,
            OwnConnection::Postgres(conn) => insert_postgres(conn, events).await,
        };
        if written.is_err() {
            // Start the next attempt on a fresh connection.
            *slot = None;
        }
        written
    }
}

/// One batch as one JSON array, unpacked by PostgreSQL: one round trip whatever its size.
/// The connection carries its store's scope for its whole session (see `Store::own_connection`).
/// An event naming its school goes to that school, which the scope must let the writer write
/// (a trust's writer acts across its schools); the others go to the acting school.
async fn insert_postgres(conn: &mut sqlx::PgConnection, events: &[AccessEvent]) -> Result<()> {
    let json =
        serde_json::to_string(events).map_err(|e| crate::StoreError::Conflict(e.to_string()))?;
    let sql = format!(
        "INSERT INTO access_log (school_id, {COLUMNS})
         SELECT COALESCE(school, palisade_school()), {COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x(
           school bigint, at text, source text, client_ip text, device text, person_id bigint, username text,
           group_name text, name text, qtype text, url text, search_term text, verdict text,
           category text, rule text, upstream_ms bigint)"
    );
    sqlx::query::<sqlx::Postgres>(sqlx::AssertSqlSafe(sql))
        .bind(json)
        .execute(conn)
        .await?;
    Ok(())
}

/// One batch over a typed SQLite connection. Values are bound as `Arc<str>`, which sqlx hands
/// to SQLite without another copy.
async fn insert_sqlite(conn: &mut sqlx::SqliteConnection, events: &[AccessEvent]) -> Result<()> {
    use sqlx::Connection;
    fn text(s: &str) -> Arc<str> {
        Arc::from(s)
    }
    let mut tx = conn.begin().await?;
    let mut rest = events;
    for size in sqlite_chunks(events.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut query =
            sqlx::query::<sqlx::Sqlite>(sqlx::AssertSqlSafe(sqlite_insert_sql_cached(size)));
        for e in chunk {
            query = query
                .bind(text(&e.at))
                .bind(text(&e.source))
                .bind(text(&e.client_ip))
                .bind(e.device.as_deref().map(text))
                .bind(e.person_id)
                .bind(e.username.as_deref().map(text))
                .bind(text(&e.group_name))
                .bind(text(&e.name))
                .bind(e.qtype.as_deref().map(text))
                .bind(e.url.as_deref().map(text))
                .bind(e.search_term.as_deref().map(text))
                .bind(e.verdict.as_str())
                .bind(e.category.as_deref().map(text))
                .bind(e.rule.as_deref().map(text))
                .bind(e.upstream_ms);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_a_few_statement_sizes_that_cover_every_row() {
        for n in [1, 2, 3, 999, 1024, 1025, 4000, 4095] {
            let chunks = sqlite_chunks(n);
            assert_eq!(chunks.iter().sum::<usize>(), n, "{n}");
            assert!(
                chunks
                    .iter()
                    .all(|c| c.is_power_of_two() && *c <= SQLITE_ROWS_PER_STATEMENT)
            );
        }
        assert_eq!(sqlite_chunks(4000), [1024, 1024, 1024, 512, 256, 128, 32]);
        assert!(sqlite_chunks(0).is_empty());
        assert_eq!(
            sqlite_insert_sql_cached(2),
            format!(
                "INSERT INTO access_log ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            )
        );
    }
}

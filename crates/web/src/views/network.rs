//! What the gateways saw: the access log, network statistics and the school's CA page.

use super::layout::Chrome;
use askama::Template;
use events::LogVerdict;

/// One access-log row as shown.
pub struct QueryRow {
    pub at: String,
    pub source: String,
    pub who: String,
    pub client: String,
    pub group: String,
    pub name: String,
    pub qtype: Option<String>,
    pub verdict: LogVerdict,
    pub category: String,
    pub rule: String,
}

#[derive(Template)]
#[template(path = "queries.html")]
pub struct QueriesPage {
    pub chrome: Chrome,
    pub rows: Vec<QueryRow>,
    pub groups: Vec<String>,
    pub verdicts: Vec<LogVerdict>,
    pub f_user: String,
    pub f_device: String,
    pub f_group: String,
    pub f_verdict: String,
    pub f_category: String,
    pub f_since: String,
    /// The filter as a query string, for the live refresh and paging.
    pub query: String,
    pub older: Option<i64>,
}

#[derive(Template)]
#[template(path = "queries_rows.html")]
pub struct QueryRowsPartial {
    pub rows: Vec<QueryRow>,
}

/// Per-group counts of the statistics page.
pub struct GroupStats {
    pub name: String,
    pub allow: i64,
    pub block: i64,
    pub rewrite: i64,
    pub refused: i64,
    pub error: i64,
}

/// One day's requests per group, for the statistics page's history.
pub struct DayStats {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub groups: Vec<GroupStats>,
}

#[derive(Template)]
#[template(path = "network_stats.html")]
pub struct NetworkStatsPage {
    pub chrome: Chrome,
    pub groups: Vec<GroupStats>,
    pub top: Vec<(String, String, i64)>,
    /// The last days, newest first, from the daily roll-up and the detailed rows.
    pub days: Vec<DayStats>,
    /// How many days `days` goes back.
    pub history_days: i64,
}

#[derive(Template)]
#[template(path = "ca.html")]
pub struct CaPage {
    pub chrome: Chrome,
    pub available: bool,
    /// The certificate's SHA-256 fingerprint (`AB:CD:…`), to check a copy fetched over plain
    /// HTTP by.
    pub fingerprint: Option<String>,
    pub inspected: String,
}

//! The filtering self-test's page.

use super::layout::Chrome;
use askama::Template;

/// One check of a group's latest run.
pub struct SelfTestCheck {
    pub check: String,
    pub sent: String,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

/// A group's latest run, as the certificate shows it.
pub struct SelfTestGroup {
    pub group: String,
    pub client_ip: String,
    pub at: String,
    pub run_id: i64,
    pub pass: bool,
    pub checks: Vec<SelfTestCheck>,
}

/// One run in the history.
pub struct SelfTestRun {
    pub id: i64,
    pub at: String,
    pub site: String,
    pub cause: String,
    pub by: String,
    pub checks: i64,
    pub failed: i64,
}

#[derive(Template)]
#[template(path = "filtering_selftest.html")]
pub struct SelfTestPage {
    pub chrome: Chrome,
    pub school: String,
    pub error: Option<String>,
    /// Whether every group's latest run passed (and there is one).
    pub all_pass: bool,
    pub groups: Vec<SelfTestGroup>,
    pub runs: Vec<SelfTestRun>,
}

//! The alerts inbox.

use super::layout::Chrome;
use askama::Template;
use events::LogVerdict;
use policy::profile::monitoring::AlertSeverity;

/// An alert as the inbox shows it.
pub struct AlertRow {
    pub id: i64,
    pub severity: AlertSeverity,
    pub rule: String,
    pub who: String,
    pub group: String,
    pub first: String,
    pub last: String,
    pub count: i64,
    pub status: String,
    pub note: String,
    /// The signed-in user the alert is about, if known (the escalation's default subject).
    pub username: String,
    /// About Palisade itself (a monitoring gap), not a person or device: nothing to escalate.
    pub system: bool,
    /// What was asked for, newest evidence first: (time, name or URL, verdict, category).
    pub evidence: Vec<(String, String, LogVerdict, String)>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    pub chrome: Chrome,
    pub alerts: Vec<AlertRow>,
    pub severity: String,
    pub status: String,
    pub severities: Vec<AlertSeverity>,
    /// (id, label) of the school's concern categories, for escalation.
    pub categories: Vec<(String, String)>,
    /// How alert mail stands: waiting, failing and the last error, if any is unsent.
    pub mail: Option<String>,
    /// Year groups to filter by, and the one chosen.
    pub years: Vec<String>,
    pub year: String,
}

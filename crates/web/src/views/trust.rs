//! The trust's own pages: its schools, and the concerns and alerts across them.

use super::concerns::ConcernRow;
use super::filtering::GroupRuleRow;
use super::layout::Chrome;
use askama::Template;
use policy::profile::monitoring::AlertSeverity;

/// A school of the trust as the trust's page lists it.
pub struct TrustSchoolRow {
    pub slug: String,
    pub name: String,
    pub roles: String,
    pub open_concerns: usize,
    pub new_concerns: usize,
    /// New concerns waiting past the school's `triage_within_hours`.
    pub overdue_concerns: usize,
    pub triage_hours: u32,
    pub open_alerts: String,
    /// How many things are due or overdue there for their role (the school's dashboard).
    pub due: usize,
}

#[derive(Template)]
#[template(path = "trust.html")]
pub struct TrustPage {
    pub chrome: Chrome,
    pub trust: String,
    pub acting: Option<String>,
    pub schools: Vec<TrustSchoolRow>,
    /// Whether any role covers a school's concerns, alerts or filtering (the links shown).
    pub sees_concerns: bool,
    pub sees_alerts: bool,
    pub sees_filtering: bool,
}

/// A concern of one of the trust's schools.
pub struct TrustConcernRow {
    pub school_slug: String,
    pub school_name: String,
    pub concern: ConcernRow,
    /// As stored, for ordering the schools' rows together.
    pub reported_at: String,
}

#[derive(Template)]
#[template(path = "trust_concerns.html")]
pub struct TrustConcernsPage {
    pub chrome: Chrome,
    pub rows: Vec<TrustConcernRow>,
    pub statuses: Vec<(String, String)>,
    pub status: String,
}

/// An alert of one of the trust's schools.
pub struct TrustAlertRow {
    pub school_slug: String,
    pub school_name: String,
    pub id: i64,
    pub severity: AlertSeverity,
    pub rule: String,
    pub who: String,
    pub group: String,
    pub last: String,
    /// As stored, for ordering the schools' rows together.
    pub last_at: String,
    pub count: i64,
    pub status: String,
}

#[derive(Template)]
#[template(path = "trust_alerts.html")]
pub struct TrustAlertsPage {
    pub chrome: Chrome,
    pub rows: Vec<TrustAlertRow>,
}

/// One of the trust's own lists.
pub struct TrustListRow {
    pub name: String,
    pub file: String,
    pub category: String,
    pub mandatory: bool,
}

/// A school's filtering as the trust's IT lead sees it across schools.
pub struct TrustFilteringRow {
    pub slug: String,
    pub name: String,
    /// Why the gateways do not filter for it, if they do not.
    pub not_filtered: Option<String>,
    pub groups: Vec<GroupRuleRow>,
    pub allowed: usize,
    pub blocked_sites: usize,
    pub reviews_waiting: usize,
    pub devices: usize,
    /// The last 24 hours' requests and blocks, when the role may see the access log.
    pub requests: Option<i64>,
    pub blocked: Option<i64>,
    /// When and what the decision log last recorded.
    pub last_change: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "trust_filtering.html")]
pub struct TrustFilteringPage {
    pub chrome: Chrome,
    pub lists: Vec<TrustListRow>,
    pub schools: Vec<TrustFilteringRow>,
}

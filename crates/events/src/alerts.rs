//! Alert hits (one monitoring rule firing) and stored alerts.

use crate::AccessEvent;
use policy::alerts::AlertAudience;
use policy::profile::monitoring::AlertSeverity;

/// The subject of alerts about Palisade itself rather than a person or device.
pub const SYSTEM_SUBJECT: &str = "system";

/// The rule of the alert a monitoring gap raises.
pub const GAP_RULE: &str = "monitoring gap: events dropped";

/// One rule firing on one event (or, for repeated attempts, on several).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertHit {
    pub severity: AlertSeverity,
    pub rule: String,
    /// The username, or `device <ip>` when nobody is signed in.
    pub subject: String,
    /// How many attempts this hit stands for.
    pub count: i64,
    /// Who reads the alert (see [`policy::alerts`]).
    pub audience: AlertAudience,
    pub event: AccessEvent,
}

/// A stored alert.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: i64,
    pub severity: AlertSeverity,
    pub rule: String,
    pub subject: String,
    pub person_id: Option<i64>,
    pub username: Option<String>,
    pub client_ip: String,
    pub group_name: String,
    pub first_at: String,
    pub last_at: String,
    pub count: i64,
    pub status: String,
    pub status_note: Option<String>,
    pub handled_by: Option<i64>,
    pub handled_at: Option<String>,
    /// JSON array of the first events.
    pub evidence: String,
    /// Who reads it (see [`policy::alerts`]).
    pub audience: AlertAudience,
}

impl Alert {
    /// The evidence events.
    pub fn events(&self) -> Vec<AccessEvent> {
        serde_json::from_str(&self.evidence).unwrap_or_default()
    }
}

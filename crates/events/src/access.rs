//! Access-log events: every filtered DNS query and proxy request, and where the gateways send
//! them.

use serde::{Deserialize, Serialize};

/// One request as the gateway saw and decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    pub at: String,
    /// `dns` or `proxy`.
    pub source: String,
    pub client_ip: String,
    pub device: Option<String>,
    pub person_id: Option<i64>,
    pub username: Option<String>,
    pub group_name: String,
    /// The query name or host.
    pub name: String,
    pub qtype: Option<String>,
    pub url: Option<String>,
    pub search_term: Option<String>,
    /// `allow`, `block`, `rewrite`, `refused` or `error`.
    pub verdict: String,
    pub category: Option<String>,
    pub rule: Option<String>,
    pub upstream_ms: Option<i64>,
}

/// Where the gateways send their access-log events. `send` never waits (a pupil's DNS answer
/// must not wait for a disk): a sink that cannot take an event drops it and counts it.
pub trait AccessSink: Send + Sync + 'static {
    /// Queues `event`, or drops and counts it; never blocks.
    fn send(&self, event: AccessEvent);
}

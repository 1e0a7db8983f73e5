//! Access-log events: every filtered DNS query and proxy request, and where the gateways send
//! them.

use serde::{Deserialize, Serialize};

/// What became of a request, as the access log, the statistics and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogVerdict {
    /// Answered or forwarded as asked.
    Allow,
    /// Refused by the filter (a category, a rule, a time rule, a circumvention check).
    Block,
    /// Answered with another address (SafeSearch).
    Rewrite,
    /// Refused before the filter: a client the school does not know, or a malformed request.
    Refused,
    /// Passed without filtering (the proxy's own pages, the allowed-before-sign-in hosts).
    Unfiltered,
    /// The upstream or the gateway failed.
    Error,
    /// Lost before it reached the log (a monitoring gap's evidence).
    Dropped,
}

impl LogVerdict {
    /// Every verdict, in the order pages list them.
    pub const ALL: [LogVerdict; 7] = [
        LogVerdict::Allow,
        LogVerdict::Block,
        LogVerdict::Rewrite,
        LogVerdict::Refused,
        LogVerdict::Unfiltered,
        LogVerdict::Error,
        LogVerdict::Dropped,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogVerdict::Allow => "allow",
            LogVerdict::Block => "block",
            LogVerdict::Rewrite => "rewrite",
            LogVerdict::Refused => "refused",
            LogVerdict::Unfiltered => "unfiltered",
            LogVerdict::Error => "error",
            LogVerdict::Dropped => "dropped",
        }
    }

    /// The verdict of a stored name.
    pub fn parse(s: &str) -> Option<LogVerdict> {
        LogVerdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl PartialEq<&str> for LogVerdict {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for LogVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request as the gateway saw and decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// The school whose client made the request, when one log serves several schools (a
    /// trust); `None` is the log's own school.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<i64>,
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
    pub verdict: LogVerdict,
    pub category: Option<String>,
    pub rule: Option<String>,
    pub upstream_ms: Option<i64>,
}

impl AccessEvent {
    /// An event with what every request has (when, which gateway, from where, in which group,
    /// for what, with what verdict); who, the details and why are left empty for the caller
    /// to set, usually with `AccessEvent { device, ..AccessEvent::new(..) }`.
    pub fn new(
        at: String,
        source: &str,
        client_ip: String,
        group_name: String,
        name: String,
        verdict: LogVerdict,
    ) -> AccessEvent {
        AccessEvent {
            school: None,
            at,
            source: source.to_string(),
            client_ip,
            device: None,
            person_id: None,
            username: None,
            group_name,
            name,
            qtype: None,
            url: None,
            search_term: None,
            verdict,
            category: None,
            rule: None,
            upstream_ms: None,
        }
    }
}

/// Where the gateways send their access-log events. `send` never waits (a pupil's DNS answer
/// must not wait for a disk): a sink that cannot take an event drops it and counts it.
pub trait AccessSink: Send + Sync + 'static {
    /// Queues `event`, or drops and counts it; never blocks.
    fn send(&self, event: AccessEvent);
}

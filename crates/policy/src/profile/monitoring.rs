//! The `[monitoring]` section: which filtering events become alerts for the safeguarding team,
//! and how urgent each is. The defaults follow the UK "appropriate monitoring" guidance, so a
//! profile without the section still monitors.

use crate::ProfileProblem;
use serde::{Deserialize, Serialize};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl AlertSeverity {
    pub const ALL: [AlertSeverity; 4] = [
        AlertSeverity::Critical,
        AlertSeverity::High,
        AlertSeverity::Medium,
        AlertSeverity::Low,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Low => "low",
            AlertSeverity::Medium => "medium",
            AlertSeverity::High => "high",
            AlertSeverity::Critical => "critical",
        }
    }

    /// The severity of a stored name.
    pub fn parse(s: &str) -> Option<AlertSeverity> {
        AlertSeverity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for AlertSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for AlertSeverity {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The monitoring rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringPolicy {
    /// Categories whose hits by pupils are high-risk (self-harm, extremism, abuse...).
    #[serde(default = "default_high_risk")]
    pub high_risk_categories: Vec<String>,
    /// Blocked attempts by one pupil or device within `repeat_minutes` that make an alert.
    #[serde(default = "default_repeat_count")]
    pub repeat_count: u32,
    #[serde(default = "default_repeat_minutes")]
    pub repeat_minutes: u32,
    /// Further hits of the same rule by the same person within this time add to one alert
    /// (its count grows) instead of making new ones.
    #[serde(default = "default_aggregate_minutes")]
    pub aggregate_minutes: u32,
    /// Any other blocked request by a pupil becomes a low alert, for the daily digest.
    #[serde(default)]
    pub low_for_other_blocks: bool,
    /// When the daily digest of lower alerts, and the reminder of untriaged concerns, go out
    /// (the school's local time, `HH:MM`).
    #[serde(default = "default_digest_time")]
    pub digest_time: String,
    /// Keyword lists matched in search terms and full URLs (allowed or blocked), after folding
    /// case, diacritics and letter-for-digit swaps.
    #[serde(default)]
    pub keywords: Vec<KeywordList>,
}

/// One keyword list and the severity of its matches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordList {
    pub name: String,
    /// One word or phrase per line (relative paths are relative to the profile file).
    pub path: String,
    /// The language of the list (`en`, `pl`, `ur`...), shown with its alerts.
    #[serde(default)]
    pub language: String,
    pub severity: AlertSeverity,
}

fn default_high_risk() -> Vec<String> {
    [
        "selfharm",
        "extremism",
        "child-abuse",
        "violence",
        "weapons",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn default_digest_time() -> String {
    "16:00".into()
}

fn default_repeat_count() -> u32 {
    10
}

fn default_repeat_minutes() -> u32 {
    5
}

fn default_aggregate_minutes() -> u32 {
    60
}

impl Default for MonitoringPolicy {
    fn default() -> Self {
        MonitoringPolicy {
            high_risk_categories: default_high_risk(),
            repeat_count: default_repeat_count(),
            repeat_minutes: default_repeat_minutes(),
            aggregate_minutes: default_aggregate_minutes(),
            low_for_other_blocks: false,
            digest_time: default_digest_time(),
            keywords: Vec::new(),
        }
    }
}

impl MonitoringPolicy {
    /// The digest time as minutes after midnight.
    pub fn digest_minute(&self) -> Option<u32> {
        let (h, m) = self.digest_time.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// Problems with this section, each naming its key.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        if self.digest_minute().is_none() {
            out.push(ProfileProblem {
                key: "monitoring.digest_time".into(),
                message: format!("`{}` is not a time like 16:00", self.digest_time),
            });
        }
        for (i, k) in self.keywords.iter().enumerate() {
            if k.path.trim().is_empty() {
                out.push(ProfileProblem {
                    key: format!("monitoring.keywords[{i}].path"),
                    message: "give the keyword list's file".into(),
                });
            }
        }
        for (key, value) in [
            ("monitoring.repeat_count", self.repeat_count),
            ("monitoring.repeat_minutes", self.repeat_minutes),
            ("monitoring.aggregate_minutes", self.aggregate_minutes),
        ] {
            if value == 0 {
                out.push(ProfileProblem {
                    key: key.into(),
                    message: "must be at least 1".into(),
                });
            }
        }
        out
    }
}

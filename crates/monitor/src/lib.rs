//! The monitoring rules, evaluated on the access-log event stream:
//! - any block by a mandatory list (IWF, counter-terrorism): critical;
//! - a pupil's block in a high-risk category (self-harm, extremism...): high;
//! - repeated blocked attempts by one pupil or device (N within M minutes): medium, the hit
//!   carrying every attempt in the window so that the alert's count is the number of attempts;
//! - optionally any other pupil block: low, for the daily digest;
//! - keyword lists (any language) matched in search terms and full URLs, allowed or blocked,
//!   after folding case, diacritics and letter-for-digit swaps: the list's severity.
//!
//! Evaluation is pure and bounded in memory; storing, aggregating and mailing happen elsewhere.

pub mod notify;
pub mod pipeline;
pub mod schedule;
pub mod weekly;

use chrono::{DateTime, Utc};
use events::{AccessEvent, AlertHit, LogVerdict};
use filter::urls::Keywords;
use policy::alerts::AlertAudience;
use policy::profile::monitoring::{AlertSeverity, MonitoringPolicy};
use std::collections::{HashMap, HashSet, VecDeque};

/// Most subjects whose recent blocks are remembered; beyond it, idle ones are forgotten.
const MAX_SUBJECTS: usize = 100_000;

struct Recent {
    times: VecDeque<DateTime<Utc>>,
    /// The repeated-attempts rule has fired and the attempts go on within the window.
    firing: bool,
}

/// A keyword list loaded from its file.
#[derive(Debug, Clone)]
pub struct KeywordList {
    pub name: String,
    pub language: String,
    pub severity: AlertSeverity,
    /// Each keyword with where it came from (`file:line`).
    pub words: Vec<(String, String)>,
}

/// The rules that need no state: a block by a mandatory list, a pupil's block in a high-risk
/// category. The monitoring evaluates them on each batch; the access log asks them, on the
/// answer path, which events must be stored at once ([`UrgentRules::is_urgent`]).
#[derive(Debug, Clone, Default)]
pub struct UrgentRules {
    high_risk: HashSet<String>,
    mandatory: HashSet<String>,
    pupils: HashSet<String>,
}

impl UrgentRules {
    /// The critical or high hit a blocked event makes, with its rule, if it makes one.
    fn serious_block(&self, e: &AccessEvent) -> Option<(AlertSeverity, String)> {
        if e.verdict != LogVerdict::Block {
            return None;
        }
        let category = e.category.as_deref().unwrap_or_default();
        if self.mandatory.contains(category) {
            Some((
                AlertSeverity::Critical,
                format!("mandatory list: {category}"),
            ))
        } else if self.is_pupil(e) && self.high_risk.contains(category) {
            Some((
                AlertSeverity::High,
                format!("high-risk category: {category}"),
            ))
        } else {
            None
        }
    }

    fn is_pupil(&self, e: &AccessEvent) -> bool {
        self.pupils.contains(&e.group_name)
    }

    /// Whether `e` may raise an alert that must not wait for the access log's next batch: a
    /// critical or high block, or a search (its terms are checked against the keyword lists).
    /// Cheap: a few set lookups, no state, no lock.
    pub fn is_urgent(&self, e: &AccessEvent) -> bool {
        (e.search_term.is_some() || self.serious_block(e).is_some()) && !is_about_palisade(e)
    }
}

/// The filtering self-test's own probes (reserved test names, its documentation IP literal)
/// are about Palisade, not a person: a failed run raises its own alert. The DoH canary is asked
/// by browsers themselves (Firefox, on every start), never by a person: not an attempt at
/// anything.
fn is_about_palisade(e: &AccessEvent) -> bool {
    filter::selftest::is_probe(&e.name) || e.name == filter::circumvention::DOH_CANARY
}

/// The rules with the state repeated attempts need.
pub struct Monitor {
    keywords: Keywords,
    /// (name, language, severity) by list number, the keywords' payload.
    lists: Vec<(String, String, AlertSeverity)>,
    urgent: UrgentRules,
    /// Groups the profile marks `staff = true`: their alerts follow the route for staff.
    staff: HashSet<String>,
    repeat_count: usize,
    repeat_window: chrono::Duration,
    low_for_other_blocks: bool,
    recent: HashMap<String, Recent>,
    /// The time of an event whose own time cannot be read.
    clock: clock::Clock,
}

/// Who an event is about: the signed-in user, else the device.
pub fn subject_of(e: &AccessEvent) -> String {
    match &e.username {
        Some(u) => u.clone(),
        None => format!("device {}", e.client_ip),
    }
}

impl Monitor {
    /// Rules from the profile's `[monitoring]`, the categories of its mandatory lists and its
    /// pupil-level groups.
    pub fn new(
        policy: &MonitoringPolicy,
        mandatory_categories: impl IntoIterator<Item = String>,
        pupil_groups: impl IntoIterator<Item = String>,
        clock: clock::Clock,
    ) -> Monitor {
        Monitor {
            clock,
            keywords: Keywords::default(),
            lists: Vec::new(),
            urgent: UrgentRules {
                high_risk: policy.high_risk_categories.iter().cloned().collect(),
                mandatory: mandatory_categories.into_iter().collect(),
                pupils: pupil_groups.into_iter().collect(),
            },
            staff: HashSet::new(),
            repeat_count: usize::try_from(policy.repeat_count.max(1)).unwrap_or(usize::MAX),
            repeat_window: chrono::Duration::minutes(i64::from(policy.repeat_minutes.max(1))),
            low_for_other_blocks: policy.low_for_other_blocks,
            recent: HashMap::new(),
        }
    }

    /// Marks the groups whose traffic is staff's: their alerts go to the route for concerns
    /// about staff, not the safeguarding team.
    pub fn with_staff_groups(mut self, groups: impl IntoIterator<Item = String>) -> Monitor {
        self.staff = groups.into_iter().collect();
        self
    }

    /// Who reads the alerts an event makes.
    fn audience(&self, e: &AccessEvent) -> AlertAudience {
        AlertAudience::of_group(self.staff.contains(&e.group_name))
    }

    /// The rules that say which events must be stored at once (see [`UrgentRules`]).
    pub fn urgent_rules(&self) -> UrgentRules {
        self.urgent.clone()
    }

    /// Adds keyword lists (already read from their files).
    pub fn with_keywords(mut self, lists: Vec<KeywordList>) -> Monitor {
        let mut entries = Vec::new();
        for (i, list) in lists.into_iter().enumerate() {
            for (word, source) in list.words {
                entries.push((word, i as u64, source));
            }
            self.lists.push((list.name, list.language, list.severity));
        }
        self.keywords = Keywords::new(entries);
        self
    }

    /// Keyword hits in a search term or URL, one per list.
    fn keyword_hits(&self, e: &AccessEvent, hits: &mut Vec<AlertHit>) {
        if self.keywords.is_empty() {
            return;
        }
        let subject = subject_of(e);
        let audience = self.audience(e);
        let mut seen: Vec<u64> = Vec::new();
        for text in [e.search_term.as_deref(), e.url.as_deref()]
            .into_iter()
            .flatten()
        {
            for k in self.keywords.find(text) {
                if seen.contains(&k.category) {
                    continue;
                }
                seen.push(k.category);
                let Some((name, language, severity)) = usize::try_from(k.category)
                    .ok()
                    .and_then(|i| self.lists.get(i))
                else {
                    continue;
                };
                hits.push(AlertHit {
                    severity: *severity,
                    rule: format!("keyword ({name}, {language}): {}", k.keyword),
                    subject: subject.clone(),
                    count: 1,
                    audience,
                    event: e.clone(),
                });
            }
        }
    }

    /// The hits one event makes.
    pub fn evaluate(&mut self, e: &AccessEvent) -> Vec<AlertHit> {
        let mut hits = Vec::new();
        if is_about_palisade(e) {
            return hits;
        }
        if e.search_term.is_some() || e.url.is_some() {
            self.keyword_hits(e, &mut hits);
        }
        if e.verdict != LogVerdict::Block {
            return hits;
        }
        let category = e.category.clone().unwrap_or_default();
        let pupil = self.urgent.is_pupil(e);
        let subject = subject_of(e);
        let audience = self.audience(e);
        let mut hit = |severity: AlertSeverity, rule: String, count: i64| {
            hits.push(AlertHit {
                severity,
                rule,
                subject: subject.clone(),
                count,
                audience,
                event: e.clone(),
            })
        };
        let serious = match self.urgent.serious_block(e) {
            Some((severity, rule)) => {
                hit(severity, rule, 1);
                true
            }
            None => false,
        };
        if !pupil {
            return hits;
        }
        let at = events::parse_timestamp(&e.at).unwrap_or_else(|| self.clock.now());
        if let Some(count) = self.attempt(&subject, at) {
            hit(
                AlertSeverity::Medium,
                "repeated blocked attempts".into(),
                count,
            );
        } else if !serious && self.low_for_other_blocks {
            hit(AlertSeverity::Low, format!("blocked: {category}"), 1);
        }
        hits
    }

    /// Notes a blocked attempt; returns the count to add to the repeated-attempts alert.
    fn attempt(&mut self, subject: &str, at: DateTime<Utc>) -> Option<i64> {
        if self.recent.len() >= MAX_SUBJECTS && !self.recent.contains_key(subject) {
            let window = self.repeat_window;
            self.recent
                .retain(|_, r| r.times.back().is_some_and(|t| at - *t < window));
            if self.recent.len() >= MAX_SUBJECTS {
                self.recent.clear();
            }
        }
        let r = self.recent.entry(subject.to_string()).or_insert(Recent {
            times: VecDeque::new(),
            firing: false,
        });
        while r
            .times
            .front()
            .is_some_and(|t| at - *t >= self.repeat_window)
        {
            r.times.pop_front();
        }
        if r.times.is_empty() {
            r.firing = false;
        }
        r.times.push_back(at);
        // Only the last `repeat_count` attempts matter for the threshold.
        if r.times.len() > self.repeat_count {
            r.times.pop_front();
        }
        if r.firing {
            Some(1)
        } else if r.times.len() >= self.repeat_count {
            r.firing = true;
            i64::try_from(r.times.len()).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        group: &str,
        verdict: LogVerdict,
        category: &str,
        user: Option<&str>,
        at: DateTime<Utc>,
    ) -> AccessEvent {
        let (client, name) = ("10.1.2.40".to_string(), format!("{category}.example"));
        AccessEvent {
            username: user.map(str::to_string),
            qtype: Some("A".into()),
            category: Some(category.into()),
            rule: Some(format!("{category}.example")),
            ..AccessEvent::new(
                events::timestamp(at),
                "dns",
                client,
                group.into(),
                name,
                verdict,
            )
        }
    }

    fn monitor(low: bool) -> Monitor {
        let policy = MonitoringPolicy {
            high_risk_categories: vec!["selfharm".into()],
            repeat_count: 5,
            repeat_minutes: 1,
            aggregate_minutes: 60,
            low_for_other_blocks: low,
            digest_time: "16:00".into(),
            keywords: Vec::new(),
        };
        Monitor::new(
            &policy,
            ["iwf".to_string()],
            ["ks2".to_string()],
            clock::Clock::system(),
        )
    }

    #[test]
    fn mandatory_lists_are_critical_for_everyone_and_high_risk_is_high_for_pupils() {
        let mut m = monitor(false);
        let now = store::testing::school_day();
        let hits = m.evaluate(&event(
            "staff",
            LogVerdict::Block,
            "iwf",
            Some("teacher1"),
            now,
        ));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].severity, "critical");
        assert_eq!(hits[0].subject, "teacher1");
        let hits = m.evaluate(&event("ks2", LogVerdict::Block, "selfharm", None, now));
        assert_eq!(hits[0].severity, "high");
        assert_eq!(hits[0].rule, "high-risk category: selfharm");
        assert_eq!(hits[0].subject, "device 10.1.2.40");
        assert!(
            m.evaluate(&event("staff", LogVerdict::Block, "selfharm", None, now))
                .is_empty()
        );
        assert!(
            m.evaluate(&event("ks2", LogVerdict::Allow, "selfharm", None, now))
                .is_empty()
        );
    }

    #[test]
    fn fifty_attempts_in_a_minute_add_up_to_fifty_on_the_repeated_rule() {
        let mut m = monitor(false);
        let start = store::testing::school_day();
        let mut total = 0;
        let mut hits_made = 0;
        for i in 0..50 {
            let at = start + chrono::Duration::milliseconds(i * 1000);
            for h in m.evaluate(&event(
                "ks2",
                LogVerdict::Block,
                "gaming",
                Some("pupil1"),
                at,
            )) {
                assert_eq!(h.rule, "repeated blocked attempts");
                assert_eq!(h.severity, "medium");
                total += h.count;
                hits_made += 1;
            }
        }
        assert_eq!(total, 50);
        assert_eq!(hits_made, 46, "the 5th attempt fires with 5, then one each");
        // After a quiet window the count starts again.
        let later = start + chrono::Duration::minutes(5);
        assert!(
            m.evaluate(&event(
                "ks2",
                LogVerdict::Block,
                "gaming",
                Some("pupil1"),
                later
            ))
            .is_empty()
        );
    }

    #[test]
    fn keywords_match_search_terms_and_urls_in_any_language_once_per_list() {
        let lists = vec![
            KeywordList {
                name: "self-harm".into(),
                language: "en".into(),
                severity: AlertSeverity::High,
                words: vec![("how to self harm".into(), "en.txt:1".into())],
            },
            KeywordList {
                name: "self-harm".into(),
                language: "pl".into(),
                severity: AlertSeverity::High,
                words: vec![("chcę umrzeć".into(), "pl.txt:1".into())],
            },
        ];
        let mut m = monitor(false).with_keywords(lists);
        let mut e = event(
            "ks2",
            LogVerdict::Allow,
            "",
            Some("pupil1"),
            store::testing::school_day(),
        );
        e.url = Some("http://www.google.com/search?q=How+to+S3LF+Harm".into());
        e.search_term = Some("How to S3LF Harm".into());
        let hits = m.evaluate(&e);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].severity, "high");
        assert_eq!(hits[0].rule, "keyword (self-harm, en): how to self harm");
        e.search_term = Some("chce umrzec".into());
        e.url = None;
        let hits = m.evaluate(&e);
        assert_eq!(hits[0].rule, "keyword (self-harm, pl): chcę umrzeć");
        e.search_term = Some("homework help".into());
        assert!(m.evaluate(&e).is_empty());
    }

    #[test]
    fn other_pupil_blocks_are_low_only_when_the_profile_asks() {
        let now = store::testing::school_day();
        assert!(
            monitor(false)
                .evaluate(&event("ks2", LogVerdict::Block, "gaming", None, now))
                .is_empty()
        );
        let hits = monitor(true).evaluate(&event("ks2", LogVerdict::Block, "gaming", None, now));
        assert_eq!(hits[0].severity, "low");
        assert_eq!(hits[0].rule, "blocked: gaming");
    }
}

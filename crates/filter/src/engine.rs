//! Verdicts: for a group and a host, allow, block (with category, rule and list line) or
//! rewrite (SafeSearch).
//!
//! Precedence, highest first:
//! 1. the DoH canary `use-application-dns.net` -> NXDOMAIN, so browsers keep using our DNS;
//! 2. mandatory lists (IWF, counter-terrorism) -> block; no allow-list or exception lifts them;
//! 3. the group's allow-list -> allow;
//! 4. the group's block-list -> block;
//! 5. the group's blocked categories (less those a time rule allows now, less those an
//!    exception lifts for the name) -> block;
//! 6. SafeSearch and YouTube restricted mode -> rewrite to the provider's safe endpoint;
//! 7. allow.

pub use crate::circumvention::{CIRCUMVENTION, DOH_CANARY, DOH_RESOLVERS};
use crate::compile::Layers;
use crate::index::Index;
use policy::profile::filtering::{FilteringPolicy, YoutubeMode, minutes_of};
use std::collections::HashMap;
use std::sync::Arc;

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block {
        category: String,
        /// The listed name (or group rule) that matched.
        rule: String,
        /// `file:line` of the rule, or where else it came from.
        source: String,
    },
    /// Answer with a CNAME to `target`.
    Rewrite {
        target: String,
    },
    /// Answer NXDOMAIN (the DoH canary).
    Nxdomain {
        rule: String,
    },
}

/// Google's SafeSearch endpoint.
pub const SAFE_GOOGLE: &str = "forcesafesearch.google.com";
/// Bing's strict SafeSearch endpoint.
pub const SAFE_BING: &str = "strict.bing.com";
/// DuckDuckGo's safe search endpoint.
pub const SAFE_DUCKDUCKGO: &str = "safe.duckduckgo.com";
/// YouTube's strict restricted mode.
pub const SAFE_YOUTUBE: &str = "restrict.youtube.com";
/// YouTube's moderate restricted mode.
pub const SAFE_YOUTUBE_MODERATE: &str = "restrictmoderate.youtube.com";

const GOOGLE: [&str; 8] = [
    "google.com",
    "www.google.com",
    "google.co.uk",
    "www.google.co.uk",
    "google.ie",
    "www.google.ie",
    "google.fr",
    "www.google.fr",
];
const BING: [&str; 2] = ["bing.com", "www.bing.com"];
const DUCKDUCKGO: [&str; 3] = [
    "duckduckgo.com",
    "www.duckduckgo.com",
    "start.duckduckgo.com",
];
const YOUTUBE: [&str; 5] = [
    "www.youtube.com",
    "m.youtube.com",
    "youtubei.googleapis.com",
    "youtube.googleapis.com",
    "www.youtube-nocookie.com",
];

struct TimeWindow {
    /// The categories it lets through, as bits of the index and of the layers.
    allow: u64,
    layer_allow: u64,
    from: u16,
    to: u16,
}

impl TimeWindow {
    fn active(&self, minute: u16) -> bool {
        if self.from <= self.to {
            self.from <= minute && minute < self.to
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

struct Group {
    /// The categories it blocks, as bits of the index and of the layers.
    block: u64,
    layer_block: u64,
    windows: Vec<TimeWindow>,
    allow_list: Vec<String>,
    block_list: Vec<String>,
    safesearch: bool,
    youtube: YoutubeMode,
    pupil: bool,
}

/// The compiled filter: the index plus each group's policy. Immutable; swap a new one in to
/// reload. The index and the layers are shared: the schools of a trust whose name lists are the
/// same hold one index between them.
pub struct Engine {
    index: Arc<Index>,
    layers: Arc<Layers>,
    groups: HashMap<String, Group>,
}

fn under(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

impl Engine {
    /// Compiles the groups of `policy` over `index`. Category names no list uses block nothing
    /// (they are reported by the compile step, not here).
    pub fn new(index: impl Into<Arc<Index>>, policy: &FilteringPolicy) -> Engine {
        Engine::with_layers(index, Layers::default(), policy)
    }

    /// Compiles the groups over the index and the proxy's URL and keyword layers.
    pub fn with_layers(
        index: impl Into<Arc<Index>>,
        layers: impl Into<Arc<Layers>>,
        policy: &FilteringPolicy,
    ) -> Engine {
        let (index, layers) = (index.into(), layers.into());
        let lc = &layers.categories;
        let groups = policy
            .groups
            .iter()
            .map(|g| {
                let normal = |v: &Vec<String>| -> Vec<String> {
                    v.iter()
                        .filter_map(|d| crate::normalize::normalize_host(d).ok())
                        .collect()
                };
                let group = Group {
                    block: index.mask_of(g.block_categories.iter().map(String::as_str)),
                    layer_block: lc.mask_of(g.block_categories.iter().map(String::as_str)),
                    windows: g
                        .time_rules
                        .iter()
                        .filter_map(|t| {
                            Some(TimeWindow {
                                allow: index.mask_of(t.allow_categories.iter().map(String::as_str)),
                                layer_allow: lc
                                    .mask_of(t.allow_categories.iter().map(String::as_str)),
                                from: minutes_of(&t.from)?,
                                to: minutes_of(&t.to)?,
                            })
                        })
                        .collect(),
                    allow_list: normal(&g.allow),
                    block_list: normal(&g.block),
                    safesearch: g.safesearch,
                    youtube: g.youtube,
                    pupil: g.pupil,
                };
                (g.name.clone(), group)
            })
            .collect();
        Engine {
            index,
            layers,
            groups,
        }
    }

    /// The index behind the engine.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The index, shared: an engine for another school over the same name lists takes it.
    pub fn shared_index(&self) -> Arc<Index> {
        self.index.clone()
    }

    /// Whether `group` exists and is pupil-level.
    pub fn is_pupil_group(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.pupil)
    }

    /// The verdict for a normalised `host` requested by `group` at `minute` of the local day.
    pub fn verdict(&self, group: &str, host: &str, minute: u16) -> Verdict {
        if host == DOH_CANARY {
            return Verdict::Nxdomain {
                rule: DOH_CANARY.into(),
            };
        }
        let mandatory = self.index.mandatory();
        if mandatory != 0
            && let Some(hit) = self
                .index
                .matches(host)
                .find(|h| h.categories & mandatory != 0)
        {
            return self.block(hit.categories & mandatory, hit.rule, hit.entry);
        }
        let Some(g) = self.groups.get(group) else {
            // A group the profile does not define: fail closed.
            return Verdict::Block {
                category: "unknown group".into(),
                rule: group.into(),
                source: "profile".into(),
            };
        };
        if let Some(rule) = g.allow_list.iter().find(|d| under(host, d)) {
            let _ = rule;
            return Verdict::Allow;
        }
        if let Some(rule) = g.block_list.iter().find(|d| under(host, d)) {
            return Verdict::Block {
                category: "group block-list".into(),
                rule: rule.clone(),
                source: format!("profile: group {group}"),
            };
        }
        let mut blocked = g.block;
        for w in &g.windows {
            if w.active(minute) {
                blocked &= !w.allow;
            }
        }
        if blocked != 0 {
            let mut lifted = 0u64;
            for hit in self.index.matches(host) {
                lifted |= hit.excepted;
                let cats = hit.categories & blocked & !lifted;
                if cats != 0 {
                    return self.block(cats, hit.rule, hit.entry);
                }
            }
        }
        if g.safesearch {
            if GOOGLE.contains(&host) {
                return rewrite(SAFE_GOOGLE);
            }
            if BING.contains(&host) {
                return rewrite(SAFE_BING);
            }
            if DUCKDUCKGO.contains(&host) {
                return rewrite(SAFE_DUCKDUCKGO);
            }
        }
        match g.youtube {
            YoutubeMode::Strict if YOUTUBE.contains(&host) => rewrite(SAFE_YOUTUBE),
            YoutubeMode::Moderate if YOUTUBE.contains(&host) => rewrite(SAFE_YOUTUBE_MODERATE),
            _ => Verdict::Allow,
        }
    }

    /// The layers' categories `group` blocks at `minute` (the mandatory ones always).
    fn layer_blocked_now(&self, group: &str, minute: u16) -> u64 {
        let mandatory = self.layers.categories.mandatory();
        let Some(g) = self.groups.get(group) else {
            return u64::MAX;
        };
        let mut blocked = g.layer_block;
        for w in &g.windows {
            if w.active(minute) {
                blocked &= !w.layer_allow;
            }
        }
        blocked | mandatory
    }

    /// The verdict for a full URL (the proxy): the host's verdict, then the URL lists, then
    /// keywords in the search terms of known engines.
    pub fn verdict_url(&self, group: &str, url: &str, minute: u16) -> Verdict {
        let host = match crate::normalize::host_of(url) {
            Ok(h) => h,
            Err(_) => return self.verdict(group, url, minute),
        };
        let by_host = self.verdict(group, &host, minute);
        if matches!(by_host, Verdict::Block { .. } | Verdict::Nxdomain { .. }) {
            return by_host;
        }
        let url_rules = self.layers.urls.matches(url);
        let mandatory = self.layers.categories.mandatory();
        let url_block = |mask: u64| {
            url_rules
                .iter()
                .find(|(_, r)| r.category & mask != 0)
                .map(|(h, rule)| Verdict::Block {
                    category: self
                        .layers
                        .categories
                        .name_of(rule.category & mask)
                        .to_string(),
                    rule: format!("{h}{}", rule.path),
                    source: rule.source.clone(),
                })
        };
        if let Some(v) = url_block(mandatory) {
            return v;
        }
        if self
            .groups
            .get(group)
            .is_some_and(|g| g.allow_list.iter().any(|d| under(&host, d)))
        {
            return Verdict::Allow;
        }
        if let Some(v) = url_block(self.layer_blocked_now(group, minute)) {
            return v;
        }
        if let Some(terms) = crate::urls::search_terms(url)
            && let Some(hit) = self.keyword_hit(group, &terms, minute)
        {
            return hit;
        }
        by_host
    }

    /// Whether `host` (or a parent domain) is listed under any of `categories`, whatever any
    /// group blocks (the proxy asks this to leave banking and health sites uninspected).
    pub fn listed_in(&self, host: &str, categories: &[String]) -> bool {
        let mask = self.index.mask_of(categories.iter().map(String::as_str));
        mask != 0 && self.index.matches(host).any(|h| h.categories & mask != 0)
    }

    /// The first keyword `group` blocks in `text` (a search term, a page title...).
    pub fn keyword_hit(&self, group: &str, text: &str, minute: u16) -> Option<Verdict> {
        let blocked = self.layer_blocked_now(group, minute);
        self.layers
            .keywords
            .find(text)
            .into_iter()
            .find(|h| h.category & blocked != 0)
            .map(|h| Verdict::Block {
                category: self
                    .layers
                    .categories
                    .name_of(h.category & blocked)
                    .to_string(),
                rule: h.keyword.to_string(),
                source: h.source.to_string(),
            })
    }

    fn block(&self, cats: u64, rule: &str, entry: u32) -> Verdict {
        Verdict::Block {
            category: self.index.category_name(cats).to_string(),
            rule: rule.to_string(),
            source: self.index.source_of(entry),
        }
    }
}

fn rewrite(target: &str) -> Verdict {
    Verdict::Rewrite {
        target: target.into(),
    }
}

//! The filtering self-test's plan: for one group of a profile, which requests to send through
//! the running gateways and what each must get back. Pure: the gateways' network code runs the
//! plan ([`gateway::selftest`](../../gateway/selftest/index.html)), the binary stores it.
//!
//! Every category compiled into the index carries a reserved test name,
//! `<category>.test.palisade.invalid` (underscores become hyphens, so `counter_terrorism` is
//! `counter-terrorism.test.palisade.invalid`), the way the IWF's list carries its own test
//! URLs. `.invalid` is reserved (RFC 6761): the name never collides with a real site, and the
//! DNS gateway never sends one upstream. A group that blocks the category is answered with a
//! block; a group that does not gets [`TEST_ANSWER_V4`], so an allowed test name is told apart
//! from a block even where blocks are NXDOMAIN.

use crate::circumvention::{CIRCUMVENTION, DOH_CANARY, DOH_RESOLVERS};
use crate::compile::is_layer;
use crate::engine::{SAFE_BING, SAFE_DUCKDUCKGO, SAFE_GOOGLE, SAFE_YOUTUBE, SAFE_YOUTUBE_MODERATE};
use policy::profile::filtering::{GroupPolicy, ListSource, YoutubeMode, minutes_of};
use std::net::Ipv4Addr;

/// The domain under which each category's test name lives.
pub const TEST_DOMAIN: &str = "test.palisade.invalid";

/// What the DNS gateway answers (A) for a test name the group's filter lets through: the
/// first documentation address (RFC 5737), never a real host.
pub const TEST_ANSWER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The categories of the DfE minimum every group is checked for, whatever its profile says:
/// child abuse (the IWF list) and terrorist content (the counter-terrorism list).
pub const DFE_MANDATORY: [(&str, &str); 2] = [
    ("iwf", "child abuse content (IWF list)"),
    (
        "counter_terrorism",
        "terrorist content (counter-terrorism list)",
    ),
];

/// The category of adult content, checked for every pupil-level group whatever it blocks.
pub const ADULT: &str = "adult";

/// The name every group must be able to resolve: reserved for documentation (RFC 2606), so
/// no list blocks it, and answered by any real upstream.
pub const ALLOWED_NAME: &str = "example.com";

/// The IP literal a pupil's HTTPS tunnel is tried to: a documentation address, never reached.
pub const IP_LITERAL: &str = "192.0.2.1:443";

/// The reserved test name of `category`.
pub fn test_name(category: &str) -> String {
    let label: String = category
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "unnamed" } else { label };
    let label: String = label.chars().take(63).collect();
    format!("{label}.{TEST_DOMAIN}")
}

/// The first label of a probe under a real domain (`palisade-selftest.dns.google`): the
/// domain's list entry blocks it by suffix, and the gateway treats it as a test name.
pub const PROBE_LABEL: &str = "palisade-selftest";

/// Whether `host` (normalised) is one of the reserved test names, or a probe under a real
/// domain ([`PROBE_LABEL`]).
pub fn is_test_name(host: &str) -> bool {
    let reserved = host
        .strip_suffix(TEST_DOMAIN)
        .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1);
    reserved
        || host
            .strip_prefix(PROBE_LABEL)
            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
}

/// Whether `host` is one of the self-test's own probes (a reserved test name, or the IP
/// literal's address), which monitoring leaves alone: they are about Palisade, not a person.
pub fn is_probe(host: &str) -> bool {
    is_test_name(host) || IP_LITERAL.strip_suffix(":443") == Some(host)
}

/// What a check sends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Probe {
    /// A DNS question over UDP to the DNS gateway.
    Dns { name: String, qtype: QueryType },
    /// An HTTPS tunnel (`CONNECT authority`) through the proxy.
    Connect { authority: String },
}

/// The DNS question types the self-test asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum QueryType {
    A,
    /// The rewrite itself, which the gateway answers without its upstream.
    Cname,
}

/// What a check must get back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum Expect {
    /// NXDOMAIN, or the profile's block page address: never REFUSED, SERVFAIL or a real answer.
    Blocked,
    /// NXDOMAIN (the DoH canary).
    Nxdomain,
    /// A CNAME to the provider's safe endpoint.
    Cname(String),
    /// A real answer from the upstream (an address that is not the block page).
    Resolves,
    /// The proxy refuses the tunnel (HTTP 403).
    Refused,
}

impl Expect {
    /// In words, for the record and the certificate.
    pub fn words(&self) -> String {
        match self {
            Expect::Blocked => "blocked".into(),
            Expect::Nxdomain => "NXDOMAIN".into(),
            Expect::Cname(t) => format!("CNAME {t}"),
            Expect::Resolves => "resolves".into(),
            Expect::Refused => "refused by the proxy (HTTP 403)".into(),
        }
    }
}

/// One check of a group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// What is checked, in words ("adult content", "SafeSearch: Google"...).
    pub name: String,
    pub probe: Probe,
    pub expect: Expect,
}

fn dns(name: impl Into<String>, check: impl Into<String>, expect: Expect) -> Check {
    Check {
        name: check.into(),
        probe: Probe::Dns {
            name: name.into(),
            qtype: if matches!(expect, Expect::Cname(_)) {
                QueryType::Cname
            } else {
                QueryType::A
            },
        },
        expect,
    }
}

fn connect(authority: impl Into<String>, check: impl Into<String>) -> Check {
    Check {
        name: check.into(),
        probe: Probe::Connect {
            authority: authority.into(),
        },
        expect: Expect::Refused,
    }
}

/// Whether a time rule of `group` lets `category` through at `minute` of the school's day.
fn open_now(group: &GroupPolicy, category: &str, minute: u16) -> bool {
    group.time_rules.iter().any(|t| {
        let (Some(from), Some(to)) = (minutes_of(&t.from), minutes_of(&t.to)) else {
            return false;
        };
        let inside = if from <= to {
            from <= minute && minute < to
        } else {
            minute >= from || minute < to
        };
        inside && t.allow_categories.iter().any(|c| c == category)
    })
}

/// Whether only the proxy's URL or keyword lists provide `category` (no name to ask the DNS
/// gateway about).
fn only_in_layers(category: &str, lists: &[ListSource]) -> bool {
    let mut of_it = lists
        .iter()
        .filter(|l| l.category.as_deref().unwrap_or(&l.name) == category)
        .peekable();
    of_it.peek().is_some() && of_it.all(|l| is_layer(l.format))
}

/// The checks of `group` under a profile whose lists are `lists`, at `minute` of the school's
/// day: the DfE minimum (the mandatory lists for every group, adult content for pupil-level
/// groups), one test name per further category the group blocks (but those a time rule lets
/// through now, or only the proxy's URL and keyword lists provide), SafeSearch and YouTube
/// where locked, the DoH canary, a known DoH resolver where circumvention is blocked, an IP
/// literal over HTTPS for pupil-level groups, and one name that must resolve.
pub fn plan(group: &GroupPolicy, lists: &[ListSource], minute: u16) -> Vec<Check> {
    let mut out = Vec::new();
    let mut done: Vec<String> = Vec::new();
    let mut mandatory: Vec<(String, String)> = DFE_MANDATORY
        .iter()
        .map(|(c, words)| (c.to_string(), words.to_string()))
        .collect();
    for l in lists.iter().filter(|l| l.mandatory) {
        let c = l.category.clone().unwrap_or_else(|| l.name.clone());
        if !mandatory.iter().any(|(m, _)| *m == c) {
            mandatory.push((c.clone(), format!("{c} (mandatory list)")));
        }
    }
    for (category, words) in &mandatory {
        let name = test_name(category);
        out.push(dns(&name, words.clone(), Expect::Blocked));
        out.push(connect(
            format!("{name}:443"),
            format!("{words}, HTTPS through the proxy"),
        ));
        done.push(category.clone());
    }
    if group.pupil {
        out.push(dns(
            test_name(ADULT),
            "adult content (DfE minimum for pupils)",
            Expect::Blocked,
        ));
        done.push(ADULT.into());
    }
    for category in &group.block_categories {
        if done.contains(category)
            || open_now(group, category, minute)
            || only_in_layers(category, lists)
        {
            continue;
        }
        done.push(category.clone());
        out.push(dns(
            test_name(category),
            format!("category {category}"),
            Expect::Blocked,
        ));
    }
    if group.safesearch {
        for (engine, host, target) in [
            ("Google", "www.google.com", SAFE_GOOGLE),
            ("Bing", "www.bing.com", SAFE_BING),
            ("DuckDuckGo", "duckduckgo.com", SAFE_DUCKDUCKGO),
        ] {
            out.push(dns(
                host,
                format!("SafeSearch: {engine}"),
                Expect::Cname(target.into()),
            ));
        }
    }
    let youtube = match group.youtube {
        YoutubeMode::Strict => Some(("strict", SAFE_YOUTUBE)),
        YoutubeMode::Moderate => Some(("moderate", SAFE_YOUTUBE_MODERATE)),
        YoutubeMode::Off => None,
    };
    if let Some((mode, target)) = youtube {
        out.push(dns(
            "www.youtube.com",
            format!("YouTube restricted mode ({mode})"),
            Expect::Cname(target.into()),
        ));
    }
    out.push(dns(
        DOH_CANARY,
        "DoH canary (browsers keep the school's DNS)",
        Expect::Nxdomain,
    ));
    if group.block_categories.iter().any(|c| c == CIRCUMVENTION)
        && !open_now(group, CIRCUMVENTION, minute)
    {
        out.push(dns(
            format!("{PROBE_LABEL}.{}", DOH_RESOLVERS[0]),
            "a known DoH resolver",
            Expect::Blocked,
        ));
    }
    if group.pupil {
        out.push(connect(
            IP_LITERAL,
            "HTTPS to an IP address instead of a name",
        ));
    }
    out.push(dns(
        ALLOWED_NAME,
        "an allowed name resolves",
        Expect::Resolves,
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use policy::Profile;

    fn profile(name: &str) -> Profile {
        let text = match name {
            "holt" => include_str!("../../../profiles/holt.toml"),
            _ => include_str!("../../../profiles/coleridge.toml"),
        };
        Profile::from_toml(text, name).unwrap()
    }

    fn checks_of(p: &Profile, group: &str, minute: u16) -> Vec<Check> {
        let g = p.filtering.groups.iter().find(|g| g.name == group).unwrap();
        plan(g, &p.filtering.lists, minute)
    }

    fn names_asked(checks: &[Check]) -> Vec<(String, Expect)> {
        checks
            .iter()
            .map(|c| match &c.probe {
                Probe::Dns { name, .. } => (name.clone(), c.expect.clone()),
                Probe::Connect { authority } => (format!("CONNECT {authority}"), c.expect.clone()),
            })
            .collect()
    }

    const TEN_AM: u16 = 600;

    #[test]
    fn every_group_gets_the_mandatory_lists_the_canary_and_an_allowed_name() {
        for p in [profile("holt"), profile("coleridge")] {
            for g in &p.filtering.groups {
                let asked = names_asked(&checks_of(&p, &g.name, TEN_AM));
                for want in [
                    ("iwf.test.palisade.invalid".to_string(), Expect::Blocked),
                    (
                        "counter-terrorism.test.palisade.invalid".into(),
                        Expect::Blocked,
                    ),
                    (
                        "CONNECT iwf.test.palisade.invalid:443".into(),
                        Expect::Refused,
                    ),
                    ("use-application-dns.net".into(), Expect::Nxdomain),
                    ("example.com".into(), Expect::Resolves),
                ] {
                    assert!(
                        asked.contains(&want),
                        "{}: {want:?} not in {asked:?}",
                        g.name
                    );
                }
            }
        }
    }

    #[test]
    fn pupils_are_checked_for_adult_content_and_ip_literals_whatever_they_block() {
        let mut p = profile("holt");
        for g in &mut p.filtering.groups {
            g.block_categories.retain(|c| c != "adult");
        }
        let ks2 = names_asked(&checks_of(&p, "ks2", TEN_AM));
        assert!(ks2.contains(&("adult.test.palisade.invalid".into(), Expect::Blocked)));
        assert!(ks2.contains(&("CONNECT 192.0.2.1:443".into(), Expect::Refused)));
        let staff = names_asked(&checks_of(&p, "staff", TEN_AM));
        assert!(
            !staff.iter().any(|(n, _)| n.starts_with("adult.")),
            "{staff:?}"
        );
        assert!(
            !staff.iter().any(|(n, _)| n.contains("192.0.2.1")),
            "{staff:?}"
        );
    }

    #[test]
    fn each_further_blocked_category_has_one_check_and_unblocked_ones_none() {
        let p = profile("holt");
        let staff = checks_of(&p, "staff", TEN_AM);
        let asked = names_asked(&staff);
        for c in [
            "adult",
            "extremism",
            "hate",
            "malware",
            "phishing",
            "selfharm",
            "weapons",
        ] {
            let n = asked.iter().filter(|(n, _)| *n == test_name(c)).count();
            assert_eq!(n, 1, "{c}: {asked:?}");
        }
        for c in ["gaming", "social", "circumvention"] {
            assert!(
                !asked.iter().any(|(n, _)| *n == test_name(c)),
                "{c}: {asked:?}"
            );
        }
        // Staff do not block circumvention: no DoH resolver check, and no SafeSearch lock.
        assert!(!asked.iter().any(|(n, _)| n.ends_with("dns.google")));
        assert!(!staff.iter().any(|c| matches!(c.expect, Expect::Cname(_))));
    }

    #[test]
    fn safesearch_and_youtube_follow_the_group() {
        let p = profile("holt");
        let ks1 = names_asked(&checks_of(&p, "ks1", TEN_AM));
        for want in [
            ("www.google.com", SAFE_GOOGLE),
            ("www.bing.com", SAFE_BING),
            ("duckduckgo.com", SAFE_DUCKDUCKGO),
            ("www.youtube.com", SAFE_YOUTUBE),
        ] {
            assert!(
                ks1.contains(&(want.0.to_string(), Expect::Cname(want.1.into()))),
                "{want:?}: {ks1:?}"
            );
        }
        let ks2 = names_asked(&checks_of(&p, "ks2", TEN_AM));
        assert!(ks2.contains(&(
            "www.youtube.com".into(),
            Expect::Cname(SAFE_YOUTUBE_MODERATE.into())
        )));
        assert!(ks2.contains(&("palisade-selftest.dns.google".into(), Expect::Blocked)));
        // Guests lock SafeSearch but not YouTube.
        let guests = names_asked(&checks_of(&p, "guests", TEN_AM));
        assert!(guests.iter().any(|(n, _)| n == "www.google.com"));
        assert!(!guests.iter().any(|(n, _)| n == "www.youtube.com"));
    }

    #[test]
    fn a_category_a_time_rule_opens_is_checked_only_outside_its_window() {
        let p = profile("coleridge");
        let staff = p
            .filtering
            .groups
            .iter()
            .find(|g| g.name == "staff")
            .unwrap();
        let rule = staff
            .time_rules
            .first()
            .expect("Coleridge opens gaming to staff after school");
        let inside = minutes_of(&rule.from).unwrap();
        let gaming = test_name("gaming");
        let asked_at = |m| names_asked(&checks_of(&p, "staff", m));
        assert!(asked_at(TEN_AM).iter().any(|(n, _)| *n == gaming));
        assert!(!asked_at(inside).iter().any(|(n, _)| *n == gaming));
    }

    #[test]
    fn every_compiled_category_blocks_its_test_name_for_the_groups_that_block_it() {
        let mut p = profile("holt");
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles");
        let lists = crate::compile::lists_of(&p.filtering.lists, &base, &base);
        let (index, _) = crate::compile::compile(&lists, |_| {}).unwrap();
        p.filtering
            .groups
            .iter_mut()
            .filter(|g| g.name == "ks2")
            .for_each(|g| g.block_categories.retain(|c| c != "adult"));
        let engine = crate::Engine::new(index, &p.filtering);
        let blocked = |group: &str, c: &str| {
            matches!(
                engine.verdict(group, &test_name(c), TEN_AM),
                crate::Verdict::Block { .. }
            )
        };
        for c in [
            "iwf",
            "counter_terrorism",
            "adult",
            "gaming",
            "circumvention",
        ] {
            assert!(blocked("ks1", c), "{c}");
        }
        assert!(blocked("staff", "iwf") && blocked("staff", "adult"));
        assert!(!blocked("staff", "gaming"));
        assert!(!blocked("ks2", "adult"), "adult was taken out of ks2");
    }

    #[test]
    fn test_names_are_reserved_labels_under_invalid() {
        assert_eq!(test_name("adult"), "adult.test.palisade.invalid");
        assert_eq!(
            test_name("counter_terrorism"),
            "counter-terrorism.test.palisade.invalid"
        );
        assert_eq!(
            test_name(" Hate Speech "),
            "hate-speech.test.palisade.invalid"
        );
        assert_eq!(test_name("__"), "unnamed.test.palisade.invalid");
        assert!(is_test_name("adult.test.palisade.invalid"));
        assert!(!is_test_name("test.palisade.invalid"));
        assert!(!is_test_name("xtest.palisade.invalid"));
        assert!(!is_test_name("adult.example"));
        assert!(is_test_name("palisade-selftest.dns.google"));
        assert!(!is_test_name("palisade-selftest"));
        assert!(!is_test_name("xpalisade-selftest.dns.google"));
    }
}

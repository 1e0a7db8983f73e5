//! A stub [`gateway::Filter`] with a few fixed rules, standing in for the engine: the gateways'
//! job is to act on each kind of decision, which their tests check one by one.

use gateway::{Filter, Verdict};
use policy::profile::network::{NetworkPolicy, SubnetRule};
use std::net::{IpAddr, Ipv4Addr};

/// A `ks1` client on loopback.
pub const KS1: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// A `staff` client on loopback.
pub const STAFF: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
/// A loopback client no subnet names: the pupil default, `ks2`.
pub const UNKNOWN: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));

/// The groups of [`Rules`] on loopback: [`KS1`] and [`STAFF`] by their /32, anyone else
/// `ks2`; the DNS and proxy settings are the defaults, for a test to change.
pub fn loopback_network() -> NetworkPolicy {
    NetworkPolicy {
        default_group: "ks2".into(),
        subnets: vec![
            SubnetRule {
                cidr: "127.0.0.2/32".into(),
                group: "ks1".into(),
            },
            SubnetRule {
                cidr: "127.0.0.3/32".into(),
                group: "staff".into(),
            },
        ],
        dns: Default::default(),
        proxy: Default::default(),
    }
}

/// Fixed rules: `blocked.test` (and, for `ks1`, `games.test`) is blocked with its subdomains;
/// the DoH canary answers NXDOMAIN; with `safesearch`, `www.google.com` is rewritten to
/// Google's SafeSearch address for every group but `staff`. By URL (the proxy), a path under
/// `/forbidden/` and the search term `badword` are blocked.
pub struct Rules {
    pub safesearch: bool,
}

impl Filter for Rules {
    fn decide(&self, group: &str, host: &str) -> Verdict {
        let under = |d: &str| host == d || host.ends_with(&format!(".{d}"));
        if under("blocked.test") || (group == "ks1" && under("games.test")) {
            Verdict::Block {
                category: "adult".into(),
                rule: "blocked.test".into(),
                source: "list.txt:3".into(),
            }
        } else if host == "use-application-dns.net" {
            Verdict::Nxdomain {
                rule: "doh-canary".into(),
            }
        } else if self.safesearch && host == "www.google.com" && group != "staff" {
            Verdict::Rewrite {
                target: "forcesafesearch.google.com".into(),
            }
        } else {
            Verdict::Allow
        }
    }

    fn decide_url(&self, group: &str, host: &str, url: &str) -> Verdict {
        if url.contains("/forbidden/") {
            return Verdict::Block {
                category: "violence".into(),
                rule: "allowed.test/forbidden/".into(),
                source: "urls:1".into(),
            };
        }
        if url.contains("q=badword") {
            return Verdict::Block {
                category: "self-harm".into(),
                rule: "badword".into(),
                source: "keywords:1".into(),
            };
        }
        self.decide(group, host)
    }
}

//! The `[network]` section: which filtering group a client is in by its address, and how the
//! DNS gateway answers. Unknown clients fall into `default_group`, which must be a pupil-level
//! group, so that an unrecognised device is filtered as strictly as a child's (fail closed).

use crate::ProfileProblem;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// How the school's network maps to filtering groups, and DNS settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    /// The group of any client no subnet rule covers.
    pub default_group: String,
    #[serde(default)]
    pub subnets: Vec<SubnetRule>,
    #[serde(default)]
    pub dns: DnsSettings,
    #[serde(default)]
    pub proxy: ProxySettings,
}

/// The HTTP(S) filtering proxy's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// Addresses the proxy listens on (3128 is the usual proxy port).
    #[serde(default = "default_proxy_listen")]
    pub listen: Vec<SocketAddr>,
    /// The address browsers are told to use in `/proxy.pac` (when `listen` is a wildcard
    /// address, say which name or address devices reach it by).
    #[serde(default)]
    pub advertise: Option<String>,
    /// Names and ranges browsers reach directly, without the proxy, in `/proxy.pac` (the
    /// school's own servers). Private address ranges are always direct.
    #[serde(default)]
    pub direct: Vec<String>,
    /// Longest a client may take to send a request's headers before it gets 408.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_seconds: u32,
    /// Largest request head (request line and headers) accepted; above it, 431.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Most client connections served at once; further ones wait for a free place.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Groups whose HTTPS is inspected with the school's CA, so that full addresses and search
    /// terms are filtered and logged. Their devices must trust the CA (`palisade ca init`).
    #[serde(default)]
    pub inspect_groups: Vec<String>,
    /// Categories never inspected (banking, health): their tunnels pass untouched.
    #[serde(default = "default_exempt_categories")]
    pub inspect_exempt_categories: Vec<String>,
    /// Hosts (and their subdomains) never inspected.
    #[serde(default)]
    pub inspect_exempt_hosts: Vec<String>,
    /// Where the school's CA lives (`ca.pem`, `ca.key`), relative to the profile file.
    #[serde(default = "default_ca_dir")]
    pub ca_dir: String,
    /// Groups (by address) whose users must sign in to the proxy with their Palisade account
    /// (HTTP Basic), so that the access log names them and the Acceptable Use Policy reaches
    /// them. Others are known by address only.
    #[serde(default)]
    pub login_groups: Vec<String>,
    /// The group staff are filtered as once signed in (pupils keep their device's group).
    #[serde(default)]
    pub staff_group: Option<String>,
}

fn default_exempt_categories() -> Vec<String> {
    vec!["banking".into(), "health".into()]
}

fn default_ca_dir() -> String {
    "palisade-data/ca".into()
}

fn default_proxy_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 3128))]
}

fn default_header_timeout() -> u32 {
    10
}

fn default_max_header_bytes() -> usize {
    32 * 1024
}

fn default_max_connections() -> usize {
    4096
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            listen: default_proxy_listen(),
            advertise: None,
            direct: Vec::new(),
            header_timeout_seconds: default_header_timeout(),
            max_header_bytes: default_max_header_bytes(),
            max_connections: default_max_connections(),
            inspect_groups: Vec::new(),
            inspect_exempt_categories: default_exempt_categories(),
            inspect_exempt_hosts: Vec::new(),
            ca_dir: default_ca_dir(),
            login_groups: Vec::new(),
            staff_group: None,
        }
    }
}

/// Clients in `cidr` are in `group` (the longest matching prefix wins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetRule {
    pub cidr: String,
    pub group: String,
}

/// What a blocked name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BlockAnswer {
    /// The name does not exist.
    #[default]
    Nxdomain,
    /// The block page's address, so that a browser lands on the block page.
    BlockPage,
}

/// The DNS gateway's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// UDP and TCP addresses to answer on (port 53 in production).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// Upstream resolvers (plain DNS over UDP with TCP fallback).
    #[serde(default)]
    pub upstreams: Vec<SocketAddr>,
    /// DNS-over-TLS upstreams; when given, they are used instead of `upstreams`, so that the
    /// school's queries cross the internet encrypted.
    #[serde(default)]
    pub tls_upstreams: Vec<TlsUpstream>,
    /// A PEM file of CA certificates to trust for the DNS-over-TLS upstreams besides the
    /// system's (a trust's own resolver), relative to the profile.
    #[serde(default)]
    pub tls_ca_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub block_answer: BlockAnswer,
    #[serde(default)]
    pub block_page_ipv4: Option<Ipv4Addr>,
    #[serde(default)]
    pub block_page_ipv6: Option<Ipv6Addr>,
    /// Most answers kept in the cache.
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// Longest time an answer is cached, whatever its TTL says.
    #[serde(default = "default_max_ttl")]
    pub max_ttl_seconds: u32,
}

/// A DNS-over-TLS resolver: its address (port 853 usually) and the name its certificate is for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsUpstream {
    pub address: SocketAddr,
    pub name: String,
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5353))]
}

fn default_cache_entries() -> usize {
    10_000
}

fn default_max_ttl() -> u32 {
    86_400
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            listen: default_listen(),
            upstreams: Vec::new(),
            tls_upstreams: Vec::new(),
            tls_ca_file: None,
            block_answer: BlockAnswer::default(),
            block_page_ipv4: None,
            block_page_ipv6: None,
            cache_entries: default_cache_entries(),
            max_ttl_seconds: default_max_ttl(),
        }
    }
}

/// The compiled subnet rules: answers "which group is this client in?".
#[derive(Debug, Clone)]
pub struct ClientMap {
    /// Longest prefix first.
    subnets: Vec<(IpNet, String)>,
    default_group: String,
}

impl ClientMap {
    /// Builds the map; rules whose CIDR does not parse are reported by `validate` and skipped.
    pub fn new(network: &NetworkPolicy) -> ClientMap {
        let mut subnets: Vec<(IpNet, String)> = network
            .subnets
            .iter()
            .filter_map(|r| {
                r.cidr
                    .parse::<IpNet>()
                    .ok()
                    .map(|n| (n.trunc(), r.group.clone()))
            })
            .collect();
        subnets.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        ClientMap {
            subnets,
            default_group: network.default_group.clone(),
        }
    }

    /// Every group this map can answer, the default first.
    pub fn group_names(&self) -> Vec<&str> {
        std::iter::once(self.default_group.as_str())
            .chain(self.subnets.iter().map(|(_, g)| g.as_str()))
            .collect()
    }

    /// The group of a client address.
    pub fn group_for(&self, ip: IpAddr) -> &str {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.subnets
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, g)| g.as_str())
            .unwrap_or(&self.default_group)
    }
}

impl NetworkPolicy {
    /// Problems with this section, each naming its key; `groups` are the filtering groups that
    /// exist and `pupil_groups` those of pupil level.
    pub fn validate(&self, groups: &[&str], pupil_groups: &[&str]) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut problem = |key: String, message: String| out.push(ProfileProblem { key, message });
        if !groups.contains(&self.default_group.as_str()) {
            problem(
                "network.default_group".into(),
                format!("`{}` is not a filtering group", self.default_group),
            );
        } else if !pupil_groups.contains(&self.default_group.as_str()) {
            problem(
                "network.default_group".into(),
                format!(
                    "`{}` must be a pupil-level group: unknown devices are filtered as strictly as a child's",
                    self.default_group
                ),
            );
        }
        for (i, rule) in self.subnets.iter().enumerate() {
            if rule.cidr.parse::<IpNet>().is_err() {
                problem(
                    format!("network.subnets[{i}].cidr"),
                    format!("`{}` is not an address range like 10.1.0.0/16", rule.cidr),
                );
            }
            if !groups.contains(&rule.group.as_str()) {
                problem(
                    format!("network.subnets[{i}].group"),
                    format!("`{}` is not a filtering group", rule.group),
                );
            }
        }
        let dns = &self.dns;
        if dns.listen.is_empty() {
            problem(
                "network.dns.listen".into(),
                "give at least one address".into(),
            );
        }
        if dns.block_answer == BlockAnswer::BlockPage
            && dns.block_page_ipv4.is_none()
            && dns.block_page_ipv6.is_none()
        {
            problem(
                "network.dns.block_page_ipv4".into(),
                "block_answer = \"block_page\" needs the block page's address".into(),
            );
        }
        if dns.cache_entries == 0 {
            problem(
                "network.dns.cache_entries".into(),
                "must be at least 1".into(),
            );
        }
        let proxy = &self.proxy;
        if proxy.header_timeout_seconds == 0 {
            problem(
                "network.proxy.header_timeout_seconds".into(),
                "must be at least 1".into(),
            );
        }
        if proxy.max_header_bytes < 8192 {
            problem(
                "network.proxy.max_header_bytes".into(),
                "must be at least 8192".into(),
            );
        }
        if proxy.advertise.is_none()
            && proxy
                .listen
                .first()
                .is_some_and(|a| a.ip().is_unspecified())
        {
            problem(
                "network.proxy.advertise".into(),
                "the proxy listens on every address: say which name or address devices reach it by (e.g. \"10.1.0.5:3128\")".into(),
            );
        }
        for (key, list) in [
            ("inspect_groups", &proxy.inspect_groups),
            ("login_groups", &proxy.login_groups),
        ] {
            for (i, g) in list.iter().enumerate() {
                if !groups.contains(&g.as_str()) {
                    problem(
                        format!("network.proxy.{key}[{i}]"),
                        format!("`{g}` is not a filtering group"),
                    );
                }
            }
        }
        if let Some(g) = &proxy.staff_group
            && !groups.contains(&g.as_str())
        {
            problem(
                "network.proxy.staff_group".into(),
                format!("`{g}` is not a filtering group"),
            );
        }
        if proxy.max_connections == 0 {
            problem(
                "network.proxy.max_connections".into(),
                "must be at least 1".into(),
            );
        }
        out
    }
}

/// Private and loopback ranges, reached directly in `/proxy.pac`: the school's own servers
/// are there, and filtering them would only break printers and the MIS.
const DIRECT_RANGES: [(&str, &str); 5] = [
    ("10.0.0.0", "255.0.0.0"),
    ("172.16.0.0", "255.240.0.0"),
    ("192.168.0.0", "255.255.0.0"),
    ("127.0.0.0", "255.0.0.0"),
    ("169.254.0.0", "255.255.0.0"),
];

impl NetworkPolicy {
    /// The proxy auto-config script (`/proxy.pac`, `/wpad.dat`): everything through the proxy
    /// at `proxy` (host:port), except plain host names, addresses in private ranges, the
    /// profile's `direct` names and `web_host` (Palisade's own pages, where the block page's
    /// review link goes). There is no `DIRECT` fallback: if the proxy is down, pages fail
    /// rather than arrive unfiltered.
    pub fn pac_script(&self, proxy: &str, web_host: &str) -> String {
        let mut direct_names: Vec<String> = self
            .proxy
            .direct
            .iter()
            .filter(|d| d.parse::<IpNet>().is_err())
            .map(|d| {
                d.trim_start_matches("*.")
                    .trim_start_matches('.')
                    .to_ascii_lowercase()
            })
            .collect();
        direct_names.push(web_host.to_ascii_lowercase());
        direct_names.push("localhost".into());
        let mut ranges: Vec<(String, String)> = DIRECT_RANGES
            .iter()
            .map(|(n, m)| (n.to_string(), m.to_string()))
            .collect();
        for d in &self.proxy.direct {
            if let Ok(IpNet::V4(net)) = d.parse::<IpNet>() {
                ranges.push((net.network().to_string(), net.netmask().to_string()));
            }
        }
        let js = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let names = direct_names
            .iter()
            .map(|n| format!("    host == \"{0}\" || dnsDomainIs(host, \".{0}\")", js(n)))
            .collect::<Vec<_>>()
            .join(" ||\n");
        let nets = ranges
            .iter()
            .map(|(n, m)| format!("      isInNet(host, \"{n}\", \"{m}\")"))
            .collect::<Vec<_>>()
            .join(" ||\n");
        format!(
            "// Palisade proxy auto-config: web traffic goes through the school's filter.\n\
             function FindProxyForURL(url, host) {{\n\
             \x20 host = host.toLowerCase();\n\
             \x20 if (isPlainHostName(host) ||\n{names})\n\
             \x20   return \"DIRECT\";\n\
             \x20 if (/^[0-9.]+$/.test(host) && (\n{nets}))\n\
             \x20   return \"DIRECT\";\n\
             \x20 return \"PROXY {proxy}\";\n\
             }}\n",
            proxy = js(proxy),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> NetworkPolicy {
        NetworkPolicy {
            default_group: "ks2".into(),
            subnets: vec![
                SubnetRule {
                    cidr: "10.1.0.0/16".into(),
                    group: "staff".into(),
                },
                SubnetRule {
                    cidr: "10.1.5.0/24".into(),
                    group: "ks1".into(),
                },
                SubnetRule {
                    cidr: "fd00:1::/64".into(),
                    group: "guests".into(),
                },
            ],
            dns: DnsSettings::default(),
            proxy: ProxySettings::default(),
        }
    }

    #[test]
    fn the_longest_matching_subnet_wins_and_unknown_clients_get_the_default() {
        let map = ClientMap::new(&network());
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        assert_eq!(map.group_for(ip("10.1.5.9")), "ks1");
        assert_eq!(map.group_for(ip("10.1.6.9")), "staff");
        assert_eq!(map.group_for(ip("::ffff:10.1.5.9")), "ks1");
        assert_eq!(map.group_for(ip("fd00:1::7")), "guests");
        assert_eq!(map.group_for(ip("192.168.1.1")), "ks2");
    }

    #[test]
    fn the_pac_script_sends_the_web_through_the_proxy_and_local_names_direct() {
        let mut n = network();
        n.proxy.direct = vec!["intranet.holt.example".into(), "10.9.0.0/16".into()];
        let pac = n.pac_script("10.1.0.5:3128", "palisade.holt.example");
        assert!(pac.contains("return \"PROXY 10.1.0.5:3128\";"), "{pac}");
        assert!(
            !pac.contains("PROXY 10.1.0.5:3128; DIRECT"),
            "no unfiltered fallback"
        );
        assert!(
            pac.contains("dnsDomainIs(host, \".intranet.holt.example\")"),
            "{pac}"
        );
        assert!(pac.contains("host == \"palisade.holt.example\""), "{pac}");
        assert!(
            pac.contains("isInNet(host, \"10.9.0.0\", \"255.255.0.0\")"),
            "{pac}"
        );
        assert!(
            pac.contains("isInNet(host, \"192.168.0.0\", \"255.255.0.0\")"),
            "{pac}"
        );
        assert_eq!(pac.matches('{').count(), pac.matches('}').count());
    }

    #[test]
    fn a_staff_default_group_and_bad_ranges_are_refused_by_key() {
        let mut n = network();
        n.default_group = "staff".into();
        n.subnets.push(SubnetRule {
            cidr: "10.1.0.0/33".into(),
            group: "nobody".into(),
        });
        let problems = n.validate(&["ks1", "ks2", "staff", "guests"], &["ks1", "ks2"]);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"network.default_group"), "{keys:?}");
        assert!(keys.contains(&"network.subnets[3].cidr"), "{keys:?}");
        assert!(keys.contains(&"network.subnets[3].group"), "{keys:?}");
    }
}

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
    /// Private address ranges the proxy may connect to (the school's intranet servers). Other
    /// private addresses, loopback, link-local, multicast and the server's own addresses are
    /// refused, whatever name led to them.
    #[serde(default)]
    pub intranet_subnets: Vec<String>,
    /// The ports HTTPS tunnels (CONNECT) may go to.
    #[serde(default = "default_connect_ports")]
    pub connect_ports: Vec<u16>,
    /// Destinations the proxy reaches whatever their address or port, as "host:port",
    /// "10.1.0.9:8080" or "[fd00::9]:443" (a single intranet service on an unusual port).
    #[serde(default)]
    pub allow_destinations: Vec<String>,
}

fn default_connect_ports() -> Vec<u16> {
    vec![443]
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
            intranet_subnets: Vec::new(),
            connect_ports: default_connect_ports(),
            allow_destinations: Vec::new(),
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

    /// Whether the profile names any subnet at all.
    pub fn has_subnets(&self) -> bool {
        !self.subnets.is_empty()
    }

    /// Whether one of the profile's subnets covers `ip` (the default group aside).
    pub fn in_subnet(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.subnets.iter().any(|(net, _)| net.contains(&ip))
    }

    /// Whether the DNS gateway answers `ip`: loopback (the demo, the server itself), the
    /// profile's subnets, or, when it names none, any private or link-local address. Anyone
    /// else is refused, so that the resolver is not open to the internet.
    pub fn dns_client(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if ip.is_loopback() || self.in_subnet(ip) {
            return true;
        }
        !self.has_subnets()
            && (PRIVATE_RANGES.iter().any(|r| range(r).contains(&ip))
                || address_class(ip).refused == Some("a link-local address"))
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
        for (i, cidr) in proxy.intranet_subnets.iter().enumerate() {
            let key = format!("network.proxy.intranet_subnets[{i}]");
            match cidr.parse::<IpNet>() {
                Err(_) => problem(
                    key,
                    format!("`{cidr}` is not an address range like 10.1.50.0/24"),
                ),
                Ok(net)
                    if !PRIVATE_RANGES
                        .iter()
                        .any(|r| range(r).contains(&net.trunc())) =>
                {
                    problem(
                        key,
                        format!(
                            "`{cidr}` is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7); name a single service under allow_destinations instead"
                        ),
                    )
                }
                Ok(_) => {}
            }
        }
        if proxy.connect_ports.contains(&0) {
            problem(
                "network.proxy.connect_ports".into(),
                "0 is not a port".into(),
            );
        }
        for (i, d) in proxy.allow_destinations.iter().enumerate() {
            if let Err(e) = Destination::parse(d) {
                problem(format!("network.proxy.allow_destinations[{i}]"), e);
            }
        }
        out
    }
}

/// Private address ranges: refused to the proxy unless `intranet_subnets` names them.
const PRIVATE_RANGES: [&str; 6] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
    "fec0::/10",
];

fn range(cidr: &str) -> IpNet {
    cidr.parse().unwrap_or(IpNet::V4(ipnet::Ipv4Net::default()))
}

/// A destination named in `allow_destinations`: a host name or an address, with its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Name(String, u16),
    Address(SocketAddr),
}

impl Destination {
    /// Reads "host:port", "10.1.0.9:8080" or "[fd00::9]:443"; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Destination, String> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return if addr.port() == 0 {
                Err(format!("`{text}`: 0 is not a port"))
            } else {
                Ok(Destination::Address(addr))
            };
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(format!(
                "`{text}` has no port: write host:port, like intranet.school.example:8080"
            ));
        };
        let port = match port.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err(format!("`{text}`: `{port}` is not a port")),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let valid = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(format!(
                "`{text}`: `{host}` is not a host name or an address (write IPv6 as [fd00::9]:443)"
            ));
        }
        Ok(Destination::Name(host, port))
    }
}

/// Where the proxy may connect, compiled from `[network.proxy]`: the address classes it
/// refuses, the intranet ranges it may reach, the CONNECT ports and the explicit destinations.
#[derive(Debug, Clone, Default)]
pub struct ProxyReach {
    intranet: Vec<IpNet>,
    connect_ports: Vec<u16>,
    names: Vec<(String, u16)>,
    addresses: Vec<SocketAddr>,
    own: Vec<IpAddr>,
}

impl ProxyReach {
    /// The rules of `settings`; entries that do not parse are reported by `validate`.
    pub fn new(settings: &ProxySettings) -> ProxyReach {
        let mut reach = ProxyReach {
            intranet: settings
                .intranet_subnets
                .iter()
                .filter_map(|c| c.parse::<IpNet>().ok())
                .map(|n| n.trunc())
                .collect(),
            connect_ports: settings.connect_ports.clone(),
            ..ProxyReach::default()
        };
        for d in &settings.allow_destinations {
            match Destination::parse(d) {
                Ok(Destination::Name(h, p)) => reach.names.push((h, p)),
                Ok(Destination::Address(a)) => reach.allow(a),
                Err(_) => {}
            }
        }
        reach
    }

    /// Allows one more destination explicitly (the operator's parent proxy).
    pub fn allow(&mut self, addr: SocketAddr) {
        self.addresses
            .push(SocketAddr::new(canonical(addr.ip()), addr.port()));
    }

    /// Refuses the server's own addresses too.
    pub fn add_own(&mut self, ips: impl IntoIterator<Item = IpAddr>) {
        for ip in ips {
            let ip = canonical(ip);
            if !self.own.contains(&ip) {
                self.own.push(ip);
            }
        }
    }

    /// Whether `host:port` (a name, or an address literal) is allowed explicitly.
    pub fn explicit(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .addresses
                .contains(&SocketAddr::new(canonical(ip), port));
        }
        self.names
            .iter()
            .any(|(h, p)| *p == port && h.eq_ignore_ascii_case(host))
    }

    /// Whether a tunnel may go to `port` (explicit destinations aside).
    pub fn connect_port(&self, port: u16) -> bool {
        self.connect_ports.contains(&port)
    }

    /// Why the proxy must not connect to `addr`, or `None` when it may.
    pub fn refusal(&self, addr: SocketAddr) -> Option<&'static str> {
        let ip = canonical(addr.ip());
        if self.addresses.contains(&SocketAddr::new(ip, addr.port())) {
            return None;
        }
        let class = address_class(ip);
        if let Some(reason) = class.refused {
            return Some(reason);
        }
        if self.own.contains(&ip) {
            return Some("this server's own address");
        }
        if class.private && !self.intranet.iter().any(|n| n.contains(&ip)) {
            return Some("a private address outside the school's intranet_subnets");
        }
        None
    }
}

/// An IPv4 address inside IPv6 (mapped, or NAT64's well-known prefix) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

struct AddressClass {
    /// Never reached (explicit destinations aside), and why.
    refused: Option<&'static str>,
    /// Reached only inside `intranet_subnets`.
    private: bool,
}

fn address_class(ip: IpAddr) -> AddressClass {
    let refused = |r| AddressClass {
        refused: Some(r),
        private: false,
    };
    let private = PRIVATE_RANGES.iter().any(|r| range(r).contains(&ip));
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                refused("a loopback address")
            } else if o[0] == 0 {
                refused("an unspecified address")
            } else if v4.is_link_local() {
                refused("a link-local address")
            } else if v4.is_multicast() || v4.is_broadcast() {
                refused("a multicast or broadcast address")
            } else if o[0] >= 240 {
                refused("a reserved address")
            } else {
                AddressClass {
                    refused: None,
                    private,
                }
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                refused("a loopback address")
            } else if v6.is_unspecified() {
                refused("an unspecified address")
            } else if first & 0xffc0 == 0xfe80 {
                refused("a link-local address")
            } else if v6.is_multicast() {
                refused("a multicast or broadcast address")
            } else {
                AddressClass {
                    refused: None,
                    private,
                }
            }
        }
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

    #[test]
    fn the_proxy_refuses_loopback_and_private_addresses_unless_allowed() {
        let settings = ProxySettings {
            intranet_subnets: vec!["10.1.50.0/24".into()],
            allow_destinations: vec!["127.0.0.1:18999".into(), "Intranet.Test.:8080".into()],
            ..ProxySettings::default()
        };
        let mut reach = ProxyReach::new(&settings);
        reach.add_own(["203.0.113.7"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))]);
        let refused = |s: &str| {
            let addr = s
                .parse::<SocketAddr>()
                .unwrap_or(SocketAddr::from(([0; 4], 0)));
            reach.refusal(addr)
        };
        for bad in [
            "127.0.0.1:8080",
            "127.1.2.3:80",
            "0.0.0.0:80",
            "[::1]:80",
            "[::]:80",
            "[::ffff:127.0.0.1]:80",
            "[64:ff9b::7f00:1]:80",
            "169.254.169.254:80",
            "[fe80::1]:80",
            "224.0.0.1:80",
            "255.255.255.255:80",
            "10.9.0.1:80",
            "192.168.1.1:80",
            "[fd00::1]:80",
            "203.0.113.7:80",
        ] {
            assert!(refused(bad).is_some(), "{bad}");
        }
        for good in [
            "93.184.215.14:80",
            "10.1.50.9:80",
            "127.0.0.1:18999",
            "[2001:db8::1]:443",
        ] {
            assert_eq!(refused(good), None, "{good}");
        }
        assert!(reach.explicit("127.0.0.1", 18999));
        assert!(!reach.explicit("127.0.0.1", 8080));
        assert!(reach.explicit("intranet.test", 8080));
        assert!(!reach.explicit("intranet.test", 8081));
        assert!(reach.connect_port(443) && !reach.connect_port(8080));
    }

    #[test]
    fn bad_proxy_reach_keys_are_refused_by_key() {
        let mut n = network();
        n.proxy.intranet_subnets = vec![
            "10.1.50.0/33".into(),
            "127.0.0.0/8".into(),
            "10.2.0.0/16".into(),
        ];
        n.proxy.connect_ports = vec![443, 0];
        n.proxy.allow_destinations = vec![
            "intranet".into(),
            "a b:80".into(),
            "x.test:99999".into(),
            "10.1.0.9:8080".into(),
        ];
        let problems = n.validate(&["ks1", "ks2", "staff", "guests"], &["ks1", "ks2"]);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "network.proxy.intranet_subnets[0]",
            "network.proxy.intranet_subnets[1]",
            "network.proxy.connect_ports",
            "network.proxy.allow_destinations[0]",
            "network.proxy.allow_destinations[1]",
            "network.proxy.allow_destinations[2]",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        assert!(
            !keys.contains(&"network.proxy.intranet_subnets[2]"),
            "{keys:?}"
        );
        assert!(
            !keys.contains(&"network.proxy.allow_destinations[3]"),
            "{keys:?}"
        );
    }

    #[test]
    fn dns_answers_loopback_the_profiles_subnets_and_else_only_private_networks() {
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        let map = ClientMap::new(&network());
        for yes in [
            "127.0.0.1",
            "127.0.0.99",
            "::1",
            "10.1.7.7",
            "::ffff:10.1.5.9",
            "fd00:1::7",
        ] {
            assert!(map.dns_client(ip(yes)), "{yes}");
        }
        for no in [
            "192.0.2.2",
            "10.2.0.1",
            "192.168.1.1",
            "fd00:2::1",
            "8.8.8.8",
        ] {
            assert!(!map.dns_client(ip(no)), "{no}");
        }
        // A profile without subnets answers its private networks, never the internet.
        let mut n = network();
        n.subnets.clear();
        let map = ClientMap::new(&n);
        for yes in [
            "10.2.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "fe80::1",
            "127.0.0.5",
        ] {
            assert!(map.dns_client(ip(yes)), "{yes}");
        }
        for no in ["192.0.2.2", "8.8.8.8", "2001:db8::1"] {
            assert!(!map.dns_client(ip(no)), "{no}");
        }
    }
}

//! `[network.proxy]`: the HTTP(S) filtering proxy's settings and their defaults.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

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

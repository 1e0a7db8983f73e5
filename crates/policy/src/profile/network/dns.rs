//! `[network.dns]`: how the DNS gateway listens, where it asks, and what a blocked name gets.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

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

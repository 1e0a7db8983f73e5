//! The DNS filtering resolver: hickory-server on UDP and TCP, one handler that identifies the
//! client, asks the filter and answers, and hickory-resolver as the caching upstream client.

mod handler;
mod upstream;

use crate::{FilterSlot, GatewayError};
use handler::Handler;
use hickory_server::Server;
use policy::profile::network::{BlockAnswer, ClientMap, NetworkPolicy};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use store::AccessLogger;

pub use upstream::Upstream;

/// Everything the DNS gateway needs to know, taken from the profile once at start or reload.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub listen: Vec<SocketAddr>,
    pub upstreams: Vec<SocketAddr>,
    pub block_answer: BlockAnswer,
    pub block_page_ipv4: Option<Ipv4Addr>,
    pub block_page_ipv6: Option<Ipv6Addr>,
    pub cache_entries: usize,
    pub max_ttl: Duration,
    pub clients: ClientMap,
    /// Groups that must never get an unfiltered answer.
    pub pupil_groups: HashSet<String>,
}

impl DnsConfig {
    /// The settings of a profile's `[network]` section.
    pub fn from_network(network: &NetworkPolicy, pupil_groups: HashSet<String>) -> DnsConfig {
        let dns = &network.dns;
        DnsConfig {
            listen: dns.listen.clone(),
            upstreams: dns.upstreams.clone(),
            block_answer: dns.block_answer,
            block_page_ipv4: dns.block_page_ipv4,
            block_page_ipv6: dns.block_page_ipv6,
            cache_entries: dns.cache_entries,
            max_ttl: Duration::from_secs(u64::from(dns.max_ttl_seconds)),
            clients: ClientMap::new(network),
            pupil_groups,
        }
    }
}

/// Counters for `/metrics` and the statistics page.
#[derive(Debug, Default)]
pub struct DnsStats {
    pub queries: AtomicU64,
    pub allowed: AtomicU64,
    pub blocked: AtomicU64,
    pub rewritten: AtomicU64,
    pub refused: AtomicU64,
    pub servfail: AtomicU64,
    /// Sum of upstream latencies in microseconds, and how many there were.
    pub upstream_micros: AtomicU64,
    pub upstream_lookups: AtomicU64,
}

impl DnsStats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running DNS gateway.
pub struct DnsServer {
    server: Server<Handler>,
    /// The addresses it answers on (UDP and TCP on each).
    pub addrs: Vec<SocketAddr>,
    pub stats: Arc<DnsStats>,
}

impl DnsServer {
    /// Binds every listen address (UDP and TCP on the same port; port 0 picks one) and starts
    /// answering.
    pub async fn start(
        config: DnsConfig,
        filter: Arc<FilterSlot>,
        log: Option<AccessLogger>,
    ) -> Result<DnsServer, GatewayError> {
        let upstream = Upstream::new(&config)?;
        let stats = Arc::new(DnsStats::default());
        let handler = Handler::new(
            Arc::new(config.clone()),
            filter,
            upstream,
            log,
            stats.clone(),
        );
        let mut server = Server::new(handler);
        let mut addrs = Vec::new();
        for addr in &config.listen {
            let udp =
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|source| GatewayError::Bind {
                        addr: *addr,
                        source,
                    })?;
            let bound = udp.local_addr().map_err(|source| GatewayError::Bind {
                addr: *addr,
                source,
            })?;
            let tcp = tokio::net::TcpListener::bind(bound)
                .await
                .map_err(|source| GatewayError::Bind {
                    addr: bound,
                    source,
                })?;
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 65_535);
            addrs.push(bound);
        }
        Ok(DnsServer {
            server,
            addrs,
            stats,
        })
    }

    /// Stops answering and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        let _ = self.server.shutdown_gracefully().await;
    }
}

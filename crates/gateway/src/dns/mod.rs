//! The DNS filtering resolver: hickory-server on UDP and TCP, one handler that identifies the
//! client, asks the filter and answers, and hickory-resolver as the caching upstream client.

mod fast;
mod handler;
mod upstream;

use crate::{FilterSlot, GatewayError};
use handler::{Handler, Shared};
use hickory_server::Server;
use policy::profile::network::{BlockAnswer, ClientMap, NetworkPolicy};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
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

/// Label of the per-verdict query counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabel {
    pub verdict: &'static str,
}

/// Label of the per-category block counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabel {
    pub category: String,
}

/// The DNS gateway's Prometheus metrics.
#[derive(Debug)]
pub struct DnsStats {
    /// Queries by verdict (allow, block, rewrite, refused, unfiltered, error).
    pub queries: Family<VerdictLabel, Counter>,
    /// Blocked queries by category.
    pub blocked: Family<CategoryLabel, Counter>,
    /// Time to an upstream answer (or the cache's), in seconds.
    pub upstream_seconds: Histogram,
}

impl Default for DnsStats {
    fn default() -> Self {
        DnsStats {
            queries: Family::default(),
            blocked: Family::default(),
            upstream_seconds: Histogram::new(exponential_buckets(0.000_05, 4.0, 9)),
        }
    }
}

impl DnsStats {
    fn count(&self, verdict: &'static str) {
        self.queries.get_or_create(&VerdictLabel { verdict }).inc();
    }

    /// How many queries got `verdict` so far.
    pub fn queries_with(&self, verdict: &'static str) -> u64 {
        self.queries.get_or_create(&VerdictLabel { verdict }).get()
    }

    /// Adds these metrics to `registry` under `palisade_dns_`.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        let dns = registry.sub_registry_with_prefix("palisade_dns");
        dns.register("queries", "DNS queries by verdict", self.queries.clone());
        dns.register(
            "blocked",
            "Blocked DNS queries by category",
            self.blocked.clone(),
        );
        dns.register(
            "upstream_seconds",
            "Time to an upstream (or cached) answer",
            self.upstream_seconds.clone(),
        );
    }
}

/// Binds UDP and TCP on the same address. With port 0 a port free for UDP may be taken for
/// TCP, so a few ports are tried.
async fn bind_pair(
    addr: SocketAddr,
) -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener, SocketAddr), GatewayError> {
    let mut attempt = 0;
    loop {
        let udp = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let bound = udp
            .local_addr()
            .map_err(|source| GatewayError::Bind { addr, source })?;
        match tokio::net::TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp, bound)),
            Err(_) if addr.port() == 0 && attempt < 20 => attempt += 1,
            Err(source) => {
                return Err(GatewayError::Bind {
                    addr: bound,
                    source,
                });
            }
        }
    }
}

/// A running DNS gateway.
pub struct DnsServer {
    server: Server<Shared>,
    udp_tasks: Vec<tokio::task::JoinHandle<()>>,
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
        let handler = Arc::new(Handler::new(
            Arc::new(config.clone()),
            filter,
            upstream,
            log,
            stats.clone(),
        ));
        let cache = Arc::new(fast::AnswerCache::new(config.cache_entries.max(50_000)));
        let mut server = Server::new(Shared(handler.clone()));
        let mut udp_tasks = Vec::new();
        let mut addrs = Vec::new();
        for addr in &config.listen {
            let (udp, tcp, bound) = bind_pair(*addr).await?;
            udp_tasks.push(tokio::spawn(fast::serve_udp(
                Arc::new(udp),
                handler.clone(),
                cache.clone(),
            )));
            server.register_listener(tcp, Duration::from_secs(5), 65_535);
            addrs.push(bound);
        }
        Ok(DnsServer {
            server,
            udp_tasks,
            addrs,
            stats,
        })
    }

    /// Stops answering and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        for t in &self.udp_tasks {
            t.abort();
        }
        let _ = self.server.shutdown_gracefully().await;
    }
}

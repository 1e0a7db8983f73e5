//! The DNS filtering resolver: hickory-server on UDP and TCP, one handler that identifies the
//! client, asks the filter and answers, and hickory-resolver as the caching upstream client.

mod facts;
mod fast;
mod handler;
mod upstream;

use crate::{FilterSlot, GatewayError, GatewayStats};
use events::AccessSink;
use handler::{Handler, Shared};
use hickory_server::Server;
use policy::profile::network::{BlockAnswer, ClientMap, NetworkPolicy};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use fast::check_datagram;
pub use upstream::Upstream;

/// Everything the DNS gateway needs to know, taken from the profile once at start or reload.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub listen: Vec<SocketAddr>,
    pub upstreams: Vec<SocketAddr>,
    /// DNS-over-TLS upstreams (address, certificate name); used instead of `upstreams`.
    pub tls_upstreams: Vec<(SocketAddr, String)>,
    /// Extra CA certificates (PEM) trusted for the DNS-over-TLS upstreams.
    pub tls_roots_pem: Option<String>,
    pub block_answer: BlockAnswer,
    pub block_page_ipv4: Option<Ipv4Addr>,
    pub block_page_ipv6: Option<Ipv6Addr>,
    pub cache_entries: usize,
    pub max_ttl: Duration,
    pub clients: ClientMap,
    /// Groups that must never get an unfiltered answer.
    pub pupil_groups: HashSet<String>,
    /// Users signed in to the proxy, by address, to name them in the query log.
    pub signed_in: Option<Arc<crate::signed_in::SignedIn>>,
    /// The device register, to name devices and holders and to place devices in their group.
    pub devices: Option<Arc<crate::devices::Devices>>,
    /// Every filtering group of the profile (a registered device may be placed in any).
    pub groups: Vec<String>,
    /// Where the time of every logged request (and of the block page) comes from.
    pub clock: clock::Clock,
}

impl DnsConfig {
    /// The settings of a profile's `[network]` section.
    pub fn from_network(
        network: &NetworkPolicy,
        pupil_groups: HashSet<String>,
        clock: clock::Clock,
    ) -> DnsConfig {
        let dns = &network.dns;
        DnsConfig {
            clock,
            listen: dns.listen.clone(),
            upstreams: dns.upstreams.clone(),
            tls_upstreams: dns
                .tls_upstreams
                .iter()
                .map(|u| (u.address, u.name.clone()))
                .collect(),
            tls_roots_pem: None,
            block_answer: dns.block_answer,
            block_page_ipv4: dns.block_page_ipv4,
            block_page_ipv6: dns.block_page_ipv6,
            cache_entries: dns.cache_entries,
            max_ttl: Duration::from_secs(u64::from(dns.max_ttl_seconds)),
            clients: ClientMap::new(network),
            pupil_groups,
            signed_in: None,
            devices: None,
            groups: Vec::new(),
        }
    }
}

/// One school as the DNS gateway sees it: its settings, its filter and its access log.
pub struct DnsSchool {
    pub config: DnsConfig,
    pub filter: Arc<FilterSlot>,
    pub log: Option<Arc<dyn AccessSink>>,
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
    udp_threads: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// The addresses it answers on (UDP and TCP on each).
    pub addrs: Vec<SocketAddr>,
    pub stats: Arc<GatewayStats>,
}

impl DnsServer {
    /// Binds every listen address (UDP and TCP on the same port; port 0 picks one) and starts
    /// answering for one school.
    pub async fn start(
        config: DnsConfig,
        filter: Arc<FilterSlot>,
        log: Option<Arc<dyn AccessSink>>,
    ) -> Result<DnsServer, GatewayError> {
        DnsServer::start_schools(vec![DnsSchool {
            config,
            filter,
            log,
        }])
        .await
    }

    /// Starts one DNS gateway for several schools (a trust): each client is answered by its
    /// school's filter and logged in its school's log (see [`crate::sites`]). The first
    /// school's settings say where to listen, which upstreams to ask and how large a cache to
    /// keep; the upstreams' cache and the metrics are shared.
    pub async fn start_schools(schools: Vec<DnsSchool>) -> Result<DnsServer, GatewayError> {
        let Some(first) = schools.first() else {
            return Err(GatewayError::NoNetwork);
        };
        let config = first.config.clone();
        let upstream = Upstream::new(&config)?;
        let stats = Arc::new(GatewayStats::default());
        let mut handlers = Vec::with_capacity(schools.len());
        let mut group_base = 0usize;
        for school in schools {
            let base = u16::try_from(group_base).map_err(|_| GatewayError::TooManyGroups)?;
            let handler = Handler::new(
                Arc::new(school.config),
                school.filter,
                upstream.clone(),
                school.log,
                stats.clone(),
                base,
            );
            group_base += handler.group_count();
            handlers.push(Arc::new(handler));
        }
        let handler = Arc::new(crate::sites::Sites::new(handlers)?);
        let cache = Arc::new(fast::AnswerCache::new(config.cache_entries.max(50_000)));
        let mut server = Server::new(Shared(handler.clone()));
        let mut udp_threads = Vec::new();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut addrs = Vec::new();
        for addr in &config.listen {
            let (udp, tcp, bound) = bind_pair(*addr).await?;
            let udp = udp.into_std().map_err(|source| GatewayError::Bind {
                addr: bound,
                source,
            })?;
            fast::prepare_socket(&udp).map_err(|source| GatewayError::Bind {
                addr: bound,
                source,
            })?;
            let (handler, cache, stop) = (handler.clone(), cache.clone(), stop.clone());
            let runtime = tokio::runtime::Handle::current();
            let thread = std::thread::Builder::new()
                .name(format!("dns-udp-{bound}"))
                .spawn(move || fast::serve_udp(udp, handler, cache, runtime, stop))
                .map_err(|source| GatewayError::Bind {
                    addr: bound,
                    source,
                })?;
            udp_threads.push(thread);
            server.register_listener(tcp, Duration::from_secs(5), 65_535);
            addrs.push(bound);
        }
        Ok(DnsServer {
            server,
            udp_threads,
            stop,
            addrs,
            stats,
        })
    }

    /// Stops answering and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let threads = std::mem::take(&mut self.udp_threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        let _ = self.server.shutdown_gracefully().await;
    }
}

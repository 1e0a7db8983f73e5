//! The HTTP(S) filtering proxy (hyper): absolute-form HTTP requests are filtered by their full
//! URL (host, URL lists, search terms) and forwarded with their bodies streamed both ways;
//! CONNECT tunnels are filtered by host. Blocked pages get the block page (403). Every request
//! becomes an access-log event. Like the DNS gateway it never touches the database per request.

mod head;
mod login;
mod page;
mod reach;
mod service;
pub mod tls;

use crate::{FilterSlot, GatewayError, GatewayStats};
use events::AccessSink;
use policy::profile::network::{ClientMap, NetworkPolicy, ProxyReach};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use login::{AccountHolder, AccountsError, LoginFailure, ProxyAccounts};
pub use page::escape;

/// Everything the proxy needs to know, taken from the profile once at start.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: Vec<SocketAddr>,
    /// Send every allowed plain-HTTP request to this server instead of the named host (a parent
    /// proxy or a test origin), keeping the request's `Host`.
    pub parent: Option<SocketAddr>,
    pub clients: ClientMap,
    /// Groups that must never get an unfiltered page.
    pub pupil_groups: HashSet<String>,
    pub header_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    /// How long connecting to an origin may take before the client gets 504.
    pub connect_timeout: Duration,
    /// The web app's address, for the block page's review link.
    pub web_url: Option<String>,
    /// HTTPS inspection for some groups, when the school has a CA.
    pub inspection: Option<Inspection>,
    /// Every host name resolves to this address instead of through the system's resolver
    /// (loopback tests; like curl's `--resolve`).
    pub resolve_to: Option<std::net::IpAddr>,
    /// Proxy sign-in for some groups, when the profile asks for it.
    pub login: Option<ProxyLogin>,
    /// Where sign-ins are shared with the DNS gateway's log.
    pub signed_in: Option<Arc<crate::signed_in::SignedIn>>,
    /// The device register: names devices and holders, and places devices in their group.
    pub devices: Option<Arc<crate::devices::Devices>>,
    /// Where the time of every logged request (and of the block page) comes from.
    pub clock: clock::Clock,
    /// Which destinations the proxy may connect to (the server's own addresses are added at
    /// start).
    pub reach: ProxyReach,
}

/// Who must sign in to the proxy, and against what.
#[derive(Clone)]
pub struct ProxyLogin {
    /// The school's accounts (see [`ProxyAccounts`]).
    pub accounts: Arc<dyn ProxyAccounts>,
    /// Groups (by address) whose users must sign in.
    pub groups: HashSet<String>,
    /// The group staff are filtered as once signed in.
    pub staff_group: Option<String>,
    /// The group a guest account (a visitor, a supply teacher) is filtered as once signed in
    /// (the profile's `guests.group`).
    pub guest_group: Option<String>,
    /// Failed sign-ins before the account locks, and for how many minutes.
    pub lockout_attempts: u32,
    pub lockout_minutes: u32,
    /// The profile's Acceptable Use Policy version: while set, a signed-in user who has not
    /// signed the current version of their code of conduct is sent to it (the accounts decide
    /// which version is current).
    pub aup_version: Option<String>,
    /// Shown by browsers when they ask for the password.
    pub realm: String,
    /// The profile's password rules (their rotation makes old passwords expire).
    pub passwords: policy::profile::PasswordPolicy,
}

impl std::fmt::Debug for ProxyLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyLogin")
            .field("groups", &self.groups)
            .field("staff_group", &self.staff_group)
            .field("guest_group", &self.guest_group)
            .field("aup_version", &self.aup_version)
            .finish_non_exhaustive()
    }
}

/// Which HTTPS connections are opened up, and with what.
#[derive(Clone)]
pub struct Inspection {
    pub ca: Arc<tls::CertAuthority>,
    pub groups: HashSet<String>,
    /// Hosts listed under these categories are never inspected (banking, health).
    pub exempt_categories: Vec<String>,
    /// These hosts and their subdomains are never inspected.
    pub exempt_hosts: Vec<String>,
    /// The TLS client towards origins.
    pub upstream: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspection")
            .field("groups", &self.groups)
            .field("exempt_categories", &self.exempt_categories)
            .field("exempt_hosts", &self.exempt_hosts)
            .finish_non_exhaustive()
    }
}

impl Inspection {
    /// Inspection as the profile's `[network.proxy]` asks, with the CA found in `ca_dir`, or
    /// `None` when no group is inspected. A missing or broken CA is an error naming the files.
    pub fn from_settings(
        proxy: &policy::profile::network::ProxySettings,
        ca_dir: &std::path::Path,
    ) -> Result<Option<Inspection>, GatewayError> {
        if proxy.inspect_groups.is_empty() {
            return Ok(None);
        }
        let read = |name: &str| {
            let path = ca_dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| {
                GatewayError::Tls(format!(
                    "{}: {e} (make the school's CA with `palisade ca init`)",
                    path.display()
                ))
            })
        };
        let key = ca_dir.join("ca.key");
        refuse_if_others_can_read(&key)?;
        let ca = tls::CertAuthority::from_pem(&read("ca.pem")?, &read("ca.key")?)?;
        Ok(Some(Inspection {
            ca: Arc::new(ca),
            groups: proxy.inspect_groups.iter().cloned().collect(),
            exempt_categories: proxy.inspect_exempt_categories.clone(),
            exempt_hosts: proxy.inspect_exempt_hosts.clone(),
            upstream: tls::client_config(&[])?,
        }))
    }
}

/// Refuses a CA key that anyone but its owner may read or change: it signs certificates every
/// school device trusts, so a copy lets its holder read pupils' HTTPS. (`palisade ca init`
/// writes it 0600; a restore or a copy by hand can widen it.) A key that is not there is left
/// to the read that follows, which names the command that makes it.
fn refuse_if_others_can_read(key: &std::path::Path) -> Result<(), GatewayError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(key) else {
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(GatewayError::Tls(format!(
            "{} may be read by others (mode {mode:04o}): the school CA's key signs the certificates \
             every school device trusts; make it the service user's alone with `chmod 600 {}`",
            key.display(),
            key.display()
        )));
    }
    Ok(())
}

impl ProxyConfig {
    /// The settings of a profile's `[network]` section.
    pub fn from_network(
        network: &NetworkPolicy,
        pupil_groups: HashSet<String>,
        clock: clock::Clock,
    ) -> ProxyConfig {
        let proxy = &network.proxy;
        ProxyConfig {
            clock,
            listen: proxy.listen.clone(),
            parent: None,
            clients: ClientMap::new(network),
            pupil_groups,
            header_timeout: Duration::from_secs(u64::from(proxy.header_timeout_seconds)),
            max_header_bytes: proxy.max_header_bytes,
            max_connections: proxy.max_connections,
            connect_timeout: Duration::from_secs(10),
            web_url: None,
            inspection: None,
            resolve_to: None,
            login: None,
            signed_in: None,
            devices: None,
            reach: ProxyReach::new(proxy),
        }
    }
}

/// One school as the proxy sees it: its settings, its filter and its access log.
pub struct ProxySchool {
    pub config: ProxyConfig,
    pub filter: Arc<FilterSlot>,
    pub log: Option<Arc<dyn AccessSink>>,
}

/// A running proxy.
pub struct ProxyServer {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The addresses it listens on.
    pub addrs: Vec<SocketAddr>,
    pub stats: Arc<GatewayStats>,
}

impl ProxyServer {
    /// Binds every listen address (port 0 picks one) and starts serving one school.
    pub async fn start(
        config: ProxyConfig,
        filter: Arc<FilterSlot>,
        log: Option<Arc<dyn AccessSink>>,
    ) -> Result<ProxyServer, GatewayError> {
        ProxyServer::start_schools(vec![ProxySchool {
            config,
            filter,
            log,
        }])
        .await
    }

    /// Starts one proxy for several schools (a trust): each connection is served by its
    /// client's school (see [`crate::sites`]), with that school's filter, sign-in and log. The
    /// first school's settings say where to listen and how many connections to take.
    pub async fn start_schools(schools: Vec<ProxySchool>) -> Result<ProxyServer, GatewayError> {
        let Some(first) = schools.first() else {
            return Err(GatewayError::NoNetwork);
        };
        let config = first.config.clone();
        let stats = Arc::new(GatewayStats::default());
        let own: Vec<std::net::IpAddr> = reach::own_addresses()
            .into_iter()
            .chain(
                config
                    .listen
                    .iter()
                    .map(|a| a.ip())
                    .filter(|ip| !ip.is_unspecified()),
            )
            .collect();
        let mut members = Vec::with_capacity(schools.len());
        for school in schools {
            let mut school_config = school.config;
            school_config.reach.add_own(own.iter().copied());
            members.push(Arc::new(service::Shared::new(
                school_config,
                school.filter,
                school.log,
                stats.clone(),
            )));
        }
        let shared = Arc::new(crate::sites::Sites::new(members)?);
        let places = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for addr in &config.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Bind {
                    addr: *addr,
                    source,
                })?;
            let bound = listener.local_addr().map_err(|source| GatewayError::Bind {
                addr: *addr,
                source,
            })?;
            addrs.push(bound);
            tasks.push(tokio::spawn(accept_loop(
                listener,
                shared.clone(),
                places.clone(),
            )));
        }
        Ok(ProxyServer {
            tasks,
            addrs,
            stats,
        })
    }

    /// Stops accepting connections.
    pub fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    sites: Arc<crate::sites::Sites<service::Shared>>,
    places: Arc<tokio::sync::Semaphore>,
) {
    loop {
        // A place first, so that a flood of connections waits in the kernel's backlog rather
        // than in memory.
        let Ok(place) = places.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (_, shared) = sites.of(peer.ip());
                let shared = shared.clone();
                tokio::spawn(async move {
                    service::serve_connection(stream, peer, shared).await;
                    drop(place);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!(error = %e, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

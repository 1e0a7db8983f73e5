//! One client connection: the first head read by [`super::head`], then hyper's HTTP/1.1 server
//! with upgrades (CONNECT). Each request is identified, judged, answered and logged.

use super::ProxyConfig;
use super::head::{Prefixed, read_first_head};
use super::login::{Identified, Logins, Refusal};
use super::page::{Blocked, block_page, message_page, query_value};
use super::reach::{ConnectFailure, Connector, Reach, refusal_in};
use crate::signed_in::Identity;
use crate::{FilterSlot, GatewayStats};
use bytes::Bytes;
use events::LogVerdict;
use events::{AccessEvent, AccessSink};
use filter::Verdict;
use filter::normalize::{BadName, normalize_host};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

mod connect;
mod forward;
mod inspect;
mod respond;

use respond::{empty, not_ready, page, text};

type Body = BoxBody<Bytes, hyper::Error>;
type HttpsConnector = hyper_rustls::HttpsConnector<Connector>;

/// What every connection of one proxy shares.
pub struct Shared {
    config: ProxyConfig,
    filter: Arc<FilterSlot>,
    log: Option<Arc<dyn AccessSink>>,
    stats: Arc<GatewayStats>,
    client: Client<Connector, Incoming>,
    /// Where origins may be reached; every connection to one goes through it.
    reach: Arc<Reach>,
    /// The TLS client towards origins of inspected connections.
    https: Option<Client<HttpsConnector, Incoming>>,
    logins: Logins,
}

/// How one request was judged.
enum Judged {
    Pass {
        verdict: LogVerdict,
    },
    /// Allowed, but sent to this host instead (SafeSearch endpoints).
    Rewrite {
        target: String,
    },
    Block {
        category: String,
        rule: String,
    },
    /// A pupil-level group while no filter is loaded: refused, never unfiltered.
    NotReady,
}

/// The category the access log and the block page give a destination the proxy refused to
/// reach (loopback, private, link-local, this server...).
pub const REFUSED_DESTINATION: &str = "local-network";

/// Why an allowed request got no answer from its origin.
enum Failed {
    /// An error page to send (502, 504, 400).
    Page(Response<Body>),
    /// The origin is somewhere the proxy must not reach; the text says why.
    Refused(String),
}

/// The host of a request as the filter sees it.
enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    fn parse(raw: &str) -> Option<Host> {
        match normalize_host(raw) {
            // `2130706433`, `127.1`, `0x7f.1`: resolvers read these as addresses, so they are.
            Ok(name) => Some(match numeric_ipv4(&name) {
                Some(v4) => Host::Ip(IpAddr::V4(v4)),
                None => Host::Name(name),
            }),
            Err(BadName::IpLiteral) => raw
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()
                .map(Host::Ip),
            Err(_) => None,
        }
    }

    fn as_string(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Ip(ip) => ip.to_string(),
        }
    }
}

/// A host written as an IPv4 address in `inet_aton`'s forms (one to four parts, each decimal,
/// `0x` hexadecimal or `0` octal, the last filling the remaining bytes), or `None`.
fn numeric_ipv4(name: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = match p.strip_prefix("0x") {
            Some(hex) => (hex, 16),
            None if p.len() > 1 && p.starts_with('0') => (&p[1..], 8),
            None => (*p, 10),
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        values.push(v);
    }
    let (last, first) = values.split_last()?;
    let mut addr: u64 = 0;
    for (i, v) in first.iter().enumerate() {
        if *v > 255 {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let room = 32 - 8 * first.len();
    if *last >= 1u64 << room {
        return None;
    }
    Some(Ipv4Addr::from(u32::try_from(addr | last).ok()?))
}

impl Shared {
    pub fn new(
        config: ProxyConfig,
        filter: Arc<FilterSlot>,
        log: Option<Arc<dyn AccessSink>>,
        stats: Arc<GatewayStats>,
    ) -> Shared {
        let mut rules = config.reach.clone();
        // The operator's parent proxy is reached wherever it is.
        if let Some(parent) = config.parent {
            rules.allow(parent);
        }
        let reach = Arc::new(Reach {
            rules,
            resolve_to: config.resolve_to,
            connect_timeout: config.connect_timeout,
        });
        let connector = Connector(reach.clone());
        let builder = || {
            let mut b = Client::builder(TokioExecutor::new());
            b.pool_idle_timeout(std::time::Duration::from_secs(30))
                .pool_max_idle_per_host(256);
            b
        };
        let https = config.inspection.as_ref().map(|i| {
            let tcp = connector.clone();
            let tls = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config((*i.upstream).clone())
                .https_only()
                .enable_http1()
                .wrap_connector(tcp);
            builder().build(tls)
        });
        let client = builder().build(connector);
        Shared {
            config,
            filter,
            log,
            stats,
            client,
            reach,
            https,
            logins: Logins::default(),
        }
    }

    fn judge(&self, group: &str, host: &Host, url: Option<&str>) -> Judged {
        let pupil = self.config.pupil_groups.contains(group);
        let Some(filter) = self.filter.load() else {
            return if pupil {
                Judged::NotReady
            } else {
                Judged::Pass {
                    verdict: LogVerdict::Unfiltered,
                }
            };
        };
        let name = match host {
            Host::Name(n) => n,
            // An address instead of a name skips name-based filtering: circumvention for
            // pupils, whose HTTPS must go by name.
            Host::Ip(_) if pupil && url.is_none() => {
                return Judged::Block {
                    category: filter::engine::CIRCUMVENTION.to_string(),
                    rule: "an IP address instead of a host name".to_string(),
                };
            }
            Host::Ip(ip) => &ip.to_string(),
        };
        let decision = match url {
            Some(url) => filter.decide_url(group, name, url),
            None => filter.decide(group, name),
        };
        match decision {
            Verdict::Allow => Judged::Pass {
                verdict: LogVerdict::Allow,
            },
            Verdict::Rewrite { target } => Judged::Rewrite { target },
            Verdict::Block { category, rule, .. } => Judged::Block { category, rule },
            Verdict::Nxdomain { rule } => Judged::Block {
                category: filter::engine::CIRCUMVENTION.to_string(),
                rule,
            },
        }
    }

    async fn handle(self: &Arc<Self>, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
        let (group, who) = match self.identify(peer, req.headers()).await {
            Ok(found) => found,
            Err(refusal) => return self.refuse(refusal),
        };
        if req.method() == Method::CONNECT {
            return self.connect(peer, &group, who, req).await;
        }
        let Some(authority) = req.uri().authority().cloned() else {
            return page(
                StatusCode::BAD_REQUEST,
                "This is the school's web proxy",
                "Set it as your browser's proxy (the school's proxy.pac does this) rather than opening it as a web page.",
            );
        };
        if req.uri().scheme_str() != Some("http") {
            return page(
                StatusCode::BAD_REQUEST,
                "Address not supported",
                "Only http:// addresses are sent to the proxy this way; https:// goes through CONNECT.",
            );
        }
        let Some(host) = Host::parse(authority.host()) else {
            return page(
                StatusCode::BAD_REQUEST,
                "Bad address",
                "The address's host name is not valid.",
            );
        };
        let url = req.uri().to_string();
        if !self.is_web_app(&authority) && self.aup_pending(who.as_ref()).await {
            return self.aup_redirect(&url);
        }
        let search_term = filter::urls::search_terms(&url);
        let judged = self.judge(&group, &host, Some(&url));
        let mut event = Event {
            peer,
            group: &group,
            who,
            host: host.as_string(),
            url: Some(url.clone()),
            search_term,
        };
        match judged {
            Judged::NotReady => {
                self.record(&event, LogVerdict::Refused, None, None, None);
                not_ready()
            }
            Judged::Block { category, rule } => {
                self.record_block(&event, &category, &rule);
                self.block_response(peer, &group, &url, &category, &rule)
            }
            Judged::Pass { verdict } => {
                let started = Instant::now();
                let res = self.forward(req, &authority, None).await;
                self.finish(&mut event, verdict, None, started, res)
            }
            Judged::Rewrite { target } => {
                let started = Instant::now();
                let res = self.forward(req, &authority, Some(&target)).await;
                self.finish(&mut event, LogVerdict::Rewrite, Some(&target), started, res)
            }
        }
    }

    fn finish(
        &self,
        event: &mut Event<'_>,
        verdict: LogVerdict,
        rule: Option<&str>,
        started: Instant,
        res: Result<Response<Body>, Failed>,
    ) -> Response<Body> {
        let elapsed = started.elapsed();
        self.stats.upstream_seconds.observe(elapsed.as_secs_f64());
        let ms = Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        match res {
            Ok(r) => {
                self.record(event, verdict, None, rule, ms);
                r
            }
            Err(Failed::Page(r)) => {
                self.record(event, LogVerdict::Error, None, rule, ms);
                r
            }
            Err(Failed::Refused(why)) => {
                self.record_block(event, REFUSED_DESTINATION, &why);
                let url = event.url.clone().unwrap_or_else(|| event.host.clone());
                self.block_response(event.peer, event.group, &url, REFUSED_DESTINATION, &why)
            }
        }
    }

    /// The group a request is filtered as, and who made it when the address's group signs in;
    /// or why it is refused.
    async fn identify(
        &self,
        peer: SocketAddr,
        headers: &hyper::HeaderMap,
    ) -> Result<(String, Option<Identity>), Refusal> {
        let address_group = self
            .device(peer.ip())
            .and_then(|d| d.group.clone())
            .unwrap_or_else(|| self.config.clients.group_for(peer.ip()).to_string());
        let Some(login) = &self.config.login else {
            return Ok((address_group, None));
        };
        match self.logins.identify(login, &address_group, headers).await? {
            Identified::ByAddress => Ok((address_group, None)),
            Identified::User { who, staff, guest } => {
                if let Some(register) = &self.config.signed_in {
                    register.bind(peer.ip(), &who);
                }
                let group = match (&login.staff_group, staff, &login.guest_group, guest) {
                    (_, _, Some(g), true) => g.clone(),
                    (Some(g), true, _, _) => g.clone(),
                    _ => address_group,
                };
                Ok((group, Some(who)))
            }
        }
    }

    /// Whether a signed-in user has yet to accept the current Acceptable Use Policy.
    async fn aup_pending(&self, who: Option<&Identity>) -> bool {
        match (&self.config.login, who) {
            (Some(login), Some(who)) => self.logins.aup_pending(login, who).await,
            _ => false,
        }
    }

    /// Whether a request is for Palisade's own web app (the policy and review pages must stay
    /// reachable through the proxy, or the redirect would loop).
    fn is_web_app(&self, authority: &Authority) -> bool {
        self.config.web_url.as_deref().is_some_and(|web| {
            web.split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/'))
                .is_some_and(|a| a.eq_ignore_ascii_case(authority.as_str()))
        })
    }

    /// The registered device at `ip`, if any.
    fn device(&self, ip: std::net::IpAddr) -> Option<Arc<crate::devices::DeviceTag>> {
        self.config.devices.as_ref()?.at(ip)
    }

    /// Logs a request the filter blocked, with the category and the rule that matched.
    fn record_block(&self, e: &Event<'_>, category: &str, rule: &str) {
        self.record(e, LogVerdict::Block, Some(category), Some(rule), None);
    }

    fn record(
        &self,
        e: &Event<'_>,
        verdict: LogVerdict,
        category: Option<&str>,
        rule: Option<&str>,
        upstream_ms: Option<i64>,
    ) {
        self.stats.count_answer(verdict, category);
        let Some(log) = &self.log else { return };
        let device = self.device(e.peer.ip());
        // The user signed in to the proxy, else the device's holder.
        let (person_id, username) = match (&e.who, device.as_ref().and_then(|d| d.holder.clone())) {
            (Some(w), _) => (Some(w.person_id), Some(w.username.clone())),
            (None, Some((id, name))) => (Some(id), Some(name)),
            (None, None) => (None, None),
        };
        log.send(AccessEvent {
            school: None,
            at: events::stamp(self.config.clock.now()),
            source: "proxy".into(),
            client_ip: e.peer.ip().to_string(),
            device: device.map(|d| d.name.clone()),
            person_id,
            username,
            group_name: e.group.to_string(),
            name: e.host.clone(),
            qtype: None,
            url: e.url.clone(),
            search_term: e.search_term.clone(),
            verdict,
            category: category.map(str::to_string),
            rule: rule.map(str::to_string),
            upstream_ms,
        });
    }
}

/// What the access log needs to know of a request besides its verdict.
struct Event<'a> {
    peer: SocketAddr,
    group: &'a str,
    who: Option<Identity>,
    host: String,
    url: Option<String>,
    search_term: Option<String>,
}

impl crate::sites::Site for Shared {
    fn clients(&self) -> &policy::profile::network::ClientMap {
        &self.config.clients
    }

    fn has_device(&self, ip: IpAddr) -> bool {
        self.device(ip).is_some()
    }
}

/// Serves one client connection until it closes.
pub async fn serve_connection(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let (max, timeout) = (shared.config.max_header_bytes, shared.config.header_timeout);
    let Ok(head) = read_first_head(&mut stream, max, timeout).await else {
        return;
    };
    let io = TokioIo::new(Prefixed::new(head, stream));
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(shared.handle(peer, req).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(max.max(8192))
        .keep_alive(true);
    if let Err(e) = builder.serve_connection(io, service).with_upgrades().await {
        tracing::debug!(error = %e, %peer, "proxy connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_hosts_are_read_as_the_addresses_resolvers_take_them_for() {
        let v4 = |s: &str| numeric_ipv4(s).map(|a| a.to_string());
        assert_eq!(v4("2130706433").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("0x7f.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("0177.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("10.65535").as_deref(), Some("10.0.255.255"));
        assert_eq!(v4("0").as_deref(), Some("0.0.0.0"));
        for name in [
            "example.com",
            "4294967296",
            "256.1.1.1",
            "1.2.3.4.5",
            "08.1",
            "1..2",
            "x1",
        ] {
            assert_eq!(v4(name), None, "{name}");
        }
    }
}

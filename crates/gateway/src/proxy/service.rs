//! One client connection: the first head read by [`super::head`], then hyper's HTTP/1.1 server
//! with upgrades (CONNECT). Each request is identified, judged, answered and logged.

use super::ProxyConfig;
use super::head::{Prefixed, read_first_head};
use super::login::{Identified, Logins, Refusal};
use super::page::{Blocked, block_page, message_page, query_value};
use super::reach::{ConnectFailure, Connector, Reach, refusal_in};
use crate::signed_in::Identity;
use crate::{Decision, FilterSlot, GatewayStats};
use bytes::Bytes;
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
use store::{AccessEvent, AccessLogger};

type Body = BoxBody<Bytes, hyper::Error>;
type HttpsConnector = hyper_rustls::HttpsConnector<Connector>;

/// What every connection of one proxy shares.
pub struct Shared {
    config: ProxyConfig,
    filter: Arc<FilterSlot>,
    log: Option<AccessLogger>,
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
        verdict: &'static str,
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
        log: Option<AccessLogger>,
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
                    verdict: "unfiltered",
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
            Decision::Allow => Judged::Pass { verdict: "allow" },
            Decision::Rewrite { target } => Judged::Rewrite { target },
            Decision::Block { category, rule, .. } => Judged::Block { category, rule },
            Decision::Nxdomain { rule } => Judged::Block {
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
                self.record(&event, "refused", None, None, None);
                not_ready()
            }
            Judged::Block { category, rule } => {
                self.record(&event, "block", Some(&category), Some(&rule), None);
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
                self.finish(&mut event, "rewrite", Some(&target), started, res)
            }
        }
    }

    fn finish(
        &self,
        event: &mut Event<'_>,
        verdict: &'static str,
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
                self.record(event, "error", None, rule, ms);
                r
            }
            Err(Failed::Refused(why)) => {
                self.record(event, "block", Some(REFUSED_DESTINATION), Some(&why), None);
                let url = event.url.clone().unwrap_or_else(|| event.host.clone());
                self.block_response(event.peer, event.group, &url, REFUSED_DESTINATION, &why)
            }
        }
    }

    /// Sends an allowed request on: to the parent if there is one, to `connect_to` (a
    /// SafeSearch endpoint) if given, else to the host it names. The body streams both ways.
    async fn forward(
        &self,
        mut req: Request<Incoming>,
        authority: &Authority,
        connect_to: Option<&str>,
    ) -> Result<Response<Body>, Failed> {
        strip_hop_by_hop(req.headers_mut());
        // The host judged is the request target's, so that is the one sent (RFC 9112 section
        // 3.2.2): a client's own `Host` would reach a host the filter never saw.
        match HeaderValue::from_str(authority.as_str()) {
            Ok(v) => {
                req.headers_mut().insert(header::HOST, v);
            }
            Err(_) => {
                req.headers_mut().remove(header::HOST);
            }
        }
        req.headers_mut()
            .append(header::VIA, HeaderValue::from_static("1.1 palisade"));
        let target = match (self.config.parent, connect_to) {
            (Some(parent), _) => parent.to_string(),
            (None, Some(t)) => match authority.port_u16() {
                Some(p) => format!("{t}:{p}"),
                None => t.to_string(),
            },
            (None, None) => authority.as_str().to_string(),
        };
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let Ok(uri) = Uri::try_from(format!("http://{target}{path}")) else {
            return Err(Failed::Page(page(
                StatusCode::BAD_REQUEST,
                "Bad address",
                "The address could not be forwarded.",
            )));
        };
        *req.uri_mut() = uri;
        match self.client.request(req).await {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Ok(Response::from_parts(parts, body.boxed()))
            }
            Err(e) => {
                if let Some(why) = refusal_in(&e) {
                    return Err(Failed::Refused(why));
                }
                tracing::debug!(error = %e, host = %authority, "proxy upstream failed");
                Err(Failed::Page(page(
                    StatusCode::BAD_GATEWAY,
                    "The site could not be reached",
                    &format!("{} did not answer.", authority.host()),
                )))
            }
        }
    }

    /// CONNECT: judged by host; allowed tunnels are opened before the client is told 200, so a
    /// site that cannot be reached gets 502 rather than a dead tunnel.
    async fn connect(
        self: &Arc<Self>,
        peer: SocketAddr,
        group: &str,
        who: Option<Identity>,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let Some(authority) = req.uri().authority().cloned() else {
            return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n");
        };
        let Some(host) = Host::parse(authority.host()) else {
            return text(
                StatusCode::BAD_REQUEST,
                "CONNECT to a host name that is not valid\n",
            );
        };
        let port = authority.port_u16().unwrap_or(443);
        let event = Event {
            peer,
            group,
            who: who.clone(),
            host: host.as_string(),
            url: None,
            search_term: None,
        };
        let judged = self.judge(group, &host, None);
        // An inspected group's tunnel is opened up even to a blocked host, so that the browser
        // shows the block page (over TLS) rather than a connection error; each request inside
        // is judged and logged by its full URL instead of the tunnel. A tunnel that would
        // reach a port or an address the proxy must not is refused first.
        if !matches!(judged, Judged::NotReady) && self.inspects(group, &event.host) {
            if let Judged::Pass { .. } | Judged::Rewrite { .. } = judged
                && let Err(ConnectFailure::Refused(why)) =
                    self.reach.tunnel_addresses(&event.host, port).await
            {
                return self.refuse_tunnel(&event, port, &why);
            }
            let upgrade = hyper::upgrade::on(&mut req);
            let shared = self.clone();
            let (group, host) = (group.to_string(), event.host.clone());
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    shared.inspect(peer, group, who, host, port, upgraded).await;
                }
            });
            return Response::new(empty());
        }
        // Without inspection there is no page to show: say where the policy is.
        if self.aup_pending(who.as_ref()).await {
            let web = self
                .config
                .web_url
                .as_deref()
                .unwrap_or("the school's web app");
            return text(
                StatusCode::FORBIDDEN,
                &format!("Please read and accept the Acceptable Use Policy first: {web}/aup\n"),
            );
        }
        let (target, verdict, rule) = match judged {
            Judged::NotReady => {
                self.record(&event, "refused", None, None, None);
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The school's filter is starting; try again in a moment.\n",
                );
            }
            Judged::Block { category, rule } => {
                self.record(&event, "block", Some(&category), Some(&rule), None);
                return text(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "Blocked by the school's filter: {} ({category}, rule {rule}).\n",
                        event.host
                    ),
                );
            }
            Judged::Pass { verdict } => (event.host.clone(), verdict, None),
            Judged::Rewrite { target } => (target.clone(), "rewrite", Some(target)),
        };
        let started = Instant::now();
        let connected = match self.reach.tunnel_addresses(&target, port).await {
            Ok(addrs) => self.reach.connect_to(addrs).await,
            Err(e) => Err(e),
        };
        let ms = Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
        let mut upstream = match connected {
            Ok(s) => s,
            Err(ConnectFailure::Refused(why)) => return self.refuse_tunnel(&event, port, &why),
            Err(ConnectFailure::Io(_)) => {
                self.record(&event, "error", None, rule.as_deref(), ms);
                return text(StatusCode::BAD_GATEWAY, "The site could not be reached.\n");
            }
            Err(ConnectFailure::Timeout) => {
                self.record(&event, "error", None, rule.as_deref(), ms);
                return text(
                    StatusCode::GATEWAY_TIMEOUT,
                    "The site took too long to answer.\n",
                );
            }
        };
        let _ = upstream.set_nodelay(true);
        self.record(&event, verdict, None, rule.as_deref(), ms);
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let mut client = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
        Response::new(empty())
    }

    /// 403 for a tunnel to somewhere the proxy must not reach, logged like a block.
    fn refuse_tunnel(&self, event: &Event<'_>, port: u16, why: &str) -> Response<Body> {
        self.record(event, "block", Some(REFUSED_DESTINATION), Some(why), None);
        text(
            StatusCode::FORBIDDEN,
            &format!(
                "Refused by the school's filter: {}:{port} ({REFUSED_DESTINATION}: {why}).\n",
                event.host
            ),
        )
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
            Identified::User { who, staff } => {
                if let Some(register) = &self.config.signed_in {
                    register.bind(peer.ip(), &who);
                }
                let group = match (&login.staff_group, staff) {
                    (Some(g), true) => g.clone(),
                    _ => address_group,
                };
                Ok((group, Some(who)))
            }
        }
    }

    /// 407: the browser asks for the user's Palisade username and password.
    fn refuse(&self, refusal: Refusal) -> Response<Body> {
        let message = match refusal {
            Refusal::SignIn => {
                "Sign in with your school username and password to use the internet."
            }
            Refusal::Locked => {
                "This account is locked after too many wrong passwords. Try again later, or ask the network manager."
            }
            Refusal::Expired => {
                "Your password has expired. Change it in Palisade (My account), then sign in again."
            }
        };
        let mut res = page(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "Sign in to use the internet",
            message,
        );
        let realm = self
            .config
            .login
            .as_ref()
            .map(|l| l.realm.replace('"', "'"))
            .unwrap_or_default();
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
        {
            res.headers_mut().insert(header::PROXY_AUTHENTICATE, v);
        }
        res
    }

    /// Whether a signed-in user has yet to accept the current Acceptable Use Policy.
    async fn aup_pending(&self, who: Option<&Identity>) -> bool {
        match (&self.config.login, who) {
            (Some(login), Some(who)) => self.logins.aup_pending(login, who).await,
            _ => false,
        }
    }

    /// Sends the browser to the policy, which links back to `url` once accepted.
    fn aup_redirect(&self, url: &str) -> Response<Body> {
        let Some(web) = &self.config.web_url else {
            return page(
                StatusCode::FORBIDDEN,
                "Acceptable Use Policy",
                "Please read and accept the school's Acceptable Use Policy first.",
            );
        };
        let location = format!(
            "{}/aup?return={}",
            web.trim_end_matches('/'),
            query_value(url)
        );
        let mut res = page(
            StatusCode::FOUND,
            "Acceptable Use Policy",
            "Please read and accept the school's Acceptable Use Policy first.",
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        res
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

    /// Whether a CONNECT from `group` to `host` is opened up: the group is inspected and the
    /// host is not exempt (by name, or by a banking or health listing). Without a filter
    /// nothing is known of the host, so it is left alone.
    fn inspects(&self, group: &str, host: &str) -> bool {
        let Some(i) = &self.config.inspection else {
            return false;
        };
        if !i.groups.contains(group) || self.https.is_none() {
            return false;
        }
        let under = |d: &String| {
            host == d || (host.ends_with(d.as_str()) && host[..host.len() - d.len()].ends_with('.'))
        };
        if i.exempt_hosts.iter().any(under) {
            return false;
        }
        match self.filter.load() {
            Some(f) => !f.listed_in(host, &i.exempt_categories),
            None => false,
        }
    }

    /// Terminates TLS inside an allowed tunnel with a certificate minted for the name the
    /// browser asked for (SNI, else the CONNECT host), then serves each request in it.
    async fn inspect(
        self: Arc<Self>,
        peer: SocketAddr,
        group: String,
        who: Option<Identity>,
        connect_host: String,
        port: u16,
        upgraded: hyper::upgrade::Upgraded,
    ) {
        let Some(inspection) = self.config.inspection.clone() else {
            return;
        };
        let acceptor = tokio_rustls::LazyConfigAcceptor::new(
            rustls::server::Acceptor::default(),
            TokioIo::new(upgraded),
        );
        let Ok(Ok(start)) = tokio::time::timeout(self.config.header_timeout, acceptor).await else {
            return;
        };
        let host = start
            .client_hello()
            .server_name()
            .and_then(Host::parse)
            .map(|h| h.as_string())
            .unwrap_or(connect_host);
        let config = match inspection.ca.server_config(&host) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, %host, "no certificate for an inspected host");
                return;
            }
        };
        let Ok(tls) = start.into_stream(config).await else {
            return;
        };
        let timeout = self.config.header_timeout;
        let service = hyper::service::service_fn(move |req| {
            let (shared, group, host, who) =
                (self.clone(), group.clone(), host.clone(), who.clone());
            async move {
                Ok::<_, Infallible>(shared.inspected(peer, &group, who, &host, port, req).await)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .keep_alive(true);
        let _ = builder.serve_connection(TokioIo::new(tls), service).await;
    }

    /// One request inside an inspected tunnel, judged by its full `https://` URL.
    async fn inspected(
        &self,
        peer: SocketAddr,
        group: &str,
        who: Option<Identity>,
        host: &str,
        port: u16,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let authority = if port == 443 {
            host.to_string()
        } else {
            format!("{host}:{port}")
        };
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        let url = format!("https://{authority}{path}");
        if self.aup_pending(who.as_ref()).await {
            return self.aup_redirect(&url);
        }
        let name = Host::parse(host).unwrap_or(Host::Name(host.to_string()));
        let mut event = Event {
            peer,
            group,
            who,
            host: host.to_string(),
            url: Some(url.clone()),
            search_term: filter::urls::search_terms(&url),
        };
        let (target, verdict, rule) = match self.judge(group, &name, Some(&url)) {
            Judged::NotReady => {
                self.record(&event, "refused", None, None, None);
                return not_ready();
            }
            Judged::Block { category, rule } => {
                self.record(&event, "block", Some(&category), Some(&rule), None);
                return self.block_response(peer, group, &url, &category, &rule);
            }
            Judged::Pass { verdict } => (authority.clone(), verdict, None),
            Judged::Rewrite { target } => {
                let t = if port == 443 {
                    target.clone()
                } else {
                    format!("{target}:{port}")
                };
                (t, "rewrite", Some(target))
            }
        };
        let Some(https) = &self.https else {
            return not_ready();
        };
        strip_hop_by_hop(req.headers_mut());
        // The host judged (the TLS name) is the one sent, whatever `Host` the client wrote.
        match HeaderValue::from_str(&authority) {
            Ok(v) => {
                req.headers_mut().insert(header::HOST, v);
            }
            Err(_) => {
                req.headers_mut().remove(header::HOST);
            }
        }
        req.headers_mut()
            .append(header::VIA, HeaderValue::from_static("1.1 palisade"));
        let Ok(uri) = Uri::try_from(format!("https://{target}{path}")) else {
            return page(
                StatusCode::BAD_REQUEST,
                "Bad address",
                "The address could not be forwarded.",
            );
        };
        *req.uri_mut() = uri;
        let started = Instant::now();
        let res = match https.request(req).await {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Ok(Response::from_parts(parts, body.boxed()))
            }
            Err(e) => {
                if let Some(why) = refusal_in(&e) {
                    return self.finish(
                        &mut event,
                        verdict,
                        None,
                        started,
                        Err(Failed::Refused(why)),
                    );
                }
                tracing::debug!(error = %e, %host, "inspected upstream failed");
                Err(Failed::Page(page(
                    StatusCode::BAD_GATEWAY,
                    "The site could not be reached",
                    &format!("{host} did not answer."),
                )))
            }
        };
        self.finish(&mut event, verdict, rule.as_deref(), started, res)
    }

    fn block_response(
        &self,
        peer: SocketAddr,
        group: &str,
        url: &str,
        category: &str,
        rule: &str,
    ) -> Response<Body> {
        let at = self
            .config
            .clock
            .school_now()
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let who = peer.ip().to_string();
        html(
            StatusCode::FORBIDDEN,
            block_page(&Blocked {
                address: url,
                category,
                rule,
                who: &who,
                group,
                at: &at,
                web_url: self.config.web_url.as_deref(),
            }),
        )
    }

    /// The registered device at `ip`, if any.
    fn device(&self, ip: std::net::IpAddr) -> Option<Arc<crate::devices::DeviceTag>> {
        self.config.devices.as_ref()?.at(ip)
    }

    fn record(
        &self,
        e: &Event<'_>,
        verdict: &'static str,
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
        log.log(AccessEvent {
            at: store::stamp(self.config.clock.now()),
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
            verdict: verdict.to_string(),
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

/// Headers that belong to one hop and must not be passed on (RFC 9110 section 7.6.1), plus
/// any the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("proxy-connection");
    headers.remove("keep-alive");
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut res = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The proxy's own pages run nothing, load nothing, are framed by nobody and say nothing of
    // where the user came from (the block page's address may hold a search).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The Content-Security-Policy of the proxy's pages: only their inline style.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "text/html; charset=utf-8", body)
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    html(status, message_page(title, message))
}

fn not_ready() -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The filter is starting",
        "The school's internet filter is loading its lists. Try again in a moment.",
    )
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

//! One client connection: the first head read by [`super::head`], then hyper's HTTP/1.1 server
//! with upgrades (CONNECT). Each request is identified, judged, answered and logged.

use super::ProxyConfig;
use super::head::{Prefixed, read_first_head};
use super::page::{Blocked, block_page, message_page};
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
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use store::{AccessEvent, AccessLogger};

type Body = BoxBody<Bytes, hyper::Error>;

/// What every connection of one proxy shares.
pub struct Shared {
    config: ProxyConfig,
    filter: Arc<FilterSlot>,
    log: Option<AccessLogger>,
    stats: Arc<GatewayStats>,
    client: Client<HttpConnector, Incoming>,
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

/// The host of a request as the filter sees it.
enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    fn parse(raw: &str) -> Option<Host> {
        match normalize_host(raw) {
            Ok(name) => Some(Host::Name(name)),
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

impl Shared {
    pub fn new(
        config: ProxyConfig,
        filter: Arc<FilterSlot>,
        log: Option<AccessLogger>,
        stats: Arc<GatewayStats>,
    ) -> Shared {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Shared {
            config,
            filter,
            log,
            stats,
            client,
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

    async fn handle(&self, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
        let group = self.config.clients.group_for(peer.ip()).to_string();
        if req.method() == Method::CONNECT {
            return self.connect(peer, &group, req).await;
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
        let search_term = filter::urls::search_terms(&url);
        let judged = self.judge(&group, &host, Some(&url));
        let mut event = Event {
            peer,
            group: &group,
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
                let at = chrono::Local::now().format("%Y-%m-%d %H:%M").to_string();
                let who = peer.ip().to_string();
                html(
                    StatusCode::FORBIDDEN,
                    block_page(&Blocked {
                        address: &url,
                        category: &category,
                        rule: &rule,
                        who: &who,
                        group: &group,
                        at: &at,
                        web_url: self.config.web_url.as_deref(),
                    }),
                )
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
        res: Result<Response<Body>, Response<Body>>,
    ) -> Response<Body> {
        let elapsed = started.elapsed();
        self.stats.upstream_seconds.observe(elapsed.as_secs_f64());
        let ms = Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        match res {
            Ok(r) => {
                self.record(event, verdict, None, rule, ms);
                r
            }
            Err(r) => {
                self.record(event, "error", None, rule, ms);
                r
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
    ) -> Result<Response<Body>, Response<Body>> {
        strip_hop_by_hop(req.headers_mut());
        if !req.headers().contains_key(header::HOST)
            && let Ok(v) = HeaderValue::from_str(authority.as_str())
        {
            req.headers_mut().insert(header::HOST, v);
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
            return Err(page(
                StatusCode::BAD_REQUEST,
                "Bad address",
                "The address could not be forwarded.",
            ));
        };
        *req.uri_mut() = uri;
        match self.client.request(req).await {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Ok(Response::from_parts(parts, body.boxed()))
            }
            Err(e) => {
                tracing::debug!(error = %e, host = %authority, "proxy upstream failed");
                Err(page(
                    StatusCode::BAD_GATEWAY,
                    "The site could not be reached",
                    &format!("{} did not answer.", authority.host()),
                ))
            }
        }
    }

    /// CONNECT: judged by host; allowed tunnels are opened before the client is told 200, so a
    /// site that cannot be reached gets 502 rather than a dead tunnel.
    async fn connect(
        &self,
        peer: SocketAddr,
        group: &str,
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
            host: host.as_string(),
            url: None,
            search_term: None,
        };
        let (target, verdict, rule) = match self.judge(group, &host, None) {
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
        let connected = tokio::time::timeout(
            self.config.connect_timeout,
            tokio::net::TcpStream::connect((
                target.trim_start_matches('[').trim_end_matches(']'),
                port,
            )),
        )
        .await;
        let ms = Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
        let mut upstream = match connected {
            Ok(Ok(s)) => s,
            Ok(Err(_)) => {
                self.record(&event, "error", None, rule.as_deref(), ms);
                return text(StatusCode::BAD_GATEWAY, "The site could not be reached.\n");
            }
            Err(_) => {
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

    fn record(
        &self,
        e: &Event<'_>,
        verdict: &'static str,
        category: Option<&str>,
        rule: Option<&str>,
        upstream_ms: Option<i64>,
    ) {
        self.stats.count(verdict);
        if let Some(c) = category {
            self.stats
                .blocked
                .get_or_create(&crate::CategoryLabel {
                    category: c.to_string(),
                })
                .inc();
        }
        let Some(log) = &self.log else { return };
        log.log(AccessEvent {
            at: store::now(),
            source: "proxy".into(),
            client_ip: e.peer.ip().to_string(),
            device: None,
            person_id: None,
            username: None,
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
    res
}

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

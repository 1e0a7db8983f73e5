//! HTTPS inspection: the tunnel terminated with a certificate from the school CA, each request
//! inside it judged by its full URL.

use super::*;
use events::LogVerdict;

impl Shared {
    /// Whether a CONNECT from `group` to `host` is opened up: the group is inspected and the
    /// host is not exempt (by name, or by a banking or health listing). Without a filter
    /// nothing is known of the host, so it is left alone.
    pub(super) fn inspects(&self, group: &str, host: &str) -> bool {
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
    pub(super) async fn inspect(
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
    pub(super) async fn inspected(
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
                self.record(&event, LogVerdict::Refused, None, None, None);
                return not_ready();
            }
            Judged::Block { category, rule } => {
                self.record_block(&event, &category, &rule);
                return self.block_response(peer, group, &url, &category, &rule);
            }
            Judged::Pass { verdict } => (authority.clone(), verdict, None),
            Judged::Rewrite { target } => {
                let t = if port == 443 {
                    target.clone()
                } else {
                    format!("{target}:{port}")
                };
                (t, LogVerdict::Rewrite, Some(target))
            }
        };
        let Some(https) = &self.https else {
            return not_ready();
        };
        // The host judged (the TLS name) is the one sent, whatever `Host` the client wrote.
        super::forward::outgoing_headers(req.headers_mut(), &authority);
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
            Ok(res) => Ok(super::forward::from_upstream(res)),
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
}

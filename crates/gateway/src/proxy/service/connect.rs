//! CONNECT: a tunnel to an allowed destination, or HTTPS inspection for the groups that have it.

use super::*;
use events::LogVerdict;

impl Shared {
    /// CONNECT: judged by host; allowed tunnels are opened before the client is told 200, so a
    /// site that cannot be reached gets 502 rather than a dead tunnel.
    pub(super) async fn connect(
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
                self.record(&event, LogVerdict::Refused, None, None, None);
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The school's filter is starting; try again in a moment.\n",
                );
            }
            Judged::Block { category, rule } => {
                self.record_block(&event, &category, &rule);
                return text(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "Blocked by the school's filter: {} ({category}, rule {rule}).\n",
                        event.host
                    ),
                );
            }
            Judged::Pass { verdict } => (event.host.clone(), verdict, None),
            Judged::Rewrite { target } => (target.clone(), LogVerdict::Rewrite, Some(target)),
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
                self.record(&event, LogVerdict::Error, None, rule.as_deref(), ms);
                return text(StatusCode::BAD_GATEWAY, "The site could not be reached.\n");
            }
            Err(ConnectFailure::Timeout) => {
                self.record(&event, LogVerdict::Error, None, rule.as_deref(), ms);
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
    pub(super) fn refuse_tunnel(&self, event: &Event<'_>, port: u16, why: &str) -> Response<Body> {
        self.record_block(event, REFUSED_DESTINATION, why);
        text(
            StatusCode::FORBIDDEN,
            &format!(
                "Refused by the school's filter: {}:{port} ({REFUSED_DESTINATION}: {why}).\n",
                event.host
            ),
        )
    }
}

//! Where the proxy may connect. Names are resolved here and every address is checked before
//! it is connected to (so a name that resolves to loopback is refused like the address itself:
//! DNS rebinding), by the CONNECT path and by the HTTP clients' connector alike.

use hyper::Uri;
use hyper_util::rt::TokioIo;
use policy::profile::network::ProxyReach;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Why a connection to an origin was not made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    /// The destination is one the proxy must not reach; the text says which and why.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("connecting took too long")]
    Timeout,
}

/// The reach rules and how names are resolved.
#[derive(Debug)]
pub struct Reach {
    pub rules: ProxyReach,
    /// Every name resolves to this address (loopback tests).
    pub resolve_to: Option<IpAddr>,
    pub connect_timeout: Duration,
}

impl Reach {
    /// The addresses `host:port` may be reached at: resolved, and only those allowed. A
    /// destination allowed by name is trusted whatever it resolves to.
    pub async fn addresses(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ConnectFailure> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<SocketAddr> = match (bare.parse::<IpAddr>(), self.resolve_to) {
            (Ok(ip), _) => vec![SocketAddr::new(ip, port)],
            (Err(_), Some(ip)) => vec![SocketAddr::new(ip, port)],
            (Err(_), None) => tokio::net::lookup_host((bare, port)).await?.collect(),
        };
        if self.rules.explicit(bare, port) {
            return Ok(found);
        }
        let mut refused = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| match self.rules.refusal(*a) {
                Some(why) => {
                    refused.get_or_insert((*a, why));
                    false
                }
                None => true,
            })
            .collect();
        match (allowed.is_empty(), refused) {
            (true, Some((addr, why))) => {
                Err(ConnectFailure::Refused(if bare == addr.ip().to_string() {
                    format!("{} is {why}", addr.ip())
                } else {
                    format!("{bare} is at {}, {why}", addr.ip())
                }))
            }
            (true, None) => Err(ConnectFailure::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{bare} has no address"),
            ))),
            (false, _) => Ok(allowed),
        }
    }

    /// Where a tunnel (CONNECT) to `host:port` may go: as [`Reach::addresses`], and only to
    /// the profile's CONNECT ports unless the destination is allowed explicitly.
    pub async fn tunnel_addresses(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ConnectFailure> {
        let addrs = self.addresses(host, port).await?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self.rules.connect_port(port) || self.rules.explicit(bare, port) {
            return Ok(addrs);
        }
        let explicit: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| self.rules.explicit(&a.ip().to_string(), a.port()))
            .collect();
        if explicit.is_empty() {
            return Err(ConnectFailure::Refused(format!(
                "port {port} is not one of the ports HTTPS may use (connect_ports)"
            )));
        }
        Ok(explicit)
    }

    /// Connects to the first allowed address of `host:port` that answers.
    pub async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, ConnectFailure> {
        let addrs = self.addresses(host, port).await?;
        self.connect_to(addrs).await
    }

    /// Connects to the first of `addrs` that answers, within the connect timeout.
    pub async fn connect_to(&self, addrs: Vec<SocketAddr>) -> Result<TcpStream, ConnectFailure> {
        // Each address gets its share of the time, so that one that never answers (IPv6
        // without a route) leaves time for the next.
        let count = u32::try_from(addrs.len()).unwrap_or(u32::MAX).max(1);
        let share = (self.connect_timeout / count).max(Duration::from_secs(1));
        let attempt = async {
            let mut last = None;
            for addr in addrs {
                match tokio::time::timeout(share, TcpStream::connect(addr)).await {
                    Ok(Ok(s)) => {
                        let _ = s.set_nodelay(true);
                        return Ok(s);
                    }
                    Ok(Err(e)) => last = Some(e),
                    Err(_) => {
                        last = Some(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("{addr} did not answer"),
                        ))
                    }
                }
            }
            Err(match last {
                Some(e) if e.kind() == std::io::ErrorKind::TimedOut => ConnectFailure::Timeout,
                Some(e) => ConnectFailure::Io(e),
                None => ConnectFailure::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no address",
                )),
            })
        };
        tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| ConnectFailure::Timeout)?
    }
}

/// The HTTP clients' connector: every origin connection goes through [`Reach::connect`].
#[derive(Clone)]
pub struct Connector(pub Arc<Reach>);

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectFailure;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let reach = self.0.clone();
        Box::pin(async move {
            let host = uri.host().unwrap_or_default().to_string();
            let port = uri
                .port_u16()
                .unwrap_or(if uri.scheme_str() == Some("https") {
                    443
                } else {
                    80
                });
            Ok(TokioIo::new(reach.connect(&host, port).await?))
        })
    }
}

/// The refusal inside a client error, if that is why it failed.
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(error);
    for _ in 0..16 {
        let e = at?;
        if let Some(ConnectFailure::Refused(why)) = e.downcast_ref::<ConnectFailure>() {
            return Some(why.clone());
        }
        at = e.source();
    }
    None
}

/// The addresses of this machine's interfaces, refused like loopback.
pub fn own_addresses() -> Vec<IpAddr> {
    let Ok(found) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    found
        .filter_map(|i| i.address)
        .filter_map(|a| {
            a.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::profile::network::ProxySettings;

    fn reach(allow: &[&str]) -> Reach {
        let settings = ProxySettings {
            allow_destinations: allow.iter().map(|s| s.to_string()).collect(),
            ..ProxySettings::default()
        };
        Reach {
            rules: ProxyReach::new(&settings),
            resolve_to: None,
            connect_timeout: Duration::from_secs(1),
        }
    }

    fn refused(r: Result<Vec<SocketAddr>, ConnectFailure>) -> String {
        match r {
            Err(ConnectFailure::Refused(why)) => why,
            other => format!("not refused: {other:?}"),
        }
    }

    #[tokio::test]
    async fn tunnels_go_only_to_the_connect_ports_unless_allowed_explicitly() {
        let r = reach(&["192.0.2.9:8443", "[::1]:9000"]);
        let why = refused(r.tunnel_addresses("192.0.2.1", 8443).await);
        assert!(
            why.contains("port 8443") && why.contains("connect_ports"),
            "{why}"
        );
        assert!(r.tunnel_addresses("192.0.2.1", 443).await.is_ok());
        assert!(r.tunnel_addresses("192.0.2.9", 8443).await.is_ok());
        let why = refused(r.tunnel_addresses("127.0.0.1", 443).await);
        assert!(why.contains("loopback"), "{why}");
        assert!(r.tunnel_addresses("[::1]", 9000).await.is_ok());
        let why = refused(r.addresses("[::1]", 9001).await);
        assert!(why.contains("loopback"), "{why}");
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_like_the_address() {
        let mut r = reach(&["allowed.test:8080"]);
        r.resolve_to = Some(IpAddr::from([127, 0, 0, 1]));
        let why = refused(r.addresses("rebind.test", 8080).await);
        assert_eq!(why, "rebind.test is at 127.0.0.1, a loopback address");
        assert!(r.addresses("allowed.test", 8080).await.is_ok());
        assert!(r.addresses("allowed.test", 8081).await.is_err());
    }
}

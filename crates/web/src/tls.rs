//! The web app over HTTPS: the TLS listener (rustls through tokio-rustls, HTTP/1.1 by hyper),
//! HSTS on every HTTPS answer, and the plain-HTTP listener that only redirects to HTTPS, except
//! for the proxy auto-configuration files (browsers fetch them over plain HTTP) and `/healthz`.

use crate::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What every HTTPS answer carries: browsers use HTTPS for this name for a year.
pub const HSTS: &str = "max-age=31536000";

/// Longest a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the server waits for open connections to finish once it is told to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Paths the plain-HTTP listener serves itself instead of redirecting: the proxy
/// auto-configuration, the liveness check, and the school CA's certificate with its page, which
/// a new device needs before it can trust the HTTPS pages (the certificate is public; the page
/// gives its fingerprint to check it by).
const PLAIN_PATHS: [&str; 5] = ["/proxy.pac", "/wpad.dat", "/healthz", "/ca", "/ca.pem"];

/// The whole app as served over HTTPS: with `Strict-Transport-Security` on every answer.
pub fn https_app(state: AppState) -> Router {
    crate::schools::app(state).layer(middleware::map_response(add_hsts))
}

async fn add_hsts(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    res
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves; handlers see the client's
/// address as `ConnectInfo<SocketAddr>`, as under [`crate::serve`].
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                };
            let service = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                let mut app = app.clone();
                async move {
                    use tower::Service;
                    app.call(req.map(axum::body::Body::new)).await
                }
            });
            let service = hyper_util::service::TowerToHyperService::new(service);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%remote, error = %e, "HTTPS connection ended");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}

/// Where the plain-HTTP listener sends browsers.
#[derive(Clone)]
struct Redirect {
    state: AppState,
    https_port: u16,
}

/// The plain-HTTP app: `/proxy.pac`, `/wpad.dat` and `/healthz` as the HTTPS app serves
/// them (without HSTS), everything else a 308 to the same path over HTTPS on `https_port`.
pub fn redirect_app(state: AppState, https_port: u16) -> Router {
    let app = crate::schools::app(state.clone());
    let mut router = Router::new();
    for path in PLAIN_PATHS {
        router = router.route_service(path, app.clone());
    }
    router
        .fallback(to_https)
        .with_state(Redirect { state, https_port })
}

async fn to_https(State(r): State<Redirect>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_string();
    if !r.state.hosts.allows(&host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer to that name; use the school's address for Palisade\n",
        )
            .into_response();
    }
    let name = host_name(&host);
    let port = if r.https_port == 443 {
        String::new()
    } else {
        format!(":{}", r.https_port)
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("https://{name}{port}{path}");
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "a request target that cannot be redirected\n",
        )
            .into_response(),
    }
}

/// The name part of a `Host` value (`[v6]` kept in brackets), without its port.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Serves [`redirect_app`] on `listener` until `shutdown` resolves.
pub async fn serve_redirects(
    listener: TcpListener,
    state: AppState,
    https_port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        redirect_app(state, https_port).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn the_name_of_a_host_value_drops_the_port() {
        assert_eq!(host_name("palisade.school.test:80"), "palisade.school.test");
        assert_eq!(host_name("palisade.school.test"), "palisade.school.test");
        assert_eq!(host_name("[::1]:80"), "[::1]");
        assert_eq!(host_name("10.0.0.5"), "10.0.0.5");
    }
}

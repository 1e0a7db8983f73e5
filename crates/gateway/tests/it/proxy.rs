//! The web proxy through real HTTP and CONNECT on loopback, to loopback origins.

use bytes::Bytes;
use gateway::FilterSlot;
use gateway::proxy::{ProxyConfig, ProxyServer};
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use policy::profile::network::{NetworkPolicy, ProxySettings};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::filter::{KS1, Rules, STAFF, UNKNOWN, loopback_network};
use testkit::http::Origin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

fn network() -> NetworkPolicy {
    NetworkPolicy {
        proxy: ProxySettings {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            header_timeout_seconds: 1,
            max_header_bytes: 16 * 1024,
            ..ProxySettings::default()
        },
        ..loopback_network()
    }
}

async fn start(parent: Option<SocketAddr>, loaded: bool) -> (ProxyServer, Arc<FilterSlot>) {
    start_allowing(parent, loaded, &[]).await
}

/// As [`start`], with loopback test origins allowed explicitly (as a profile's
/// `allow_destinations` would).
async fn start_allowing(
    parent: Option<SocketAddr>,
    loaded: bool,
    allow: &[SocketAddr],
) -> (ProxyServer, Arc<FilterSlot>) {
    let pupils = ["ks1", "ks2"].iter().map(|s| s.to_string()).collect();
    let mut config = ProxyConfig::from_network(&network(), pupils, clock::Clock::system());
    for a in allow {
        config.reach.allow(*a);
    }
    config.parent = parent;
    config.web_url = Some("http://palisade.test".into());
    let slot = FilterSlot::empty();
    if loaded {
        slot.replace(Box::new(Rules { safesearch: false }));
    }
    let server = ProxyServer::start(config, slot.clone(), None)
        .await
        .unwrap();
    (server, slot)
}

/// A connection to the proxy from `from`.
async fn connect_from(proxy: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(proxy).await.unwrap()
}

/// Sends one request through the proxy from `from` and returns status, headers and body.
async fn send(
    proxy: SocketAddr,
    from: IpAddr,
    req: Request<Full<Bytes>>,
) -> (StatusCode, hyper::HeaderMap, Bytes) {
    let stream = connect_from(proxy, from).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn get(url: &str) -> Request<Full<Bytes>> {
    let host = url.split('/').nth(2).unwrap_or_default().to_string();
    Request::get(url)
        .header("host", host)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn allowed_requests_reach_the_origin_and_blocked_ones_get_the_block_page() {
    let origin = Origin::start().await;
    let (proxy, _) = start(Some(origin.addr), true).await;
    let p = proxy.addrs[0];
    let (status, _, body) = send(p, STAFF, get("http://allowed.test/a/b?c=d")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text(&body),
        "GET /a/b?c=d host=allowed.test via=1.1 palisade\n"
    );
    for url in [
        "http://blocked.test/",
        "http://www.a.blocked.test/page",
        "http://BLOCKED.test./x",
    ] {
        let (status, headers, body) = send(p, STAFF, get(url)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let page = text(&body);
        assert!(page.contains("This page is blocked"), "{page}");
        assert!(page.contains("<dd>adult</dd>"), "{page}");
        assert!(page.contains("http://palisade.test/review?url="), "{page}");
    }
    let (status, _, body) = send(p, STAFF, get("http://allowed.test/forbidden/x")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text(&body).contains("<dd>violence</dd>"));
    let (status, _, body) = send(p, STAFF, get("http://search.test/?q=badword+now")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text(&body).contains("<dd>self-harm</dd>"));
    assert_eq!(origin.requests(), 1, "blocked requests never leave");
}

#[tokio::test]
async fn without_a_parent_requests_go_to_the_host_they_name() {
    let origin = Origin::start().await;
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let (proxy, _) = start_allowing(None, true, &[origin.addr, dead_addr]).await;
    let url = format!("http://{}/direct", origin.addr);
    let (status, _, body) = send(proxy.addrs[0], STAFF, get(&url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text(&body).starts_with("GET /direct host=127.0.0.1:"),
        "{}",
        text(&body)
    );
    // A port nobody listens on: the client hears 502, not silence.
    let (status, _, body) = send(proxy.addrs[0], STAFF, get(&format!("http://{dead_addr}/"))).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(text(&body).contains("could not be reached"));
}

#[tokio::test]
async fn large_chunked_bodies_stream_both_ways_intact() {
    let origin = Origin::start().await;
    let (proxy, _) = start(Some(origin.addr), true).await;
    // 3 MiB that is not one repeated byte, sent as a stream of chunks of unknown total length.
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let body = Chunks(data.chunks(64 * 1024).map(Bytes::copy_from_slice).collect());
    let req = Request::post("http://upload.test/put")
        .header("host", "upload.test")
        .body(body)
        .unwrap();
    let stream = connect_from(proxy.addrs[0], STAFF).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = res.into_body().collect().await.unwrap().to_bytes();
    let head = b"POST /put host=upload.test via=1.1 palisade\n";
    assert_eq!(&got[..head.len()], head);
    assert!(got[head.len()..] == data[..], "the body came back changed");
}

/// A request body of ready chunks with no declared length, so it goes out chunked.
struct Chunks(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[tokio::test]
async fn groups_follow_the_source_address() {
    let origin = Origin::start().await;
    let (proxy, _) = start(Some(origin.addr), true).await;
    let p = proxy.addrs[0];
    let (ks1, _, body) = send(p, KS1, get("http://games.test/")).await;
    assert_eq!(ks1, StatusCode::FORBIDDEN);
    assert!(text(&body).contains("(ks1)"));
    let (staff, _, _) = send(p, STAFF, get("http://games.test/")).await;
    assert_eq!(staff, StatusCode::OK);
    let (unknown, _, _) = send(p, UNKNOWN, get("http://games.test/")).await;
    assert_eq!(unknown, StatusCode::OK, "ks2 (the default) may play games");
}

/// Opens a CONNECT tunnel from `from` and returns the stream and the proxy's status line.
async fn connect_tunnel(proxy: SocketAddr, from: IpAddr, target: &str) -> (TcpStream, String) {
    let mut s = connect_from(proxy, from).await;
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut s).await;
    (s, head)
}

/// Reads a response head byte by byte (so nothing after it is consumed).
async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut b)).await {
            Ok(Ok(1)) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A TCP echo server standing in for a TLS site behind a tunnel.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn connect_tunnels_carry_bytes_and_blocked_hosts_get_403() {
    let echo = echo().await;
    let (proxy, _) = start_allowing(None, true, &[echo]).await;
    let p = proxy.addrs[0];
    // Staff may tunnel to an address; the bytes come back through the tunnel unchanged.
    let (mut s, head) = connect_tunnel(p, STAFF, &echo.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    s.write_all(&payload).await.unwrap();
    let mut back = vec![0u8; payload.len()];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, payload);
    // A blocked host is refused at CONNECT, with the reason.
    let (_, head) = connect_tunnel(p, STAFF, "www.blocked.test:443").await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    // Pupils may not reach HTTPS by address: that skips filtering by name.
    let (_, head) = connect_tunnel(p, KS1, &echo.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test]
async fn without_a_filter_pupils_are_refused_and_staff_still_browse() {
    let origin = Origin::start().await;
    let (proxy, slot) = start(Some(origin.addr), false).await;
    let p = proxy.addrs[0];
    let (status, _, _) = send(p, KS1, get("http://allowed.test/")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _) = send(p, UNKNOWN, get("http://allowed.test/")).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "unknown clients are pupils"
    );
    let (_, head) = connect_tunnel(p, KS1, "allowed.test:443").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let (status, _, _) = send(p, STAFF, get("http://allowed.test/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(origin.requests(), 1);
    slot.replace(Box::new(Rules { safesearch: false }));
    let (status, _, _) = send(p, KS1, get("http://allowed.test/")).await;
    assert_eq!(status, StatusCode::OK);
}

/// Sends raw bytes and returns the status line of the answer, if any, and how long it took.
async fn raw(proxy: SocketAddr, bytes: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut s = connect_from(proxy, STAFF).await;
    let _ = s.write_all(bytes).await;
    let head = read_head(&mut s).await;
    (
        head.lines().next().unwrap_or_default().to_string(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn malformed_large_and_slow_requests_get_4xx_without_harming_others() {
    let origin = Origin::start().await;
    let (proxy, _) = start(Some(origin.addr), true).await;
    let p = proxy.addrs[0];
    let (line, _) = raw(p, b"GARBAGE\r\n\r\n").await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
    let (line, _) = raw(p, b"GET http://a.test/ HTTP/1.1\r\nHost a.test\r\n\r\n").await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
    let (line, _) = raw(p, b"GET http://bad host/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
    let (line, _) = raw(p, b"GET /not-a-proxy-request HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
    let big = format!(
        "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-Big: {}\r\n\r\n",
        "x".repeat(64 * 1024)
    );
    let (line, _) = raw(p, big.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 431"), "{line}");
    // A slow client (half a head, then nothing) gets 408 after the 1 s header timeout, while
    // another client is served meanwhile.
    let slow = tokio::spawn(raw(p, b"GET http://a.test/ HTTP/1.1\r\nHost: a."));
    let (status, _, _) = send(p, STAFF, get("http://allowed.test/")).await;
    assert_eq!(status, StatusCode::OK);
    let (line, took) = slow.await.unwrap();
    assert!(line.starts_with("HTTP/1.1 408"), "{line}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // And the proxy still serves.
    let (status, _, _) = send(p, STAFF, get("http://allowed.test/")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_request_is_logged_with_its_url_and_search_term() {
    let db = testkit::TestDb::new(testkit::Backend::Sqlite).await;
    let store = db.store().await;
    let (logger, writer) = store::AccessLogger::start(store.clone(), Default::default());
    let origin = Origin::start().await;
    let pupils = ["ks1", "ks2"].iter().map(|s| s.to_string()).collect();
    let mut config = ProxyConfig::from_network(&network(), pupils, clock::Clock::system());
    config.parent = Some(origin.addr);
    let slot = FilterSlot::empty();
    slot.replace(Box::new(Rules { safesearch: false }));
    let proxy = ProxyServer::start(config, slot, Some(std::sync::Arc::new(logger.clone())))
        .await
        .unwrap();
    let p = proxy.addrs[0];
    send(p, KS1, get("http://www.google.com/search?q=homework+help")).await;
    send(p, KS1, get("http://www.bing.com/search?q=badword")).await;
    proxy.shutdown();
    drop(logger);
    writer.await.unwrap();
    let rows = store.access_log(&Default::default(), 10).await.unwrap();
    let mut rows: Vec<_> = rows.into_iter().map(|r| r.event).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(rows.len(), 2);
    let (bing, google) = (&rows[0], &rows[1]);
    assert_eq!(google.source, "proxy");
    assert_eq!(google.client_ip, "127.0.0.2");
    assert_eq!(google.group_name, "ks1");
    assert_eq!(google.verdict, "allow");
    assert_eq!(google.search_term.as_deref(), Some("homework help"));
    assert_eq!(
        google.url.as_deref(),
        Some("http://www.google.com/search?q=homework+help")
    );
    assert_eq!(bing.verdict, "block");
    assert_eq!(bing.category.as_deref(), Some("self-harm"));
    assert_eq!(bing.rule.as_deref(), Some("badword"));
    assert_eq!(bing.search_term.as_deref(), Some("badword"));
}

/// A TLS client that trusts only `ca_pem`, over an open tunnel, asking for `name`.
async fn tls_over(
    stream: TcpStream,
    ca_pem: &str,
    name: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    connector.connect(server_name, stream).await
}

/// GET `path` over an established TLS stream; status and body.
async fn get_over_tls(
    tls: tokio_rustls::client::TlsStream<TcpStream>,
    host: &str,
    path: &str,
) -> (StatusCode, String) {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", host)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status();
    (
        status,
        text(&res.into_body().collect().await.unwrap().to_bytes()),
    )
}

async fn start_inspecting(origin: &Origin) -> (ProxyServer, String) {
    let (ca_pem, ca_key) = gateway::proxy::tls::generate_ca("Test School").unwrap();
    let pupils = ["ks1", "ks2"].iter().map(|s| s.to_string()).collect();
    let mut config = ProxyConfig::from_network(&network(), pupils, clock::Clock::system());
    config.resolve_to = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.reach.allow(origin.addr);
    config.inspection = Some(gateway::proxy::Inspection {
        ca: Arc::new(gateway::proxy::tls::CertAuthority::from_pem(&ca_pem, &ca_key).unwrap()),
        groups: ["ks1".to_string()].into_iter().collect(),
        exempt_categories: vec!["banking".into()],
        exempt_hosts: vec!["bank.test".into()],
        upstream: gateway::proxy::tls::client_config(&[origin.ca_pem.clone().unwrap()]).unwrap(),
    });
    let slot = FilterSlot::empty();
    slot.replace(Box::new(Rules { safesearch: false }));
    let proxy = ProxyServer::start(config, slot, None).await.unwrap();
    (proxy, ca_pem)
}

#[tokio::test]
async fn inspected_https_is_filtered_by_path_with_a_certificate_from_the_school_ca() {
    let origin = Origin::start_tls(&["allowed.test", "www.bank.test"]).await;
    let (proxy, school_ca) = start_inspecting(&origin).await;
    let p = proxy.addrs[0];
    let target = format!("allowed.test:{}", origin.addr.port());
    // KS1 is inspected: the chain verifies against the school CA, and the origin answers.
    let (tunnel, head) = connect_tunnel(p, KS1, &target).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let tls = tls_over(tunnel, &school_ca, "allowed.test").await.unwrap();
    let (status, body) = get_over_tls(tls, &target, "/lesson?q=volcanoes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        format!("GET /lesson?q=volcanoes host={target} via=1.1 palisade\n")
    );
    // A blocked path on an allowed host gets the block page, over TLS.
    let (tunnel, _) = connect_tunnel(p, KS1, &target).await;
    let tls = tls_over(tunnel, &school_ca, "allowed.test").await.unwrap();
    let (status, body) = get_over_tls(tls, &target, "/forbidden/page").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<dd>violence</dd>"), "{body}");
    assert!(
        body.contains(&format!("https://{target}/forbidden/page")),
        "{body}"
    );
    assert_eq!(origin.requests(), 1, "the blocked request never left");
}

#[tokio::test]
async fn exempt_hosts_and_uninspected_groups_are_tunnelled_untouched() {
    let origin = Origin::start_tls(&["allowed.test", "www.bank.test"]).await;
    let origin_ca = origin.ca_pem.clone().unwrap();
    let (proxy, school_ca) = start_inspecting(&origin).await;
    let p = proxy.addrs[0];
    let port = origin.addr.port();
    // The bank is exempt: the browser sees the bank's own certificate, not one of ours.
    let (tunnel, head) = connect_tunnel(p, KS1, &format!("www.bank.test:{port}")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let tls = tls_over(tunnel, &origin_ca, "www.bank.test").await.unwrap();
    let (status, _) = get_over_tls(tls, "www.bank.test", "/account").await;
    assert_eq!(status, StatusCode::OK);
    // Staff are not inspected either; and the school CA does not vouch for a tunnel.
    let (tunnel, _) = connect_tunnel(p, STAFF, &format!("allowed.test:{port}")).await;
    assert!(tls_over(tunnel, &school_ca, "allowed.test").await.is_err());
    let (tunnel, _) = connect_tunnel(p, STAFF, &format!("allowed.test:{port}")).await;
    let tls = tls_over(tunnel, &origin_ca, "allowed.test").await.unwrap();
    let (status, _) = get_over_tls(tls, "allowed.test", "/").await;
    assert_eq!(status, StatusCode::OK);
}

//! A loopback HTTP origin for proxy tests: it answers every request with what it received
//! (method, target, `Host`, `Via`, then the body), so a test sees exactly what arrived.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;

/// A running echo origin.
pub struct Origin {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    /// For a TLS origin: the PEM certificate of the test CA that signed its certificate.
    pub ca_pem: Option<String>,
}

impl Origin {
    /// Starts an origin on a free loopback port; it runs until the test's runtime ends.
    pub async fn start() -> Origin {
        Origin::listen(None).await
    }

    /// Starts an HTTPS origin whose certificate (for `names`) is signed by a fresh test CA.
    pub async fn start_tls(names: &[&str]) -> Origin {
        let (acceptor, ca_pem) = tls_acceptor(names);
        Origin {
            ca_pem: Some(ca_pem),
            ..Origin::listen(Some(acceptor)).await
        }
    }

    /// Serves the echo on a free loopback port, over TLS when given an acceptor.
    async fn listen(tls: Option<tokio_rustls::TlsAcceptor>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counter, tls) = (counter.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve_echo(TokioIo::new(stream), counter).await,
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_echo(TokioIo::new(tls), counter).await;
                            }
                        }
                    }
                });
            }
        });
        Origin {
            addr,
            requests,
            ca_pem: None,
        }
    }

    /// How many requests have arrived.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Serves one connection with the echo, counting requests.
async fn serve_echo<I>(io: I, counter: Arc<AtomicUsize>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        counter.fetch_add(1, Ordering::SeqCst);
        echo(req)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    let head = format!(
        "{} {} host={} via={}\n",
        req.method(),
        req.uri(),
        header("host"),
        header("via"),
    );
    let body = req.into_body().collect().await?.to_bytes();
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(out))))
}

/// A TLS acceptor whose certificate (for `names`) is signed by a fresh test CA, and that CA's
/// certificate in PEM for clients to trust.
pub fn tls_acceptor(names: &[&str]) -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}

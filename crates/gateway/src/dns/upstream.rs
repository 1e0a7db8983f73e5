//! The upstream side: hickory-resolver forwarding to the profile's resolvers over UDP with TCP
//! fallback for truncated answers, with a bounded cache whose TTLs are capped by the profile.

use super::DnsConfig;
use crate::GatewayError;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::ResolveHosts;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use std::time::Duration;

/// What the upstream said.
pub struct UpstreamAnswer {
    pub code: ResponseCode,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
}

/// The caching upstream client.
#[derive(Clone)]
pub struct Upstream {
    resolver: Resolver<TokioRuntimeProvider>,
}

impl Upstream {
    /// A resolver for the configured upstreams.
    pub fn new(config: &DnsConfig) -> Result<Upstream, GatewayError> {
        if config.upstreams.is_empty() && config.tls_upstreams.is_empty() {
            return Err(GatewayError::Upstream(
                "no upstream resolvers: set [network.dns] upstreams or tls_upstreams".into(),
            ));
        }
        let servers = if config.tls_upstreams.is_empty() {
            config
                .upstreams
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::new(ProtocolConfig::Tcp);
                    tcp.port = addr.port();
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    ns.connections = vec![udp, tcp];
                    ns
                })
                .collect()
        } else {
            config
                .tls_upstreams
                .iter()
                .map(|(addr, name)| {
                    let mut ns = NameServerConfig::tls(addr.ip(), name.as_str().into());
                    for c in &mut ns.connections {
                        c.port = addr.port();
                    }
                    ns
                })
                .collect()
        };
        let mut opts = ResolverOpts::default();
        opts.cache_size = u64::try_from(config.cache_entries).unwrap_or(u64::MAX);
        opts.positive_max_ttl = Some(config.max_ttl);
        opts.negative_max_ttl = Some(config.max_ttl.min(Duration::from_secs(3600)));
        opts.preserve_intermediates = true;
        opts.use_hosts_file = ResolveHosts::Never;
        // A client retries after about a second: answer SERVFAIL before it gives up on us.
        opts.timeout = Duration::from_millis(1500);
        opts.attempts = 1;
        opts.ndots = 0;
        opts.edns0 = true;
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts);
        if !config.tls_upstreams.is_empty() {
            builder = builder.with_tls_config(tls_client_config(config.tls_roots_pem.as_deref())?);
        }
        let resolver = builder
            .build()
            .map_err(|e| GatewayError::Upstream(e.to_string()))?;
        Ok(Upstream { resolver })
    }

    /// Looks `name` up; `Err` means the upstreams failed (answer SERVFAIL).
    pub async fn lookup(&self, name: Name, qtype: RecordType) -> Result<UpstreamAnswer, ()> {
        match self.resolver.lookup(name, qtype).await {
            Ok(lookup) => Ok(UpstreamAnswer {
                code: ResponseCode::NoError,
                answers: lookup.answers().to_vec(),
                authorities: Vec::new(),
            }),
            Err(NetError::Dns(DnsError::NoRecordsFound(no))) => Ok(UpstreamAnswer {
                code: no.response_code,
                answers: Vec::new(),
                authorities: no
                    .soa
                    .map(|soa| vec![(*soa).into_record_of_rdata()])
                    .unwrap_or_default(),
            }),
            Err(e) => {
                tracing::debug!(error = %e, "upstream lookup failed");
                Err(())
            }
        }
    }
}

/// The TLS client for DNS-over-TLS upstreams: the system's CA certificates and any the profile
/// adds, over ring.
fn tls_client_config(extra_pem: Option<&str>) -> Result<rustls::ClientConfig, GatewayError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra_pem {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| GatewayError::Tls(format!("tls_ca_file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| GatewayError::Tls(format!("tls_ca_file: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(GatewayError::Tls(
                "tls_ca_file holds no PEM certificate".into(),
            ));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

//! HTTPS for the web app: a certificate and key from files, or one issued from the school CA
//! (`palisade ca init`) for the server's names and addresses, kept beside the CA and renewed
//! before it expires. The acceptor asks [`CertSlot`] for the certificate at every handshake, so
//! a renewed one is served without a restart.
//!
//! An issued certificate is valid from a day before now by the earlier of the system's clock
//! (which browsers check it by) and Palisade's, to 90 days after the later of the two: in
//! production the two agree; a test that moves Palisade's clock on gets a certificate that its
//! browser still accepts, and renewal (which reads Palisade's clock) settles after one issue.

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long an issued certificate is valid.
pub const ISSUED_DAYS: i64 = 90;
/// An issued certificate with fewer days left than this is issued again.
pub const RENEW_WITHIN_DAYS: i64 = 30;
/// The issued certificate (with the CA's after it) and its key, beside the CA's files.
pub const CERT_FILE: &str = "web.pem";
pub const KEY_FILE: &str = "web.key";

/// The web app's HTTPS settings on the command line (`serve` and `demo`).
#[derive(Args, Clone, Debug, Default)]
pub struct TlsArgs {
    /// Serve the web app over HTTPS with this certificate (PEM, the leaf first, then any
    /// intermediates), with --tls-key.
    #[arg(
        long,
        env = "PALISADE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM), with --tls-cert.
    #[arg(
        long,
        env = "PALISADE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve the web app over HTTPS with a certificate issued from the school CA (`serve`:
    /// the one `palisade ca init` made; `demo`: the demo's own) for the --web-host names and
    /// the listen address. It is kept beside the CA and issued again when under 30 days remain.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls: bool,
    /// Also listen for plain HTTP here (e.g. 0.0.0.0:80): it only redirects to HTTPS, except
    /// /proxy.pac, /wpad.dat (which browsers fetch over HTTP) and /healthz.
    #[arg(long, env = "PALISADE_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    /// Seconds between checks of the issued certificate's expiry.
    #[arg(long, hide = true, default_value_t = 43_200)]
    pub tls_check_seconds: u64,
    /// The CA to issue from instead of the profile's `ca_dir` (the demo's own).
    #[arg(skip)]
    pub ca_dir: Option<PathBuf>,
}

impl TlsArgs {
    /// Whether the web app is to be served over HTTPS.
    pub fn enabled(&self) -> bool {
        self.tls || self.tls_cert.is_some()
    }
}

/// A certificate chain and its key, ready to serve.
#[derive(Debug, Clone)]
pub struct ServedCertificate {
    pub key: Arc<CertifiedKey>,
    /// When the leaf certificate expires.
    pub not_after: DateTime<Utc>,
    /// The leaf's names and addresses (subject alternative names), lower case.
    pub names: Vec<String>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain and its private key, checking that the key is the
/// certificate's. Every error names the file that is wrong.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<ServedCertificate> {
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("cannot read the certificate file {}", cert.display()))?;
    let key_pem = std::fs::read(key)
        .with_context(|| format!("cannot read the key file {}", key.display()))?;
    certified_key_from_pem(&cert_pem, &key_pem, cert, key)
}

fn certified_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert: &Path,
    key: &Path,
) -> Result<ServedCertificate> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("the certificate file {} is not PEM: {e}", cert.display()))?;
    let Some(leaf) = chain.first() else {
        bail!(
            "the certificate file {} holds no certificate (-----BEGIN CERTIFICATE-----)",
            cert.display()
        );
    };
    let (not_after, names) =
        leaf_facts(leaf).with_context(|| format!("the certificate file {}", cert.display()))?;
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        anyhow::anyhow!(
            "the key file {} holds no private key (PEM): {e}",
            key.display()
        )
    })?;
    let signing = provider()
        .key_provider
        .load_private_key(private)
        .map_err(|e| anyhow::anyhow!("the key file {}: {e}", key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        anyhow::anyhow!(
            "the key file {} is not the key of the certificate in {}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(ServedCertificate {
        key: Arc::new(certified),
        not_after,
        names,
    })
}

/// A certificate's expiry and its subject alternative names.
fn leaf_facts(der: &CertificateDer<'_>) -> Result<(DateTime<Utc>, Vec<String>)> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| anyhow::anyhow!("its first certificate cannot be read: {e}"))?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .context("its expiry is out of range")?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => names.push(n.to_ascii_lowercase()),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok((not_after, names))
}

/// What the HTTPS acceptor presents: the certificate in force, swapped in place on renewal.
#[derive(Debug)]
pub struct CertSlot(ArcSwap<ServedCertificate>);

impl CertSlot {
    pub fn new(first: ServedCertificate) -> CertSlot {
        CertSlot(ArcSwap::from_pointee(first))
    }

    /// The certificate in force.
    pub fn current(&self) -> Arc<ServedCertificate> {
        self.0.load_full()
    }

    /// Puts `next` in force for every handshake from now on.
    pub fn replace(&self, next: ServedCertificate) {
        self.0.store(Arc::new(next));
    }

    /// Seconds from `now` until the certificate in force expires (negative once it has).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.0.load().not_after - now).num_seconds()
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().key.clone())
    }
}

/// The rustls server configuration presenting whatever `slot` holds (HTTP/1.1).
pub fn server_config(slot: Arc<CertSlot>) -> Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_cert_resolver(slot);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The CA to issue from, and what to issue for.
#[derive(Debug, Clone)]
pub struct Issuing {
    pub ca_dir: PathBuf,
    /// DNS names, then addresses, as they go into the certificate.
    pub names: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

impl Issuing {
    /// What to issue for: `names` (the web hosts), and the listen address, or the loopback
    /// addresses and `localhost` when it listens on a wildcard or loopback address.
    pub fn new(ca_dir: PathBuf, names: &[String], listen: IpAddr) -> Issuing {
        let mut dns: Vec<String> = Vec::new();
        for n in names {
            let n = n.trim().trim_end_matches('.').to_ascii_lowercase();
            if !n.is_empty() && n.parse::<IpAddr>().is_err() && !dns.contains(&n) {
                dns.push(n);
            }
        }
        let mut addresses: Vec<IpAddr> = names
            .iter()
            .filter_map(|n| n.trim().parse::<IpAddr>().ok())
            .collect();
        if listen.is_unspecified() || listen.is_loopback() {
            if !dns.iter().any(|n| n == "localhost") {
                dns.push("localhost".into());
            }
            addresses.push(IpAddr::from(std::net::Ipv4Addr::LOCALHOST));
            addresses.push(IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
        } else {
            addresses.push(listen);
        }
        let mut seen = Vec::new();
        addresses.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        Issuing {
            ca_dir,
            names: dns,
            addresses,
        }
    }

    fn cert_path(&self) -> PathBuf {
        self.ca_dir.join(CERT_FILE)
    }

    fn key_path(&self) -> PathBuf {
        self.ca_dir.join(KEY_FILE)
    }

    /// Whether `served` names everything this issues for.
    fn covers(&self, served: &ServedCertificate) -> bool {
        self.names
            .iter()
            .cloned()
            .chain(self.addresses.iter().map(IpAddr::to_string))
            .all(|n| served.names.contains(&n))
    }

    /// The certificate issued earlier if it names everything and has more than 30 days left
    /// by `clock`, else a new one.
    pub fn current_or_new(&self, clock: &clock::Clock) -> Result<ServedCertificate> {
        if let Ok(served) = load_certified_key(&self.cert_path(), &self.key_path())
            && self.covers(&served)
            && !needs_renewal(&served, clock.now())
            && self.issued_by_this_ca(&served)
        {
            return Ok(served);
        }
        self.issue(clock)
    }

    /// Whether `served`'s chain ends with the CA in `ca_dir` (a CA made again with
    /// `ca init --force` means a new certificate).
    fn issued_by_this_ca(&self, served: &ServedCertificate) -> bool {
        let Ok(pem) = std::fs::read(self.ca_dir.join("ca.pem")) else {
            return false;
        };
        let Ok(ca) = CertificateDer::from_pem_slice(&pem) else {
            return false;
        };
        served.key.cert.get(1) == Some(&ca)
    }

    /// Issues a new certificate from the CA, writes it and its key (mode 0600) beside the CA,
    /// and reads them back.
    pub fn issue(&self, clock: &clock::Clock) -> Result<ServedCertificate> {
        use rcgen::{
            CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
            KeyUsagePurpose, SanType,
        };
        let ca_cert = self.ca_dir.join("ca.pem");
        let ca_key = self.ca_dir.join("ca.key");
        if !ca_cert.exists() || !ca_key.exists() {
            bail!(
                "no school CA in {} (ca.pem and ca.key): make one with `palisade ca init --profile ...`, or give --tls-cert FILE --tls-key FILE",
                self.ca_dir.display()
            );
        }
        let cert_pem = std::fs::read_to_string(&ca_cert)
            .with_context(|| format!("cannot read the CA certificate {}", ca_cert.display()))?;
        let key_pem = std::fs::read_to_string(&ca_key)
            .with_context(|| format!("cannot read the CA key {}", ca_key.display()))?;
        let ca_signing = KeyPair::from_pem(&key_pem)
            .map_err(|e| anyhow::anyhow!("the CA key {}: {e}", ca_key.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, ca_signing)
            .map_err(|e| anyhow::anyhow!("the CA certificate {}: {e}", ca_cert.display()))?;
        let key = KeyPair::generate().context("generating the web server's key")?;
        let mut params = CertificateParams::default();
        let mut sans = Vec::new();
        for n in &self.names {
            let name = n
                .clone()
                .try_into()
                .map_err(|e| anyhow::anyhow!("`{n}` cannot be a certificate's name: {e}"))?;
            sans.push(SanType::DnsName(name));
        }
        sans.extend(self.addresses.iter().map(|ip| SanType::IpAddress(*ip)));
        params.subject_alt_names = sans;
        let mut dn = DistinguishedName::new();
        let common = self
            .names
            .first()
            .cloned()
            .or_else(|| self.addresses.first().map(IpAddr::to_string))
            .unwrap_or_else(|| "palisade".into());
        dn.push(DnType::CommonName, common);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (from, until) = validity(clock.now());
        params.not_before = to_offset(from)?;
        params.not_after = to_offset(until)?;
        let cert = params
            .signed_by(&key, &issuer)
            .context("signing the web server's certificate")?;
        let chain = format!("{}{}", cert.pem(), cert_pem);
        write_replacing(&self.key_path(), key.serialize_pem().as_bytes(), 0o600)?;
        write_replacing(&self.cert_path(), chain.as_bytes(), 0o644)?;
        let served = load_certified_key(&self.cert_path(), &self.key_path())?;
        tracing::info!(
            names = ?served.names,
            not_after = %served.not_after,
            file = %self.cert_path().display(),
            "web certificate issued from the school CA"
        );
        Ok(served)
    }
}

/// Whether `served` has fewer than [`RENEW_WITHIN_DAYS`] left at `now`.
pub fn needs_renewal(served: &ServedCertificate, now: DateTime<Utc>) -> bool {
    served.not_after - now < TimeDelta::days(RENEW_WITHIN_DAYS)
}

/// An issued certificate's dates (see the module's documentation).
fn validity(palisade_now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    // Dated by the system's clock too: browsers check it by theirs (see `clock`).
    #[allow(clippy::disallowed_methods)]
    let system_now = Utc::now();
    (
        palisade_now.min(system_now) - TimeDelta::days(1),
        palisade_now.max(system_now) + TimeDelta::days(ISSUED_DAYS),
    )
}

fn to_offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).context("a certificate date")
}

/// Writes `path` whole through a file beside it, renamed over it, with `mode`: a reader (or a
/// crash) never sees half a key.
fn write_replacing(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", tmp.path().display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// The web app's TLS, ready for the listener: the certificate in force and, for an issued
/// one, where it comes from.
pub struct WebTls {
    pub slot: Arc<CertSlot>,
    pub config: Arc<rustls::ServerConfig>,
    /// The CA's certificate file, for an issued certificate (what browsers must trust).
    pub ca_file: Option<PathBuf>,
    pub issuing: Option<Issuing>,
}

impl WebTls {
    /// Loads the files, or the certificate issued from `issuing`'s CA (issuing one if needed).
    pub fn start(args: &TlsArgs, issuing: Option<Issuing>, clock: &clock::Clock) -> Result<WebTls> {
        let served = match (&args.tls_cert, &args.tls_key, &issuing) {
            (Some(cert), Some(key), _) => load_certified_key(cert, key)?,
            (Some(_), None, _) | (None, Some(_), _) => {
                bail!("give both --tls-cert FILE and --tls-key FILE")
            }
            (None, None, Some(issuing)) => issuing.current_or_new(clock)?,
            (None, None, None) => bail!("HTTPS needs --tls-cert and --tls-key, or --tls"),
        };
        if served.not_after <= clock.now() {
            tracing::warn!(not_after = %served.not_after, "the web certificate has expired: browsers will refuse it");
        }
        let slot = Arc::new(CertSlot::new(served));
        let issuing = if args.tls_cert.is_some() {
            None
        } else {
            issuing
        };
        Ok(WebTls {
            config: server_config(slot.clone())?,
            slot,
            ca_file: issuing.as_ref().map(|i| i.ca_dir.join("ca.pem")),
            issuing,
        })
    }

    /// For an issued certificate: checks every `every` and issues a new one when under 30 days
    /// remain, swapped in without a restart. A failure is logged and tried at the next check.
    pub fn spawn_renewal(&self, clock: clock::Clock, every: std::time::Duration) {
        let Some(issuing) = self.issuing.clone() else {
            return;
        };
        let slot = self.slot.clone();
        let every = every.max(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if !needs_renewal(&slot.current(), clock.now()) {
                    continue;
                }
                let (issuing, clock2) = (issuing.clone(), clock.clone());
                match tokio::task::spawn_blocking(move || issuing.issue(&clock2)).await {
                    Ok(Ok(next)) => {
                        tracing::info!(not_after = %next.not_after, "web certificate renewed");
                        slot.replace(next);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %format!("{e:#}"), "cannot renew the web certificate; trying again at the next check");
                    }
                    Err(e) => tracing::warn!(error = %e, "the renewal task failed"),
                }
            }
        });
    }
}

/// The demo's own CA in `dir`, made if missing (the demo's certificate is issued from it).
pub fn demo_ca(dir: &Path, school: &str) -> Result<PathBuf> {
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
    if cert.exists() && key.exists() {
        return Ok(cert);
    }
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        folder.mode(0o700);
    }
    folder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let (cert_pem, key_pem) =
        gateway::proxy::tls::generate_ca(&format!("{school} demo")).context("the demo's CA")?;
    write_replacing(&key, key_pem.as_bytes(), 0o600)?;
    write_replacing(&cert, cert_pem.as_bytes(), 0o644)?;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_names_cover_the_hosts_and_the_loopback_for_a_wildcard() {
        let i = Issuing::new(
            PathBuf::from("/nonexistent"),
            &["Palisade.School.test".into(), "10.0.0.5".into()],
            IpAddr::from([0, 0, 0, 0]),
        );
        assert_eq!(i.names, vec!["palisade.school.test", "localhost"]);
        assert!(i.addresses.contains(&IpAddr::from([10, 0, 0, 5])));
        assert!(i.addresses.contains(&IpAddr::from([127, 0, 0, 1])));
        let j = Issuing::new(PathBuf::new(), &[], IpAddr::from([10, 0, 0, 7]));
        assert_eq!(j.addresses, vec![IpAddr::from([10, 0, 0, 7])]);
    }
}

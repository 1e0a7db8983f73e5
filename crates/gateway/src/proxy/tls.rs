//! HTTPS inspection: the school's certificate authority (made once by `palisade ca init`), the
//! per-host certificates the proxy mints from it, and the TLS client the proxy uses towards
//! origins.

use crate::GatewayError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// Most minted server configurations kept; the cache is emptied when full (minting is cheap).
const MINTED_CACHE: usize = 10_000;

fn tls_error(what: &str, e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Tls(format!("{what}: {e}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A new CA certificate and key, both PEM: ECDSA P-256, valid ten years, for signing server
/// certificates only.
pub fn generate_ca(school: &str) -> Result<(String, String), GatewayError> {
    let key = KeyPair::generate().map_err(|e| tls_error("generating the CA key", e))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        format!("{school} web filter (Palisade)"),
    );
    dn.push(DnType::OrganizationName, school.to_string());
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Dated by the system's clock, not the injected one: browsers check validity by theirs.
    #[allow(clippy::disallowed_methods)]
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    let cert = params
        .self_signed(&key)
        .map_err(|e| tls_error("signing the CA certificate", e))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The school's CA, loaded, with the certificates minted from it so far.
pub struct CertAuthority {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    /// One key for every minted certificate: generating a key per host would cost more than
    /// it protects, as all of them live in this process anyway.
    leaf_key: KeyPair,
    minted: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl CertAuthority {
    /// Loads a CA from its PEM certificate and key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<CertAuthority, GatewayError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| tls_error("the CA key", e))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|e| tls_error("the CA certificate", e))?;
        let ca_der = rustls_pki_der(cert_pem)?;
        let leaf_key =
            KeyPair::generate().map_err(|e| tls_error("generating the server key", e))?;
        Ok(CertAuthority {
            issuer,
            ca_der,
            leaf_key,
            minted: Mutex::new(HashMap::new()),
        })
    }

    /// The TLS server configuration presenting a certificate for `host`, minted on first use.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>, GatewayError> {
        if let Ok(cache) = self.minted.lock()
            && let Some(c) = cache.get(host)
        {
            return Ok(c.clone());
        }
        let config = Arc::new(self.mint(host)?);
        if let Ok(mut cache) = self.minted.lock() {
            if cache.len() >= MINTED_CACHE {
                cache.clear();
            }
            cache.insert(host.to_string(), config.clone());
        }
        Ok(config)
    }

    fn mint(&self, host: &str) -> Result<ServerConfig, GatewayError> {
        let mut params = CertificateParams::default();
        let san = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                host.to_string()
                    .try_into()
                    .map_err(|e| tls_error("a host name for a certificate", e))?,
            ),
        };
        params.subject_alt_names = vec![san];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host.to_string());
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        // Dated by the system's clock, not the injected one: clients check validity by theirs.
        #[allow(clippy::disallowed_methods)]
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
        let cert = params
            .signed_by(&self.leaf_key, &self.issuer)
            .map_err(|e| tls_error("minting a certificate", e))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS versions", e))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone(), self.ca_der.clone()], key)
            .map_err(|e| tls_error("a minted certificate", e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// The first certificate of a PEM text, as DER.
fn rustls_pki_der(pem: &str) -> Result<CertificateDer<'static>, GatewayError> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| tls_error("a PEM certificate", e))
}

/// The TLS client towards origins: the system's trusted roots plus `extra_roots_pem` (a
/// school's own internal CA, or a test's).
pub fn client_config(extra_roots_pem: &[String]) -> Result<Arc<ClientConfig>, GatewayError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    for pem in extra_roots_pem {
        roots
            .add(rustls_pki_der(pem)?)
            .map_err(|e| tls_error("an extra root certificate", e))?;
    }
    // No ALPN here: the HTTPS connector sets it (HTTP/1.1) itself.
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("TLS versions", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_ca_loads_and_mints_certificates_for_names_and_addresses() {
        let (cert, key) = generate_ca("Holt Primary").unwrap_or_default();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
        let ca = CertAuthority::from_pem(&cert, &key);
        assert!(ca.is_ok());
        let Ok(ca) = ca else { return };
        let a = ca.server_config("www.example.org");
        let b = ca.server_config("www.example.org");
        assert!(
            matches!((&a, &b), (Ok(a), Ok(b)) if Arc::ptr_eq(a, b)),
            "cached"
        );
        assert!(ca.server_config("192.0.2.7").is_ok());
        assert!(CertAuthority::from_pem("not a cert", &key).is_err());
        assert!(CertAuthority::from_pem(&cert, "not a key").is_err());
    }
}

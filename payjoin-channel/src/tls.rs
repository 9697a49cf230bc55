//! TLS for the payjoin endpoint (BIP 78 requires https, or an onion address): a rustls server
//! configuration from a PEM certificate chain and key, or a self-signed development certificate
//! (feature `dev-cert`, on by default).

use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// TLS setup errors.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The PEM certificate chain or key could not be read.
    #[error("PEM: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    /// The chain is empty.
    #[error("no certificate in the chain")]
    NoCertificate,
    /// rustls refused the certificate or key.
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// The development certificate could not be generated.
    #[cfg(feature = "dev-cert")]
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A rustls server configuration (ring provider, HTTP/1.1 ALPN) for `cert_chain` and `key`.
pub fn server_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    if cert_chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`server_config`] from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn server_config_from_pem(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)?;
    server_config(chain, key)
}

/// A self-signed certificate for development and tests: give `certificate_der` (or
/// `certificate_pem`) to the payer's HTTP client as a trusted root.
#[cfg(feature = "dev-cert")]
#[derive(Debug, Clone)]
pub struct DevCertificate {
    /// Server configuration using it.
    pub server_config: Arc<ServerConfig>,
    /// The certificate, DER.
    pub certificate_der: CertificateDer<'static>,
    /// The certificate, PEM.
    pub certificate_pem: String,
}

#[cfg(feature = "dev-cert")]
impl DevCertificate {
    /// Generates a self-signed certificate for `names` (DNS names or IP addresses, e.g.
    /// `localhost`, `127.0.0.1`).
    pub fn generate(names: &[&str]) -> Result<Self, TlsError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
        let certificate_der = cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(
            signing_key.serialize_der(),
        ));
        let server_config = server_config(vec![certificate_der.clone()], key)?;
        Ok(Self {
            server_config,
            certificate_der,
            certificate_pem: cert.pem(),
        })
    }
}

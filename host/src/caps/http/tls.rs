//! The run's rustls `ClientConfig` (ring provider): web PKI roots plus an
//! optional CA file, or no verification at all when the user asked for
//! `--insecure-skip-tls-verify`. Built once; each VU that speaks TLS gets a
//! copy with a session cache of its own ([`VuTls`]), so a VU resumes its
//! own sessions and never another VU's, as separate users' browsers do.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::HttpSetupError;

/// Server names whose session tickets one VU keeps (each with up to
/// rustls' 8 TLS 1.3 tickets): a VU talks to few origins.
const SESSIONS_PER_VU: usize = 4;

/// Builds the client TLS configuration.
pub fn client_config(ca_file: Option<&Path>, insecure: bool) -> Result<Arc<ClientConfig>, HttpSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| HttpSetupError::Tls(err.to_string()))?;
    let mut config = if insecure {
        let verifier = AcceptAnyCert(provider.signature_verification_algorithms);
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
    } else {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = ca_file {
            add_ca_file(&mut roots, path)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Never used to connect: only VUs' copies, each with its own cache.
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// One VU's TLS client: the run's configuration with this VU's own session
/// cache, made at the VU's first TLS connection (a VU that never speaks TLS
/// pays nothing).
#[derive(Default)]
pub struct VuTls(OnceLock<Arc<ClientConfig>>);

impl VuTls {
    pub fn connector(&self, run: &ClientConfig) -> TlsConnector {
        let config = self.0.get_or_init(|| {
            let mut own = run.clone();
            own.resumption = Resumption::in_memory_sessions(SESSIONS_PER_VU);
            Arc::new(own)
        });
        TlsConnector::from(config.clone())
    }
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), HttpSetupError> {
    let bad = |reason: String| HttpSetupError::CaFile { path: path.to_path_buf(), reason };
    let pem = std::fs::read(path).map_err(|err| bad(err.to_string()))?;
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<_, _>>().map_err(|err| bad(err.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    for cert in certs {
        roots.add(cert).map_err(|err| bad(err.to_string()))?;
    }
    Ok(())
}

/// Accepts every certificate; signatures are still checked so the
/// handshake itself stays sound.
#[derive(Debug)]
struct AcceptAnyCert(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

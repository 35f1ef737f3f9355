//! The client side of the proxy: the pooled HTTP client that talks to hubs (http, or https
//! through rustls), and where a hub's OpenAI endpoints are.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The HTTP client the proxy forwards with (HTTP/1.1 over TCP or TLS, pooled keep-alive
/// connections).
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client whose connection attempts give up after `connect_timeout`; https hubs are verified
/// against `tls`'s roots.
pub fn client(connect_timeout: Duration, tls: rustls::ClientConfig) -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(IDLE_PER_HUB)
        .build(connector)
}

/// Idle keep-alive connections kept per hub (per worker thread, each has its client). A burst
/// of streams opens a connection each; beyond this many, those that finish are closed rather
/// than kept for 90 s (bench/streams.sh: 9,900 streams left 9,900 idle hub connections and
/// 289 MB behind without a cap).
const IDLE_PER_HUB: usize = 256;

/// The platform's trusted certificate authorities, read once per process.
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "a platform certificate could not be read");
        }
        found.certs
    })
}

/// TLS settings for https hubs: the platform's roots plus those in `ca_file` (PEM), ring's
/// cryptography, TLS 1.2 and 1.3. The message says what is wrong with the file.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let (_added, _unusable) = roots.add_parsable_certificates(platform_roots().iter().cloned());
    if let Some(path) = ca_file {
        let shown = path.display();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("--hub-ca-file {shown}: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--hub-ca-file {shown}: not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "--hub-ca-file {shown}: no certificate in it (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")"
            ));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("--hub-ca-file {shown}: a certificate is unusable: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Which OpenAI endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v1/chat/completions`: `messages`.
    Chat,
    /// `/v1/completions`: `prompt`.
    Completions,
}

impl Api {
    /// Both, in the order of [`Api::index`].
    pub(crate) const ALL: [Api; 2] = [Api::Chat, Api::Completions];

    /// Its place in [`Api::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn path(self) -> &'static str {
        match self {
            Api::Chat => "/chat/completions",
            Api::Completions => "/completions",
        }
    }
}

/// The URL of `path` at a hub whose OpenAI base URL is `endpoint` (with or without `/v1`).
pub(crate) fn upstream_url(endpoint: &str, api: Api) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}{}", api.path())
    } else {
        format!("{base}/v1{}", api.path())
    }
}

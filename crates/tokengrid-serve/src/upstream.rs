//! The client side of the proxy: the pooled HTTP client that talks to hubs, and where a hub's
//! OpenAI endpoints are.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The HTTP client the proxy forwards with (HTTP/1.1, pooled keep-alive connections).
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A client whose connection attempts give up after `connect_timeout`.
pub fn client(connect_timeout: Duration) -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(http)
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

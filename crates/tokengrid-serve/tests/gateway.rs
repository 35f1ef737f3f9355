//! The dispatcher as a gateway to hubs that need credentials: a hub's API key is sent to it as
//! a bearer token, sealed in the ledger, never shown; https hubs are verified against the
//! platform's roots plus a CA file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokengrid_serve::secrets::Sealer;
use tokengrid_serve::{AppState, Clock, Config};
use tower::ServiceExt;

use crate::sockets::{
    ADMIN, GANSU, Hub, TestClient, chat, client, completions, dispatcher, dispatcher_with,
    fake_hub, json_of, ledger_rows, register, send, serve_hub, sse_events,
};
use http_body_util::BodyExt;

const SECRET: &str = "test-secret-0123456789abcdef-0123456789";
const HUB_KEY: &str = "sk-gansu-hub-key-0001";

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls")
}

/// Registers a hub at `endpoint` with extra registration fields; the status and body.
async fn register_with(
    c: &TestClient,
    d: SocketAddr,
    name: &str,
    endpoint: &str,
    extra: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut body = serde_json::json!({
        "name": name, "endpoint": endpoint, "lat": 35.73, "lon": 107.64,
        "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 32 },
        "tariff_yuan_per_kwh": 0.3, "pue": 1.2
    });
    if let (Some(b), serde_json::Value::Object(x)) = (body.as_object_mut(), extra) {
        b.extend(x);
    }
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/hubs"),
        Some(ADMIN),
        &[],
        body.to_string(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    (status, v)
}

async fn chat_status(c: &TestClient, d: SocketAddr) -> (StatusCode, serde_json::Value) {
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    (status, v)
}

async fn patch(c: &TestClient, d: SocketAddr, name: &str, body: serde_json::Value) -> StatusCode {
    send(
        c,
        "PATCH",
        format!("http://{d}/v1/hubs/{name}"),
        Some(ADMIN),
        &[],
        body.to_string(),
    )
    .await
    .status()
}

fn with_secret(c: &mut Config) {
    c.sealer = Some(Sealer::new(SECRET).expect("secret"));
}

#[tokio::test]
async fn a_hub_that_demands_a_key_gets_it_and_is_refused_without_it() {
    let (st, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), with_secret).await;
    let (hub, h) = serve_hub(Hub {
        name: "gansu".into(),
        key: Some(HUB_KEY),
        ..Hub::default()
    })
    .await;
    let c = client();
    let (status, v) = register_with(
        &c,
        d,
        "gansu",
        &format!("http://{h}"),
        serde_json::json!({ "api_key": HUB_KEY }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert!(!v.to_string().contains(HUB_KEY), "key echoed: {v}");

    let (status, v) = chat_status(&c, d).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        hub.authorizations.lock().expect("lock").last(),
        Some(&Some(format!("Bearer {HUB_KEY}")))
    );

    // The key is in no listing and only sealed in the ledger.
    let listing = send(
        &c,
        "GET",
        format!("http://{d}/v1/hubs"),
        None,
        &[],
        String::new(),
    )
    .await;
    let (_, _, listing) = json_of(listing).await;
    assert!(!listing.to_string().contains(HUB_KEY), "{listing}");
    let rows = st.ledger.hubs().await.expect("hubs");
    let sealed = rows[0].api_key_sealed.clone().expect("sealed key stored");
    assert!(!sealed.contains(HUB_KEY) && !rows[0].spec.contains(HUB_KEY));
    assert!(!rows[0].spec.contains("api_key"), "{}", rows[0].spec);

    // Without its key the hub refuses, and the client sees its refusal (401 is not a hub
    // failure to fail over from: every other hub would get the same request).
    assert_eq!(
        patch(&c, d, "gansu", serde_json::json!({ "api_key": null })).await,
        StatusCode::OK
    );
    let (status, v) = chat_status(&c, d).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(hub.authorizations.lock().expect("lock").last(), Some(&None));
    assert_eq!(
        st.ledger.hubs().await.expect("hubs")[0].api_key_sealed,
        None
    );
    // A new key through PATCH is used at once.
    assert_eq!(
        patch(&c, d, "gansu", serde_json::json!({ "api_key": HUB_KEY })).await,
        StatusCode::OK
    );
    assert_eq!(chat_status(&c, d).await.0, StatusCode::OK);

    // A replica started on the same ledger opens the key with the same secret; with another
    // secret, or none, it cannot, and keeps the hub out of rotation rather than send requests
    // that would be refused.
    let replica = |sealer: Option<&str>| {
        let mut config = Config::new(ADMIN, "cost-slo");
        config.heartbeat_timeout = Duration::from_secs(3600);
        config.sealer = sealer.map(|s| Sealer::new(s).expect("secret"));
        AppState::new(st.ledger.clone(), config)
    };
    let same = replica(Some(SECRET)).await.expect("replica");
    assert_eq!(same.hubs_up(), ["gansu"]);
    let other = replica(Some("another-secret-0123456789abcdef-01234"))
        .await
        .expect("replica");
    assert_eq!(other.hubs_down(), ["gansu"]);
    let none = replica(None).await.expect("replica");
    assert_eq!(none.hubs_down(), ["gansu"]);
}

#[tokio::test]
async fn a_hub_key_is_refused_when_the_dispatcher_has_no_secret_to_seal_it() {
    let (st, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), |_| {}).await;
    let c = client();
    let (status, v) = register_with(
        &c,
        d,
        "gansu",
        "http://127.0.0.1:9",
        serde_json::json!({ "api_key": HUB_KEY }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(msg.contains("TOKENGRID_SECRET_KEY"), "{v}");
    assert!(!v.to_string().contains(HUB_KEY), "{v}");
    assert!(st.ledger.hubs().await.expect("hubs").is_empty());
    // A key that cannot be a header value is refused as such.
    let (_, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), with_secret).await;
    let (status, v) = register_with(
        &c,
        d,
        "gansu",
        "http://127.0.0.1:9",
        serde_json::json!({ "api_key": "two words" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

/// Serves `hub` over TLS with the test certificate for localhost / 127.0.0.1
/// (`tests/tls/README.md`).
async fn serve_tls_hub(hub: Hub) -> (Arc<Hub>, SocketAddr) {
    let hub = Arc::new(hub);
    let router = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(hub.clone());
    let certs = CertificateDer::pem_file_iter(tls_dir().join("hub.pem"))
        .expect("hub.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("hub.key")).expect("hub.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(sock).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| router.clone().oneshot(req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (hub, addr)
}

#[tokio::test]
async fn an_https_hub_is_reached_through_the_ca_that_signed_it_and_refused_without_it() {
    let (hub, h) = serve_tls_hub(Hub {
        name: "secure".into(),
        key: Some(HUB_KEY),
        ..Hub::default()
    })
    .await;
    let endpoint = format!("https://127.0.0.1:{}", h.port());
    let c = client();

    let (_, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), |cfg| {
        with_secret(cfg);
        cfg.hub_ca_file = Some(tls_dir().join("ca.pem"));
    })
    .await;
    let key = serde_json::json!({ "api_key": HUB_KEY });
    let (status, v) = register_with(&c, d, "secure", &endpoint, key.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = chat_status(&c, d).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["id"], "secure");
    assert_eq!(hub.bodies.lock().expect("lock").len(), 1);

    // A dispatcher that does not trust the test CA never sends the request.
    let (_, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), with_secret).await;
    let (status, v) = register_with(&c, d, "secure", &endpoint, key).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = chat_status(&c, d).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("certificate"), "{v}");
    assert_eq!(hub.bodies.lock().expect("lock").len(), 1);
}

#[test]
fn a_ca_file_that_is_not_pem_certificates_is_a_located_error() {
    let e = tokengrid_serve::proxy::tls_config(Some(&tls_dir().join("README.md")))
        .expect_err("not certificates");
    assert!(
        e.contains("README.md") && e.contains("no certificate"),
        "{e}"
    );
    let e = tokengrid_serve::proxy::tls_config(Some(&tls_dir().join("missing.pem")))
        .expect_err("missing");
    assert!(e.contains("missing.pem"), "{e}");
    assert!(tokengrid_serve::proxy::tls_config(Some(&tls_dir().join("ca.pem"))).is_ok());
}

/// Opens a streamed chat and returns its body after the first event (the hub holds the rest).
async fn open_stream(c: &TestClient, d: SocketAddr) -> (hyper::body::Incoming, Vec<u8>) {
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[("accept", "text/event-stream")],
        chat(true),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event")
        .expect("a frame")
        .expect("ok");
    (body, first.into_data().expect("data").to_vec())
}

#[tokio::test]
async fn a_client_that_goes_away_closes_the_connection_to_the_hub() {
    let c = client();
    let (st, d) = dispatcher(Duration::from_secs(3600)).await;
    let (hub, h) = fake_hub("gansu", false).await;
    register(&c, d, "gansu", h, GANSU, 0.3).await;
    let (body, _) = open_stream(&c, d).await;
    // The client hangs up mid-answer: the dispatcher drops its side, and the hub sees its
    // connection close (it is not left streaming to nobody).
    drop(body);
    tokio::time::timeout(Duration::from_secs(5), hub.hung_up.notified())
        .await
        .expect("the hub's connection closed after the client went away");
    let rows = ledger_rows(&st, 1).await;
    assert_eq!(rows[0].hub, "gansu");
    assert!(!rows[0].complete, "recorded as broken off");
}

#[tokio::test]
async fn an_answer_in_flight_finishes_when_its_hub_is_changed_or_removed() {
    let c = client();
    let (st, d) = dispatcher(Duration::from_secs(3600)).await;
    let (hub, h) = fake_hub("gansu", false).await;
    register(&c, d, "gansu", h, GANSU, 0.3).await;
    let (mut body, mut got) = open_stream(&c, d).await;
    let admin = |method: &'static str, body: String| {
        let c = c.clone();
        async move {
            send(
                &c,
                method,
                format!("http://{d}/v1/hubs/gansu"),
                Some(ADMIN),
                &[],
                body,
            )
            .await
            .status()
        }
    };
    let tariff = serde_json::json!({ "tariff_yuan_per_kwh": 0.2 }).to_string();
    assert_eq!(admin("PATCH", tariff).await, StatusCode::OK);
    assert_eq!(admin("DELETE", String::new()).await, StatusCode::NO_CONTENT);
    assert!(st.hubs_up().is_empty(), "out of rotation at once");
    hub.release.notify_one();
    while let Some(f) = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the stream goes on")
    {
        if let Some(data) = f.expect("frame").data_ref() {
            got.extend_from_slice(data);
        }
    }
    assert_eq!(
        String::from_utf8(got).expect("utf-8"),
        sse_events("gansu").concat()
    );
    let rows = ledger_rows(&st, 1).await;
    assert_eq!((rows[0].hub.as_str(), rows[0].complete), ("gansu", true));
    assert_eq!((rows[0].prompt_tokens, rows[0].output_tokens), (11, 7));
}

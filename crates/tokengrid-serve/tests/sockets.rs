//! The dispatcher over real loopback sockets, with fake hubs (small axum servers, and a listener
//! that drops every connection): routing follows the policy, streams pass through intact and
//! unbuffered, a hub that fails before its first byte is passed over, the ledger accounts each
//! answer from its usage, a hub that stops heartbeating leaves rotation and its jobs move, and
//! bad or missing tokens get 401/403.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokengrid_energy::deploy::catalog_figures;

/// The serving model's J per (prompt, output) token of the hubs these tests register: DeepSeek-V3
/// on H800 (`tokengrid energy`'s figures for the catalog deployment).
pub(crate) fn joules() -> (f64, f64) {
    let f = catalog_figures("deepseek-v3", "H800-SXM").expect("catalog");
    (f.joules_per_prompt_token, f.joules_per_output_token)
}
use tokengrid_serve::{AppState, Clock, Config};
use tokio::sync::{Notify, mpsc};

pub(crate) const ADMIN: &str = "admin-secret";

pub(crate) type TestClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A dispatcher on a loopback port with a fresh SQLite ledger.
pub(crate) async fn dispatcher(heartbeat: Duration) -> (Arc<AppState>, SocketAddr) {
    dispatcher_at(heartbeat, Clock::system()).await
}

/// [`dispatcher`] reading the time from `clock`.
async fn dispatcher_at(heartbeat: Duration, clock: Clock) -> (Arc<AppState>, SocketAddr) {
    dispatcher_with(heartbeat, clock, |_| {}).await
}

/// [`dispatcher_at`] with more of its configuration set by `f`.
pub(crate) async fn dispatcher_with(
    heartbeat: Duration,
    clock: Clock,
    f: impl FnOnce(&mut Config),
) -> (Arc<AppState>, SocketAddr) {
    let dir = std::env::temp_dir().join(format!(
        "tokengrid-sockets-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let ledger = tokengrid_serve::store::Ledger::connect(&format!(
        "sqlite://{}",
        dir.join("l.db").display()
    ))
    .await
    .expect("ledger");
    let mut config = Config::new(ADMIN, "cost-slo");
    config.heartbeat_timeout = heartbeat;
    config.first_byte_timeout = Duration::from_secs(2);
    config.clock = clock;
    f(&mut config);
    let st = AppState::new(ledger, config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The dispatcher's own server, so its hot routes (called without the router) are what
    // these tests exercise.
    let served = tokengrid_serve::server::App::new(st.clone());
    tokio::spawn(tokengrid_serve::server::serve(
        listener,
        served,
        tokengrid_serve::server::Limits::default(),
        std::future::pending(),
    ));
    (st, addr)
}

/// What a fake hub saw and how it answers.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    pub(crate) name: String,
    /// Request bodies received.
    pub(crate) bodies: Mutex<Vec<Bytes>>,
    /// Answer 503 instead of serving.
    pub(crate) unavailable: bool,
    /// Answer 429 with `Retry-After: 7` instead of serving.
    pub(crate) limited: bool,
    /// A streamed answer holds its remaining events until this is notified.
    pub(crate) release: Notify,
    /// The API key it demands (`Authorization: Bearer`); 401 without it.
    pub(crate) key: Option<&'static str>,
    /// `Authorization` headers received.
    pub(crate) authorizations: Mutex<Vec<Option<String>>>,
    /// Notified when the connection is closed before a held stream was released.
    pub(crate) hung_up: Notify,
}

/// The events a fake hub streams: three content chunks, a usage chunk, [DONE].
pub(crate) fn sse_events(name: &str) -> Vec<String> {
    let chunk = |text: &str| {
        format!(
            "data: {{\"id\":\"{name}\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
        )
    };
    vec![
        chunk("Green "),
        chunk("power, "),
        chunk("cheap tokens."),
        format!(
            "data: {{\"id\":\"{name}\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}}}\n\n"
        ),
        "data: [DONE]\n\n".to_owned(),
    ]
}

/// A response body fed from a channel (so the test controls when each piece is sent).
struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

pub(crate) async fn completions(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hub.bodies.lock().expect("lock").push(body.clone());
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().expect("ascii").to_owned());
    hub.authorizations.lock().expect("lock").push(auth.clone());
    if let Some(key) = hub.key
        && auth.as_deref() != Some(format!("Bearer {key}").as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key", "param": null } })),
        )
            .into_response();
    }
    if hub.unavailable {
        return (StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response();
    }
    if hub.limited {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, "7")],
            "slow down",
        )
            .into_response();
    }
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json from the proxy");
    if v["stream"] == serde_json::Value::Bool(true) {
        let (tx, rx) = mpsc::channel(8);
        let events = sse_events(&hub.name);
        let h = hub.clone();
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from(events[0].clone())).await;
            // The rest only once the client has seen the first event: a proxy that buffered
            // would never deliver it, and the test would time out.
            tokio::select! {
                () = h.release.notified() => {}
                () = tx.closed() => {
                    // The connection to this hub was closed mid-answer.
                    h.hung_up.notify_one();
                    return;
                }
            }
            for e in &events[1..] {
                let _ = tx.send(Bytes::from(e.clone())).await;
            }
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(Body::new(ChannelBody(rx)))
            .expect("response");
    }
    axum::Json(serde_json::json!({
        "id": hub.name, "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25 }
    }))
    .into_response()
}

/// A fake hub serving the OpenAI endpoints on a loopback port.
pub(crate) async fn fake_hub(name: &str, unavailable: bool) -> (Arc<Hub>, SocketAddr) {
    serve_hub(Hub {
        name: name.to_owned(),
        unavailable,
        ..Hub::default()
    })
    .await
}

/// Serves `hub` on a loopback port.
pub(crate) async fn serve_hub(hub: Hub) -> (Arc<Hub>, SocketAddr) {
    let hub = Arc::new(hub);
    let router = Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/completions", post(completions))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (hub, addr)
}

/// A "hub" that accepts every connection and drops it at once; counts connections.
async fn dropping_hub() -> (Arc<AtomicU64>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let n = Arc::new(AtomicU64::new(0));
    let count = n.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            drop(sock);
        }
    });
    (n, addr)
}

pub(crate) async fn send(
    c: &TestClient,
    method: &str,
    url: String,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: String,
) -> hyper::Response<hyper::body::Incoming> {
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    c.request(b.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("the dispatcher answers")
}

pub(crate) async fn json_of(
    r: hyper::Response<hyper::body::Incoming>,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into_owned(),
    ));
    (status, headers, v)
}

/// Registers a hub (admin token) and returns its token.
pub(crate) async fn register(
    c: &TestClient,
    d: SocketAddr,
    name: &str,
    endpoint: SocketAddr,
    (lat, lon): (f64, f64),
    tariff: f64,
) -> String {
    let body = serde_json::json!({
        "name": name, "endpoint": format!("http://{endpoint}"), "lat": lat, "lon": lon,
        "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 32 },
        "tariff_yuan_per_kwh": tariff, "pue": 1.2
    });
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
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

/// A hub's heartbeat (telemetry, its own token), reporting its tariff from [`TARIFFS`].
pub(crate) async fn heartbeat(
    c: &TestClient,
    d: SocketAddr,
    name: &str,
    token: &str,
) -> StatusCode {
    let tariff = TARIFFS.iter().find(|t| t.0 == name).map_or(0.5, |t| t.1);
    let body = serde_json::json!({
        "up": true, "queue_depth": 0, "free_replicas": 4, "tariff_yuan_per_kwh": tariff, "green_fraction": 0.0
    });
    send(
        c,
        "PUT",
        format!("http://{d}/v1/hubs/{name}/telemetry"),
        Some(token),
        &[],
        body.to_string(),
    )
    .await
    .status()
}

/// Tariffs the fake hubs report (yuan/kWh).
const TARIFFS: [(&str, f64); 4] = [
    ("shanghai", 0.9),
    ("gansu", 0.3),
    ("guizhou", 0.4),
    ("dropper", 0.1),
];

pub(crate) const SHANGHAI: (f64, f64) = (31.23, 121.47);
pub(crate) const GANSU: (f64, f64) = (35.73, 107.64);
pub(crate) const GUIZHOU: (f64, f64) = (26.65, 106.63);

pub(crate) fn chat(stream: bool) -> String {
    serde_json::json!({
        "model": "deepseek-v3",
        "messages": [{ "role": "user", "content": "Where is power cheap right now?" }],
        "max_tokens": 64,
        "stream": stream
    })
    .to_string()
}

/// The dispatcher's `/metrics` text.
pub(crate) async fn metrics_text(c: &TestClient, d: SocketAddr) -> String {
    let body = send(
        c,
        "GET",
        format!("http://{d}/metrics"),
        None,
        &[],
        String::new(),
    )
    .await
    .into_body()
    .collect()
    .await
    .expect("metrics")
    .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// Waits for the ledger to hold `n` served requests (they are written when a body ends).
pub(crate) async fn ledger_rows(
    st: &AppState,
    n: usize,
) -> Vec<tokengrid_serve::store::RequestRow> {
    for _ in 0..100 {
        st.flush_served().await;
        let rows = st.ledger.requests(100).await.expect("requests");
        if rows.len() >= n {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the ledger never recorded {n} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_follows_the_policy() {
    let c = client();
    let (st, d) = dispatcher(Duration::from_secs(30)).await;
    let (sh, sh_addr) = fake_hub("shanghai", false).await;
    let (ga, ga_addr) = fake_hub("gansu", false).await;
    let t_sh = register(&c, d, "shanghai", sh_addr, SHANGHAI, 0.9).await;
    let t_ga = register(&c, d, "gansu", ga_addr, GANSU, 0.3).await;
    assert_eq!(
        heartbeat(&c, d, "shanghai", &t_sh).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        heartbeat(&c, d, "gansu", &t_ga).await,
        StatusCode::NO_CONTENT
    );

    // No latency bound: cost-slo takes the cheaper western hub (0.3 < 0.9 yuan/kWh).
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, headers, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(headers["x-tokengrid-hub"], "gansu");
    assert_eq!(v["id"], "gansu", "the body is the chosen hub's answer");
    assert_eq!(
        ga.bodies.lock().expect("lock").as_slice(),
        [Bytes::from(chat(false))],
        "forwarded intact"
    );

    // A 10 ms TTFT bound from Shanghai: Gansu is ~1,500 km away (great circle x 1.4 at 204,000
    // km/s: ~21 ms round trip), so only the Shanghai hub can meet it.
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[("x-tokengrid-ttft-slo-ms", "10")],
        chat(false),
    )
    .await;
    let (status, headers, _) = json_of(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-tokengrid-hub"], "shanghai");
    assert_eq!(sh.bodies.lock().expect("lock").len(), 1);

    // A client in Gansu with the same bound goes to Gansu.
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/completions"),
        None,
        &[
            ("x-tokengrid-ttft-slo-ms", "10"),
            ("x-tokengrid-origin", "35.7,107.6"),
        ],
        serde_json::json!({ "model": "deepseek-v3", "prompt": "hello" }).to_string(),
    )
    .await;
    let (status, headers, _) = json_of(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-tokengrid-hub"], "gansu");

    // A long prompt (1 MB, over the control API's 64 KiB limit) is forwarded whole; a body over
    // the proxy's 8 MiB limit is refused with 413.
    let long = serde_json::json!({
        "model": "deepseek-v3",
        "messages": [{ "role": "user", "content": "w".repeat(1 << 20) }],
        "max_tokens": 8
    })
    .to_string();
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        long.clone(),
    )
    .await;
    let (status, headers, _) = json_of(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["x-tokengrid-hub"], "gansu",
        "no bound: the cheaper hub"
    );
    assert_eq!(
        ga.bodies.lock().expect("lock").last(),
        Some(&Bytes::from(long))
    );
    let huge =
        serde_json::json!({ "model": "deepseek-v3", "prompt": "w".repeat(9 << 20) }).to_string();
    let forwarded = ga.bodies.lock().expect("lock").len() + sh.bodies.lock().expect("lock").len();
    let req = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://{d}/v1/completions"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(huge)))
        .expect("request");
    // The dispatcher answers 413 from the Content-Length alone; whether the client is still
    // writing the body when the connection closes is a race, so a write cut short is the same
    // refusal seen from the other end. Either way nothing reaches a hub. It goes on a client of
    // its own: the dispatcher closes that connection, and a pooled one it closed could be
    // picked for the next request (a broken pipe decided by timing).
    match client().request(req).await {
        Ok(r) => {
            let (status, headers, body) = json_of(r).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
            );
            assert_eq!(
                headers["connection"], "close",
                "the client is told it closes"
            );
        }
        Err(e) => assert!(
            format!("{e:?}").contains("BodyWrite"),
            "refused mid-body, not another failure: {e:?}"
        ),
    }
    assert_eq!(
        ga.bodies.lock().expect("lock").len() + sh.bodies.lock().expect("lock").len(),
        forwarded,
        "an oversized body is never forwarded"
    );

    // Malformed routing headers: 400 with the error table's code, nothing forwarded.
    for (k, v) in [
        ("x-tokengrid-origin", "north"),
        ("x-tokengrid-origin", "95,10"),
        ("x-tokengrid-ttft-slo-ms", "-5"),
        ("x-tokengrid-e2e-slo-ms", "soon"),
    ] {
        let r = send(
            &c,
            "POST",
            format!("http://{d}/v1/chat/completions"),
            None,
            &[(k, v)],
            chat(false),
        )
        .await;
        let (status, _, body) = json_of(r).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{k}: {v}"
        );
    }
    assert_eq!(
        sh.bodies.lock().expect("lock").len() + ga.bodies.lock().expect("lock").len(),
        4
    );

    // The ledger has each answer with the usage the hub reported, and the energy and cost the
    // energy model attributes to the hub's hardware: (20 x J/prompt + 5 x J/output) x PUE 1.2,
    // at the hub's tariff.
    let rows = ledger_rows(&st, 4).await;
    let first = rows.last().expect("oldest");
    assert_eq!(
        (first.hub.as_str(), first.prompt_tokens, first.output_tokens),
        ("gansu", 20, 5)
    );
    assert!(first.usage_reported && first.complete && first.status == 200);
    let (jp, jo) = joules();
    let energy = (20.0 * jp + 5.0 * jo) * 1.2;
    assert!(
        (first.energy_j - energy).abs() < 1e-12,
        "{} vs {energy}",
        first.energy_j
    );
    assert!((first.cost - energy / 3.6e6 * 0.3).abs() < 1e-15);
    let second = rows
        .iter()
        .find(|r| r.hub == "shanghai")
        .expect("Shanghai's answer");
    assert!(
        (second.cost - energy / 3.6e6 * 0.9).abs() < 1e-15,
        "Shanghai's tariff"
    );

    // The metrics count decisions per hub and time the proxy.
    let r = send(
        &c,
        "GET",
        format!("http://{d}/metrics"),
        None,
        &[],
        String::new(),
    )
    .await;
    let (_, _, m) = json_of(r).await;
    let m = m.as_str().expect("text").to_owned();
    assert!(
        m.contains("tokengrid_decisions_total{hub=\"gansu\",policy=\"cost-slo\"} 3"),
        "{m}"
    );
    assert!(m.contains("tokengrid_decisions_total{hub=\"shanghai\",policy=\"cost-slo\"} 1"));
    assert!(m.contains("tokengrid_proxied_requests_total{hub=\"gansu\",status=\"200\"} 3"));
    assert!(m.contains("tokengrid_proxy_seconds_count 4"), "{m}");
    assert!(m.contains("tokengrid_tokens_total{hub=\"shanghai\",kind=\"output\"} 5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_passes_through_intact_and_unbuffered() {
    let c = client();
    let (st, d) = dispatcher(Duration::from_secs(30)).await;
    let (ga, ga_addr) = fake_hub("gansu", false).await;
    let t = register(&c, d, "gansu", ga_addr, GANSU, 0.3).await;
    heartbeat(&c, d, "gansu", &t).await;

    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[("accept", "text/event-stream")],
        chat(true),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers()["x-tokengrid-hub"], "gansu");
    let mut body = r.into_body();
    let mut got = Vec::new();
    // The first event arrives while the hub still holds the rest.
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event is not held back by the proxy")
        .expect("a frame")
        .expect("ok");
    got.extend_from_slice(first.data_ref().expect("data"));
    ga.release.notify_one();
    while let Some(f) = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the stream goes on")
    {
        if let Some(d) = f.expect("frame").data_ref() {
            got.extend_from_slice(d);
        }
    }
    let expected: String = sse_events("gansu").concat();
    assert_eq!(
        String::from_utf8(got).expect("utf-8"),
        expected,
        "byte for byte"
    );

    // Usage came from the stream's usage chunk: 11 prompt and 7 output tokens.
    let rows = ledger_rows(&st, 1).await;
    assert_eq!((rows[0].prompt_tokens, rows[0].output_tokens), (11, 7));
    assert!(rows[0].usage_reported && rows[0].complete);
    let (jp, jo) = joules();
    let energy = (11.0 * jp + 7.0 * jo) * 1.2;
    assert!((rows[0].energy_j - energy).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_when_a_hub_drops_the_connection_or_is_unavailable() {
    let c = client();
    let (st, d) = dispatcher(Duration::from_secs(30)).await;
    // The cheapest hub drops every connection; the next-cheapest answers 503; then Guizhou.
    let (dropped, drop_addr) = dropping_hub().await;
    let (busy, busy_addr) = fake_hub("gansu", true).await;
    let (gz, gz_addr) = fake_hub("guizhou", false).await;
    for (name, addr, at, tariff) in [
        ("dropper", drop_addr, GANSU, 0.1),
        ("gansu", busy_addr, GANSU, 0.3),
        ("guizhou", gz_addr, GUIZHOU, 0.4),
    ] {
        let t = register(&c, d, name, addr, at, tariff).await;
        heartbeat(&c, d, name, &t).await;
    }
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, headers, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(headers["x-tokengrid-hub"], "guizhou");
    assert_eq!(v["id"], "guizhou");
    assert!(
        dropped.load(Ordering::Relaxed) >= 1,
        "the dropper was tried"
    );
    assert_eq!(
        busy.bodies.lock().expect("lock").len(),
        1,
        "the busy hub was tried"
    );
    assert_eq!(gz.bodies.lock().expect("lock").len(), 1);
    let failovers = st.metrics.hubs();
    assert_eq!(failovers["dropper"].failovers, 1);
    assert_eq!(failovers["gansu"].failovers, 1);

    // With Guizhou gone too, the client gets a 502 naming every failure.
    let (_, d2) = dispatcher(Duration::from_secs(30)).await;
    let t = register(&c, d2, "dropper", drop_addr, GANSU, 0.1).await;
    heartbeat(&c, d2, "dropper", &t).await;
    let r = send(
        &c,
        "POST",
        format!("http://{d2}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(v["error"]["code"], "hub_failed");
    assert_eq!(v["error"]["type"], "api_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("dropper"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_tokens_get_401_or_403() {
    let c = client();
    let (_st, d) = dispatcher(Duration::from_secs(30)).await;
    let (_, a_addr) = fake_hub("gansu", false).await;
    let (_, b_addr) = fake_hub("guizhou", false).await;
    let body = |name: &str, addr: SocketAddr| {
        serde_json::json!({
            "name": name, "endpoint": format!("http://{addr}"), "lat": 35.7, "lon": 107.6,
            "models": ["deepseek-v3"], "accelerators": {}, "tariff_yuan_per_kwh": 0.3, "pue": 1.2
        })
        .to_string()
    };
    let url = format!("http://{d}/v1/hubs");
    let r = send(&c, "POST", url.clone(), None, &[], body("gansu", a_addr)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(
        &c,
        "POST",
        url.clone(),
        Some("not-the-admin"),
        &[],
        body("gansu", a_addr),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let ta = register(&c, d, "gansu", a_addr, GANSU, 0.3).await;
    let tb = register(&c, d, "guizhou", b_addr, GUIZHOU, 0.4).await;
    // A hub's token cannot register hubs, report for another hub or take its jobs.
    let r = send(&c, "POST", url, Some(&ta), &[], body("third", a_addr)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        heartbeat(&c, d, "guizhou", &ta).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        heartbeat(&c, d, "guizhou", &tb).await,
        StatusCode::NO_CONTENT
    );
    let take = |name: &str| format!("http://{d}/v1/hubs/{name}/jobs/take");
    let r = send(&c, "POST", take("guizhou"), Some(&ta), &[], String::new()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&c, "POST", take("guizhou"), None, &[], String::new()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(&c, "POST", take("guizhou"), Some(&tb), &[], String::new()).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_stops_heartbeating_leaves_rotation_and_its_jobs_move() {
    let c = client();
    // A fixed clock: the test decides when Gansu has been silent past the 30 s timeout, so a
    // slow machine cannot make Guizhou look silent too.
    let t0 = 1_772_330_400_000i64;
    let clock = Clock::fixed(t0);
    let (st, d) = dispatcher_at(Duration::from_secs(30), clock.clone()).await;
    let (ga, ga_addr) = fake_hub("gansu", false).await;
    let (gz, gz_addr) = fake_hub("guizhou", false).await;
    let t_ga = register(&c, d, "gansu", ga_addr, GANSU, 0.3).await;
    let t_gz = register(&c, d, "guizhou", gz_addr, GUIZHOU, 0.4).await;
    heartbeat(&c, d, "gansu", &t_ga).await;
    heartbeat(&c, d, "guizhou", &t_gz).await;

    // A batch job goes to the cheaper hub, which takes it when due (now: flat tariffs).
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/jobs"),
        Some(ADMIN),
        &[],
        serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 100000, "deadline": "8h" }).to_string(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = v["id"].as_str().expect("id").to_owned();
    tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
        .await
        .expect("schedule");
    let job = st.ledger.job(&id).await.expect("get").expect("job");
    assert_eq!(
        (job.state.as_str(), job.hub.as_deref()),
        ("scheduled", Some("gansu"))
    );
    let take = |name: &str| format!("http://{d}/v1/hubs/{name}/jobs/take");
    let (_, _, taken) =
        json_of(send(&c, "POST", take("gansu"), Some(&t_ga), &[], String::new()).await).await;
    assert_eq!(taken[0]["id"], id.as_str());

    // Gansu falls silent; Guizhou keeps reporting.
    for step in 1..=4 {
        clock.set(t0 + step * 10_000);
        heartbeat(&c, d, "guizhou", &t_gz).await;
    }
    assert_eq!(st.hubs_up(), ["guizhou"]);
    // Requests no longer go to Gansu...
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    assert_eq!(r.headers()["x-tokengrid-hub"], "guizhou");
    assert_eq!(ga.bodies.lock().expect("lock").len(), 0);
    assert_eq!(gz.bodies.lock().expect("lock").len(), 1);
    // ...and its unfinished job moves to Guizhou, which takes it.
    assert_eq!(
        tokengrid_serve::jobs::requeue_from_down_hubs(&st)
            .await
            .expect("requeue"),
        1
    );
    tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
        .await
        .expect("schedule");
    let job = st.ledger.job(&id).await.expect("get").expect("job");
    assert_eq!(
        (job.state.as_str(), job.hub.as_deref(), job.attempts),
        ("scheduled", Some("guizhou"), 2)
    );
    let (_, _, taken) =
        json_of(send(&c, "POST", take("guizhou"), Some(&t_gz), &[], String::new()).await).await;
    assert_eq!(taken[0]["id"], id.as_str());
    // Guizhou reports it done; Gansu, back too late, cannot.
    let state = |s: &str| serde_json::json!({ "state": s }).to_string();
    let r = send(
        &c,
        "PUT",
        format!("http://{d}/v1/jobs/{id}/state"),
        Some(&t_ga),
        &[],
        state("done"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(
        &c,
        "PUT",
        format!("http://{d}/v1/jobs/{id}/state"),
        Some(&t_gz),
        &[],
        state("done"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        st.ledger.job(&id).await.expect("get").expect("job").state,
        tokengrid_serve::JobState::Done
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_answering_429_is_passed_over_and_rested_for_its_retry_after() {
    let c = client();
    // A fixed clock: how long the hub rests is decided by the test, not by how fast it runs.
    let t0 = 1_772_330_400_000i64;
    let clock = Clock::fixed(t0);
    let (st, d) = dispatcher_at(Duration::from_secs(30), clock.clone()).await;
    let (limited, limited_addr) = serve_hub(Hub {
        name: "gansu".into(),
        limited: true,
        ..Hub::default()
    })
    .await;
    let (gz, gz_addr) = fake_hub("guizhou", false).await;
    for (name, addr, at, tariff) in [
        ("gansu", limited_addr, GANSU, 0.3),
        ("guizhou", gz_addr, GUIZHOU, 0.4),
    ] {
        let t = register(&c, d, name, addr, at, tariff).await;
        heartbeat(&c, d, name, &t).await;
    }
    let ask = || async {
        let r = send(
            &c,
            "POST",
            format!("http://{d}/v1/chat/completions"),
            None,
            &[],
            chat(false),
        )
        .await;
        let (status, headers, v) = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        headers["x-tokengrid-hub"].to_str().expect("hub").to_owned()
    };
    let tries = || limited.bodies.lock().expect("lock").len();
    // The cheaper Gansu answers 429: the request fails over to Guizhou.
    assert_eq!(ask().await, "guizhou");
    assert_eq!(tries(), 1);
    assert_eq!(st.metrics.hubs()["gansu"].failovers, 1);
    // For the 7 s it asked for, Gansu is not tried: requests go straight to Guizhou.
    clock.set(t0 + 6_999);
    assert_eq!(ask().await, "guizhou");
    assert_eq!(tries(), 1, "a resting hub is not tried");
    // Then it is tried again (and still refuses).
    clock.set(t0 + 7_000);
    assert_eq!(ask().await, "guizhou");
    assert_eq!(tries(), 2);
    assert_eq!(gz.bodies.lock().expect("lock").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_silent_mid_answer_ends_the_clients_stream_and_the_row_is_incomplete() {
    let c = client();
    let (st, d) = dispatcher_with(Duration::from_secs(30), Clock::system(), |cfg| {
        cfg.stream_idle_timeout = Duration::from_secs(1);
    })
    .await;
    // The fake hub sends its first event and then holds the rest until released: never here.
    let (_ga, ga_addr) = fake_hub("gansu", false).await;
    let t = register(&c, d, "gansu", ga_addr, GANSU, 0.3).await;
    heartbeat(&c, d, "gansu", &t).await;
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[("accept", "text/event-stream")],
        chat(true),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    let mut got = Vec::new();
    // The stream ends (cleanly: no error) after the first event; a proxy without an idle
    // timeout would hold the client here until the outer timeout fails the test.
    while let Some(f) = tokio::time::timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("the dispatcher ends a stalled stream")
    {
        if let Some(d) = f.expect("a clean end, not an error").data_ref() {
            got.extend_from_slice(d);
        }
    }
    assert_eq!(
        String::from_utf8(got).expect("utf-8"),
        sse_events("gansu")[0],
        "what the hub sent before it stalled"
    );
    let rows = ledger_rows(&st, 1).await;
    assert_eq!(rows[0].hub, "gansu");
    assert!(!rows[0].complete, "a stalled answer is recorded incomplete");
}

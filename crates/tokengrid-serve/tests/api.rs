//! The HTTP API without a socket (`app(state)` with `oneshot`): authentication, registration,
//! telemetry, dispatch following the policy, jobs acknowledged only once in the ledger, and bad
//! input answered with 4xx JSON errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tokengrid_serve::store::Ledger;
use tokengrid_serve::{AppState, Clock, Config, app};
use tower::ServiceExt;

pub(crate) const ADMIN: &str = "admin-secret";

/// A fresh SQLite ledger and app: 30 s heartbeat timeout, the system clock, `cost-slo`.
pub(crate) async fn state() -> (Arc<AppState>, Router) {
    state_at(Duration::from_secs(30), Clock::system(), "cost-slo").await
}

/// A fresh SQLite ledger and app with the given heartbeat timeout, reading the time from
/// `clock`, deciding by `policy`.
pub(crate) async fn state_at(
    heartbeat: Duration,
    clock: Clock,
    policy: &str,
) -> (Arc<AppState>, Router) {
    let dir = std::env::temp_dir().join(format!(
        "tokengrid-api-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("l.db").display()))
        .await
        .expect("ledger");
    let mut config = Config::new(ADMIN, policy);
    config.heartbeat_timeout = heartbeat;
    config.clock = clock;
    let st = AppState::new(ledger, config).await.expect("state");
    (st.clone(), app(st))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub(crate) async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = b
        .body(body.map_or_else(Body::empty, Body::from))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into_owned(),
    ));
    (status, json)
}

fn hub(name: &str, lat: f64, lon: f64, tariff: f64) -> String {
    serde_json::json!({
        "name": name, "endpoint": format!("http://127.0.0.1:1/{name}"), "lat": lat, "lon": lon,
        "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 32 }, "tariff_yuan_per_kwh": tariff, "pue": 1.2
    })
    .to_string()
}

pub(crate) async fn register(app: &Router, name: &str, lat: f64, lon: f64, tariff: f64) -> String {
    let (s, v) = call(
        app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(hub(name, lat, lon, tariff)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

pub(crate) fn dispatch_body(ttft: f64) -> String {
    serde_json::json!({ "model": "deepseek-v3", "origin": { "lat": 31.23, "lon": 121.47 }, "prompt_tokens": 1000, "output_tokens": 200, "ttft_slo_ms": ttft }).to_string()
}

#[tokio::test]
async fn registration_needs_the_admin_token() {
    let (_, app) = state().await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        None,
        Some(hub("east", 31.15, 121.12, 0.9)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["code"], "unauthorized");
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some("wrong"),
        Some(hub("east", 31.15, 121.12, 0.9)),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    register(&app, "east", 31.15, 121.12, 0.9).await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(hub("east", 31.15, 121.12, 0.9)),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(&app, Method::GET, "/v1/hubs", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v[0]["name"], "east");
    assert_eq!(v[0]["up"], true);
}

#[tokio::test]
async fn telemetry_needs_the_hubs_own_token() {
    let (_, app) = state().await;
    let east = register(&app, "east", 31.15, 121.12, 0.9).await;
    let west = register(&app, "west", 35.73, 107.63, 0.4).await;
    let t = serde_json::json!({ "up": true, "queue_depth": 0, "free_replicas": 2, "tariff_yuan_per_kwh": 0.95, "green_fraction": 0.0 }).to_string();
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/hubs/east/telemetry",
        Some(&east),
        Some(t.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/hubs/east/telemetry",
        Some(&west),
        Some(t.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another hub's token");
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/hubs/east/telemetry",
        None,
        Some(t.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/hubs/nowhere/telemetry",
        Some(&east),
        Some(t),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dispatch_follows_the_policy() {
    let (_, app) = state().await;
    let _east = register(&app, "east", 31.15, 121.12, 0.9).await;
    let west = register(&app, "west", 35.73, 107.63, 0.4).await;
    // Both meet a 2 s TTFT from Shanghai: cost-slo takes the cheaper west.
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["hub"], "west", "{v}");
    let verdicts: Vec<&str> = v["explanation"]
        .as_array()
        .expect("explanation")
        .iter()
        .map(|e| e["verdict"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(verdicts, ["feasible", "chosen"]);
    // 10 ms TTFT: the 1,900 km west (about 19 ms round trip) cannot; the east can.
    let (_, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(10.0)),
    )
    .await;
    assert_eq!(v["hub"], "east", "{v}");
    assert_eq!(v["explanation"][1]["verdict"], "ttft_slo");
    // The west reports itself down: never chosen.
    let t = serde_json::json!({ "up": false, "queue_depth": 0, "free_replicas": 2, "tariff_yuan_per_kwh": 0.3, "green_fraction": 1.0 }).to_string();
    call(
        &app,
        Method::PUT,
        "/v1/hubs/west/telemetry",
        Some(&west),
        Some(t),
    )
    .await;
    let (_, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(v["hub"], "east", "{v}");
    // A model nobody serves.
    let body = serde_json::json!({ "model": "gpt-9", "origin": { "lat": 31.2, "lon": 121.5 }, "prompt_tokens": 1, "output_tokens": 1 }).to_string();
    let (s, v) = call(&app, Method::POST, "/v1/dispatch", None, Some(body)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, text) = call(&app, Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.as_str()
            .unwrap_or("")
            .contains("tokengrid_decisions_total{hub=\"west\",policy=\"cost-slo\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn jobs_are_in_the_ledger_when_acknowledged() {
    let (st, app) = state().await;
    let body = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 6500, "deadline": "8h" }).to_string();
    let (s, v) = call(&app, Method::POST, "/v1/jobs", Some(ADMIN), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["state"], "queued");
    let id = v["id"].as_str().expect("id").to_owned();
    // Already in the ledger, read back directly.
    let row = st
        .ledger
        .job(&id)
        .await
        .expect("ledger")
        .expect("stored before the 201");
    assert_eq!(row.state, tokengrid_serve::JobState::Queued);
    let (s, v) = call(&app, Method::GET, &format!("/v1/jobs/{id}"), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["id"], id.as_str());
    let (_, v) = call(&app, Method::GET, "/v1/jobs?state=queued", None, None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let (s, v) = call(&app, Method::GET, "/v1/jobs/job-nope", None, None).await;
    assert_eq!(
        (s, &v["code"]),
        (StatusCode::NOT_FOUND, &serde_json::json!("not_found"))
    );
    let training = serde_json::json!({ "kind": "training", "accelerators": 64, "compute_hours": 2.0, "deadline": "48h" }).to_string();
    let (s, _) = call(&app, Method::POST, "/v1/jobs", Some(ADMIN), Some(training)).await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_input_never_gets_a_5xx() {
    let (_, app) = state().await;
    let token = register(&app, "east", 31.15, 121.12, 0.9).await;
    let huge = "x".repeat(200_000);
    let bodies = [
        "{not json".to_owned(),
        "[]".to_owned(),
        "{\"unknown_field\": 1}".to_owned(),
        "{\"kind\": 5, \"deadline\": true}".to_owned(),
        format!("{{\"name\": \"{huge}\"}}"),
        String::new(),
    ];
    let routes: [(Method, &str, Option<&str>); 11] = [
        (Method::POST, "/v1/hubs", Some(ADMIN)),
        (Method::PUT, "/v1/hubs/east/telemetry", Some(token.as_str())),
        (Method::POST, "/v1/dispatch", None),
        (Method::POST, "/v1/jobs", Some(ADMIN)),
        (Method::GET, "/v1/jobs?state=queued&bogus=1", None),
        (Method::GET, "/v1/jobs/%00", None),
        (Method::POST, "/v1/chat/completions", None),
        (Method::POST, "/v1/completions", None),
        (
            Method::POST,
            "/v1/hubs/east/jobs/take?limit=x",
            Some(token.as_str()),
        ),
        (
            Method::POST,
            "/v1/hubs/east/jobs/take?limit=0",
            Some(token.as_str()),
        ),
        (Method::PUT, "/v1/jobs/nope/state", Some(token.as_str())),
    ];
    for (m, uri, tok) in &routes {
        for b in &bodies {
            let (s, v) = call(&app, m.clone(), uri, *tok, Some(b.clone())).await;
            assert!(
                s.is_client_error() || s.is_success(),
                "{m} {uri} with {:.40}: {s} {v}",
                b
            );
            if s.is_client_error()
                && s != StatusCode::PAYLOAD_TOO_LARGE
                && s != StatusCode::METHOD_NOT_ALLOWED
            {
                assert!(
                    v["code"].is_string() || v["error"]["code"].is_string() || v.is_string(),
                    "{m} {uri}: {v}"
                );
            }
        }
    }
    let bad = [
        serde_json::json!({ "kind": "inference", "deadline": "1h" }),
        serde_json::json!({ "kind": "batch", "model": "m", "tokens": 0, "deadline": "1h" }),
        serde_json::json!({ "kind": "batch", "model": "m", "tokens": 10, "deadline": "soon" }),
        serde_json::json!({ "kind": "training", "accelerators": 8, "compute_hours": -1.0, "deadline": "1h" }),
    ];
    for b in bad {
        let (s, v) = call(
            &app,
            Method::POST,
            "/v1/jobs",
            Some(ADMIN),
            Some(b.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {v}");
        assert_eq!(v["code"], "bad_request");
    }
    // OpenAI bodies that are JSON but wrong, and bad routing headers: 400 (or 404 for a model
    // no hub serves), before anything is forwarded.
    let chat_bad = [
        serde_json::json!({ "model": 5, "messages": [] }),
        serde_json::json!({ "model": "deepseek-v3" }),
        serde_json::json!({ "model": "deepseek-v3", "messages": "hi" }),
        serde_json::json!({ "model": "deepseek-v3", "messages": [1] }),
        serde_json::json!({ "model": "deepseek-v3", "messages": [{ "role": "user", "content": "hi" }], "stream": "yes" }),
        serde_json::json!({ "model": "deepseek-v3", "messages": [{ "role": "user", "content": "hi" }], "max_tokens": -1 }),
    ];
    for b in chat_bad {
        let (s, v) = call(
            &app,
            Method::POST,
            "/v1/chat/completions",
            None,
            Some(b.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {v}");
        // OpenAI's error shape on the OpenAI routes, with the error table's code.
        assert_eq!(v["error"]["code"], "bad_request", "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        assert!(v["error"]["param"].is_null(), "{v}");
    }
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/completions",
        None,
        Some(serde_json::json!({ "model": "no-such-model", "prompt": "hi" }).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["type"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("not_found"),
            Some("not_found_error")
        )
    );
    let (s, v) = call(&app, Method::POST, "/v1/dispatch", None, Some(huge.clone())).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    // A body over a limit is left unread and the connection closed: the answer says so, on the
    // OpenAI routes (8 MiB) as on the others (64 KiB), so a client does not reuse it.
    for (uri, size) in [("/v1/dispatch", 100_000), ("/v1/completions", 9 << 20)] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(vec![b' '; size]))
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("response");
        assert_eq!(
            (resp.status(), resp.headers().get("connection")),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(&axum::http::HeaderValue::from_static("close"))
            ),
            "{uri}"
        );
    }
    let (s, _) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&app, Method::GET, "/", None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_silent_hub_leaves_rotation_and_its_jobs_move() {
    // The clock stands still until the test moves it: whether a hub is silent past the timeout
    // is decided by the test, not by how long the machine takes between two calls.
    let t0 = 1_772_424_000_000;
    let clock = Clock::fixed(t0);
    let (st, app) = state_at(Duration::from_secs(30), clock.clone(), "cost-slo").await;
    let _east = register(&app, "east", 31.15, 121.12, 0.9).await;
    let west = register(&app, "west", 35.73, 107.63, 0.4).await;
    // A batch job due in 8 h goes to the cheaper west.
    let body = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 6500, "deadline": "8h" }).to_string();
    let (_, v) = call(&app, Method::POST, "/v1/jobs", Some(ADMIN), Some(body)).await;
    let id = v["id"].as_str().expect("id").to_owned();
    assert_eq!(
        tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
            .await
            .expect("schedule"),
        1
    );
    let job = st.ledger.job(&id).await.expect("ledger").expect("job");
    assert_eq!(
        (job.state.as_str(), job.hub.as_deref()),
        ("scheduled", Some("west"))
    );
    // The west goes silent (only the east keeps heartbeating) past the 30 s timeout.
    let _ = west;
    let t = serde_json::json!({ "up": true, "queue_depth": 0, "free_replicas": 1, "tariff_yuan_per_kwh": 0.9, "green_fraction": 0.0 }).to_string();
    clock.set(t0 + 40_000);
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/hubs/east/telemetry",
        Some(&_east),
        Some(t),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, hubs) = call(&app, Method::GET, "/v1/hubs", None, None).await;
    assert_eq!(
        (hubs[0]["up"].as_bool(), hubs[1]["up"].as_bool()),
        (Some(true), Some(false)),
        "{hubs}"
    );
    let (_, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(v["hub"], "east", "the silent west is out of rotation: {v}");
    // Its job moves: back to the queue, then scheduled at the east.
    assert_eq!(
        tokengrid_serve::jobs::requeue_from_down_hubs(&st)
            .await
            .expect("requeue"),
        1
    );
    assert_eq!(
        tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
            .await
            .expect("schedule"),
        1
    );
    let job = st.ledger.job(&id).await.expect("ledger").expect("job");
    assert_eq!(
        (job.state.as_str(), job.hub.as_deref()),
        ("scheduled", Some("east"))
    );
}

#[tokio::test]
async fn a_batch_job_waits_for_the_hubs_cheap_hours() {
    // 2026-03-01 10:00 China Standard Time (02:00 UTC), independently: 1,772,330,400 s after
    // the epoch (20,513 days to 2026-03-01, plus 2 h).
    let ten_am_ms = (20_513 * 86_400 + 2 * 3_600) * 1_000i64;
    let clock = Clock::fixed(ten_am_ms);
    let (st, app) = state_at(Duration::from_secs(2 * 86_400), clock.clone(), "cost-slo").await;
    // One hub, UTC+8, 0.1 yuan/kWh from 02:00 to 05:00 local, 1.0 otherwise.
    let profile: Vec<f64> = (0..24)
        .map(|h| if (2..5).contains(&h) { 0.1 } else { 1.0 })
        .collect();
    let body = serde_json::json!({
        "name": "west", "endpoint": "http://127.0.0.1:1", "lat": 35.7, "lon": 107.6,
        "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 32 }, "tariff_yuan_per_kwh": 1.0,
        "pue": 1.2, "tariff_by_hour": profile, "utc_offset_hours": 8.0
    });
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let job = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 10000, "deadline": "30h" });
    let submit = || async {
        let (s, v) = call(
            &app,
            Method::POST,
            "/v1/jobs",
            Some(ADMIN),
            Some(job.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_owned()
    };
    let start_of = |id: String| {
        let st = st.clone();
        async move {
            tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
                .await
                .expect("schedule");
            let job = st.ledger.job(&id).await.expect("get").expect("job");
            assert_eq!(job.state, tokengrid_serve::JobState::Scheduled);
            job.start_at_ms.expect("start")
        }
    };
    let hour_ms = 3_600_000i64;
    // Submitted at 10:00, it waits 16 h for 02:00 the next morning, to the millisecond.
    let id = submit().await;
    assert_eq!(start_of(id).await, ten_am_ms + 16 * hour_ms);
    // Submitted at 03:30, inside the cheap hours (and before any telemetry), it runs now.
    let half_past_three = ten_am_ms + 17 * hour_ms + hour_ms / 2;
    clock.set(half_past_three);
    let id = submit().await;
    assert_eq!(start_of(id).await, half_past_three);
    // A profile that is not 24 values is refused.
    let bad = serde_json::json!({
        "name": "odd", "endpoint": "http://127.0.0.1:1", "lat": 35.7, "lon": 107.6,
        "models": ["deepseek-v3"], "accelerators": {}, "tariff_yuan_per_kwh": 1.0, "pue": 1.2,
        "tariff_by_hour": [0.1, 0.2]
    });
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(bad.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .expect("message")
            .contains("tariff_by_hour")
    );
}

#[tokio::test]
async fn registration_refuses_an_accelerator_the_catalog_does_not_know() {
    let (_, app) = state().await;
    let body = serde_json::json!({
        "name": "tpu", "endpoint": "http://127.0.0.1:1", "lat": 30.0, "lon": 120.0,
        "models": ["deepseek-v3"], "accelerators": { "TPU-v5p": 64 },
        "tariff_yuan_per_kwh": 0.5, "pue": 1.2
    });
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["message"].as_str().unwrap_or("");
    assert!(msg.contains("TPU-v5p") && msg.contains("H800-SXM"), "{v}");
}

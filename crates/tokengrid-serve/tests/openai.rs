//! The OpenAI surface clients expect: `GET /v1/models`, OpenAI's error shape, JSON on every
//! 404 and 405, `Retry-After` on 503.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::api::{ADMIN, call, register, state};

#[tokio::test]
async fn models_lists_what_the_hubs_in_rotation_serve() {
    let (st, app) = state().await;
    let (s, v) = call(&app, Method::GET, "/v1/models", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, serde_json::json!({ "object": "list", "data": [] }));
    register(&app, "east", 31.15, 121.12, 0.9).await;
    // A second hub serving another model, which then reports itself down.
    let small = serde_json::json!({
        "name": "small", "endpoint": "http://127.0.0.1:1/small", "lat": 30.0, "lon": 120.0,
        "models": ["llama-3.1-8b", "deepseek-v3"], "accelerators": { "H100-SXM": 8 },
        "tariff_yuan_per_kwh": 0.5, "pue": 1.2
    });
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/hubs",
        Some(ADMIN),
        Some(small.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().expect("token").to_owned();
    let (_, v) = call(&app, Method::GET, "/v1/models", None, None).await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["deepseek-v3", "llama-3.1-8b"], "{v}");
    assert_eq!(v["data"][0]["object"], "model");
    assert_eq!(v["data"][0]["owned_by"], "tokengrid");
    assert!(v["data"][0]["created"].is_i64(), "{v}");
    let down = serde_json::json!({ "up": false, "queue_depth": 0, "free_replicas": 0,
        "tariff_yuan_per_kwh": 0.5, "green_fraction": 0.0 });
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/hubs/small/telemetry",
        Some(&token),
        Some(down.to_string()),
    )
    .await;
    assert!(s.is_success(), "{s} {v}");
    let (_, v) = call(&app, Method::GET, "/v1/models", None, None).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["data"][0]["id"], "deepseek-v3");

    // Only the hub that is down serves the 8B model: 503 in OpenAI's shape, with Retry-After.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({ "model": "llama-3.1-8b",
                "messages": [{ "role": "user", "content": "hi" }] })
            .to_string(),
        ))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["error"]["code"], "no_hub", "{v}");
    assert_eq!(v["error"]["type"], "api_error", "{v}");
    // The dispatcher's own answer is in the ledger too: no hub, no tokens served.
    st.flush_served().await;
    let rows = st.ledger.requests(10).await.expect("requests");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].hub.as_str(),
            rows[0].model.as_str(),
            rows[0].status,
            rows[0].output_tokens
        ),
        ("", "llama-3.1-8b", 503, 0)
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let (_, app) = state().await;
    // Under /v1/ (where OpenAI clients call, e.g. embeddings): OpenAI's shape.
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/embeddings",
        None,
        Some("{}".into()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["type"], "not_found_error", "{v}");
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    // Elsewhere: the error table's shape.
    let (s, v) = call(&app, Method::GET, "/nowhere", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // A known route with another method: 405, JSON, in the route's shape.
    let (s, v) = call(&app, Method::GET, "/v1/chat/completions", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
    let (s, v) = call(&app, Method::DELETE, "/v1/jobs", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

/// The Grafana dashboard in deploy/grafana charts only metrics the dispatcher exports.
#[tokio::test]
async fn the_grafana_dashboard_queries_only_exported_metrics() {
    let (_, app) = state().await;
    let (s, v) = call(&app, Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().expect("text").to_owned();
    let exported: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let dashboard: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/tokengrid.json"
    )))
    .expect("dashboard JSON");
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for (i, _) in expr.match_indices("tokengrid_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(&name);
                assert!(
                    exported.contains(base),
                    "panel \"{}\" queries {name}, which /metrics does not export",
                    panel["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 15, "only {queried} queries found");
    // /openapi.json is served and names the OpenAI routes.
    let (s, doc) = call(&app, Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["paths"]["/v1/chat/completions"]["post"].is_object(),
        "{doc}"
    );
}

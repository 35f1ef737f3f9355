//! A ledger outage: readiness says so, job submission fails fast with 503 and Retry-After, and
//! decisions go on.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::api::{call, dispatch_body, register, state};

#[tokio::test]
async fn with_the_ledger_gone_jobs_get_503_and_decisions_go_on() {
    let (st, app) = state().await;
    register(&app, "west", 35.73, 107.63, 0.4).await;
    let (s, _) = call(&app, Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);

    // The outage: every connection closed.
    st.ledger.close().await;
    let (s, v) = call(&app, Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("ledger_unavailable"))
    );
    let (s, _) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK, "the process is up");
    // A job is refused, not acknowledged: 503 with Retry-After (never a 500 or a hang).
    let job = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 1000, "deadline": "1h" });
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/jobs")
                .header("content-type", "application/json")
                .body(Body::from(job.to_string()))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key(header::RETRY_AFTER));
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .expect("body");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["code"], "ledger_unavailable", "{v}");
    // Decisions need no ledger.
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(
        (s, v["hub"].as_str()),
        (StatusCode::OK, Some("west")),
        "{v}"
    );
}

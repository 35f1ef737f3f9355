//! A ledger outage: readiness says so, job submission fails fast with 503 and Retry-After, and
//! decisions go on.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use std::time::Duration;

use tokengrid_serve::Clock;

use std::sync::atomic::Ordering;

use tokengrid_serve::store::{Ledger, RequestRow};

use crate::api::{ADMIN, call, dispatch_body, register, state, state_at};

#[tokio::test]
async fn with_the_ledger_gone_jobs_get_503_and_decisions_go_on() {
    let t0 = 1_772_330_400_000i64;
    let clock = Clock::fixed(t0);
    let (st, app) = state_at(Duration::from_secs(30), clock.clone(), "cost-slo").await;
    let token = register(&app, "west", 35.73, 107.63, 0.4).await;
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
                .header("authorization", format!("Bearer {ADMIN}"))
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
    // Heartbeats go on into memory: 25 s in, the hub reports; at 40 s (past the 30 s timeout
    // from its registration, not from its heartbeat) it is still in rotation.
    clock.set(t0 + 25_000);
    let beat = serde_json::json!({ "up": true, "queue_depth": 0, "free_replicas": 1,
        "tariff_yuan_per_kwh": 0.4, "green_fraction": 0.0 });
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/hubs/west/telemetry",
        Some(&token),
        Some(beat.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    clock.set(t0 + 40_000);
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

/// A served request the ledger cannot take is kept and written when it can (not dropped).
#[tokio::test]
async fn served_rows_wait_out_a_ledger_failure() {
    let (st, _) = state().await;
    let Ledger::Sqlite(pool) = &st.ledger else {
        panic!("the test state uses SQLite");
    };
    // The failure: the requests table is out of the way, so every insert fails.
    sqlx::query("ALTER TABLE requests RENAME TO requests_away")
        .execute(pool)
        .await
        .expect("rename");
    st.record_served(RequestRow {
        hub: "gansu".into(),
        model: "deepseek-v3".into(),
        prompt_tokens: 11,
        output_tokens: 7,
        energy_j: 1.0,
        cost: 0.5,
        at_ms: 1,
        status: 200,
        usage_reported: true,
        complete: true,
        latency_ms: 3.0,
        client_key: None,
    });
    // A flush is answered after the failed attempt; the row is kept, counted as pending.
    st.flush_served().await;
    assert_eq!(st.writer.pending.load(Ordering::Relaxed), 1);
    assert!(st.writer.failures.load(Ordering::Relaxed) >= 1);
    assert_eq!(st.writer.dropped.load(Ordering::Relaxed), 0);
    // The ledger recovers: the retry writes the row.
    sqlx::query("ALTER TABLE requests_away RENAME TO requests")
        .execute(pool)
        .await
        .expect("rename back");
    for _ in 0..200 {
        st.flush_served().await;
        if st.writer.pending.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = st.ledger.requests(10).await.expect("requests");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].hub.as_str(), rows[0].output_tokens), ("gansu", 7));
    assert_eq!(st.writer.pending.load(Ordering::Relaxed), 0);
}

/// SQLite under write load: job submissions while the writer commits thousands of served rows
/// all succeed (one connection owns the file, so writes take turns rather than meeting as
/// "database is locked").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_job_submissions_succeed_while_rows_are_written() {
    let (st, app) = state().await;
    let row = |i: i64| RequestRow {
        hub: "gansu".into(),
        model: "deepseek-v3".into(),
        prompt_tokens: 100,
        output_tokens: 10,
        energy_j: 1.0,
        cost: 0.01,
        at_ms: i,
        status: 200,
        usage_reported: true,
        complete: true,
        latency_ms: 1.0,
        client_key: None,
    };
    let writer = {
        let st = st.clone();
        tokio::spawn(async move {
            for i in 0..5_000 {
                st.record_served(row(i));
                if i % 100 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let job = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 1000, "deadline": "1h" }).to_string();
    let submissions: Vec<_> = (0..100)
        .map(|_| {
            let app = app.clone();
            let job = job.clone();
            tokio::spawn(async move {
                call(&app, Method::POST, "/v1/jobs", Some(ADMIN), Some(job)).await
            })
        })
        .collect();
    for s in submissions {
        let (status, v) = s.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    writer.await.expect("writer");
    st.flush_served().await;
    assert_eq!(st.ledger.requests(10_000).await.expect("rows").len(), 5_000);
}

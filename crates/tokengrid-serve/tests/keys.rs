//! Client API keys over real sockets: once a key exists the OpenAI routes need one; a key's
//! models, rates and residency hold; revoked keys stop at once; usage is in the ledger and the
//! metrics. Rates are checked on a fixed clock, so the Retry-After figures are exact.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use tokengrid_serve::Clock;

use crate::sockets::{
    ADMIN, GANSU, SHANGHAI, TestClient, chat, client, dispatcher_with, fake_hub, heartbeat,
    json_of, ledger_rows, metrics_text, register, send,
};

/// An arbitrary fixed instant (2026-03-02 12:00 China time), ms since the Unix epoch.
const T0: i64 = 1_772_424_000_000;

async fn make_key(c: &TestClient, d: SocketAddr, grant: serde_json::Value) -> (String, String) {
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/keys"),
        Some(ADMIN),
        &[],
        grant.to_string(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().expect("id").to_owned(),
        v["key"].as_str().expect("key").to_owned(),
    )
}

/// A chat request with `key`: status, `Retry-After`, hub, body.
async fn chat_as(
    c: &TestClient,
    d: SocketAddr,
    key: Option<&str>,
) -> (
    StatusCode,
    Option<String>,
    Option<String>,
    serde_json::Value,
) {
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        key,
        &[],
        chat(false),
    )
    .await;
    let (status, headers, v) = json_of(r).await;
    let header = |n: &str| {
        headers
            .get(n)
            .map(|h| h.to_str().expect("ascii").to_owned())
    };
    (status, header("retry-after"), header("x-tokengrid-hub"), v)
}

async fn models_as(c: &TestClient, d: SocketAddr, key: &str) -> Vec<String> {
    let r = send(
        c,
        "GET",
        format!("http://{d}/v1/models"),
        Some(key),
        &[],
        String::new(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn client_keys_gate_the_openai_routes_with_their_models_and_rates() {
    let clock = Clock::fixed(T0);
    let (st, d) = dispatcher_with(Duration::from_secs(3600), clock.clone(), |_| {}).await;
    let (_, h) = fake_hub("gansu", false).await;
    let c = client();
    register(&c, d, "gansu", h, GANSU, 0.3).await;

    // No key made yet: the routes are open, and a key a client sends anyway is ignored (the
    // OpenAI SDKs always send one).
    assert_eq!(chat_as(&c, d, None).await.0, StatusCode::OK);
    assert_eq!(chat_as(&c, d, Some("sk-anything")).await.0, StatusCode::OK);

    // Only the admin makes keys.
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/keys"),
        Some("not-the-admin"),
        &[],
        serde_json::json!({ "name": "x" }).to_string(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (a_id, a) = make_key(
        &c,
        d,
        serde_json::json!({ "name": "team a", "models": ["deepseek-v3"], "requests_per_minute": 2 }),
    )
    .await;
    assert!(a.starts_with(&format!("tg-{a_id}-")), "{a}");
    let (_, b) = make_key(
        &c,
        d,
        serde_json::json!({ "name": "team b", "models": ["llama-3.1-8b"] }),
    )
    .await;

    // Now a key is needed: none, or an unknown one, is 401 in OpenAI's shape.
    for key in [None, Some("sk-anything")] {
        let (status, _, _, v) = chat_as(&c, d, key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"]["code"], "invalid_api_key");
        assert_eq!(v["error"]["type"], "authentication_error");
    }
    // The admin token passes, without limits.
    assert_eq!(chat_as(&c, d, Some(ADMIN)).await.0, StatusCode::OK);

    // Two requests a minute: a burst of two, then one every 30 s (a token bucket).
    assert_eq!(chat_as(&c, d, Some(&a)).await.0, StatusCode::OK);
    assert_eq!(chat_as(&c, d, Some(&a)).await.0, StatusCode::OK);
    let (status, retry, _, v) = chat_as(&c, d, Some(&a)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(retry.as_deref(), Some("30"));
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    clock.set(T0 + 20_000);
    assert_eq!(chat_as(&c, d, Some(&a)).await.1.as_deref(), Some("10"));
    clock.set(T0 + 30_000);
    assert_eq!(chat_as(&c, d, Some(&a)).await.0, StatusCode::OK);

    // A key for another model: 403 here, and /v1/models lists only what a key may use.
    let (status, _, _, v) = chat_as(&c, d, Some(&b)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "model_not_allowed");
    assert_eq!(models_as(&c, d, &a).await, ["deepseek-v3"]);
    assert!(models_as(&c, d, &b).await.is_empty());

    // Usage: the three answered requests of key a carry its id in the ledger and metrics.
    let rows = ledger_rows(&st, 6).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r.client_key.as_deref() == Some(a_id.as_str()))
            .count(),
        3
    );
    let metrics = metrics_text(&c, d).await;
    assert!(
        metrics.contains(&format!(
            "tokengrid_client_requests_total{{key=\"{a_id}\"}} 3"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "tokengrid_client_rejected_total{{key=\"{a_id}\",reason=\"rate\"}} 2"
        )),
        "{metrics}"
    );

    // Revoked: refused at once; a second revocation finds nothing to revoke.
    let revoke = || {
        send(
            &c,
            "DELETE",
            format!("http://{d}/v1/keys/{a_id}"),
            Some(ADMIN),
            &[],
            String::new(),
        )
    };
    assert_eq!(revoke().await.status(), StatusCode::NO_CONTENT);
    let (status, _, _, v) = chat_as(&c, d, Some(&a)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("revoked")),
        "{v}"
    );
    assert_eq!(revoke().await.status(), StatusCode::NOT_FOUND);

    // The listing shows grants and revocations, never a secret.
    let r = send(
        &c,
        "GET",
        format!("http://{d}/v1/keys"),
        Some(ADMIN),
        &[],
        String::new(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    // Both were made at T0 on the fixed clock: found by id, not by position.
    let listed_a = v
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["id"] == a_id.as_str()))
        .expect("key a listed");
    assert_eq!(listed_a["requests_per_minute"], 2);
    assert_eq!(listed_a["revoked_at_ms"], T0 + 30_000);
    assert!(!v.to_string().contains(&a) && !v.to_string().contains(&b));
}

#[tokio::test]
async fn a_keys_residency_keeps_its_requests_and_jobs_on_its_hubs() {
    let (_, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), |_| {}).await;
    let (_, sh) = fake_hub("shanghai", false).await;
    let (_, ga) = fake_hub("gansu", false).await;
    let c = client();
    let t_sh = register(&c, d, "shanghai", sh, SHANGHAI, 0.9).await;
    let t_ga = register(&c, d, "gansu", ga, GANSU, 0.3).await;
    heartbeat(&c, d, "shanghai", &t_sh).await;
    heartbeat(&c, d, "gansu", &t_ga).await;
    let (_, local) = make_key(
        &c,
        d,
        serde_json::json!({ "name": "data stays east", "residency": ["shanghai"] }),
    )
    .await;

    // cost-slo prefers the cheaper western hub; the key's data may only go to Shanghai.
    assert_eq!(
        chat_as(&c, d, Some(ADMIN)).await.2.as_deref(),
        Some("gansu")
    );
    assert_eq!(
        chat_as(&c, d, Some(&local)).await.2.as_deref(),
        Some("shanghai")
    );
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/dispatch"),
        Some(&local),
        &[],
        serde_json::json!({ "model": "deepseek-v3", "origin": { "lat": 31.23, "lon": 121.47 }, "prompt_tokens": 100, "output_tokens": 10 }).to_string(),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["hub"], "shanghai");
    let gansu = v["explanation"]
        .as_array()
        .expect("explanation")
        .iter()
        .find(|l| l["hub"] == "gansu")
        .cloned();
    assert_eq!(
        gansu.map(|l| l["verdict"].clone()),
        Some("residency".into())
    );

    // Jobs always need a key or the admin token; a key's residency narrows the job's.
    let job = |residency: Option<&str>| {
        let mut j = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 1000, "deadline": "8h" });
        if let Some(r) = residency {
            j["residency"] = serde_json::json!([r]);
        }
        j.to_string()
    };
    let submit = |key: Option<String>, body: String| {
        let c = c.clone();
        async move {
            send(
                &c,
                "POST",
                format!("http://{d}/v1/jobs"),
                key.as_deref(),
                &[],
                body,
            )
            .await
            .status()
        }
    };
    assert_eq!(submit(None, job(None)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        submit(Some(local.clone()), job(None)).await,
        StatusCode::CREATED
    );
    assert_eq!(
        submit(Some(local.clone()), job(Some("gansu"))).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn keys_can_be_required_before_any_is_made() {
    let (_, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), |cfg| {
        cfg.require_client_keys = true;
    })
    .await;
    let (_, h) = fake_hub("gansu", false).await;
    let c = client();
    register(&c, d, "gansu", h, GANSU, 0.3).await;
    assert_eq!(chat_as(&c, d, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        chat_as(&c, d, Some("sk-anything")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(chat_as(&c, d, Some(ADMIN)).await.0, StatusCode::OK);
}

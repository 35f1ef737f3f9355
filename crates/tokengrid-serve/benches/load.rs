//! Load on loopback (`cargo bench -p tokengrid-serve`): the dispatcher with 8 registered hubs
//! (all served by one fake OpenAI hub), a SQLite ledger, and clients on the same machine.
//!
//! Prints: `POST /v1/dispatch` decisions/s with 32 concurrent clients; proxied requests/s
//! through `POST /v1/chat/completions` with 32 concurrent clients; and, one request at a time,
//! the p50/p99 latency of calling the fake hub directly and through the proxy, and the
//! difference (what the proxy adds). Each figure is the median of 3 runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokengrid_serve::{AppState, Config, app};

type C = Client<HttpConnector, Full<Bytes>>;

const ADMIN: &str = "bench-admin";

async fn fake_hub() -> SocketAddr {
    let answer = serde_json::json!({
        "id": "bench", "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13 }
    })
    .to_string();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let a = answer.clone();
            async move { ([("content-type", "application/json")], a) }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    addr
}

async fn dispatcher(hub: SocketAddr, c: &C) -> SocketAddr {
    let dir = std::env::temp_dir().join(format!("tokengrid-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let ledger = tokengrid_serve::store::Ledger::connect(&format!(
        "sqlite://{}",
        dir.join("l.db").display()
    ))
    .await
    .expect("ledger");
    let st = AppState::new(ledger, Config::new(ADMIN, "cost-slo"))
        .await
        .expect("state");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let router = app(st);
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    // Eight hubs at the built-in scenario's hub sites, tariffs as there (facts/hubs.csv).
    let hubs = [
        ("beijing", 39.9, 116.4, 0.634),
        ("shanghai", 31.2, 121.5, 0.634),
        ("guangdong", 23.1, 113.3, 0.634),
        ("chengdu", 30.7, 104.1, 0.5),
        ("inner-mongolia", 40.8, 111.7, 0.4),
        ("guizhou", 26.6, 106.6, 0.4),
        ("gansu", 35.7, 107.6, 0.4),
        ("ningxia", 38.5, 106.3, 0.4),
    ];
    for (name, lat, lon, tariff) in hubs {
        let body = serde_json::json!({
            "name": name, "endpoint": format!("http://{hub}"), "lat": lat, "lon": lon,
            "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 64 },
            "tariff_yuan_per_kwh": tariff, "pue": 1.2
        });
        let r = send(
            c,
            format!("http://{addr}/v1/hubs"),
            Some(ADMIN),
            body.to_string(),
        )
        .await;
        assert_eq!(r.0, 201);
    }
    addr
}

async fn send(c: &C, url: String, token: Option<&str>, body: String) -> (u16, Bytes) {
    let mut b = hyper::Request::post(url).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let r = c
        .request(b.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    (status, bytes)
}

/// Requests/s with `clients` concurrent loops posting `body` to `url` for `secs`.
async fn throughput(c: &C, url: &str, body: &str, clients: usize, secs: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (c, url, body, done) = (c.clone(), url.to_owned(), body.to_owned(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < stop {
                    let (s, _) = send(&c, url.clone(), None, body.clone()).await;
                    assert_eq!(s, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    for t in tasks {
        t.await.expect("client");
    }
    done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64()
}

/// Latency histogram (us) of `n` sequential requests.
async fn latency(c: &C, url: &str, body: &str, n: usize) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..n {
        let t = Instant::now();
        let (s, _) = send(c, url.to_owned(), None, body.to_owned()).await;
        assert_eq!(s, 200);
        let _ = h.record(t.elapsed().as_micros() as u64);
    }
    h
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c: C = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build(HttpConnector::new());
        let hub = fake_hub().await;
        let d = dispatcher(hub, &c).await;
        let dispatch = serde_json::json!({
            "model": "deepseek-v3", "origin": { "lat": 31.2, "lon": 121.5 },
            "prompt_tokens": 1000, "output_tokens": 200, "ttft_slo_ms": 2000.0
        })
        .to_string();
        let chat = serde_json::json!({
            "model": "deepseek-v3",
            "messages": [{ "role": "user", "content": "How much does a token cost in Gansu at noon?" }],
            "max_tokens": 16
        })
        .to_string();
        let runs = 3;
        // Warm up connections and code paths.
        let _ = throughput(&c, &format!("http://{d}/v1/dispatch"), &dispatch, 32, 0.5).await;
        let _ = throughput(&c, &format!("http://{d}/v1/chat/completions"), &chat, 32, 0.5).await;
        let mut rates = Vec::new();
        for _ in 0..runs {
            rates.push(throughput(&c, &format!("http://{d}/v1/dispatch"), &dispatch, 32, 3.0).await);
        }
        println!(
            "POST /v1/dispatch, 8 hubs, 32 clients: median {:.0} decisions/s over {runs} runs of 3 s",
            median(rates)
        );
        let mut rates = Vec::new();
        for _ in 0..runs {
            rates.push(
                throughput(&c, &format!("http://{d}/v1/chat/completions"), &chat, 32, 3.0).await,
            );
        }
        println!(
            "POST /v1/chat/completions through the proxy, 32 clients: median {:.0} requests/s over {runs} runs of 3 s",
            median(rates)
        );
        let (mut p50, mut p99) = (Vec::new(), Vec::new());
        let (mut d50, mut d99, mut x50, mut x99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let direct = latency(&c, &format!("http://{hub}/v1/chat/completions"), &chat, 3000).await;
            let proxied =
                latency(&c, &format!("http://{d}/v1/chat/completions"), &chat, 3000).await;
            let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p) as f64 / 1e3;
            d50.push(q(&direct, 0.5));
            d99.push(q(&direct, 0.99));
            x50.push(q(&proxied, 0.5));
            x99.push(q(&proxied, 0.99));
            p50.push(q(&proxied, 0.5) - q(&direct, 0.5));
            p99.push(q(&proxied, 0.99) - q(&direct, 0.99));
        }
        println!(
            "one at a time, 3,000 requests, median of {runs} runs: direct p50 {:.3} ms p99 {:.3} ms; proxied p50 {:.3} ms p99 {:.3} ms; added p50 {:.3} ms p99 {:.3} ms",
            median(d50),
            median(d99),
            median(x50),
            median(x99),
            median(p50),
            median(p99)
        );
    });
}

//! Passive health over real sockets: a hub that accepts connections and never answers costs one
//! request its first-byte timeout, then rests; after its rest one request at a time probes it
//! (half-open), so it never again holds every request. Time is a fixed clock, so which request
//! may probe is decided by the rest, not by timing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tokengrid_serve::Clock;

use crate::sockets::{
    GANSU, GUIZHOU, TestClient, chat, client, dispatcher_with, fake_hub, json_of, metrics_text,
    register, send,
};

/// A "hub" that accepts every connection, reads, and never answers; counts connections.
async fn stalling_hub() -> (Arc<AtomicU64>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let n = Arc::new(AtomicU64::new(0));
    let count = n.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            held.push(sock);
        }
    });
    (n, addr)
}

async fn chat_hub(c: &TestClient, d: SocketAddr) -> String {
    let r = send(
        c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, headers, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    headers["x-tokengrid-hub"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

async fn hub_up(c: &TestClient, d: SocketAddr, hub: &str) -> bool {
    metrics_text(c, d)
        .await
        .contains(&format!("tokengrid_hub_up{{hub=\"{hub}\"}} 1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_never_answers_costs_one_request_per_rest() {
    const T0: i64 = 1_772_424_000_000;
    let clock = Clock::fixed(T0);
    let (_, d) = dispatcher_with(Duration::from_secs(3600), clock.clone(), |cfg| {
        cfg.first_byte_timeout = Duration::from_secs(1);
    })
    .await;
    let (stalls, stall_addr) = stalling_hub().await;
    let (_, good) = fake_hub("guizhou", false).await;
    let c = client();
    // The stalling hub is the cheaper one, so the policy tries it first.
    register(&c, d, "stall", stall_addr, GANSU, 0.1).await;
    register(&c, d, "guizhou", good, GUIZHOU, 0.5).await;

    // The first request waits out the first-byte timeout there, then is served elsewhere.
    assert_eq!(chat_hub(&c, d).await, "guizhou");
    assert_eq!(stalls.load(Ordering::Relaxed), 1);
    // While it rests (1 s), requests go straight to the other hub, and /metrics says so.
    assert_eq!(chat_hub(&c, d).await, "guizhou");
    assert_eq!(stalls.load(Ordering::Relaxed), 1);
    assert!(!hub_up(&c, d, "stall").await && hub_up(&c, d, "guizhou").await);

    // Rest over: of four requests at once, one probes the hub; the others do not wait on it.
    clock.set(T0 + 1_000);
    let many: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { chat_hub(&c, d).await })
        })
        .collect();
    for h in many {
        assert_eq!(h.await.expect("task"), "guizhou");
    }
    assert_eq!(stalls.load(Ordering::Relaxed), 2, "one probe");
    // The probe failed: the next rest is 2 s; nothing reaches the hub before it ends.
    clock.set(T0 + 2_999);
    assert_eq!(chat_hub(&c, d).await, "guizhou");
    assert_eq!(stalls.load(Ordering::Relaxed), 2);
}

//! The server's limits over raw sockets: a client that dribbles its request head, or leaves a
//! keep-alive connection idle, is disconnected after the head timeout; past the connection
//! limit a new connection waits, unanswered, until another closes. The bounds asserted are
//! generous upper bounds (seconds against a 300 ms timeout), so load cannot fail them.

use std::net::SocketAddr;
use std::time::Duration;

use tokengrid_serve::server::{App, Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::state;

async fn server(limits: Limits) -> SocketAddr {
    let (st, _) = state().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        App::new(st),
        limits,
        std::future::pending(),
    ));
    addr
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open 10 s (timeout 300 ms)"),
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: tokengrid\r\n\r\n";

#[tokio::test]
async fn slow_heads_and_idle_keep_alive_connections_are_closed() {
    let d = server(Limits {
        max_connections: 100,
        header_read_timeout: Duration::from_millis(300),
    })
    .await;
    // Slow loris: half a request head, then nothing.
    let mut slow = TcpStream::connect(d).await.expect("connect");
    slow.write_all(b"POST /v1/dispatch HTTP/1.1\r\nHost: tokengrid\r\n")
        .await
        .expect("write");
    until_closed(&mut slow).await;
    // Keep-alive: a request is answered, then the idle connection is closed.
    let mut idle = TcpStream::connect(d).await.expect("connect");
    idle.write_all(HEALTHZ).await.expect("write");
    let answered = until_closed(&mut idle).await;
    assert!(
        answered.starts_with("HTTP/1.1 200") && answered.ends_with("ok\n"),
        "{answered}"
    );
}

#[tokio::test]
async fn past_the_connection_limit_a_connection_waits_for_another_to_close() {
    let d = server(Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(60),
    })
    .await;
    let first = TcpStream::connect(d).await.expect("connect");
    let mut second = TcpStream::connect(d).await.expect("connect");
    // The second is served (it holds the last permit).
    second.write_all(HEALTHZ).await.expect("write");
    let mut buf = [0u8; 512];
    let n = second.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // A third gets no answer while both are open ...
    let mut third = TcpStream::connect(d)
        .await
        .expect("connect (kernel backlog)");
    third.write_all(HEALTHZ).await.expect("write");
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered past the limit");
    // ... and is answered once one closes.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("answered after a connection closed")
        .expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}

/// The status line of the one answer to `request` on a fresh connection.
async fn status_of(d: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(d).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("answered within 10 s")
            .expect("read");
        assert!(n > 0, "closed before a status line");
        got.extend_from_slice(&buf[..n]);
    }
    let line = got.split(|&b| b == b'\r').next().unwrap_or_default();
    String::from_utf8_lossy(line).into_owned()
}

/// `POST /v1/dispatch` is served without the router (`tokengrid_serve::server::App`), yet keeps
/// the router's 64 KiB limit of the control API; other methods on it still get the router's
/// 405.
#[tokio::test]
async fn the_hot_dispatch_route_keeps_the_routers_body_limit_and_methods() {
    let d = server(Limits::default()).await;
    let over = 64 * 1024 + 1;
    let mut big = format!(
        "POST /v1/dispatch HTTP/1.1\r\nHost: tokengrid\r\nContent-Type: application/json\r\nContent-Length: {over}\r\n\r\n"
    )
    .into_bytes();
    big.extend(std::iter::repeat_n(b' ', over));
    assert_eq!(status_of(d, &big).await, "HTTP/1.1 413 Payload Too Large");
    let get = b"GET /v1/dispatch HTTP/1.1\r\nHost: tokengrid\r\n\r\n";
    assert_eq!(status_of(d, get).await, "HTTP/1.1 405 Method Not Allowed");
}

//! `tokengrid serve` over a real socket: an acknowledged job survives `kill -9` of the server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The dispatchers' admin token (16 characters, the shortest `serve` accepts).
const ADMIN: &str = "test-admin-token";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    http_as(port, method, path, None, body)
}

/// One HTTP/1.1 request with an optional bearer token; returns (status, body).
fn http_as(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn start(port: u16, db: &str) -> Child {
    start_with(port, db, &[])
}

/// [`start`] with more arguments.
fn start_with(port: u16, db: &str, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            db,
            "--admin-token",
            ADMIN,
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tokengrid serve");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if http(port, "GET", "/healthz", None).is_some_and(|(s, _)| s == 200) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tokengrid serve did not come up on port {port}");
}

#[test]
fn acknowledged_jobs_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("tokengrid-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("ledger.db").display());
    let port = free_port();
    let mut server = start(port, &db);
    let mut ids = Vec::new();
    for i in 0..20 {
        let body = format!(
            "{{\"kind\": \"batch\", \"model\": \"deepseek-v3\", \"tokens\": {}, \"deadline\": \"8h\"}}",
            1000 + i
        );
        let (status, resp) =
            http_as(port, "POST", "/v1/jobs", Some(ADMIN), Some(&body)).expect("submit");
        assert_eq!(status, 201, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
        ids.push(v["id"].as_str().expect("id").to_owned());
    }
    // SIGKILL: no chance to flush anything more.
    server.kill().expect("kill -9");
    let _ = server.wait();
    let port2 = free_port();
    let mut again = start(port2, &db);
    for id in &ids {
        let (status, resp) = http(port2, "GET", &format!("/v1/jobs/{id}"), None).expect("get");
        assert_eq!(status, 200, "job {id} lost after kill -9: {resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
        assert_eq!(v["id"], id.as_str());
        assert!(
            ["queued", "claimed", "scheduled", "rejected"]
                .contains(&v["state"].as_str().unwrap_or("")),
            "{v}"
        );
    }
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn serve_refuses_a_short_admin_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", "x"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 16"), "{err}");
}

#[test]
fn serve_without_an_admin_token_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TOKENGRID_ADMIN_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"));
}

/// The PostgreSQL URL of a fresh schema for this test, or `None` (said loudly) when there is no
/// server and CI does not require one.
fn postgres_schema(tag: &str) -> Option<String> {
    let url = std::env::var("TOKENGRID_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!(
        "tokengrid_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(tokengrid_serve::store::Ledger::connect_in_schema(
        &url,
        Some(&schema),
    )) {
        Ok(_) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            Some(format!("{url}{sep}options[search_path]={schema}"))
        }
        Err(e) => {
            if std::env::var("TOKENGRID_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL required but unavailable at {url}: {e}");
            }
            eprintln!(
                "SKIPPED: two dispatchers on one PostgreSQL ledger (no server at {url}: {e})"
            );
            None
        }
    }
}

/// Kills the dispatchers when the test ends, passed or not.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn two_dispatchers_on_one_postgres_ledger_lose_no_job_and_hand_none_out_twice() {
    let Some(db) = postgres_schema("twoproc") else {
        return;
    };
    let (pa, pb) = (free_port(), free_port());
    let _servers = Servers(vec![start(pa, &db), start(pb, &db)]);
    let ports = [pa, pb];

    // Two hubs registered through the first dispatcher; the second learns of them from the
    // ledger. Heartbeats go to either (as behind a load balancer).
    let mut tokens = Vec::new();
    for (name, lat, lon) in [("gansu", 35.73, 107.64), ("guizhou", 26.65, 106.63)] {
        let body = format!(
            "{{\"name\":\"{name}\",\"endpoint\":\"http://127.0.0.1:9/\",\"lat\":{lat},\"lon\":{lon},\"models\":[\"deepseek-v3\"],\"accelerators\":{{\"H800-SXM\":256}},\"tariff_yuan_per_kwh\":0.3,\"pue\":1.2}}"
        );
        let (status, resp) =
            http_as(pa, "POST", "/v1/hubs", Some(ADMIN), Some(&body)).expect("register");
        assert_eq!(status, 201, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
        tokens.push((name, v["token"].as_str().expect("token").to_owned()));
    }
    let beat = |i: usize| {
        for (name, token) in &tokens {
            let body = "{\"up\":true,\"queue_depth\":0,\"free_replicas\":8,\"tariff_yuan_per_kwh\":0.3,\"green_fraction\":0.0}";
            let (status, resp) = http_as(
                ports[i % 2],
                "PUT",
                &format!("/v1/hubs/{name}/telemetry"),
                Some(token),
                Some(body),
            )
            .expect("telemetry");
            assert_eq!(status, 204, "{resp}");
        }
    };
    beat(0);

    // 120 jobs, submitted to both dispatchers from two threads at once.
    let submit = |port: u16| {
        std::thread::spawn(move || {
            (0..60)
                .map(|i| {
                    let body = format!(
                        "{{\"kind\":\"batch\",\"model\":\"deepseek-v3\",\"tokens\":{},\"deadline\":\"8h\"}}",
                        1000 + i
                    );
                    let (status, resp) = http_as(port, "POST", "/v1/jobs", Some(ADMIN), Some(&body)).expect("submit");
                    assert_eq!(status, 201, "{resp}");
                    let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
                    v["id"].as_str().expect("id").to_owned()
                })
                .collect::<Vec<_>>()
        })
    };
    let (a, b) = (submit(pa), submit(pb));
    let mut acknowledged: Vec<String> = a
        .join()
        .expect("a")
        .into_iter()
        .chain(b.join().expect("b"))
        .collect();
    acknowledged.sort();

    // Both dispatchers schedule from the shared queue; the hubs take their due jobs from
    // either dispatcher, both hubs asking both dispatchers at once.
    let mut taken: Vec<String> = Vec::new();
    let t0 = Instant::now();
    let mut round = 0;
    while taken.len() < acknowledged.len() && t0.elapsed() < Duration::from_secs(60) {
        beat(round);
        let handles: Vec<_> = tokens
            .iter()
            .flat_map(|(name, token)| {
                ports.iter().map(move |&port| {
                    let (name, token) = (name.to_string(), token.clone());
                    std::thread::spawn(move || {
                        let (status, resp) = http_as(
                            port,
                            "POST",
                            &format!("/v1/hubs/{name}/jobs/take"),
                            Some(&token),
                            None,
                        )
                        .expect("take");
                        assert_eq!(status, 200, "{resp}");
                        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
                        v.as_array()
                            .expect("array")
                            .iter()
                            .map(|j| j["id"].as_str().expect("id").to_owned())
                            .collect::<Vec<_>>()
                    })
                })
            })
            .collect();
        for h in handles {
            taken.extend(h.join().expect("take thread"));
        }
        round += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut unique = taken.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), taken.len(), "a job was handed to a hub twice");
    assert_eq!(
        unique, acknowledged,
        "every acknowledged job, and nothing else, was handed out"
    );

    // The ledger agrees: each job was taken from the queue once, and is dispatched.
    let mut claimed_by = std::collections::BTreeSet::new();
    for id in &acknowledged {
        let (status, resp) = http(pb, "GET", &format!("/v1/jobs/{id}"), None).expect("get");
        assert_eq!(status, 200, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
        assert_eq!(
            (v["state"].as_str(), v["attempts"].as_i64()),
            (Some("dispatched"), Some(1)),
            "{v}"
        );
        claimed_by.insert(v["claimed_by"].as_str().unwrap_or("").to_owned());
    }
    println!(
        "two dispatchers: {} jobs, each handed out once; scheduled by {} replica(s)",
        acknowledged.len(),
        claimed_by.len()
    );
}

/// A response body fed from a channel, so the fake hub controls when each event goes out.
struct ChannelBody(tokio::sync::mpsc::Receiver<axum::body::Bytes>);

impl http_body::Body for ChannelBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// The events the slow fake hub streams; the last ones 1.5 s after the first.
const SLOW_EVENTS: [&str; 4] = [
    "data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"after the signal\"}}]}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n",
    "data: [DONE]\n\n",
];

/// A fake hub on a loopback port whose streamed answers take 1.5 s.
/// A hub answering every chat request at once with a whole JSON answer (with its length).
fn json_hub() -> (u16, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            axum::Json(serde_json::json!({
                "id": "x", "object": "chat.completion",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11 }
            }))
        }),
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, rt)
}

/// `--billing-grade`: every answer a client received in full is in the ledger after `kill -9`
/// (its row was committed before its last bytes were sent).
#[test]
fn billing_grade_rows_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("tokengrid-billing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("ledger.db").display());
    let (hub_port, _hub) = json_hub();
    let port = free_port();
    let mut server = start_with(port, &db, &["--billing-grade"]);
    let hub = format!(
        r#"{{"name":"gansu","endpoint":"http://127.0.0.1:{hub_port}","lat":35.7,"lon":107.6,"models":["deepseek-v3"],"accelerators":{{"H800-SXM":32}},"tariff_yuan_per_kwh":0.3,"pue":1.2,"heartbeats":false}}"#
    );
    let (status, resp) =
        http_as(port, "POST", "/v1/hubs", Some(ADMIN), Some(&hub)).expect("register");
    assert_eq!(status, 201, "{resp}");
    let chat = r#"{"model":"deepseek-v3","messages":[{"role":"user","content":"hi"}]}"#;
    let mut answered = 0;
    for _ in 0..200 {
        let (status, body) = http(port, "POST", "/v1/chat/completions", Some(chat)).expect("chat");
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("\"completion_tokens\":2"),
            "a whole answer: {body}"
        );
        answered += 1;
    }
    // SIGKILL right after the last answer: no flush, no shutdown.
    server.kill().expect("kill -9");
    let _ = server.wait();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let rows = rt.block_on(async {
        let l = tokengrid_serve::store::Ledger::connect(&db)
            .await
            .expect("ledger");
        l.requests(1_000).await.expect("rows")
    });
    assert_eq!(
        rows.len(),
        answered,
        "answered requests missing from the ledger"
    );
    assert!(
        rows.iter()
            .all(|r| r.hub == "gansu" && r.output_tokens == 2 && r.complete)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn slow_hub() -> (u16, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                let _ = tx.send(SLOW_EVENTS[0].into()).await;
                tokio::time::sleep(Duration::from_millis(1500)).await;
                for e in &SLOW_EVENTS[1..] {
                    let _ = tx.send((*e).into()).await;
                }
            });
            axum::http::Response::builder()
                .header("content-type", "text/event-stream")
                .body(axum::body::Body::new(ChannelBody(rx)))
                .expect("response")
        }),
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, rt)
}

#[test]
fn sigterm_finishes_the_answer_in_flight_and_records_it() {
    let (hub_port, _hub) = slow_hub();
    let dir = std::env::temp_dir().join(format!("tokengrid-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("ledger.db").display());
    let port = free_port();
    let mut server = start(port, &db);
    let body = format!(
        "{{\"name\":\"gansu\",\"endpoint\":\"http://127.0.0.1:{hub_port}\",\"lat\":35.73,\"lon\":107.64,\"models\":[\"deepseek-v3\"],\"accelerators\":{{}},\"tariff_yuan_per_kwh\":0.4,\"pue\":1.2}}"
    );
    let (status, resp) =
        http_as(port, "POST", "/v1/hubs", Some(ADMIN), Some(&body)).expect("register");
    assert_eq!(status, 201, "{resp}");

    // A streamed chat request; once its first event is here, SIGTERM the server.
    let chat = "{\"model\":\"deepseek-v3\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{chat}",
        chat.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("first") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let pid = server.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    // The answer in flight still completes, whole.
    s.read_to_end(&mut got).expect("rest of the answer");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("x-tokengrid-hub: gansu"), "{text}");
    for e in SLOW_EVENTS {
        assert!(text.contains(e.trim_end()), "missing {e:?} in {text}");
    }
    // Then the server stops on its own, cleanly.
    let t0 = Instant::now();
    let code = loop {
        if let Some(st) = server.try_wait().expect("wait") {
            break st.code();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    // The answer is in the ledger, with the usage the hub reported.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        let l = tokengrid_serve::store::Ledger::connect(&db)
            .await
            .expect("ledger");
        l.requests(10).await.expect("requests")
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].hub.as_str(),
            rows[0].prompt_tokens,
            rows[0].output_tokens
        ),
        ("gansu", 9, 2)
    );
    assert!(rows[0].complete && rows[0].usage_reported);
}

#[test]
fn the_database_password_never_reaches_the_log() {
    let Some(db) = postgres_schema("redact") else {
        return;
    };
    // The loopback server trusts local connections, so any password is accepted: give one.
    let Some((scheme, rest)) = db.split_once("://") else {
        panic!("not a URL: {db}");
    };
    let Some((user, host)) = rest.split_once('@') else {
        eprintln!("SKIPPED: the PostgreSQL URL names no user to give a password to: {db}");
        return;
    };
    let user = user.split(':').next().unwrap_or(user);
    let with_password = format!("{scheme}://{user}:topsecret-4711@{host}");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            &with_password,
            "--admin-token",
            ADMIN,
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(port, "GET", "/healthz", None).is_none() {
        assert!(Instant::now() < deadline, "the dispatcher did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read");
    let _ = child.wait();
    assert!(log.contains("dispatcher up"), "{log}");
    assert!(
        !log.contains("topsecret-4711"),
        "password in the log: {log}"
    );
    assert!(log.contains(&format!("{user}:***@")), "{log}");
}

/// Secrets the dispatcher handles (its sealing secret, the admin token, a hub's API key as
/// registered and as changed) appear in no log line, at the most verbose level, through
/// registration, a failed forward, a change and a listing.
#[test]
fn no_secret_reaches_the_log() {
    const SEALING: &str = "sealing-secret-0123456789abcdef-0123";
    const KEYS: [&str; 2] = ["sk-hub-key-in-log-test-1", "sk-hub-key-in-log-test-2"];
    let dir = std::env::temp_dir().join(format!("tokengrid-logscan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("l.db").display());
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            &db,
        ])
        .env("TOKENGRID_ADMIN_TOKEN", ADMIN)
        .env("TOKENGRID_SECRET_KEY", SEALING)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(port, "GET", "/healthz", None).is_none() {
        assert!(Instant::now() < deadline, "the dispatcher did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let hub = format!(
        r#"{{"name":"gansu","endpoint":"http://127.0.0.1:9","lat":35.7,"lon":107.6,"models":["deepseek-v3"],"accelerators":{{"H800-SXM":32}},"tariff_yuan_per_kwh":0.3,"pue":1.2,"api_key":"{}"}}"#,
        KEYS[0]
    );
    let registered = http_as(port, "POST", "/v1/hubs", Some(ADMIN), Some(&hub));
    assert_eq!(
        registered.as_ref().map(|r| r.0),
        Some(201),
        "{registered:?}"
    );
    let chat = r#"{"model":"deepseek-v3","messages":[{"role":"user","content":"hi"}]}"#;
    let forwarded = http(port, "POST", "/v1/chat/completions", Some(chat));
    assert_eq!(forwarded.as_ref().map(|r| r.0), Some(502), "{forwarded:?}");
    let change = format!(r#"{{"api_key":"{}"}}"#, KEYS[1]);
    let changed = http_as(port, "PATCH", "/v1/hubs/gansu", Some(ADMIN), Some(&change));
    assert_eq!(changed.as_ref().map(|r| r.0), Some(200), "{changed:?}");
    let listed = http(port, "GET", "/v1/hubs", None).expect("listing");
    let _ = child.kill();
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(log.contains("hub registered"), "{log}");
    for secret in [SEALING, ADMIN, KEYS[0], KEYS[1]] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
        assert!(!listed.1.contains(secret), "{secret} listed: {}", listed.1);
    }
}

/// The official OpenAI Python SDK drives the dispatcher (a Python interpreter with the `openai`
/// package: `TOKENGRID_OPENAI_PYTHON`, which `.ci/run` provides from a pinned virtualenv).
#[test]
fn the_official_openai_sdk_talks_to_the_dispatcher() {
    let Ok(python) = std::env::var("TOKENGRID_OPENAI_PYTHON") else {
        if std::env::var("TOKENGRID_REQUIRE_OPENAI_SDK").as_deref() == Ok("1") {
            panic!("TOKENGRID_OPENAI_PYTHON is not set and the SDK test is required");
        }
        eprintln!(
            "SKIPPED: the official OpenAI SDK test (set TOKENGRID_OPENAI_PYTHON to a python with openai installed)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("tokengrid-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let _server = Servers(vec![start(
        port,
        &format!("sqlite://{}", dir.join("l.db").display()),
    )]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/openai_sdk.py");
    let out = Command::new(&python)
        .args([script, &format!("http://127.0.0.1:{port}"), ADMIN])
        .output()
        .expect("run the SDK script");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "{stdout}\n{stderr}"
    );
}

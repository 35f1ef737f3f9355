//! `tokengrid serve` over a real socket: an acknowledged job survives `kill -9` of the server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            db,
            "--admin-token",
            "secret",
        ])
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
        let (status, resp) = http(port, "POST", "/v1/jobs", Some(&body)).expect("submit");
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
fn serve_without_an_admin_token_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TOKENGRID_ADMIN_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"));
}

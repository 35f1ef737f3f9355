//! `serve --config FILE`: declared hubs, their secrets from the environment, errors located as
//! a scenario's, and hubs that send no heartbeats staying in rotation while they answer.

use std::time::Duration;

use axum::http::StatusCode;
use tokengrid_serve::Clock;
use tokengrid_serve::config_file::{apply, parse};

use crate::sockets::{Hub, chat, client, dispatcher_with, json_of, send, serve_hub};

const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

fn env(var: &str) -> Option<String> {
    match var {
        "GANSU_KEY" => Some("sk-declared-gansu".into()),
        "GANSU_TOKEN" => Some("gansu-agent-token-0001".into()),
        _ => None,
    }
}

fn hub_toml(name: &str, endpoint: &str, extra: &str) -> String {
    format!(
        r#"[[hub]]
name = "{name}"
endpoint = "{endpoint}"
lat = 35.73
lon = 107.63
models = ["deepseek-v3"]
accelerators = {{ H800-SXM = 64 }}
tariff_yuan_per_kwh = 0.40
pue = 1.2
{extra}
"#
    )
}

#[test]
fn every_problem_in_a_hub_file_is_located() {
    let text = [
        hub_toml("gansu", "http://127.0.0.1:9", "token_env = \"GANSU_TOKEN\""),
        hub_toml(
            "ningxia",
            "http://127.0.0.1:9",
            "api_key_env = \"NINGXIA_KEY\"\nheartbeats = false",
        ),
        hub_toml("guizhou", "http://127.0.0.1:9", ""),
        hub_toml("qinghai", "ftp://nowhere", "heartbeats = false"),
    ]
    .concat();
    let e = parse(&text, "hubs.toml", env, true).expect_err("problems");
    let shown = e.to_string();
    let lines: Vec<usize> = e.0.iter().map(|d| d.line).collect();
    assert_eq!(e.0.len(), 3, "{shown}");
    assert!(shown.contains("hubs.toml:"), "{shown}");
    assert!(
        shown.contains("environment variable NINGXIA_KEY is not set"),
        "{shown}"
    );
    assert!(shown.contains("names no token_env"), "{shown}");
    assert!(
        shown.contains("endpoint must be an http:// or https:// URL"),
        "{shown}"
    );
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("in the text")
    };
    assert_eq!(
        lines,
        [
            line_of("api_key_env = \"NINGXIA_KEY\""),
            line_of("name = \"guizhou\""),
            line_of("name = \"qinghai\"") - 1,
        ],
        "{shown}"
    );

    // An unknown key is named with the closest known one; a key written in the file is refused.
    let typo = hub_toml("gansu", "http://127.0.0.1:9", "heartbeat = false");
    let e = parse(&typo, "hubs.toml", env, true).expect_err("typo");
    assert!(e.to_string().contains("unknown key `heartbeat`"), "{e}");
    assert!(
        e.to_string().contains("heartbeats"),
        "the closest key is suggested: {e}"
    );
    assert_eq!(e.0[0].line, 10, "{e}");
    // A value of the wrong type is located at its key.
    let bad = hub_toml("gansu", "http://127.0.0.1:9", "heartbeats = false")
        .replace("lat = 35.73", "lat = \"north\"");
    let e = parse(&bad, "hubs.toml", env, true).expect_err("type");
    assert_eq!((e.0[0].line, e.0[0].key.as_str()), (4, "hub[0].lat"), "{e}");
    let inline = hub_toml(
        "gansu",
        "http://x",
        "api_key = \"sk-1\"\nheartbeats = false",
    );
    let e = parse(&inline, "hubs.toml", env, true).expect_err("inline key");
    assert!(e.to_string().contains("api_key_env"), "{e}");
    assert!(!e.to_string().contains("sk-1"), "{e}");
    // A key needs the sealing secret.
    let keyed = hub_toml(
        "gansu",
        "http://x",
        "api_key_env = \"GANSU_KEY\"\nheartbeats = false",
    );
    let e = parse(&keyed, "hubs.toml", env, false).expect_err("no secret");
    assert!(e.to_string().contains("TOKENGRID_SECRET_KEY"), "{e}");
    assert!(parse(&keyed, "hubs.toml", env, true).is_ok());
}

#[tokio::test]
async fn declared_hubs_serve_with_their_keys_and_tokens() {
    let clock = Clock::fixed(1_772_424_000_000);
    let (st, d) = dispatcher_with(Duration::from_secs(30), clock.clone(), |cfg| {
        cfg.sealer = Some(tokengrid_serve::secrets::Sealer::new(SECRET).expect("secret"));
    })
    .await;
    let (hub, h) = serve_hub(Hub {
        name: "gansu".into(),
        key: Some("sk-declared-gansu"),
        ..Hub::default()
    })
    .await;
    let text = [
        hub_toml(
            "gansu",
            &format!("http://{h}"),
            "api_key_env = \"GANSU_KEY\"\nheartbeats = false",
        ),
        hub_toml(
            "ningxia",
            "http://127.0.0.1:9",
            "token_env = \"GANSU_TOKEN\"",
        ),
    ]
    .concat();
    let hubs = parse(&text, "hubs.toml", env, true).expect("valid");
    assert_eq!(apply(&st, hubs).await.expect("applied"), 2);

    // A hub without heartbeats is in rotation long after the heartbeat timeout; the other
    // leaves it, and comes back with a heartbeat sent with the token from its variable.
    clock.set(1_772_424_000_000 + 600_000);
    assert_eq!(st.hubs_up(), ["gansu"]);
    let c = client();
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[],
        chat(false),
    )
    .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        hub.authorizations.lock().expect("lock").last(),
        Some(&Some("Bearer sk-declared-gansu".to_owned()))
    );
    let beat = serde_json::json!({ "up": true, "queue_depth": 0, "free_replicas": 1, "tariff_yuan_per_kwh": 0.4, "green_fraction": 0.0 });
    let r = send(
        &c,
        "PUT",
        format!("http://{d}/v1/hubs/ningxia/telemetry"),
        Some("gansu-agent-token-0001"),
        &[],
        beat.to_string(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(st.hubs_up(), ["gansu", "ningxia"]);

    // Applying a changed file updates the registrations in place.
    let changed = text.replace("tariff_yuan_per_kwh = 0.40", "tariff_yuan_per_kwh = 0.25");
    let hubs = parse(&changed, "hubs.toml", env, true).expect("valid");
    assert_eq!(apply(&st, hubs).await.expect("applied"), 0);
    let rows = st.ledger.hubs().await.expect("hubs");
    assert!(rows.iter().all(|r| r.spec.contains("0.25")), "{rows:?}");
}

//! `tokengrid net rtt | efficiency | reserve`: DESIGN.md keys and hand-calculated values.

use crate::{stderr, stdout, tokengrid};

fn json(args: &[&str]) -> serde_json::Value {
    let out = tokengrid(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("pure JSON on stdout")
}

fn close(got: &serde_json::Value, want: f64, tol: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "got {got}, want {want}"
    );
}

#[test]
fn rtt_over_the_deterministic_link() {
    let v = json(&[
        "net",
        "rtt",
        "--from",
        "yangtze-river-delta",
        "--to",
        "gansu",
        "--format",
        "json",
    ]);
    for key in [
        "from",
        "to",
        "great_circle_km",
        "route_km",
        "rtt_ms",
        "path",
    ] {
        assert!(!v[key].is_null(), "DESIGN.md key {key}");
    }
    // The scenario's link: 1,890 km -> 2 x 1,890 / 204,190 s + 0.5 ms = 19.012 ms.
    close(&v["route_km"], 1890.0, 1e-12);
    close(&v["rtt_ms"], 2.0 * 1890.0 / 204_190.0 * 1e3 + 0.5, 1e-12);
    assert_eq!(
        v["path"],
        serde_json::json!(["yangtze-river-delta", "gansu"])
    );
}

#[test]
fn efficiency_of_the_article_loss_case() {
    let v = json(&[
        "net",
        "efficiency",
        "--transport",
        "rdma-gbn",
        "--loss",
        "0.001",
        "--rtt-ms",
        "0.02",
        "--gbps",
        "400",
        "--mtu-bytes",
        "1024",
        "--gradient-gb",
        "14",
        "--step-compute-s",
        "0.1",
        "--participants",
        "8",
        "--overlap",
        "0",
        "--dc-gbps",
        "400",
        "--format",
        "json",
    ]);
    for key in [
        "transport",
        "loss",
        "rtt_ms",
        "gbps",
        "goodput_gbps",
        "link_efficiency",
        "training",
    ] {
        assert!(!v[key].is_null(), "DESIGN.md key {key}");
    }
    // window 400e9 x 2e-5 / 8,192 = 976.56; (1 - 0.001) / (1 + 975.56 x 0.001) = 0.50568
    let w = 400e9 * 2e-5 / 8192.0;
    let eff = 0.999 / (1.0 + (w - 1.0) * 0.001);
    close(&v["link_efficiency"], eff, 1e-12);
    close(&v["goodput_gbps"], 400.0 * eff, 1e-12);
    // step: 0.1 + 2 x 7/8 x 112e9 / (400e9 x eff) + 14 x 10 us; one data center: the same at 400 Gb/s, no loss
    let step = 0.1 + 1.75 * 112e9 / (400e9 * eff) + 14.0 * 1e-5;
    let single = 0.1 + 1.75 * 112e9 / 400e9 + 14.0 * 5e-6;
    close(&v["training"]["step_s"], step, 1e-9);
    close(&v["training"]["single_dc_step_s"], single, 1e-9);
    close(&v["training"]["efficiency"], single / step, 1e-9);
}

#[test]
fn sweep_shows_every_transport_from_0_to_1_percent() {
    let out = tokengrid(&[
        "net",
        "efficiency",
        "--rtt-ms",
        "19",
        "--gbps",
        "400",
        "--sweep",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().nth(1).unwrap_or("").contains("rdma-gbn"));
    assert!(text.lines().any(|l| l.trim_start().starts_with("1.0000%")));
    assert_eq!(text.lines().count(), 2 + 10);
}

#[test]
fn reservations_in_order_with_a_refusal() {
    let v = json(&[
        "net",
        "reserve",
        "--format",
        "json",
        "--request",
        "yangtze-river-delta,gansu,300,0s,2h",
        "--request",
        "yangtze-river-delta,gansu,200,1h,2h",
        "--request",
        "yangtze-river-delta,gansu,100,30m,1h",
    ]);
    let rows = v.as_array().expect("rows");
    assert_eq!(rows[0]["admitted"], true);
    // 400 Gb/s reservable: 300 + 200 > 400 during [1 h, 2 h)
    assert_eq!(rows[1]["admitted"], false);
    let why = rows[1]["refusal"].as_str().expect("why");
    assert!(
        why.contains("yangtze-river-delta - gansu is full from 3600 s to 7200 s"),
        "{why}"
    );
    assert_eq!(rows[2]["admitted"], true, "300 + 100 = 400 fits exactly");
}

#[test]
fn bad_input_exits_2() {
    for args in [
        vec!["net", "rtt", "--from", "shanghai", "--to", "atlantis"],
        vec!["net", "efficiency", "--transport", "udp", "--rtt-ms", "1"],
        vec!["net", "efficiency", "--loss", "1.5", "--rtt-ms", "1"],
        vec!["net", "efficiency", "--loss", "0.1"],
        vec!["net", "reserve", "--request", "a,b"],
        vec![
            "net",
            "reserve",
            "--request",
            "yangtze-river-delta,gansu,lots,0s,1h",
        ],
    ] {
        let out = tokengrid(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
}

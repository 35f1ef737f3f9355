//! `tokengrid energy`: the DESIGN.md JSON keys, and values worked out by hand.

use crate::{stderr, stdout, tokengrid};

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["energy", "--format", "json"];
    all.extend_from_slice(args);
    let out = tokengrid(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("pure JSON on stdout")
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing: {v}"))
}

fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "got {got}, want {want}"
    );
}

#[test]
fn deepseek_on_h800_at_every_hub() {
    let v = json(&["--model", "deepseek-v3", "--accelerator", "H800-SXM"]);
    for key in [
        "model",
        "accelerator",
        "batch",
        "accelerators_per_replica",
        "prefill_tokens_per_s_per_replica",
        "decode_tokens_per_s_per_replica",
        "joules_per_output_token",
        "output_tokens_per_kwh",
        "hubs",
    ] {
        assert!(!v[key].is_null(), "DESIGN.md key {key} missing");
    }
    assert_eq!(v["batch"], 2816);
    assert_eq!(v["accelerators_per_replica"], 32);
    // Default context: chat (1,020 e^0.18 + 211/2 = 1,326.66 tokens) and summarize (6,000 + 250)
    // weighted by their request shares (0.8 and 0.1 of 500 peak requests/s): 1,873.7 tokens.
    let ctx = (400.0 * (1020.0 * 0.18f64.exp() + 105.5) + 50.0 * 6250.0) / 450.0;
    close(f(&v, "context_tokens"), ctx, 1e-9);
    // Prefill: 32 x 1,979e12 x 0.40 / (2 x 37e9) = 342,313.5 tokens/s.
    close(
        f(&v, "prefill_tokens_per_s_per_replica"),
        32.0 * 1979e12 * 0.4 / 74e9,
        1e-9,
    );
    // Decode: (671e9 + 2,816 x 1,874 x 70,272) / (32 x 3.35e12 x 0.35) = 27.8 ms a step.
    let step = (671e9 + 2816.0 * ctx * 70_272.0) / (32.0 * 3.35e12 * 0.35);
    close(
        f(&v, "decode_tokens_per_s_per_replica"),
        2816.0 / step,
        1e-9,
    );
    let j = 32.0 * 700.0 * step / 2816.0;
    close(f(&v, "joules_per_output_token"), j, 1e-9);
    close(f(&v, "output_tokens_per_kwh"), 3.6e6 / j, 1e-9);
    let hubs = v["hubs"].as_array().expect("hubs");
    assert_eq!(hubs.len(), 8);
    let gansu = hubs.iter().find(|h| h["name"] == "gansu").expect("gansu");
    // At Qingyang: J x PUE 1.2 per token, 0.40 yuan/kWh -> j x 1.2 / 3.6 x 0.40 yuan per million.
    close(
        f(gansu, "cost_per_million_output_tokens"),
        j * 1.2 / 3.6 * 0.40,
        1e-9,
    );
    close(
        f(gansu, "value_uplift"),
        2.19 * 7.2 / (j * 1.2 / 3.6 * 0.40),
        1e-9,
    );
    // A MoE model reads 37B of 671B weights per token: the dense equivalent costs more.
    let dense = f(&v["dense_equivalent"], "joules_per_output_token");
    assert!(dense > 4.0 * j, "dense {dense} vs moe {j}");
}

#[test]
fn dense_model_on_its_own_accelerator() {
    let v = json(&[
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "H800-SXM",
        "--batch",
        "8",
    ]);
    assert_eq!(v["accelerators_per_replica"], 2);
    assert_eq!(v["precision"], "fp8");
    assert!(v["dense_equivalent"].is_null());
    // Context 1,469 e^(0.245) + 14 = 1,891.5; bytes = 70e9 (FP8) + 8 x 1,891.5 x 327,680;
    // bandwidth 2 x 3.35e12 x 0.35 -> memory 0.03058 s; compute 2 x 70e9 x 8 / (2 x 1,979e12 x 0.4)
    // = 0.00071 s -> memory bound.
    let ctx = 1469.0 * 0.245f64.exp() + 14.0;
    let step = (70e9 + 8.0 * ctx * 327_680.0) / (2.0 * 3.35e12 * 0.35);
    close(f(&v, "decode_tokens_per_s_per_replica"), 8.0 / step, 1e-9);
}

#[test]
fn a_model_too_big_for_the_replica_is_refused_with_advice() {
    let out = tokengrid(&[
        "energy",
        "--model",
        "deepseek-v3",
        "--accelerator",
        "H800-SXM",
        "--accelerators-per-replica",
        "8",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // 671 / (0.9 x 80) = 9.3 -> 10 accelerators
    assert!(
        stderr(&out).contains("--accelerators-per-replica 10"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_names_exit_2() {
    let out = tokengrid(&["energy", "--model", "gpt", "--accelerator", "H800-SXM"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("models: deepseek-v3, llama-3.1-70b"),
        "{}",
        stderr(&out)
    );
    let out = tokengrid(&["energy", "--model", "deepseek-v3", "--accelerator", "B200"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tokengrid(&[
        "energy",
        "--model",
        "deepseek-v3",
        "--accelerator",
        "H800-SXM",
        "--busy-fraction",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

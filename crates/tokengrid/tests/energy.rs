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
    // The JSON reports the serving model of the built-in deployment (32 x H800, EP32).
    let sc = tokengrid_core::builtin::load("china-east-west").expect("builtin");
    let m = sc.model(sc.model_id("deepseek-v3").expect("model"));
    let r = tokengrid_energy::Replica::new(m, sc.accelerator(m.accelerator));
    close(
        f(&v, "prefill_tokens_per_s_per_replica"),
        r.prefill_tokens_per_s(),
        1e-9,
    );
    close(
        f(&v, "decode_tokens_per_s_per_replica"),
        r.decode_tokens_per_s(2816, ctx),
        1e-9,
    );
    // Prefill at 1,000-token prompts: at least 2 x 37.55e9 FLOPs a token over 32 x 1,979e12
    // FP8 FLOP/s (MFU <= 1), so below 843k tokens/s.
    assert!(f(&v, "prefill_tokens_per_s_per_replica") < 32.0 * 1979e12 / 75.1e9);
    // J per output token is the busy IT power over the decode rate: between the accelerators'
    // idle and their TDP plus hosts.
    let j = f(&v, "joules_per_output_token");
    let tps = f(&v, "decode_tokens_per_s_per_replica");
    assert!(
        j * tps > 32.0 * 90.0 && j * tps < 32.0 * (700.0 + 288.0),
        "{}",
        j * tps
    );
    close(f(&v, "output_tokens_per_kwh"), 3.6e6 / j, 1e-9);
    // serving: the class mix's requests; J per output token with prefill exceeds decode alone,
    // and power x time per token is the energy.
    let sv = &v["serving"];
    for key in [
        "prompt_tokens",
        "output_tokens",
        "batch",
        "output_tokens_per_s_per_replica",
        "requests_per_s_per_replica",
        "decode_step_ms",
        "ttft_ms",
        "accelerator_power_w",
        "it_power_w",
        "accelerator_joules_per_output_token",
        "it_joules_per_output_token",
    ] {
        assert!(sv[key].is_number(), "serving.{key} missing: {sv}");
    }
    close(
        f(sv, "it_power_w") / f(sv, "output_tokens_per_s_per_replica"),
        f(sv, "it_joules_per_output_token"),
        1e-9,
    );
    close(
        f(sv, "requests_per_s_per_replica") * f(sv, "output_tokens"),
        f(sv, "output_tokens_per_s_per_replica"),
        1e-9,
    );
    assert!(f(sv, "it_joules_per_output_token") > j);
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
    // Context 1,469 e^(0.245) + 14 = 1,891.5. TP2: each GPU streams half of the 70.55e9 FP8
    // weights at no more than its 3.35 TB/s, so a step takes at least 10.5 ms.
    let ctx = 1469.0 * 0.245f64.exp() + 14.0;
    close(f(&v, "context_tokens"), ctx, 1e-9);
    let floor = 70.55e9 / 2.0 / 3.35e12;
    assert!(
        f(&v, "decode_step_ms") > floor * 1e3,
        "{}",
        f(&v, "decode_step_ms")
    );
    close(
        f(&v, "decode_tokens_per_s_per_replica"),
        8.0 / (f(&v, "decode_step_ms") / 1e3),
        1e-9,
    );
    // --prompt-tokens and --output-tokens set the serving requests.
    let w = json(&[
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "H800-SXM",
        "--batch",
        "8",
        "--prompt-tokens",
        "2000",
        "--output-tokens",
        "100",
    ]);
    assert_eq!(w["serving"]["prompt_tokens"], 2000.0);
    assert_eq!(w["serving"]["output_tokens"], 100.0);
    assert_eq!(w["serving"]["batch"], 8);
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
    // 671.0e9 / (0.9 x 85.9e9 per 80 GiB H800) = 8.68 -> 9 accelerators
    assert!(
        stderr(&out).contains("--accelerators-per-replica 9"),
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

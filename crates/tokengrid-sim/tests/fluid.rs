//! Fluid mode: deterministic, conserving, and counting demand exactly.

use tokengrid_core::builtin;

use crate::common::opts;

fn fluid(policy: &str, duration_s: Option<f64>) -> tokengrid_sim::Options {
    let mut o = opts(policy, duration_s);
    o.fluid_step_s = Some(60.0);
    o
}

#[test]
fn fluid_runs_are_deterministic_and_conserve() {
    let s = builtin::load("two-hubs").expect("built-in");
    let a = tokengrid_sim::run(&s, &fluid("cost-slo", None)).expect("run");
    let b = tokengrid_sim::run(&s, &fluid("cost-slo", None)).expect("run");
    assert_eq!(a.mode, "fluid");
    // The scenario admits arrivals for 6 h: at least 360 one-minute steps.
    assert!(a.engine.steps >= 360, "{}", a.engine.steps);
    assert_eq!(a.deterministic_json(), b.deterministic_json());
    crate::conservation::check(&a);
}

/// Demand is counted exactly: the two-hubs scenario's region sends `peak_rps x share x
/// diurnal[h]` per second in local hour `h`; it starts at local midnight and admits arrivals for
/// 6 h, so `3,600 x peak_rps x share x (diurnal[0] + ... + diurnal[5])` requests (rounded down
/// per class).
#[test]
fn fluid_arrivals_are_the_scenario_rates() {
    let s = builtin::load("two-hubs").expect("built-in");
    let r = tokengrid_sim::run(&s, &fluid("nearest", None)).expect("run");
    let want: f64 = s
        .regions
        .iter()
        .map(|reg| {
            let day: f64 = reg.diurnal.0[..6].iter().sum::<f64>() * 3600.0;
            reg.mix
                .iter()
                .filter(|(c, _)| {
                    !matches!(s.class(*c).kind, tokengrid_core::ClassKind::Training(_))
                })
                .map(|(_, share)| reg.peak_rps * share * day)
                .sum::<f64>()
        })
        .sum();
    let got = r.requests.total as f64;
    assert!(
        (got - want).abs() <= 2.0 * s.classes.len() as f64,
        "{got} vs {want}"
    );
}

#[test]
fn fluid_mode_refuses_trace_replay_with_advice() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/traces");
    let text = builtin::text("two-hubs").expect("text").replace(
        "mix = { chat = 0.8, summarize = 0.2 }  # assumption",
        "mix = { chat = 0.8, summarize = 0.2 }  # assumption\ntrace = { file = \"azure_conv_sample.csv\", format = \"azure-csv\", class = \"chat\" }",
    );
    let s = tokengrid_core::load_str(&text, "t.toml", Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let err = tokengrid_sim::run(&s, &fluid("nearest", None)).expect_err("refused");
    assert!(err.to_string().contains("discrete mode"), "{err}");
}

/// Regions contending for one pool share it, and its overflow, in proportion to their demand,
/// as their interleaved requests do in the discrete mode. Two regions, 12 and 6 requests/s, each
/// beside its own dear hub, both preferring a cheap hub that serves 10 (ten single-sequence
/// servers, 1 s mean service): each region gets 10/18 of its demand served there and the rest at
/// home, so both splits are 2:1. Placing one region's flow after the other's gave the cheap hub
/// to whichever came first.
#[test]
fn contended_pools_are_shared_in_proportion_to_demand() {
    let hub = |name: &str, lat: f64, lon: f64, tariff: f64| {
        format!(
            "[[hub]]\nname = \"{name}\"\nlat = {lat}\nlon = {lon}\npue = 1.0\ngrid_cap_mw = 10.0\n\
             accelerators = {{ X = 10 }}\nmodels = [\"m\"]\ntariff_yuan_per_kwh = {tariff}\n\
             grid_carbon_g_per_kwh = 500.0\nbatching = \"none\"\n"
        )
    };
    let region = |name: &str, lat: f64, lon: f64, rps: f64| {
        format!(
            "[[region]]\nname = \"{name}\"\nlat = {lat}\nlon = {lon}\npeak_rps = {rps}\n\
             diurnal = [{}]\nmix = {{ c = 1.0 }}\n",
            ["1.0"; 24].join(", ")
        )
    };
    let text = format!(
        "[scenario]\nname = \"contended\"\nstart = \"2026-03-02T00:00:00+08:00\"\n\
         duration = \"2h\"\nseed = 7\ncurrency = \"CNY\"\n\
         [[accelerator]]\nname = \"X\"\nbf16_tflops = 100.0\nhbm_gb = 80.0\nhbm_tbps = 2.0\n\
         tdp_w = 400.0\nidle_w = 50.0\n\
         [[model]]\nname = \"m\"\ntotal_params_b = 1.0\nactive_params_b = 1.0\n\
         bytes_per_param = 2.0\nkv_bytes_per_token = 1000\naccelerator = \"X\"\n\
         accelerators_per_replica = 1\nmax_batch = 1\nprefill_tokens_per_s = 1e12\n\
         decode_tokens_per_s = 100.0\n\
         [[class]]\nname = \"c\"\nkind = \"inference\"\nmodel = \"m\"\n\
         prompt_tokens = {{ dist = \"fixed\", value = 1 }}\n\
         output_tokens = {{ dist = \"exponential\", mean = 100 }}\n\
         ttft_slo_ms = 2000\ne2e_slo_ms = 60000\n{}{}{}{}{}",
        hub("west", 38.0, 100.0, 0.1),
        hub("east1", 40.0, 116.0, 1.0),
        hub("east2", 31.0, 121.0, 1.0),
        region("r1", 40.0, 116.0, 12.0),
        region("r2", 31.0, 121.0, 6.0),
    );
    let s =
        tokengrid_core::load_str(&text, "contended.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let r = tokengrid_sim::run(&s, &fluid("cost-slo", None)).expect("run");
    let served = |region: &str, hub: &str| {
        r.flows
            .iter()
            .filter(|f| f.region == region && f.hub == hub)
            .map(|f| f.requests as f64)
            .sum::<f64>()
    };
    let (w1, w2) = (served("r1", "west"), served("r2", "west"));
    let (h1, h2) = (served("r1", "east1"), served("r2", "east2"));
    assert!(
        w1 > 0.0 && w2 > 0.0 && h1 > 0.0 && h2 > 0.0,
        "{w1} {w2} {h1} {h2}"
    );
    assert!((w1 / w2 - 2.0).abs() < 0.02, "cheap hub: {w1} vs {w2}");
    assert!((h1 / h2 - 2.0).abs() < 0.02, "overflow: {h1} vs {h2}");
    // The cheap hub takes what its ten servers serve: 10/18 of each region's demand.
    let share = w1 / (w1 + h1 + served("r1", "east2"));
    assert!((share - 10.0 / 18.0).abs() < 0.02, "{share}");
}

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

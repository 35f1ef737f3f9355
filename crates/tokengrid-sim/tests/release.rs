//! Long statistical checks, meaningful only in release builds:
//! `cargo test --release -p tokengrid-sim --test release`.
#![cfg(not(debug_assertions))]

mod common;

use common::{erlang_c, load, mmn, opts};

/// Mean wait at the hub against Erlang C for an M/M/n queue (`batching = "none"`, exponential
/// service, Poisson arrivals). Service: mean 1,000 tokens at 1,000 tokens/s = 1 s.
fn check_mmn(n: u32, load_factor: f64, days: u32) {
    let mu = 1.0;
    let lambda = load_factor * f64::from(n) * mu;
    let s = load(&mmn(n, lambda, 1000.0, 1000.0, &format!("{days}d"), 42));
    let r = tokengrid_sim::run(&s, &opts("nearest", None)).expect("run");
    let a = lambda / mu;
    let wq = erlang_c(n, a) / (f64::from(n) * mu - lambda);
    let got = r.hubs[0].mean_wait_ms / 1e3;
    let err = (got - wq).abs() / wq;
    println!(
        "M/M/{n} at load {load_factor}: {} requests, mean wait {got:.4} s vs Erlang C {wq:.4} s ({:+.2}%), {:.1} M events/s",
        r.requests.completed,
        (got / wq - 1.0) * 100.0,
        r.engine.events_per_second / 1e6
    );
    assert!(err < 0.03, "M/M/{n} at {load_factor}: {got} vs {wq}");
}

#[test]
fn mm1_matches_its_closed_form() {
    // M/M/1: Wq = rho / (mu - lambda); Erlang C with n = 1 reduces to it.
    let (rho, mu) = (0.5f64, 1.0f64);
    assert!((erlang_c(1, rho) / (mu - rho) - rho / (mu - rho * mu)).abs() < 1e-12);
    check_mmn(1, 0.5, 20);
}

#[test]
fn mm1_at_load_095() {
    check_mmn(1, 0.95, 120);
}

#[test]
fn mm4_at_load_08() {
    check_mmn(4, 0.8, 20);
}

#[test]
fn mm8_at_load_095() {
    check_mmn(8, 0.95, 30);
}

/// The trade the source article describes, on the built-in scenario's first 10 hours (night and
/// the morning peak): cost-slo cheaper than nearest at better SLO attainment, cheapest breaking
/// SLOs, the western hubs busier under cost-slo. (The full-day table is in the README.)
#[test]
fn cost_slo_moves_work_west_cheaper_than_nearest_within_slos() {
    let s = tokengrid_core::builtin::load("china-east-west").expect("built-in");
    let run = |p: &str| tokengrid_sim::run(&s, &opts(p, Some(10.0 * 3600.0))).expect("run");
    let (nearest, cost_slo, cheapest) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run("nearest"));
        let b = sc.spawn(|| run("cost-slo"));
        let c = run("cheapest");
        (a.join().expect("nearest"), b.join().expect("cost-slo"), c)
    });
    let west = |r: &tokengrid_sim::Report| {
        let w: Vec<f64> = r
            .hubs
            .iter()
            .filter(|h| {
                ["inner-mongolia", "guizhou", "gansu", "ningxia"].contains(&h.name.as_str())
            })
            .map(|h| h.utilization)
            .collect();
        w.iter().sum::<f64>() / w.len() as f64
    };
    for r in [&nearest, &cost_slo, &cheapest] {
        println!(
            "{:<9} cost {:>8.2}  SLO met {:>6.2}%  west utilization {:>5.1}%",
            r.policy,
            r.energy.cost,
            r.requests.slo_met_fraction * 100.0,
            west(r) * 100.0
        );
    }
    assert!(cost_slo.energy.cost < nearest.energy.cost);
    assert!(cost_slo.requests.slo_met_fraction >= nearest.requests.slo_met_fraction);
    assert!(cheapest.requests.slo_met_fraction < cost_slo.requests.slo_met_fraction - 0.2);
    assert!(west(&cost_slo) > west(&nearest));
}

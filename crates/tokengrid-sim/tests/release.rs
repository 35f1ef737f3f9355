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
    // Over one accounting window, as `compare` runs them.
    let window = tokengrid_sim::SharedWindow::new(3);
    let run = |p: &str| {
        let mut o = opts(p, Some(10.0 * 3600.0));
        o.window = Some(window.clone());
        tokengrid_sim::run(&s, &o).expect("run")
    };
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

/// Fluid mode against the discrete mode on the default day (docs/fluid.md has the table), to
/// issue 14's bounds, for every policy: cost and facility energy within 5%, each hub's share of
/// requests within 5 points, SLO attainment within 3 points, east and west utilization within 5
/// points. The narrowest margin is `green`'s SLO attainment, 2.2 points low in the fluid mode
/// (chat 2.1 and code 5.3 points: docs/fluid.md).
#[test]
fn fluid_agrees_with_discrete_on_the_default_day() {
    let s = tokengrid_core::builtin::load("china-east-west").expect("built-in");
    let east = [
        "beijing-tianjin-hebei",
        "yangtze-river-delta",
        "guangdong-hk-macao",
    ];
    let util = |r: &tokengrid_sim::Report, in_east: bool| {
        let hs: Vec<_> = r
            .hubs
            .iter()
            .filter(|h| east.contains(&h.name.as_str()) == in_east)
            .collect();
        hs.iter().map(|h| h.utilization).sum::<f64>() / hs.len() as f64
    };
    for policy in ["nearest", "cost-slo", "green"] {
        let d = tokengrid_sim::run(&s, &opts(policy, None)).expect("discrete");
        let mut o = opts(policy, None);
        o.fluid_step_s = Some(60.0);
        let f = tokengrid_sim::run(&s, &o).expect("fluid");
        assert_eq!(f.mode, "fluid");
        let rel = |a: f64, b: f64| (a / b - 1.0).abs();
        println!(
            "{policy}: cost {:+.1}%, kWh {:+.1}%, SLO {:+.1} points, util east {:+.1} west {:+.1}",
            (f.energy.cost / d.energy.cost - 1.0) * 100.0,
            (f.energy.facility_kwh / d.energy.facility_kwh - 1.0) * 100.0,
            (f.requests.slo_met_fraction - d.requests.slo_met_fraction) * 100.0,
            (util(&f, true) - util(&d, true)) * 100.0,
            (util(&f, false) - util(&d, false)) * 100.0,
        );
        assert!(rel(f.energy.cost, d.energy.cost) < 0.05, "{policy} cost");
        assert!(
            rel(f.energy.facility_kwh, d.energy.facility_kwh) < 0.05,
            "{policy} kWh"
        );
        let (ft, dt) = (f.requests.completed as f64, d.requests.completed as f64);
        for (fh, dh) in f.hubs.iter().zip(&d.hubs) {
            let diff = (fh.requests as f64 / ft - dh.requests as f64 / dt).abs();
            assert!(diff < 0.05, "{policy} {}: share differs by {diff}", fh.name);
        }
        let slo = (f.requests.slo_met_fraction - d.requests.slo_met_fraction).abs();
        assert!(slo < 0.03, "{policy} SLO differs by {slo}");
        assert!(
            (util(&f, true) - util(&d, true)).abs() < 0.05,
            "{policy} east"
        );
        assert!(
            (util(&f, false) - util(&d, false)).abs() < 0.05,
            "{policy} west"
        );
    }
}

/// A comparison costs every policy over the same window (issue 17: policies that finish late,
/// by deferring work or by queueing it, were costed over a longer span than those that finish
/// on time, so a comparison depended on the accounting window). Over the first 2 h of the
/// default day `cheapest` queues work at distant hubs and drains about an hour after the
/// others; with a shared window every policy is accounted to its end, idle power included.
#[test]
fn a_comparison_accounts_every_policy_over_the_same_window() {
    let s = tokengrid_core::builtin::load("china-east-west").expect("built-in");
    let two_hours = Some(2.0 * 3600.0);
    let policies = ["nearest", "cost-slo", "cheapest"];
    let window = tokengrid_sim::SharedWindow::new(policies.len());
    let (shared, alone): (Vec<_>, Vec<_>) = std::thread::scope(|sc| {
        let shared: Vec<_> = policies
            .iter()
            .map(|p| {
                let mut o = opts(p, two_hours);
                o.window = Some(window.clone());
                let s = &s;
                sc.spawn(move || tokengrid_sim::run(s, &o).expect("run"))
            })
            .collect();
        let alone: Vec<_> = policies
            .iter()
            .map(|p| tokengrid_sim::run(&s, &opts(p, two_hours)).expect("run"))
            .collect();
        (
            shared.into_iter().map(|h| h.join().expect("run")).collect(),
            alone,
        )
    });
    for r in alone.iter().chain(&shared) {
        println!(
            "{:<9} arrivals {:.1} h, accounted {:>5.2} h, cost {:>9.2}",
            r.policy,
            r.arrivals_s / 3600.0,
            r.simulated_s / 3600.0,
            r.energy.cost
        );
    }
    let (nearest, cost_slo, cheapest) = (&shared[0], &shared[1], &shared[2]);
    // On their own, cheapest drains last; shared, every run is accounted to its end.
    let end = alone.iter().map(|r| r.simulated_s).fold(0.0, f64::max);
    assert_eq!(end, alone[2].simulated_s);
    assert!(
        end > alone[0].simulated_s + 1800.0,
        "cheapest drains later than nearest"
    );
    for r in &shared {
        assert_eq!(r.simulated_s, end, "{}", r.policy);
    }
    // Only idle power was added: the run that set the window is unchanged; the others pay for
    // their idle hubs over the rest of it, with the same requests served.
    assert_eq!(cheapest.energy.cost, alone[2].energy.cost);
    assert!(nearest.energy.cost > alone[0].energy.cost);
    assert_eq!(nearest.requests.total, alone[0].requests.total);
    // At night the eastern valley tariff (0.317 yuan/kWh) is below the western 0.40: cost-slo
    // keeps the work where nearest does, and over the same window they cost the same within
    // 0.1% (on its own nearest looked 35% cheaper than cheapest; shared, 5%).
    assert!(
        (cost_slo.energy.cost - nearest.energy.cost).abs() < 1e-3 * nearest.energy.cost,
        "cost-slo {:.2} vs nearest {:.2}",
        cost_slo.energy.cost,
        nearest.energy.cost
    );
}

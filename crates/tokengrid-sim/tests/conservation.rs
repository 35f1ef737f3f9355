//! Every arrival is completed, rejected or failed; energy totals equal the sum over hubs and the
//! sum over time steps.

use tokengrid_core::builtin;
use tokengrid_sim::Report;

use crate::common::opts;

fn close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-9),
        "{a} vs {b}"
    );
}

pub(crate) fn check(r: &Report) {
    let q = &r.requests;
    assert_eq!(q.total, q.completed + q.rejected + q.failed, "{q:?}");
    let hub_requests: u64 = r.hubs.iter().map(|h| h.requests).sum();
    assert_eq!(hub_requests, q.completed);
    let class_requests: u64 = r
        .classes
        .iter()
        .filter(|c| c.name != "finetune")
        .map(|c| c.requests)
        .sum();
    assert_eq!(class_requests, q.total);
    let e = &r.energy;
    close(r.hubs.iter().map(|h| h.energy_kwh).sum(), e.facility_kwh);
    close(r.hubs.iter().map(|h| h.cost).sum(), e.cost);
    close(r.hubs.iter().map(|h| h.carbon_kg).sum(), e.carbon_kg);
    close(e.green_kwh + e.grid_kwh, e.facility_kwh);
    // The time series adds up to the same totals (cost and carbon per step; energy from mean
    // power x step length).
    close(r.timeseries.iter().map(|s| s.cost).sum(), e.cost);
    close(r.timeseries.iter().map(|s| s.carbon_kg).sum(), e.carbon_kg);
    let steps_kwh: f64 = r
        .timeseries
        .iter()
        .map(|s| s.power_mw * 1000.0 * (r.simulated_s.min(s.t_s + 900.0) - s.t_s) / 3600.0)
        .sum();
    close(steps_kwh, e.facility_kwh);
}

#[test]
fn two_hubs_conserves_requests_and_energy() {
    let s = builtin::load("two-hubs").expect("built-in");
    for policy in ["nearest", "cost-slo", "cheapest", "green", "plan"] {
        let r = tokengrid_sim::run(&s, &opts(policy, Some(3600.0))).expect("run");
        check(&r);
        assert_eq!(
            r.requests.rejected + r.requests.failed,
            0,
            "{policy}: the tutorial has room"
        );
    }
}

#[test]
fn idle_power_is_counted_when_nothing_runs() {
    // Tokens cost nothing if nobody asks, but the accelerators still idle and their hosts stay
    // on: 96 H800 x (90 W + the catalog's host share of an HGX node) for the whole run, x PUE.
    let text = builtin::text("two-hubs")
        .expect("text")
        .replace("peak_rps = 40.0", "peak_rps = 0.0");
    let s = tokengrid_core::load_str(&text, "x.toml", None).expect("valid");
    let r = tokengrid_sim::run(&s, &opts("cost-slo", Some(7200.0))).expect("run");
    assert_eq!(r.requests.total, 0);
    // host: half of DGX H100's 10.2 kW maximum less 8 x 700 W of GPUs, per GPU = 287.5 W.
    let per_gpu_kw = (90.0 + 0.5 * (10_200.0 - 8.0 * 700.0) / 8.0) / 1000.0;
    // yangtze: 32 GPUs x PUE 1.25, gansu: 64 x PUE 1.2, over 2 h
    let want = (32.0 * per_gpu_kw * 1.25 + 64.0 * per_gpu_kw * 1.2) * 2.0;
    close(r.energy.facility_kwh, want);
    check(&r);
}

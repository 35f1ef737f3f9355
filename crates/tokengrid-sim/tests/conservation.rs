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

/// Every unserved request says why, and the reasons add up. Shanghai's data may only go to
/// Gansu, which is down for the whole run: the hub that is up refuses it for residency (the
/// reason at the hub that came closest), so every request is rejected for `residency`.
#[test]
fn unserved_requests_are_counted_by_reason() {
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("built-in")
        .replace(
            "mix = { chat = 0.8, summarize = 0.2 }",
            "mix = { chat = 0.8, summarize = 0.2 }\nresidency = [\"gansu\"]",
        )
        .replace(
            "batching = \"continuous\"\n\n[[region]]",
            "batching = \"continuous\"\noutages = [{ at = \"0s\", for = \"2h\" }]\n\n[[region]]",
        );
    let s =
        tokengrid_core::load_str(&text, "two-hubs.toml", None).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.hubs[1].outages.len() == 1, "the edit reached gansu");
    let r = tokengrid_sim::run(&s, &crate::common::opts("cost-slo", Some(1800.0))).expect("run");
    assert!(r.requests.total > 100);
    assert_eq!(r.requests.rejected, r.requests.total);
    assert_eq!(
        r.unserved.rejected.iter().collect::<Vec<_>>(),
        [(&"residency".to_owned(), &r.requests.total)]
    );
    let per_class: u64 = r
        .classes
        .iter()
        .map(|c| c.unserved.values().sum::<u64>())
        .sum();
    assert_eq!(per_class, r.requests.total);
    // Per hub: all at the hub that is up (it refused for residency), none at the one down.
    for h in &r.hubs {
        let want: Vec<(String, u64)> = if h.name == "gansu" {
            vec![]
        } else {
            vec![("residency".to_owned(), r.requests.total)]
        };
        assert_eq!(
            h.unserved.clone().into_iter().collect::<Vec<_>>(),
            want,
            "{}",
            h.name
        );
    }

    // Queues bounded at one request under a load they cannot carry: rejections for a full
    // queue, and only that.
    let busy = tokengrid_core::builtin::text("two-hubs")
        .expect("built-in")
        .replace("peak_rps = 40.0", "peak_rps = 400.0")
        .replace(
            "batching = \"continuous\"",
            "batching = \"none\"\nmax_queue = 1",
        );
    let s =
        tokengrid_core::load_str(&busy, "two-hubs.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let r = tokengrid_sim::run(&s, &crate::common::opts("nearest", Some(600.0))).expect("run");
    assert!(r.requests.rejected > 0);
    assert_eq!(
        r.unserved.rejected.keys().collect::<Vec<_>>(),
        [&"queue_full".to_owned()],
        "{:?}",
        r.unserved
    );
    assert_eq!(
        r.unserved.rejected.values().sum::<u64>(),
        r.requests.rejected
    );
    // Each rejection at the hub whose queue was full: per hub they add up to the total.
    let per_hub: u64 = r
        .hubs
        .iter()
        .filter_map(|h| h.unserved.get("queue_full"))
        .sum();
    assert_eq!(per_hub, r.requests.rejected);
}

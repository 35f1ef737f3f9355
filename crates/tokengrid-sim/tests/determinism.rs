//! The same scenario, policy and seed give a byte-identical report.

use tokengrid_core::builtin;

use crate::common::opts;

#[test]
fn two_runs_give_identical_json() {
    let s = builtin::load("two-hubs").expect("built-in");
    let a = tokengrid_sim::run(&s, &opts("cost-slo", Some(1800.0))).expect("run");
    let b = tokengrid_sim::run(&s, &opts("cost-slo", Some(1800.0))).expect("run");
    assert!(a.requests.total > 1000);
    assert_eq!(a.deterministic_json(), b.deterministic_json());
    assert_eq!(a.timeseries_csv(), b.timeseries_csv());
    // Another seed gives another run.
    let mut o = opts("cost-slo", Some(1800.0));
    o.seed = Some(99);
    let c = tokengrid_sim::run(&s, &o).expect("run");
    assert_ne!(a.requests.total, c.requests.total);
}

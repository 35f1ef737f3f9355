//! Hub outages: work in flight is re-dispatched or counted as failed, never lost.

use tokengrid_core::builtin;

use crate::common::opts;
use crate::conservation::check;

#[test]
fn an_outage_moves_work_to_the_other_hub() {
    let text = builtin::text("two-hubs").expect("text").replace(
        "batching = \"continuous\"\n\n[[hub]]",
        "batching = \"continuous\"\noutages = [{ at = \"20m\", for = \"10m\" }]\n\n[[hub]]",
    );
    let s = tokengrid_core::load_str(&text, "x.toml", None).expect("valid");
    assert_eq!(s.hubs[0].outages.len(), 1);
    let r = tokengrid_sim::run(&s, &opts("nearest", Some(3600.0))).expect("run");
    check(&r);
    assert!(
        r.requests.redispatched > 0,
        "work on the failed hub moved: {:?}",
        r.requests
    );
    assert_eq!(r.requests.failed, 0, "the other hub took it");
    assert!(r.hubs[1].requests > 0, "gansu served during the outage");
}

#[test]
fn with_nowhere_to_go_work_fails_and_is_counted() {
    let text = crate::common::mmn(1, 0.5, 1000.0, 1000.0, "2h", 3).replace(
        "batching = \"none\"",
        "batching = \"none\"\noutages = [{ at = \"30m\", for = \"30m\" }]",
    );
    let s = crate::common::load(&text);
    let r = tokengrid_sim::run(&s, &opts("cost-slo", None)).expect("run");
    check(&r);
    assert!(
        r.requests.failed > 0,
        "in flight at the outage: {:?}",
        r.requests
    );
    assert!(r.requests.rejected > 0, "arrivals during the outage");
}

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

#[test]
fn a_degraded_link_steers_work_away_while_it_lasts() {
    // At 10:00 eastern power is at its peak price, so cost-slo sends chat to Gansu. The
    // tutorial's Shanghai - Gansu link gains 5 s of round trip for 20 minutes: Gansu cannot
    // meet the 2 s TTFT then, so chat stays in the east meanwhile; nothing is lost.
    let base = builtin::text("two-hubs")
        .expect("text")
        .replace("2026-03-02T00:00:00+08:00", "2026-03-02T10:00:00+08:00");
    // Both links into Gansu degrade (else traffic reroutes through the eastern hub).
    let fault = "degradations = [{ at = \"10m\", for = \"20m\", extra_rtt_ms = 5000.0 }]";
    let degraded = base.replace(
        "deterministic = false\n",
        &format!("deterministic = false\n{fault}\n\n[[link]]\na = \"yangtze-river-delta\"\nb = \"gansu\"\nkm = 1890.0\ngbps = 400.0\n{fault}\n"),
    );
    assert_ne!(base, degraded);
    let run = |text: &str| {
        let s = tokengrid_core::load_str(text, "x.toml", None).expect("valid");
        tokengrid_sim::run(&s, &opts("cost-slo", Some(2400.0))).expect("run")
    };
    let (a, b) = (run(&base), run(&degraded));
    check(&b);
    assert_eq!(b.faults.link_degradations, 2);
    assert_eq!(a.requests.total, b.requests.total, "same arrivals");
    assert!(
        b.hubs[1].requests < a.hubs[1].requests,
        "gansu {} vs {}",
        b.hubs[1].requests,
        a.hubs[1].requests
    );
    assert_eq!(b.requests.failed + b.requests.rejected, 0);
}

//! Policies where the right answer is obvious by hand.

use tokengrid_core::HubId;
use tokengrid_sched::*;

use crate::testview::*;

/// Hub 0 is near and dear, hub 1 far and cheap. Request: TTFT 10 + 100 = 110 ms at hub 0,
/// 60 + 100 = 160 ms at hub 1.
fn near_and_far() -> TestView {
    TestView::new(vec![hub(10.0, 1.0, 600.0), hub(60.0, 0.3, 300.0)])
}

#[test]
fn cheap_far_hub_wins_only_when_the_slo_allows() {
    let v = near_and_far();
    // SLO 200 ms: both feasible; cost-slo takes the cheap far hub.
    assert_eq!(
        decide("cost-slo", &v, &request(Some(200.0), None)).hub(),
        Some(HubId(1))
    );
    // SLO 150 ms: the far hub (160 ms) is infeasible.
    assert_eq!(
        decide("cost-slo", &v, &request(Some(150.0), None)).hub(),
        Some(HubId(0))
    );
    // nearest ignores cost; cheapest ignores the SLO.
    assert_eq!(
        decide("nearest", &v, &request(Some(200.0), None)).hub(),
        Some(HubId(0))
    );
    assert_eq!(
        decide("cheapest", &v, &request(Some(150.0), None)).hub(),
        Some(HubId(1))
    );
    // green takes the low-carbon hub when feasible.
    assert_eq!(
        decide("green", &v, &request(Some(200.0), None)).hub(),
        Some(HubId(1))
    );
}

#[test]
fn every_policy_respects_residency() {
    let v = near_and_far();
    let only_near = HubSet::of(&[HubId(0)]);
    for policy in ["nearest", "cheapest", "cost-slo", "green"] {
        assert_eq!(
            decide(policy, &v, &request(None, Some(&only_near))).hub(),
            Some(HubId(0)),
            "{policy}"
        );
    }
    let nowhere = HubSet::default();
    match decide("cheapest", &v, &request(None, Some(&nowhere))) {
        Decision::Reject(reasons) => assert_eq!(
            reasons,
            vec![(HubId(0), Reason::Residency), (HubId(1), Reason::Residency)]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_down_hub_is_never_chosen() {
    let mut v = near_and_far();
    v.hubs[1].snap.up = false;
    for policy in ["nearest", "cheapest", "cost-slo", "green"] {
        assert_eq!(
            decide(policy, &v, &request(None, None)).hub(),
            Some(HubId(0)),
            "{policy}"
        );
    }
    v.hubs[0].snap.up = false;
    assert!(matches!(
        decide("cheapest", &v, &request(None, None)),
        Decision::Reject(_)
    ));
}

#[test]
fn when_no_hub_meets_the_slo_the_fastest_serves() {
    let v = near_and_far();
    // SLO 50 ms: neither 110 ms nor 160 ms fits; cost-slo still serves it at the near hub.
    assert_eq!(
        decide("cost-slo", &v, &request(Some(50.0), None)).hub(),
        Some(HubId(0))
    );
    // A hard constraint still refuses.
    let nowhere = HubSet::default();
    assert!(matches!(
        decide("cost-slo", &v, &request(Some(50.0), Some(&nowhere))),
        Decision::Reject(_)
    ));
}

#[test]
fn explanation_names_every_hub() {
    let v = near_and_far();
    let mut s = Scheduler::new(Policy::named("cost-slo").expect("policy"));
    let (d, ex) = s.explain(&v, &request(Some(150.0), None));
    assert_eq!(d.hub(), Some(HubId(0)));
    assert_eq!(ex.chosen, Some(HubId(0)));
    assert_eq!(ex.hubs[1].rejected, Some(Reason::TtftSlo));
    assert_eq!(ex.hubs[0].rejected, None);
    assert_eq!(
        ex.hubs[0].scores.iter().map(|s| s.0).collect::<Vec<_>>(),
        ["energy-cost", "latency"]
    );
    // The same decision without explanation.
    assert_eq!(s.decide(&v, &request(Some(150.0), None)), d);
}

#[test]
fn split_training_needs_a_reservable_path() {
    let mut v = near_and_far();
    v.hubs[0].free_accelerators = 64;
    v.hubs[1].free_accelerators = 64;
    let job = Work::Training(TrainingJob {
        accelerators: 100,
        accelerator: None,
        compute_hours: 2.0,
        gradient_gb_per_step: 14.0,
        step_compute_s: 4.0,
        deadline_s: 48.0 * 3600.0,
        splittable: true,
        accelerator_w: 700.0,
    });
    let d = decide("cost-slo", &v, &job);
    let Decision::Place(p) = d else {
        panic!("{d:?}")
    };
    let split = p.split.expect("split");
    assert_eq!(split.first_accelerators + split.second_accelerators, 100);
    assert_eq!(split.reserve_gbps, 400.0);
    assert!(
        split.efficiency > 0.98,
        "deterministic path hides the all-reduce: {}",
        split.efficiency
    );
    v.reservable = false;
    assert!(matches!(decide("cost-slo", &v, &job), Decision::Reject(_)));
    if let Work::Training(mut t) = job {
        t.splittable = false;
        v.reservable = true;
        assert!(matches!(
            decide("cost-slo", &v, &Work::Training(t)),
            Decision::Reject(_)
        ));
    }
}

#[test]
fn a_scenario_defines_its_own_policy() {
    let s = tokengrid_core::builtin::load("china-east-west").expect("valid");
    let p = Policy::for_scenario("balanced", &s).expect("balanced");
    assert_eq!(
        p.score_names(),
        [("carbon", 0.5), ("energy-cost", 1.0), ("latency", 0.1)]
    );
    assert_eq!(
        &p.filter_names()[..4],
        ["model", "up", "residency", "capacity"]
    );
    // An unknown plugin name is the user's error, named.
    let text = tokengrid_core::builtin::text("china-east-west")
        .expect("text")
        .replace(
            "filters = [\"slo\", \"power\"]",
            "filters = [\"slo\", \"pwoer\"]",
        );
    let s = tokengrid_core::load_str(&text, "x.toml", None).expect("structurally valid");
    let err = Policy::for_scenario("balanced", &s).expect_err("unknown plugin");
    assert!(
        err.to_string().contains("unknown filter plugin \"pwoer\""),
        "{err}"
    );
    assert!(matches!(
        Policy::for_scenario("fastest", &s),
        Err(PolicyError::UnknownPolicy(_))
    ));
}

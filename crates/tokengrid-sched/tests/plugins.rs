//! Each plugin on a small hand-built candidate.

use tokengrid_core::HubId;
use tokengrid_sched::estimate::{Objective, candidate};
use tokengrid_sched::plugin::*;
use tokengrid_sched::*;

use crate::testview::*;

fn cand(view: &TestView, work: &Work<'_>, h: u32) -> Candidate {
    candidate(view, work, HubId(h), Objective::Cost)
}

#[test]
fn inference_estimates_by_hand() {
    let v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    let w = request(None, None);
    let c = cand(&v, &w, 0);
    // TTFT = 10 ms + 1,000 / 10,000 s = 110 ms; E2E = 110 + 100 x 20 ms = 2,110 ms
    assert!((c.ttft_ms - 110.0).abs() < 1e-9);
    assert!((c.e2e_ms - 2110.0).abs() < 1e-9);
    // energy: (1,000 x 0.1 + 100 x 0.5) J x PUE 1.2 = 180 J = 5e-5 kWh; cost x 0.5; carbon x 600 g
    assert!((c.energy_kwh - 180.0 / 3.6e6).abs() < 1e-15);
    assert!((c.cost - 180.0 / 3.6e6 * 0.5).abs() < 1e-15);
    assert!((c.carbon_kg - 180.0 / 3.6e6 * 0.6).abs() < 1e-15);
}

#[test]
fn green_surplus_makes_the_request_free_and_clean() {
    let mut h = hub(10.0, 0.5, 600.0);
    h.snap.green_surplus_kw = 1e3;
    let v = TestView::new(vec![h]);
    let c = cand(&v, &request(None, None), 0);
    assert_eq!(c.cost, 0.0);
    assert_eq!(c.carbon_kg, 0.0);
}

#[test]
fn each_filter_rejects_with_its_reason() {
    let w = request(Some(100.0), None);
    let mut v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    assert_eq!(ModelServed.filter(&w, &cand(&v, &w, 0)), Ok(()));
    assert_eq!(
        Slo.filter(&w, &cand(&v, &w, 0)),
        Err(Reason::TtftSlo),
        "110 ms > 100 ms"
    );
    v.hubs[0].model = None;
    assert_eq!(
        ModelServed.filter(&w, &cand(&v, &w, 0)),
        Err(Reason::ModelNotServed)
    );
    let mut v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    v.hubs[0].snap.up = false;
    assert_eq!(HubUp.filter(&w, &cand(&v, &w, 0)), Err(Reason::HubDown));
    let v = TestView::new(vec![hub(10.0, 0.5, 600.0), hub(10.0, 0.5, 600.0)]);
    let only_b = HubSet::of(&[HubId(1)]);
    let w = request(None, Some(&only_b));
    assert_eq!(
        Residency.filter(&w, &cand(&v, &w, 0)),
        Err(Reason::Residency)
    );
    assert_eq!(Residency.filter(&w, &cand(&v, &w, 1)), Ok(()));
    let mut v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    let mut m = model();
    m.free_slots = 0;
    m.queue_len = 5;
    m.max_queue = Some(5);
    v.hubs[0].model = Some(m);
    assert_eq!(
        Capacity.filter(&w, &cand(&v, &w, 0)),
        Err(Reason::QueueFull)
    );
    let mut v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    v.hubs[0].snap.power_headroom_kw = 0.5; // a new replica needs 1 kW x PUE 1.2
    assert_eq!(PowerCap.filter(&w, &cand(&v, &w, 0)), Err(Reason::PowerCap));
    let w2 = request(None, None);
    let mut e2e = w2;
    if let Work::Inference(r) = &mut e2e {
        r.e2e_slo_ms = Some(2000.0);
    }
    let v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    assert_eq!(
        Slo.filter(&e2e, &cand(&v, &e2e, 0)),
        Err(Reason::E2eSlo),
        "2,110 ms > 2,000 ms"
    );
}

#[test]
fn scores_are_the_candidate_costs() {
    let v = TestView::new(vec![hub(10.0, 0.5, 600.0)]);
    let w = request(None, None);
    let c = cand(&v, &w, 0);
    assert_eq!(EnergyCost.cost(&w, &c), c.cost);
    assert_eq!(Carbon.cost(&w, &c), c.carbon_kg);
    assert_eq!(Latency.cost(&w, &c), c.rtt_ms);
    assert_eq!(ResponseTime.cost(&w, &c), c.e2e_ms);
    assert_eq!(LoadBalance.cost(&w, &c), 0.1);
}

#[test]
fn registry_refuses_duplicates_and_unknown_names() {
    let mut r = Registry::builtin();
    assert!(matches!(
        r.register_filter("slo", || Box::new(Slo)),
        Err(PolicyError::AlreadyRegistered(_))
    ));
    let spec = PolicySpec {
        name: "mine".into(),
        filters: vec!["model".into(), "model".into()],
        scores: vec![("latency".into(), 1.0)],
        objective: Objective::Cost,
    };
    assert!(matches!(r.build(&spec), Err(PolicyError::Duplicate { .. })));
    let spec = PolicySpec {
        name: "mine".into(),
        filters: vec!["modle".into()],
        scores: vec![("latency".into(), 1.0)],
        objective: Objective::Cost,
    };
    assert!(matches!(
        r.build(&spec),
        Err(PolicyError::UnknownPlugin { kind: "filter", .. })
    ));
    let spec = PolicySpec {
        name: "mine".into(),
        filters: vec![],
        scores: vec![("latency".into(), -1.0)],
        objective: Objective::Cost,
    };
    assert!(matches!(r.build(&spec), Err(PolicyError::Weights { .. })));
    let spec = PolicySpec {
        name: "mine".into(),
        filters: vec!["up".into()],
        scores: vec![("load".into(), 1.0)],
        objective: Objective::Cost,
    };
    let p = r.build(&spec).expect("valid custom policy");
    assert_eq!(p.filter_names(), ["up"]);
    assert!(matches!(
        Policy::named("fastest"),
        Err(PolicyError::UnknownPolicy(_))
    ));
}

/// A plugin of the user's own: refuses even-numbered hubs.
#[derive(Debug)]
struct OddHubsOnly;
impl FilterPlugin for OddHubsOnly {
    fn name(&self) -> &'static str {
        "odd"
    }
    fn filter(&self, _w: &Work<'_>, c: &Candidate) -> Result<(), Reason> {
        if c.hub.0.is_multiple_of(2) {
            Err(Reason::NoCapacity)
        } else {
            Ok(())
        }
    }
}

/// A score of the user's own: the higher the hub id, the better.
#[derive(Debug)]
struct HighestId;
impl ScorePlugin for HighestId {
    fn name(&self) -> &'static str {
        "highest-id"
    }
    fn cost(&self, _w: &Work<'_>, c: &Candidate) -> f64 {
        -f64::from(c.hub.0)
    }
}

/// Plugins of the user's own run beside the built-ins (which the scheduler runs without a
/// virtual call): each hub's reason is its first failing filter in the policy's order, and the
/// scores combine as written.
#[test]
fn own_plugins_mix_with_built_ins_in_the_policys_order() {
    let mut r = Registry::builtin();
    r.register_filter("odd", || Box::new(OddHubsOnly))
        .expect("a new name");
    r.register_score("highest-id", || Box::new(HighestId))
        .expect("a new name");
    let spec = PolicySpec {
        name: "mine".into(),
        filters: vec!["model".into(), "odd".into(), "up".into()],
        scores: vec![("highest-id".into(), 1.0), ("latency".into(), 0.5)],
        objective: Objective::Cost,
    };
    let mut v = TestView::new(
        (0..6)
            .map(|i| hub(10.0 * f64::from(i), 0.5, 600.0))
            .collect(),
    );
    // Hub 0 serves no model: the built-in "model" filter comes first and names it.
    v.hubs[0].model = None;
    // Hub 5 is down: it passes "odd" and fails "up".
    v.hubs[5].snap.up = false;
    let mut s = Scheduler::new(r.build(&spec).expect("a valid policy"));
    let (d, ex) = s.explain(&v, &request(None, None));
    let reasons: Vec<Option<Reason>> = ex.hubs.iter().map(|l| l.rejected).collect();
    assert_eq!(
        reasons,
        [
            Some(Reason::ModelNotServed),
            None,
            Some(Reason::NoCapacity),
            None,
            Some(Reason::NoCapacity),
            Some(Reason::HubDown),
        ]
    );
    // Feasible: hubs 1 and 3. highest-id: hub 3 scores 100, hub 1 scores 0; latency (10 against
    // 30 ms): hub 1 100, hub 3 0. Totals: hub 3 = 100, hub 1 = 0.5 x 100 = 50.
    assert_eq!(d.hub(), Some(HubId(3)));
    assert_eq!(ex.hubs[3].total, 100.0);
    assert_eq!(ex.hubs[1].total, 50.0);
    // The decision without explanation is the same.
    assert_eq!(s.decide(&v, &request(None, None)).hub(), Some(HubId(3)));
}

//! The LP planner: a hand-solvable instance and the lower-bound property on the built-in
//! scenario.

use tokengrid_core::{ClassId, RegionId, builtin};
use tokengrid_sched::plan::*;

/// How a heuristic ranks a flow's hubs (lowest first).
type RankKey = dyn Fn(&Flow, &PlanOption, &PlanHub) -> f64;

#[test]
fn two_hubs_capacity_binds() {
    // Hub A at 1.0 per kWh, hub B at 0.5; 10 requests/s, each 0.1 replica-s and 0.001 kWh.
    // B holds 0.6 replica-s/s = 6 requests/s. Optimum: 6 at B, 4 at A.
    // Cost per hour: B 6 x 0.001 x 3,600 = 21.6 kW x 0.5 = 10.8; A 4 x 3.6 = 14.4 kW x 1.0 = 14.4;
    // total 25.2.
    let hub = |name: &str, tariff: f64| PlanHub {
        name: name.into(),
        idle_kw: 0.0,
        green_kw: 0.0,
        tariff,
        grid_cap_kw: 1e6,
    };
    let p = HourProblem {
        hubs: vec![hub("a", 1.0), hub("b", 0.5)],
        pools: vec![
            Pool {
                hub: 0,
                capacity: 100.0,
            },
            Pool {
                hub: 1,
                capacity: 0.6,
            },
        ],
        flows: vec![Flow {
            region: RegionId(0),
            class: ClassId(0),
            rps: 10.0,
            options: vec![
                PlanOption {
                    hub: 0,
                    pool: 0,
                    load_s: 0.1,
                    kwh: 0.001,
                    rtt_ms: 5.0,
                },
                PlanOption {
                    hub: 1,
                    pool: 1,
                    load_s: 0.1,
                    kwh: 0.001,
                    rtt_ms: 30.0,
                },
            ],
        }],
    };
    let sol = solve_hour(&p).expect("solved");
    assert!((sol.shares[0][1] - 0.6).abs() < 1e-6, "{:?}", sol.shares);
    assert!((sol.shares[0][0] - 0.4).abs() < 1e-6);
    assert!((sol.cost - 25.2).abs() < 1e-6, "{}", sol.cost);
    assert!(sol.unserved[0] < 1e-9);
    // Green supply at A of 10 kW makes 10 kW of A's power free: cost 10.8 + (14.4 - 10) = 15.2,
    // and B still takes its full share (A's grid power is dearer).
    let mut green = p.clone();
    green.hubs[0].green_kw = 10.0;
    let sol = solve_hour(&green).expect("solved");
    assert!((sol.cost - 15.2).abs() < 1e-6, "{}", sol.cost);
    // Not enough capacity anywhere: the rest is unserved.
    let mut tight = p.clone();
    tight.pools[0].capacity = 0.1;
    let sol = solve_hour(&tight).expect("solved");
    assert!((sol.unserved[0] - 0.3).abs() < 1e-6, "{:?}", sol.unserved);
}

#[test]
fn the_plan_is_a_lower_bound_of_heuristic_plans_on_the_builtin_scenario() {
    let s = builtin::load("china-east-west").expect("valid");
    let topo = tokengrid_net::Topology::new(&s);
    let plan = plan(&s).expect("solved");
    assert_eq!(plan.hours.len(), 24);
    let mut heuristic_totals = [0.0; 3];
    for hour in 0..24 {
        let p = hour_problem(&s, &topo, hour);
        let sol = solve_hour(&p).expect("solved");
        let lp = hour_objective(&p, &sol.shares, &sol.unserved);
        let keys: [&RankKey; 3] = [
            &|_, o, _| o.rtt_ms,                          // nearest
            &|_, o, h| o.kwh * h.tariff, // cheapest / cost-slo (every hub meets the SLOs here)
            &|_, o, h| o.kwh * h.tariff * 1e3 + o.rtt_ms, // cost with a latency tie-break
        ];
        for (i, key) in keys.iter().enumerate() {
            let (shares, unserved) = greedy_shares(&p, key);
            let h = hour_objective(&p, &shares, &unserved);
            assert!(
                lp <= h + 1e-6 * h.abs(),
                "hour {hour}, heuristic {i}: LP {lp} > {h}"
            );
            heuristic_totals[i] += hour_cost(&p, &shares);
        }
        assert!((sol.cost - plan.hours[hour].cost).abs() < 1e-6);
    }
    assert!(
        plan.total_cost
            <= heuristic_totals
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                + 1e-6
    );
    // Western hubs carry work in the plan.
    let west = ["gansu", "ningxia", "inner-mongolia", "guizhou"];
    let west_util: f64 = plan
        .hubs
        .iter()
        .filter(|h| west.contains(&h.name.as_str()))
        .map(|h| h.mean_utilization)
        .sum();
    assert!(west_util > 0.0, "{:?}", plan.hubs);
}

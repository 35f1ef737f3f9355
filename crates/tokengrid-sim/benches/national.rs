//! National scale, printed as medians of three runs (`cargo bench -p tokengrid-sim --bench
//! national`): the built-in china-national day (about 5e10 requests) in fluid mode under three
//! policies, and its hourly LP plan. Issue 14's bound: each under 10 s on a 2-core machine.

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let s = tokengrid_core::builtin::load("china-national").expect("built-in");
    for policy in ["nearest", "cost-slo", "green"] {
        let mut wall = Vec::new();
        let mut requests = 0;
        for _ in 0..3 {
            let o = tokengrid_sim::Options {
                policy: policy.into(),
                duration_s: None,
                seed: None,
                progress: None,
                fluid_step_s: Some(60.0),
                horizon_s: None,
                window: None,
            };
            let start = Instant::now();
            let r = tokengrid_sim::run(&s, &o).expect("run");
            wall.push(start.elapsed().as_secs_f64());
            requests = r.requests.total;
        }
        println!(
            "simulate china-national --mode fluid --policy {policy}: {requests} requests, median {:.2} s of 3",
            median(wall)
        );
    }
    let mut wall = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let p = tokengrid_sched::plan(&s).expect("plan");
        wall.push(start.elapsed().as_secs_f64());
        assert!(!p.hours.is_empty());
    }
    println!("plan china-national: median {:.3} s of 3", median(wall));
}

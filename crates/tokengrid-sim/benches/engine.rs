//! Engine throughput, printed as medians of repeated runs (`cargo bench -p tokengrid-sim`):
//!
//! 1. a plain M/M/c network on the bare event engine (arrivals and services, no policy);
//! 2. the built-in china-east-west scenario end to end (policy decisions, batching, energy).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tokengrid_sim::engine::{Engine, ns};

#[derive(Clone, Copy)]
enum Ev {
    Arrive,
    Depart,
}

/// M/M/c with `c` servers at load `rho`, for `customers` arrivals. Returns (events, seconds).
fn mmc(c: u32, rho: f64, customers: u64) -> (u64, f64) {
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let mu = 1.0;
    let lambda = rho * f64::from(c) * mu;
    let exp = |rate: f64, rng: &mut Pcg64Mcg| -(1.0 - rng.random::<f64>()).ln() / rate;
    let mut e: Engine<Ev> = Engine::new();
    let mut busy = 0u32;
    let mut queue = 0u64;
    let mut arrived = 0u64;
    let start = Instant::now();
    e.schedule(ns(exp(lambda, &mut rng)), Ev::Arrive);
    while let Some((_, ev)) = e.pop() {
        match ev {
            Ev::Arrive => {
                arrived += 1;
                if arrived < customers {
                    e.after(ns(exp(lambda, &mut rng)), Ev::Arrive);
                }
                if busy < c {
                    busy += 1;
                    e.after(ns(exp(mu, &mut rng)), Ev::Depart);
                } else {
                    queue += 1;
                }
            }
            Ev::Depart => {
                if queue > 0 {
                    queue -= 1;
                    e.after(ns(exp(mu, &mut rng)), Ev::Depart);
                } else {
                    busy -= 1;
                }
            }
        }
    }
    (e.events(), start.elapsed().as_secs_f64())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let runs = 5;
    for (c, rho) in [(1, 0.9), (8, 0.9), (64, 0.9)] {
        let rates: Vec<f64> = (0..runs)
            .map(|_| {
                let (events, secs) = mmc(c, rho, 2_000_000);
                events as f64 / secs
            })
            .collect();
        println!(
            "M/M/{c} at load {rho}: median {:.1} M events/s over {runs} runs of 4 M events",
            median(rates) / 1e6
        );
    }
    let s = tokengrid_core::builtin::load("china-east-west").expect("built-in");
    let mut req_rates = Vec::new();
    let mut ev_rates = Vec::new();
    for _ in 0..3 {
        let o = tokengrid_sim::Options {
            policy: "cost-slo".into(),
            duration_s: Some(2.0 * 3600.0),
            seed: None,
            progress: None,
            fluid_step_s: None,
            horizon_s: None,
            window: None,
        };
        let start = Instant::now();
        let r = tokengrid_sim::run(&s, &o).expect("run");
        let secs = start.elapsed().as_secs_f64();
        req_rates.push(r.requests.total as f64 / secs);
        ev_rates.push(r.engine.events as f64 / secs);
    }
    println!(
        "china-east-west, 2 h under cost-slo: median {:.2} M requests/s end to end ({:.2} M events/s), 3 runs",
        median(req_rates) / 1e6,
        median(ev_rates) / 1e6
    );
}

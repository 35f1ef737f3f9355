//! One discrete run for profiling the scenario path: prints requests, wall seconds, requests
//! per second and a digest of the report without its engine timings (so a change can be checked
//! to leave every figure bit-identical).
//!
//! cargo run --release -p tokengrid-sim --example speed -- [SCENARIO] [POLICY] [DURATION_S]

use std::hash::{Hash, Hasher};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args.first().map_or("china-east-west", String::as_str);
    let policy = args.get(1).map_or("cost-slo", String::as_str);
    let duration_s = args
        .get(2)
        .map(|d| d.parse::<f64>().expect("duration in seconds"));
    let s = tokengrid_core::load(scenario).expect("scenario");
    let opts = tokengrid_sim::Options {
        policy: policy.into(),
        duration_s,
        ..Default::default()
    };
    let r = tokengrid_sim::run(&s, &opts).expect("run");
    let mut v = serde_json::to_value(&r).expect("report");
    let engine = v["engine"].take();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    let wall = engine["wall_seconds"].as_f64().unwrap_or(0.0);
    let n = r.requests.total;
    println!(
        "{scenario} {policy}: {n} requests, {wall:.3} s, {:.0} requests/s, digest {:016x}",
        n as f64 / wall,
        h.finish()
    );
}

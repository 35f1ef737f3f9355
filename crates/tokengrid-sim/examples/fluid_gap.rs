//! Fluid against discrete on the default day, per policy: cost, energy, SLO per class,
//! utilization east and west, per-hub shares. Discrete reports are cached in
//! $TMPDIR/fluid-gap-POLICY.json (delete them after changing the discrete mode); the fluid
//! reports are written beside them as fluid-gap-POLICY-fluid.json.
//!
//! cargo run --release -p tokengrid-sim --example fluid_gap [POLICY...]

use serde_json::Value;
use tokengrid_sim::Options;

fn opts(policy: &str, fluid: bool) -> Options {
    Options {
        policy: policy.into(),
        duration_s: None,
        seed: None,
        progress: None,
        fluid_step_s: fluid.then_some(60.0),
        horizon_s: None,
        window: None,
    }
}

fn main() {
    if std::env::var("NATIONAL").is_ok() {
        let s = tokengrid_core::builtin::load("china-national").expect("built-in");
        for p in ["nearest", "cost-slo", "green"] {
            let t = std::time::Instant::now();
            let r = tokengrid_sim::run(&s, &opts(p, true)).expect("fluid");
            let total = r.requests.completed as f64;
            print!(
                "national {p}: cost {:.2} M, SLO {:.1}%, [{:.2} s]",
                r.energy.cost / 1e6,
                r.requests.slo_met_fraction * 100.0,
                t.elapsed().as_secs_f64()
            );
            for c in &r.classes {
                print!(" {} {:.1}", c.name, c.slo_met_fraction * 100.0);
            }
            println!();
            for h in &r.hubs {
                print!(
                    " {}:{:.1}/{:.0}%",
                    h.name,
                    h.requests as f64 / total * 100.0,
                    h.utilization * 100.0
                );
            }
            println!();
        }
        return;
    }
    let s = tokengrid_core::builtin::load("china-east-west").expect("built-in");
    let east = [
        "beijing-tianjin-hebei",
        "yangtze-river-delta",
        "guangdong-hk-macao",
    ];
    let num = |v: &Value| v.as_f64().expect("number");
    let util = |r: &Value, in_east: bool| {
        let hs: Vec<&Value> = r["hubs"]
            .as_array()
            .expect("hubs")
            .iter()
            .filter(|h| east.contains(&h["name"].as_str().expect("name")) == in_east)
            .collect();
        hs.iter().map(|h| num(&h["utilization"])).sum::<f64>() / hs.len() as f64 * 100.0
    };
    let mut policies: Vec<String> = std::env::args().skip(1).collect();
    if policies.is_empty() {
        policies = vec!["nearest".into(), "cost-slo".into(), "green".into()];
    }
    for p in &policies {
        let cache = std::env::temp_dir().join(format!("fluid-gap-{p}.json"));
        let d: Value = match std::fs::read_to_string(&cache) {
            Ok(t) => serde_json::from_str(&t).expect("cached report"),
            Err(_) => {
                let d = tokengrid_sim::run(&s, &opts(p, false)).expect("discrete");
                let mut v = serde_json::to_value(&d).expect("json");
                v["timeseries"] = serde_json::to_value(&d.timeseries).expect("json");
                std::fs::write(&cache, v.to_string()).expect("cache");
                v
            }
        };
        let t = std::time::Instant::now();
        let f = tokengrid_sim::run(&s, &opts(p, true)).expect("fluid");
        let wall = t.elapsed().as_secs_f64();
        let series = serde_json::to_value(&f.timeseries).expect("json");
        let mut f = serde_json::to_value(&f).expect("json");
        f["timeseries"] = series;
        let dump = std::env::temp_dir().join(format!("fluid-gap-{p}-fluid.json"));
        std::fs::write(&dump, f.to_string()).expect("fluid report");
        let rel = |k1: &str, k2: &str| (num(&f[k1][k2]) / num(&d[k1][k2]) - 1.0) * 100.0;
        let slo = |r: &Value| num(&r["requests"]["slo_met_fraction"]) * 100.0;
        println!(
            "{p}: cost {:+.1}%  kWh {:+.1}%  SLO {:.1} vs {:.1} ({:+.1})  util east {:.1} vs {:.1} ({:+.1})  west {:.1} vs {:.1} ({:+.1})  [{wall:.2} s]",
            rel("energy", "cost"),
            rel("energy", "facility_kwh"),
            slo(&f),
            slo(&d),
            slo(&f) - slo(&d),
            util(&f, true),
            util(&d, true),
            util(&f, true) - util(&d, true),
            util(&f, false),
            util(&d, false),
            util(&f, false) - util(&d, false),
        );
        let arr = |r: &Value, k: &str| r[k].as_array().expect("array").clone();
        for (fc, dc) in arr(&f, "classes").iter().zip(&arr(&d, "classes")) {
            print!(
                "  {} {:.1}/{:.1}",
                fc["name"].as_str().unwrap_or(""),
                num(&fc["slo_met_fraction"]) * 100.0,
                num(&dc["slo_met_fraction"]) * 100.0
            );
        }
        println!();
        let (ft, dt) = (
            num(&f["requests"]["completed"]),
            num(&d["requests"]["completed"]),
        );
        if let Ok(hub) = std::env::var("HOURLY") {
            // Hourly utilization of one hub: fluid / discrete.
            let hourly = |r: &Value| {
                let mut h = vec![(0.0, 0.0); 40];
                for row in r["timeseries"].as_array().expect("timeseries") {
                    if row["hub"] == hub.as_str() {
                        let k = (num(&row["t_s"]) / 3600.0) as usize;
                        if k < h.len() {
                            h[k].0 += num(&row["utilization"]);
                            h[k].1 += 1.0;
                        }
                    }
                }
                h.iter()
                    .map(|(u, n)| if *n > 0.0 { u / n * 100.0 } else { 0.0 })
                    .collect::<Vec<f64>>()
            };
            let (hf, hd) = (hourly(&f), hourly(&d));
            for k in 0..30 {
                print!("{k}:{:.0}/{:.0} ", hf[k], hd[k]);
            }
            println!();
        }
        for (fh, dh) in arr(&f, "hubs").iter().zip(&arr(&d, "hubs")) {
            println!(
                "    {:<22} share {:5.1} vs {:5.1}  util {:5.1} vs {:5.1}  wait {:8.1} vs {:8.1} ms",
                fh["name"].as_str().unwrap_or(""),
                num(&fh["requests"]) / ft * 100.0,
                num(&dh["requests"]) / dt * 100.0,
                num(&fh["utilization"]) * 100.0,
                num(&dh["utilization"]) * 100.0,
                num(&fh["mean_wait_ms"]),
                num(&dh["mean_wait_ms"])
            );
        }
    }
}

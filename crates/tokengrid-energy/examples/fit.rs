//! Refits the serving model's global constants on every calibration row at once:
//! `cargo run --release -p tokengrid-energy --example fit`.
//!
//! Coordinate descent on the mean absolute log error of throughput and energy (inter-token
//! latency at half weight), plus the log of any ratio past 1.5x, multiplicative steps halving
//! when no move helps. The optional argument is the computed prompt tokens of the chat rows. Efficiencies are
//! held to what hardware reaches (MBU <= 0.92, MFU <= 0.90). Prints the fitted
//! constants to paste into `Physics::FITTED`, and the errors before and after.

use tokengrid_energy::Physics;
use tokengrid_energy::fidelity::{self, Row, deepseek_day, deepseek_day_model, model_row};

fn loss(rows: &[Row], p: &Physics) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for r in rows {
        let Some(m) = model_row(r, p) else { continue };
        sum += (m.throughput / r.throughput).ln().abs();
        n += 1.0;
        if let Some(j) = r.joules {
            sum += (m.joules / j).ln().abs();
            n += 1.0;
        }
        if let Some(i) = r.itl_s {
            sum += 0.5 * (m.itl_s / i).ln().abs();
            n += 0.5;
        }
    }
    // DeepSeek's day weighs as much as ten rows.
    if let Some((d, pf)) = deepseek_day_model(p) {
        sum += 10.0 * (d / deepseek_day::DECODE_PER_NODE).ln().abs();
        sum += 10.0 * (pf / deepseek_day::computed_prefill_per_node()).ln().abs();
        n += 20.0;
    }
    // Rows past 1.5x (measurements no monotone model follows aside) weigh extra.
    let worst = fidelity::summary(rows, p).worst;
    sum / n + (worst.ln() - 1.5f64.ln()).max(0.0)
}

fn fields(p: &mut Physics) -> [(&'static str, &mut f64, f64); 10] {
    [
        ("decode_mbu", &mut p.decode_mbu, 0.92),
        ("low_precision_mbu", &mut p.low_precision_mbu, 0.92),
        ("prefill_mfu", &mut p.prefill_mfu, 0.9),
        ("decode_mfu", &mut p.decode_mfu, 0.9),
        ("host_s_per_sequence", &mut p.host_s_per_sequence, 1e-3),
        ("step_overhead_s", &mut p.step_overhead_s, 0.1),
        ("collective_latency_s", &mut p.collective_latency_s, 1e-3),
        ("power_floor", &mut p.power_floor, 0.95),
        ("power_per_compute", &mut p.power_per_compute, 5.0),
        ("power_per_memory", &mut p.power_per_memory, 5.0),
    ]
}

fn main() {
    let mut rows = fidelity::rows();
    let prompt: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(fidelity::ARENA_COMPUTED_PROMPT_TOKENS);
    for r in rows.iter_mut().filter(|r| r.source == "ML.ENERGY v3") {
        r.prompt = prompt;
    }
    let mut p = Physics::FITTED;

    let start = loss(&rows, &p);
    println!("start loss {start:.4}: {:?}", fidelity::summary(&rows, &p));
    let mut step = 0.3;
    let mut best = start;
    while step > 0.005 {
        let mut improved = false;
        for i in 0..10 {
            for dir in [1.0 + step, 1.0 / (1.0 + step)] {
                let mut q = p;
                let (_, v, max) = fields(&mut q).into_iter().nth(i).expect("field");
                *v = (*v * dir).min(max);
                let l = loss(&rows, &q);
                if l < best - 1e-6 {
                    best = l;
                    p = q;
                    improved = true;
                }
            }
        }
        if !improved {
            step /= 2.0;
        }
    }
    println!("fitted loss {best:.4}: {:?}", fidelity::summary(&rows, &p));
    println!(
        "deepseek day (decode/node, computed prefill/node): {:?} vs ({}, {:.0})",
        deepseek_day_model(&p),
        deepseek_day::DECODE_PER_NODE,
        deepseek_day::computed_prefill_per_node()
    );
    println!("{p:#?}");
}

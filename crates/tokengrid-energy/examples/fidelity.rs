//! Writes docs/fidelity.md: every calibration row, published against modelled.
//! `cargo run --release -p tokengrid-energy --example fidelity > docs/fidelity.md`

use tokengrid_energy::Physics;
use tokengrid_energy::fidelity::{self, deepseek_day, deepseek_day_model, model_row};

fn ratio(m: f64, p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{:.2}", m / p))
}

fn main() {
    let p = Physics::FITTED;
    let rows = fidelity::rows();
    let s = fidelity::summary(&rows, &p);
    print!("{}", include_str!("fidelity_head.md"));
    println!(
        "**{} rows. Median absolute error: throughput {:.1}%, energy per token {:.1}%, inter-token latency {:.1}%. Worst row off by {:.2}x; {:.2}x counting the {} row(s) marked \\* whose measured throughput falls below the same configuration's at a smaller batch.**\n",
        s.rows,
        s.throughput * 100.0,
        s.energy * 100.0,
        s.itl * 100.0,
        s.worst,
        s.worst_any,
        s.non_monotone,
    );
    println!("Constants (`Physics::FITTED` in crates/tokengrid-energy/src/roofline.rs): {p:?}\n");
    if let Some((d, pf)) = deepseek_day_model(&p) {
        println!("## DeepSeek's serving day (H800)\n");
        println!("| figure | published | tokengrid | ratio |\n|---|---:|---:|---:|");
        println!(
            "| decode output tokens/s per node (EP144, 705 sequences per node, KV 4,989) | {:.0} | {d:.0} | {:.2} |",
            deepseek_day::DECODE_PER_NODE,
            d / deepseek_day::DECODE_PER_NODE
        );
        let c = deepseek_day::computed_prefill_per_node();
        println!(
            "| computed prefill tokens/s per node (EP32; 73,700 x (1 - 342/608)) | {c:.0} | {pf:.0} | {:.2} |\n",
            pf / c
        );
    }
    println!("## Every row\n");
    println!(
        "| source | model | GPUs | TP/EP/DP | batch | tokens/s published | tokengrid | ratio | J/token published | tokengrid | ratio | ITL ms published | tokengrid | ratio |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let Some(m) = model_row(r, &p) else { continue };
        let (t, e, d) = r.parallel;
        let mark = if fidelity::non_monotone(&rows, r) {
            " \\*"
        } else {
            ""
        };
        println!(
            "| {}{mark} | {} | {} x {} | {t}/{e}/{d} | {:.0} | {:.0} | {:.0} | {:.2} | {} | {:.3} | {} | {} | {:.1} | {} |",
            r.source,
            r.label,
            r.gpus,
            r.accelerator,
            r.batch,
            r.throughput,
            m.throughput,
            m.throughput / r.throughput,
            r.joules.map_or("-".into(), |j| format!("{j:.3}")),
            m.joules,
            ratio(m.joules, r.joules),
            r.itl_s.map_or("-".into(), |i| format!("{:.1}", i * 1e3)),
            m.itl_s * 1e3,
            ratio(m.itl_s, r.itl_s),
        );
    }
}

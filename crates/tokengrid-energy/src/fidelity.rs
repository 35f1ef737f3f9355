//! The serving model against published measurements: every calibration row of
//! `data/facts/serving` (ML.ENERGY v3 on H100 and B200, MLPerf v4.1 Llama 2 70B on H100 and H200)
//! run through [`Replica::steady_state`] and compared with what was measured.
//!
//! `cargo run -p tokengrid-energy --example fidelity > docs/fidelity.md` writes the table;
//! `cargo run -p tokengrid-energy --example fit` refits [`Physics::FITTED`] on the same rows.

use tokengrid_core::catalog;

pub use crate::deploy::{accelerator_of, model_of};

use crate::roofline::{Physics, Replica};

const MLENERGY: &str = include_str!("../../../data/facts/serving/mlenergy_v3_lm_arena_chat.csv");
const MLPERF: &str = include_str!("../../../data/facts/serving/mlperf_v4.1_llama2_70b.csv");

/// Prompt tokens a request of the LM Arena chat task makes the server compute.
///
/// assumption: the data do not give prompt lengths; ML.ENERGY's blog quotes a mean of about 634
/// prompt tokens for one model on this task (facts/serving/SOURCE.md). vLLM's prefix cache is on
/// by default and the task's multi-turn prompts share their history, so fewer are computed. This
/// is the one per-dataset figure of the fit: `examples/fit.rs PROMPT` refits the constants at a
/// given value; 100 gave the lowest loss of 100, 300 and 634 (0.114, 0.122, 0.142), and at 634
/// the fit pushes MFU and MBU to their bounds.
pub const ARENA_COMPUTED_PROMPT_TOKENS: f64 = 100.0;

/// MLPerf's OpenOrca requests, (prompt, output) tokens.
///
/// assumption: the result logs do not give them; OpenOrca prompts average a few hundred tokens
/// (facts/serving/mlperf_v4.1_llama2_70b.csv); the MLPerf Llama 2 70B task caps output at 1,024.
pub const OPENORCA_TOKENS: (f64, f64) = (300.0, 300.0);

/// One published configuration and what it measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Data set.
    pub source: &'static str,
    /// Catalog model.
    pub model: &'static str,
    /// Model as the data set names it.
    pub label: String,
    /// Catalog accelerator.
    pub accelerator: &'static str,
    /// Accelerators per replica.
    pub gpus: u32,
    /// Tensor, expert and data parallel degree as published.
    pub parallel: (u32, u32, u32),
    /// Bytes per weight served.
    pub bytes_per_param: f64,
    /// Measured running batch per replica.
    pub batch: f64,
    /// Prompt tokens computed per request.
    pub prompt: f64,
    /// Output tokens per request.
    pub output: f64,
    /// Measured output tokens/s per replica.
    pub throughput: f64,
    /// Measured GPU joules per output token, where published.
    pub joules: Option<f64>,
    /// Measured median inter-token latency, s, where published.
    pub itl_s: Option<f64>,
}

/// What the model says for a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modelled {
    /// Output tokens/s per replica.
    pub throughput: f64,
    /// Accelerator joules per output token (what NVML measures).
    pub joules: f64,
    /// Inter-token latency, s.
    pub itl_s: f64,
}

fn catalog_model(id: &str) -> Option<&'static str> {
    let id = id.to_ascii_lowercase();
    Some(if id.contains("llama-3.1-8b") {
        "llama-3.1-8b"
    } else if id.contains("llama-3.1-70b") || id.contains("llama-3.3-70b") {
        "llama-3.1-70b"
    } else if id.contains("405b") {
        "llama-3.1-405b"
    } else if id.contains("qwen3-235b") {
        "qwen3-235b-a22b"
    } else if id.contains("deepseek-v3") {
        "deepseek-v3"
    } else {
        return None;
    })
}

fn catalog_accelerator(gpu: &str) -> Option<&'static str> {
    Some(match gpu {
        "H100" | "H100-SXM" => "H100-SXM",
        "B200" => "B200",
        "H200" => "H200",
        _ => return None,
    })
}

/// Every calibration row.
pub fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    let mut lines = MLENERGY.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let c = |name: &str| head.iter().position(|h| *h == name).unwrap_or(usize::MAX);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or_default();
        let num = |n: &str| get(c(n)).parse::<f64>().ok();
        let int = |n: &str| get(c(n)).parse::<u32>().unwrap_or(1);
        let (Some(model), Some(acc)) = (
            catalog_model(get(c("model_id"))),
            catalog_accelerator(get(c("gpu_model"))),
        ) else {
            continue;
        };
        let (Some(batch), Some(output), Some(tput)) = (
            num("avg_batch_size"),
            num("avg_output_len"),
            num("output_throughput_tokens_per_sec"),
        ) else {
            continue;
        };
        out.push(Row {
            source: "ML.ENERGY v3",
            model,
            label: get(c("model_id"))
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            accelerator: acc,
            gpus: int("num_gpus"),
            parallel: (
                int("tensor_parallel"),
                int("expert_parallel"),
                int("data_parallel"),
            ),
            bytes_per_param: if get(c("weight_precision")) == "fp8" {
                1.0
            } else {
                2.0
            },
            batch,
            prompt: ARENA_COMPUTED_PROMPT_TOKENS,
            output,
            throughput: tput,
            joules: num("energy_per_token_joules"),
            itl_s: num("median_itl_ms").map(|ms| ms / 1e3),
        });
    }
    let mut lines = MLPERF.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let c = |name: &str| head.iter().position(|h| *h == name).unwrap_or(usize::MAX);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or_default();
        let int = |n: &str| get(c(n)).parse::<u32>().unwrap_or(1);
        let Some(acc) = catalog_accelerator(get(c("accelerator"))) else {
            continue;
        };
        let (Ok(total), Ok(batch)) = (
            get(c("output_tokens_per_s_total")).parse::<f64>(),
            get(c("batch_per_replica")).parse::<f64>(),
        ) else {
            continue;
        };
        let tp = int("gpus_per_replica");
        out.push(Row {
            source: "MLPerf v4.1",
            model: "llama-2-70b",
            label: "Llama-2-70b (FP8)".into(),
            accelerator: acc,
            gpus: tp,
            parallel: (tp, 1, 1),
            bytes_per_param: 1.0,
            batch,
            prompt: OPENORCA_TOKENS.0,
            output: OPENORCA_TOKENS.1,
            throughput: total / f64::from(int("replicas")),
            joules: None,
            itl_s: None,
        });
    }
    out
}

/// The model's answer for `row` under `physics`.
pub fn model_row(row: &Row, physics: &Physics) -> Option<Modelled> {
    let arch = catalog::model(row.model)?;
    let acc = accelerator_of(row.accelerator)?;
    let batch = row.batch.round().max(1.0) as u32;
    // vLLM runs attention tensor parallel over every GPU of a data-parallel rank (its expert
    // parallelism reuses the tensor-parallel ranks), whatever the tensor_parallel column says.
    let tensor = (row.gpus / row.parallel.2.max(1)).max(1);
    let m = model_of(arch, row.bytes_per_param, row.gpus, tensor, batch);
    let r = Replica::with_physics(&m, &acc, row.gpus, physics);
    let s = r.steady_state(row.prompt, row.output, batch);
    Some(Modelled {
        throughput: s.output_tokens_per_s,
        joules: s.accelerator_joules_per_output_token,
        itl_s: s.inter_token_s,
    })
}

/// Median of `v` (0 when empty).
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Whether `row`'s measured throughput is more than 10% below that of the same configuration
/// (model, GPUs, parallelism, precision) at a smaller batch: a measurement no monotone model of
/// batching can follow (ML.ENERGY's Llama 3.1 8B on B200 at batch 128: 4,570 tokens/s between
/// 5,589 at 64 and 7,664 at 255).
pub fn non_monotone(rows: &[Row], row: &Row) -> bool {
    rows.iter().any(|o| {
        o.source == row.source
            && o.label == row.label
            && o.accelerator == row.accelerator
            && o.gpus == row.gpus
            && o.parallel == row.parallel
            && o.batch < row.batch
            && row.throughput < 0.9 * o.throughput
    })
}

/// Median absolute relative errors and the worst ratio over all rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Rows compared.
    pub rows: usize,
    /// Median |model / measured - 1| of throughput.
    pub throughput: f64,
    /// Same for accelerator joules per output token (rows that publish it).
    pub energy: f64,
    /// Same for inter-token latency (rows that publish it).
    pub itl: f64,
    /// Largest max(ratio, 1 / ratio) over throughput and energy, rows whose measurement is
    /// [`non_monotone`] left out.
    pub worst: f64,
    /// Largest max(ratio, 1 / ratio) over all rows.
    pub worst_any: f64,
    /// Rows whose measurement is [`non_monotone`].
    pub non_monotone: usize,
}

/// The errors of `physics` over `rows`.
pub fn summary(rows: &[Row], physics: &Physics) -> Summary {
    let (mut t, mut e, mut l) = (Vec::new(), Vec::new(), Vec::new());
    let (mut worst, mut worst_any): (f64, f64) = (1.0, 1.0);
    let (mut count, mut odd) = (0, 0);
    for row in rows {
        let Some(m) = model_row(row, physics) else {
            continue;
        };
        count += 1;
        let flagged = non_monotone(rows, row);
        odd += usize::from(flagged);
        let mut off = |r: f64| {
            worst_any = worst_any.max(r.max(1.0 / r));
            if !flagged {
                worst = worst.max(r.max(1.0 / r));
            }
        };
        let rt = m.throughput / row.throughput;
        t.push((rt - 1.0).abs());
        off(rt);
        if let Some(j) = row.joules {
            let re = m.joules / j;
            e.push((re - 1.0).abs());
            off(re);
        }
        if let Some(i) = row.itl_s {
            l.push((m.itl_s / i - 1.0).abs());
        }
    }
    Summary {
        rows: count,
        throughput: median(&mut t),
        energy: median(&mut e),
        itl: median(&mut l),
        worst,
        worst_any,
        non_monotone: odd,
    }
}

/// DeepSeek's published serving day on H800 (`data/facts/deepseek_serving_day.json`; day-6
/// inference overview): decode 14,800 output tokens/s per node at an average KV length of 4,989
/// and 20-22 tokens/s per user; prefill 73,700 input tokens/s per node, of which 342 of 608
/// billion were KV-cache hits, so 73,700 x (1 - 342/608) = 32,240 computed.
pub mod deepseek_day {
    /// Published decode output tokens/s per node.
    pub const DECODE_PER_NODE: f64 = 14_800.0;
    /// Published prefill input tokens/s per node, cache hits included.
    pub const PREFILL_PER_NODE: f64 = 73_700.0;
    /// Input tokens of the day, and those served from the KV cache.
    pub const INPUT_TOKENS: (f64, f64) = (608e9, 342e9);
    /// Average KV length per output token.
    pub const KV_LENGTH: f64 = 4_989.0;
    /// Output tokens/s per user (midpoint of 20-22).
    pub const PER_USER: f64 = 21.0;
    /// Decode deployment: EP144 / DP144 over 18 nodes (day-6 overview).
    pub const DECODE_GPUS: u32 = 144;
    /// Prefill deployment: EP32 / DP32 over 4 nodes.
    pub const PREFILL_GPUS: u32 = 32;

    /// Computed (not cached) prefill tokens/s per node.
    pub fn computed_prefill_per_node() -> f64 {
        PREFILL_PER_NODE * (1.0 - INPUT_TOKENS.1 / INPUT_TOKENS.0)
    }
}

/// The model's (decode output tokens/s per node, computed prefill tokens/s per node) for
/// DeepSeek-V3 on H800 in DeepSeek's deployments: decode at the batch the published per-node
/// rate and per-user speed imply (14,800 / 21 = 705 sequences per node) and the published KV
/// length; prefill of prompts as long as that KV length.
pub fn deepseek_day_model(physics: &Physics) -> Option<(f64, f64)> {
    use deepseek_day::*;
    let arch = catalog::model("deepseek-v3")?;
    let acc = accelerator_of("H800-SXM")?;
    let per_node = f64::from(acc.per_node);
    let nodes = f64::from(DECODE_GPUS) / per_node;
    let batch = (DECODE_PER_NODE / PER_USER * nodes).round() as u32;
    let m = model_of(arch, 1.0, DECODE_GPUS, 1, batch);
    let r = Replica::with_physics(&m, &acc, DECODE_GPUS, physics);
    let decode = r.decode_tokens_per_s(batch, KV_LENGTH) / nodes;
    let m = model_of(arch, 1.0, PREFILL_GPUS, 1, batch);
    let r = Replica::with_physics(&m, &acc, PREFILL_GPUS, physics);
    let prefill = r.prefill_tokens_per_s_at(KV_LENGTH) / (f64::from(PREFILL_GPUS) / per_node);
    Some((decode, prefill))
}

//! The per-token figures of one deployment at every hub of a scenario: what `tokengrid energy`
//! prints (JSON keys fixed by DESIGN.md).

use serde::Serialize;
use tokengrid_core::{ClassKind, Model, ModelId, Scenario};

use crate::economics::{DEFAULT_PRICE_YUAN_PER_MILLION_TOKENS, Economics};
use crate::power::JOULES_PER_KWH;
use crate::roofline::{Precision, Replica};

/// What to evaluate; `None` fields take the defaults described on each.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Model name.
    pub model: String,
    /// Accelerator type name.
    pub accelerator: String,
    /// Accelerators per replica (default: the model's, when on its own accelerator type; else the
    /// fewest whose HBM holds the weights plus the KV reserve).
    pub accelerators_per_replica: Option<u32>,
    /// Sequences decoded together (default: the most that fit, up to the model's max_batch).
    pub batch: Option<u32>,
    /// Mean KV context per sequence, tokens (default: over the scenario's classes of this model,
    /// mean prompt + half the mean output).
    pub context_tokens: Option<f64>,
    /// Fraction of time the replica is busy (default 1).
    pub busy_fraction: Option<f64>,
    /// Token price, yuan per million output tokens (default: DeepSeek's R1 price).
    pub price_per_million_tokens: Option<f64>,
    /// Prompt tokens of the requests the `serving` steady state serves (default: the scenario's
    /// class mix for the model).
    pub prompt_tokens: Option<f64>,
    /// Output tokens of those requests (default: the class mix).
    pub output_tokens: Option<f64>,
}

/// Why a query cannot be answered (the user's to fix).
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum QueryError {
    /// No model of that name.
    #[error("scenario \"{scenario}\" has no model \"{name}\"\n  help: models: {known}")]
    UnknownModel {
        /// Scenario name.
        scenario: String,
        /// The name asked for.
        name: String,
        /// Known model names.
        known: String,
    },
    /// No accelerator of that name.
    #[error("scenario \"{scenario}\" has no accelerator \"{name}\"\n  help: accelerators: {known}")]
    UnknownAccelerator {
        /// Scenario name.
        scenario: String,
        /// The name asked for.
        name: String,
        /// Known accelerator names.
        known: String,
    },
    /// A value out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The steady state of one replica serving equal requests (DESIGN.md: `energy`'s `serving`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Serving {
    /// Prompt tokens per request.
    pub prompt_tokens: f64,
    /// Output tokens per request.
    pub output_tokens: f64,
    /// Concurrent requests on the replica.
    pub batch: u32,
    /// Output tokens/s of the replica, prefill interleaved.
    pub output_tokens_per_s_per_replica: f64,
    /// Requests completed per second by the replica.
    pub requests_per_s_per_replica: f64,
    /// One decode step, ms.
    pub decode_step_ms: f64,
    /// Time to first token on a free slot, ms.
    pub ttft_ms: f64,
    /// Power of the replica's accelerators, W.
    pub accelerator_power_w: f64,
    /// IT power: accelerators and their hosts, W.
    pub it_power_w: f64,
    /// Accelerator energy per output token, prefill included, J.
    pub accelerator_joules_per_output_token: f64,
    /// IT energy per output token, prefill included, J.
    pub it_joules_per_output_token: f64,
}

/// One hub's cost and uplift for the deployment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HubEconomics {
    /// Hub name.
    pub name: String,
    /// Mean tariff over the day, yuan/kWh.
    pub tariff_yuan_per_kwh: f64,
    /// Hub PUE.
    pub pue: f64,
    /// Electricity cost per million output tokens, yuan.
    pub cost_per_million_output_tokens: f64,
    /// Token revenue over electricity cost.
    pub value_uplift: f64,
}

/// Decode figures of the same replica if every parameter were active.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DenseEquivalent {
    /// Decode tokens/s per replica.
    pub decode_tokens_per_s_per_replica: f64,
    /// IT energy per output token at the same busy fraction, J.
    pub joules_per_output_token: f64,
}

/// Everything `tokengrid energy` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnergySummary {
    /// Scenario name.
    pub scenario: String,
    /// Model name.
    pub model: String,
    /// Accelerator type.
    pub accelerator: String,
    /// "fp8" or "bf16".
    pub precision: &'static str,
    /// Sequences decoded together.
    pub batch: u32,
    /// Accelerators per replica.
    pub accelerators_per_replica: u32,
    /// Mean KV context per sequence, tokens.
    pub context_tokens: f64,
    /// Total and active parameters, billions.
    pub total_params_b: f64,
    /// Active parameters per token, billions.
    pub active_params_b: f64,
    /// Prefill throughput of a replica, tokens/s.
    pub prefill_tokens_per_s_per_replica: f64,
    /// Decode throughput of a replica at `batch`, tokens/s.
    pub decode_tokens_per_s_per_replica: f64,
    /// Decode speed one sequence sees, tokens/s.
    pub decode_tokens_per_s_per_sequence: f64,
    /// Prefill time per prompt token, ms.
    pub prefill_ms_per_token: f64,
    /// Time of one decode step, ms.
    pub decode_step_ms: f64,
    /// IT energy per prompt token while busy, J.
    pub joules_per_prompt_token: f64,
    /// IT energy per output token at the busy fraction, J.
    pub joules_per_output_token: f64,
    /// Output tokens per IT kWh at the busy fraction.
    pub output_tokens_per_kwh: f64,
    /// Fraction of time busy.
    pub busy_fraction: f64,
    /// Token price used for the uplift, yuan per million output tokens.
    pub price_per_million_output_tokens: f64,
    /// The same replica as a dense model (MoE models only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_equivalent: Option<DenseEquivalent>,
    /// One replica serving `batch` requests of `prompt_tokens` + `output_tokens` under continuous
    /// batching, prefill interleaved.
    pub serving: Serving,
    /// Cost and uplift at every hub of the scenario.
    pub hubs: Vec<HubEconomics>,
}

/// Evaluates `q` on scenario `s`.
pub fn summarize(s: &Scenario, q: &Query) -> Result<EnergySummary, QueryError> {
    let model_id = s
        .model_id(&q.model)
        .ok_or_else(|| QueryError::UnknownModel {
            scenario: s.name.clone(),
            name: q.model.clone(),
            known: s
                .models
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let acc_id =
        s.accelerator_id(&q.accelerator)
            .ok_or_else(|| QueryError::UnknownAccelerator {
                scenario: s.name.clone(),
                name: q.accelerator.clone(),
                known: s
                    .accelerators
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    let model = s.model(model_id);
    let acc = s.accelerator(acc_id);
    let n = match q.accelerators_per_replica {
        Some(0) => {
            return Err(QueryError::Invalid(
                "accelerators per replica must be >= 1".into(),
            ));
        }
        Some(n) => n,
        None if model.accelerator == acc_id => model.accelerators_per_replica,
        None => fewest_that_fit(model, acc.hbm_gb),
    };
    let replica = Replica::with_accelerators(model, acc, n);
    let weights_gb = model.weight_bytes() / 1e9;
    if replica.hbm_bytes * (1.0 - tokengrid_core::KV_RESERVE_FRACTION) < model.weight_bytes() {
        return Err(QueryError::Invalid(format!(
            "{} ({weights_gb:.0} GB of weights) does not fit on {n} x {} ({:.0} GB HBM with a {:.0}% KV-cache reserve)\n  help: pass --accelerators-per-replica {} or more",
            model.name,
            acc.name,
            replica.hbm_bytes / 1e9,
            tokengrid_core::KV_RESERVE_FRACTION * 100.0,
            fewest_that_fit(model, acc.hbm_gb)
        )));
    }
    let context = match q.context_tokens {
        Some(c) if !(c.is_finite() && c >= 0.0) => {
            return Err(QueryError::Invalid(format!(
                "context {c} must be a token count >= 0"
            )));
        }
        Some(c) => c,
        None => default_context(s, model_id),
    };
    let fit = replica.kv_batch_limit(context);
    let batch = match q.batch {
        Some(0) => return Err(QueryError::Invalid("batch must be >= 1".into())),
        Some(b) if b > fit => {
            return Err(QueryError::Invalid(format!(
                "batch {b} does not fit: at {context:.0} tokens of context a replica of {n} x {} holds {fit} sequences (model max_batch {})\n  help: lower --batch or --context, or add accelerators per replica",
                acc.name, model.max_batch
            )));
        }
        Some(b) => b,
        None if fit == 0 => {
            return Err(QueryError::Invalid(format!(
                "not one sequence of {context:.0} tokens fits next to the weights\n  help: lower --context or add accelerators per replica"
            )));
        }
        None => fit,
    };
    let busy = q.busy_fraction.unwrap_or(1.0);
    if !(busy > 0.0 && busy <= 1.0) {
        return Err(QueryError::Invalid(format!(
            "busy fraction {busy} must be within 0 < u <= 1"
        )));
    }
    let price = q
        .price_per_million_tokens
        .unwrap_or(DEFAULT_PRICE_YUAN_PER_MILLION_TOKENS);
    if !(price.is_finite() && price >= 0.0) {
        return Err(QueryError::Invalid(format!("price {price} must be >= 0")));
    }
    let (prompt, output) = match (q.prompt_tokens, q.output_tokens) {
        (Some(p), Some(o)) => (p, o),
        (p, o) => {
            let (dp, d_o) = default_request(s, model_id).unwrap_or((context, 1.0));
            (p.unwrap_or(dp), o.unwrap_or(d_o))
        }
    };
    if !(prompt.is_finite() && prompt >= 0.0 && output.is_finite() && output >= 1.0) {
        return Err(QueryError::Invalid(format!(
            "prompt tokens {prompt} must be >= 0 and output tokens {output} >= 1"
        )));
    }
    let serving_batch = match q.batch {
        Some(b) => b,
        None => replica.kv_batch_limit(prompt + output / 2.0).max(1),
    };
    let st = replica.steady_state(prompt, output, serving_batch);
    let serving = Serving {
        prompt_tokens: prompt,
        output_tokens: output,
        batch: serving_batch,
        output_tokens_per_s_per_replica: st.output_tokens_per_s,
        requests_per_s_per_replica: st.requests_per_s,
        decode_step_ms: st.decode_step_s * 1e3,
        ttft_ms: st.ttft_s * 1e3,
        accelerator_power_w: st.accelerator_power_w,
        it_power_w: st.it_power_w,
        accelerator_joules_per_output_token: st.accelerator_joules_per_output_token,
        it_joules_per_output_token: st.it_joules_per_output_token,
    };
    let decode_tps = replica.decode_tokens_per_s(batch, context);
    let j_busy = replica.joules_per_output_token(batch, context);
    let econ = |pue: f64, tariff: f64| Economics {
        joules_per_token_busy: j_busy,
        busy_fraction: busy,
        idle_power_ratio: acc.idle_w / acc.tdp_w,
        pue,
        tariff_per_kwh: tariff,
        price_per_million_tokens: price,
    };
    let it = econ(1.0, 0.0);
    let hubs = s
        .hubs
        .iter()
        .map(|h| {
            let tariff = h.tariff_yuan_per_kwh.mean();
            let e = econ(h.pue, tariff);
            HubEconomics {
                name: h.name.clone(),
                tariff_yuan_per_kwh: tariff,
                pue: h.pue,
                cost_per_million_output_tokens: e.cost_per_million_tokens(),
                value_uplift: e.value_uplift(),
            }
        })
        .collect();
    let dense_equivalent = model.moe.map(|_| {
        let mut dense = model.clone();
        dense.moe = None;
        dense.active_params_b = dense.total_params_b;
        let d = Replica::with_accelerators(&dense, acc, n);
        let e = Economics {
            joules_per_token_busy: d.joules_per_output_token(batch, context),
            ..econ(1.0, 0.0)
        };
        DenseEquivalent {
            decode_tokens_per_s_per_replica: d.decode_tokens_per_s(batch, context),
            joules_per_output_token: e.joules_per_token_it(),
        }
    });
    Ok(EnergySummary {
        scenario: s.name.clone(),
        model: model.name.clone(),
        accelerator: acc.name.clone(),
        precision: match replica.precision {
            Precision::Fp8 => "fp8",
            Precision::Bf16 => "bf16",
        },
        batch,
        accelerators_per_replica: n,
        context_tokens: context,
        total_params_b: model.total_params_b,
        active_params_b: model.active_params_b,
        prefill_tokens_per_s_per_replica: replica.prefill_tokens_per_s(),
        decode_tokens_per_s_per_replica: decode_tps,
        decode_tokens_per_s_per_sequence: 1.0 / replica.decode_step_s(batch, context),
        prefill_ms_per_token: 1e3 / replica.prefill_tokens_per_s(),
        decode_step_ms: replica.decode_step_s(batch, context) * 1e3,
        joules_per_prompt_token: replica.joules_per_prompt_token(),
        joules_per_output_token: it.joules_per_token_it(),
        output_tokens_per_kwh: JOULES_PER_KWH / it.joules_per_token_it(),
        busy_fraction: busy,
        price_per_million_output_tokens: price,
        dense_equivalent,
        serving,
        hubs,
    })
}

/// The fewest accelerators of `hbm_gb` each whose HBM holds the model's weights plus the KV
/// reserve.
pub fn fewest_that_fit(model: &Model, hbm_gb: f64) -> u32 {
    let need = model.weight_bytes() / (1.0 - tokengrid_core::KV_RESERVE_FRACTION) / (hbm_gb * 1e9);
    (need.ceil().max(1.0)).min(f64::from(u32::MAX)) as u32
}

/// Mean KV context of the scenario's requests for `model`: mean prompt + half the mean output of
/// [`default_request`] (a sequence's context grows from its prompt to prompt + output while it
/// decodes). 1,000 tokens when no class uses the model.
pub fn default_context(s: &Scenario, model: ModelId) -> f64 {
    default_request(s, model).map_or(1000.0, |(p, o)| p + o / 2.0)
}

/// Mean (prompt, output) tokens of the scenario's requests for `model`: over its inference and
/// batch classes, weighted by the classes' shares of the regions' peak request rates (equal
/// weights when no region sends them). `None` when no class uses the model.
pub fn default_request(s: &Scenario, model: ModelId) -> Option<(f64, f64)> {
    let (mut sum, mut weights) = ((0.0, 0.0), 0.0);
    let mut plain = Vec::new();
    for (ci, c) in s.classes.iter().enumerate() {
        let (prompt, output) = match &c.kind {
            ClassKind::Inference(i) if i.model == model => (i.prompt_tokens, i.output_tokens),
            ClassKind::Batch(b) if b.model == model => (b.prompt_tokens, b.output_tokens),
            _ => continue,
        };
        let (p, o) = (prompt.mean(), output.mean());
        let w: f64 = s
            .regions
            .iter()
            .flat_map(|r| {
                r.mix
                    .iter()
                    .filter(|(id, _)| id.index() == ci)
                    .map(move |(_, share)| r.peak_rps * share)
            })
            .sum();
        sum = (sum.0 + w * p, sum.1 + w * o);
        weights += w;
        plain.push((p, o));
    }
    if weights > 0.0 {
        Some((sum.0 / weights, sum.1 / weights))
    } else if plain.is_empty() {
        None
    } else {
        let n = plain.len() as f64;
        Some((
            plain.iter().map(|x| x.0).sum::<f64>() / n,
            plain.iter().map(|x| x.1).sum::<f64>() / n,
        ))
    }
}

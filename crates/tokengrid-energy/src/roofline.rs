//! Roofline throughput of one model replica on its accelerators.
//!
//! - Prefill is compute-bound: `time = 2 x active_params x prompt_tokens / (peak_flops x MFU)`.
//! - A decode step of a batch of `b` sequences is the slower of reading memory and computing:
//!   `step = max(bytes / (HBM bandwidth x MBU), 2 x active_params x b / (peak_flops x MFU))`, where
//!   `bytes` = weights the step touches + the KV cache of the batch.
//! - A MoE step touches the shared (always active) weights and the experts the batch's tokens pick:
//!   with `E` routed experts, `k` per token and `n` tokens, a layer activates
//!   `E x (1 - (1 - k/E)^n)` distinct experts on average (each token picks `k` of `E` uniformly), so
//!   at batch 1 a step reads only the active parameters and at large batch it reads all of them.
//! - The replica's weights, bytes and FLOPs are spread over its accelerators: peak FLOPs and HBM
//!   bandwidth add up across them.
//!
//! Compute runs in FP8 where the weights are at most one byte and the accelerator has FP8 tensor
//! cores, else in BF16 (dense peak figures in both cases).
//!
//! The model holds within the regime it names: one replica, no network between replicas, and the
//! achieved efficiencies (MFU, MBU) lumping every overhead the two terms do not model (attention
//! kernels, expert-parallel all-to-all, scheduling). Measured throughput overrides replace the
//! roofline where a scenario gives them.

use tokengrid_core::{Accelerator, Model};

/// Default achieved fraction of peak FLOPs in prefill.
///
/// assumption: large-batch prefill of a well-tuned serving stack reaches 40% of dense peak; with it
/// DeepSeek-V3 on H800 lands 16% above DeepSeek's published prefill throughput per node
/// (`tests/main.rs`, calibration), which was not fitted.
pub const DEFAULT_PREFILL_MFU: f64 = 0.40;

/// Default achieved fraction of peak FLOPs in decode (the compute side of a decode step).
///
/// assumption: as prefill; decode is memory-bound at the batch sizes served, so this default
/// rarely decides a step.
pub const DEFAULT_DECODE_MFU: f64 = 0.40;

/// Default achieved fraction of peak HBM bandwidth in decode.
///
/// Calibrated, not measured: DeepSeek's published day of V3/R1 serving on H800
/// (`data/facts/deepseek_serving_day.json`: 14,800 output tokens/s per node at an average KV
/// length of 4,989 and ~21 tokens/s per user) is matched by a 32-GPU replica at MBU 0.35. The
/// figure lumps what the two-term roofline leaves out of a multi-node expert-parallel deployment:
/// all-to-all dispatch and combine, MLA attention kernels, scheduling. A single-node dense model on
/// a well-tuned stack reaches 0.6-0.85 of peak bandwidth; set `decode_mbu` on the model there.
pub const DEFAULT_DECODE_MBU: f64 = 0.35;

/// Achieved efficiencies of a deployment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    /// Fraction of peak FLOPs reached in prefill.
    pub prefill_mfu: f64,
    /// Fraction of peak FLOPs reached in decode.
    pub decode_mfu: f64,
    /// Fraction of peak HBM bandwidth reached in decode.
    pub decode_mbu: f64,
}

impl Default for Efficiency {
    fn default() -> Self {
        Efficiency {
            prefill_mfu: DEFAULT_PREFILL_MFU,
            decode_mfu: DEFAULT_DECODE_MFU,
            decode_mbu: DEFAULT_DECODE_MBU,
        }
    }
}

impl Efficiency {
    /// The model's own efficiencies where the scenario sets them, the defaults elsewhere.
    pub fn of(model: &Model) -> Self {
        let d = Efficiency::default();
        Efficiency {
            prefill_mfu: model.prefill_mfu.unwrap_or(d.prefill_mfu),
            decode_mfu: model.decode_mfu.unwrap_or(d.decode_mfu),
            decode_mbu: model.decode_mbu.unwrap_or(d.decode_mbu),
        }
    }
}

/// Numeric precision of the matrix multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 8-bit floating point tensor cores.
    Fp8,
    /// BF16 tensor cores.
    Bf16,
}

/// One replica of a model on its accelerators: the numbers the roofline needs, precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Accelerators in the replica.
    pub accelerators: u32,
    /// Compute precision.
    pub precision: Precision,
    /// Peak dense FLOP/s of the whole replica at that precision.
    pub peak_flops: f64,
    /// Peak HBM bytes/s of the whole replica.
    pub hbm_bytes_per_s: f64,
    /// HBM capacity of the whole replica, bytes.
    pub hbm_bytes: f64,
    /// Parameters active per token.
    pub active_params: f64,
    /// Parameters read by every step whatever the routing (attention, dense layers, shared
    /// experts, embeddings); all parameters for a dense model.
    pub shared_params: f64,
    /// Parameters of one routed expert summed over the MoE layers (0 for a dense model).
    pub expert_params: f64,
    /// Routed experts, `E` (0 for a dense model).
    pub experts: u32,
    /// Experts per token, `k` (0 for a dense model).
    pub experts_per_token: u32,
    /// Total parameters.
    pub total_params: f64,
    /// Bytes per weight.
    pub bytes_per_param: f64,
    /// KV-cache bytes per token of context.
    pub kv_bytes_per_token: f64,
    /// Concurrent sequences the deployment allows.
    pub max_batch: u32,
    /// Achieved efficiencies.
    pub efficiency: Efficiency,
    /// Measured prefill tokens/s of the replica, replacing the roofline.
    pub prefill_override: Option<f64>,
    /// Measured decode tokens/s of one sequence alone (batch 1), anchoring the decode roofline.
    pub decode_override: Option<f64>,
    /// Board power at full load of one accelerator, W.
    pub tdp_w: f64,
    /// Board power when idle of one accelerator, W.
    pub idle_w: f64,
}

impl Replica {
    /// A replica of `model` as the scenario deploys it, on accelerator type `acc`.
    pub fn new(model: &Model, acc: &Accelerator) -> Self {
        Self::with_accelerators(model, acc, model.accelerators_per_replica)
    }

    /// A replica of `model` on `n` accelerators of type `acc` (to compare deployments).
    pub fn with_accelerators(model: &Model, acc: &Accelerator, n: u32) -> Self {
        let precision = match acc.fp8_tflops {
            Some(_) if model.bytes_per_param <= 1.0 => Precision::Fp8,
            _ => Precision::Bf16,
        };
        let tflops = match precision {
            Precision::Fp8 => acc.fp8_tflops.unwrap_or(acc.bf16_tflops),
            Precision::Bf16 => acc.bf16_tflops,
        };
        let n_f = f64::from(n);
        let total = model.total_params_b * 1e9;
        let active = model.active_params_b * 1e9;
        let (shared, expert, e, k) = match model.moe {
            // total = shared + E x expert, active = shared + k x expert.
            Some(moe) if moe.experts > moe.experts_per_token => {
                let e = f64::from(moe.experts);
                let k = f64::from(moe.experts_per_token);
                let expert = (total - active) / (e - k);
                (
                    active - k * expert,
                    expert,
                    moe.experts,
                    moe.experts_per_token,
                )
            }
            _ => (total, 0.0, 0, 0),
        };
        Replica {
            accelerators: n,
            precision,
            peak_flops: tflops * 1e12 * n_f,
            hbm_bytes_per_s: acc.hbm_tbps * 1e12 * n_f,
            hbm_bytes: acc.hbm_gb * 1e9 * n_f,
            active_params: active,
            shared_params: shared,
            expert_params: expert,
            experts: e,
            experts_per_token: k,
            total_params: total,
            bytes_per_param: model.bytes_per_param,
            kv_bytes_per_token: model.kv_bytes_per_token,
            max_batch: model.max_batch,
            efficiency: Efficiency::of(model),
            prefill_override: model.prefill_tokens_per_s,
            decode_override: model.decode_tokens_per_s,
            tdp_w: acc.tdp_w,
            idle_w: acc.idle_w,
        }
    }

    /// Prefill throughput of the replica, tokens/s: the measured figure where given, else
    /// `peak_flops x MFU / (2 x active_params)`.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prefill_override.unwrap_or_else(|| {
            self.peak_flops * self.efficiency.prefill_mfu / (2.0 * self.active_params)
        })
    }

    /// Time to prefill `tokens` prompt tokens, s.
    pub fn prefill_s(&self, tokens: f64) -> f64 {
        tokens / self.prefill_tokens_per_s()
    }

    /// Expected distinct experts a layer activates for `tokens` tokens: `E (1 - (1 - k/E)^tokens)`.
    pub fn experts_activated(&self, tokens: f64) -> f64 {
        if self.experts == 0 {
            return 0.0;
        }
        let e = f64::from(self.experts);
        let k = f64::from(self.experts_per_token);
        e * (1.0 - (1.0 - k / e).powf(tokens))
    }

    /// Weight bytes a step over `tokens` tokens reads: shared weights plus activated experts,
    /// never more than the whole model.
    pub fn weights_touched_bytes(&self, tokens: f64) -> f64 {
        let params = self.shared_params + self.experts_activated(tokens) * self.expert_params;
        params.min(self.total_params) * self.bytes_per_param
    }

    /// Roofline time of one decode step of `batch` sequences whose contexts average
    /// `context_tokens`, s (before any measured override).
    pub fn roofline_decode_step_s(&self, batch: u32, context_tokens: f64) -> f64 {
        let b = f64::from(batch.max(1));
        let bytes = self.weights_touched_bytes(b) + b * context_tokens * self.kv_bytes_per_token;
        let memory = bytes / (self.hbm_bytes_per_s * self.efficiency.decode_mbu);
        let compute = 2.0 * self.active_params * b / (self.peak_flops * self.efficiency.decode_mfu);
        memory.max(compute)
    }

    /// Time of one decode step, s: the roofline, scaled where a measured batch-1 decode rate is
    /// given so that a lone sequence decodes at exactly that rate.
    pub fn decode_step_s(&self, batch: u32, context_tokens: f64) -> f64 {
        let step = self.roofline_decode_step_s(batch, context_tokens);
        match self.decode_override {
            Some(rate) => {
                let lone = self.roofline_decode_step_s(1, context_tokens);
                step * (1.0 / rate) / lone
            }
            None => step,
        }
    }

    /// Output tokens/s of the replica decoding `batch` sequences at `context_tokens`.
    pub fn decode_tokens_per_s(&self, batch: u32, context_tokens: f64) -> f64 {
        f64::from(batch.max(1)) / self.decode_step_s(batch, context_tokens)
    }

    /// Sequences whose KV cache fits in HBM next to the weights at `context_tokens` each, capped
    /// by the deployment's `max_batch`.
    pub fn kv_batch_limit(&self, context_tokens: f64) -> u32 {
        let free = self.hbm_bytes - self.total_params * self.bytes_per_param;
        let per_seq = context_tokens.max(1.0) * self.kv_bytes_per_token;
        let fit = (free / per_seq).floor();
        if fit < 1.0 {
            0
        } else {
            (fit.min(f64::from(u32::MAX)) as u32).min(self.max_batch)
        }
    }

    /// Power drawn by the replica's accelerators at `utilization` (0..1), W:
    /// `n x (idle + (TDP - idle) x utilization)`.
    pub fn power_w(&self, utilization: f64) -> f64 {
        f64::from(self.accelerators)
            * crate::power::accelerator_power_w(self.tdp_w, self.idle_w, utilization)
    }

    /// IT energy per output token while decoding `batch` sequences with the replica busy, J.
    pub fn joules_per_output_token(&self, batch: u32, context_tokens: f64) -> f64 {
        self.power_w(1.0) / self.decode_tokens_per_s(batch, context_tokens)
    }

    /// IT energy per prompt token in prefill with the replica busy, J.
    pub fn joules_per_prompt_token(&self) -> f64 {
        self.power_w(1.0) / self.prefill_tokens_per_s()
    }
}

//! Step time, throughput and power of one model replica on its accelerators.
//!
//! A decode step of `b` sequences, on the busiest accelerator of the replica, is
//!
//! ```text
//! step = max(memory, compute) + tensor-parallel all-reduce + expert-parallel all-to-all
//!        + host scheduling
//! ```
//!
//! - **memory**: the weights the step touches plus the batch's KV cache, over HBM bandwidth times
//!   the achieved fraction (`MBU`; FP8 weights stream at a lower fraction than BF16, see
//!   [`Physics::low_precision_mbu`]). Weights shared by every token (attention, dense layers,
//!   shared experts, embeddings) are copied on each data-parallel attention group and split within
//!   it; routed experts are split over all accelerators, and a MoE step reads only the experts its
//!   tokens pick: `E (1 - (1 - k/E)^tokens)` of `E` per layer.
//!   A GQA cache is split across tensor-parallel ranks; an MLA latent is not (every rank holds it).
//! - **compute**: `2 x active parameters` per token plus attention FLOPs that grow with context
//!   ([`ModelArch::decode_attention_flops`]: GQA and MLA differ; sparse attention stops at its
//!   top-k), over peak FLOPs times `MFU`. Expert FLOPs are scaled by the load imbalance of the
//!   hottest accelerator ([`Replica::expert_imbalance`]).
//! - **all-reduce**: two per layer over the tensor-parallel group (ring: `2 (t-1)/t` of the
//!   activations over the scale-up link) plus a fixed latency each.
//! - **all-to-all**: dispatch and combine per MoE layer: each token's hidden state to its `k`
//!   experts, over NVLink within a node and the scale-out network beyond it, plus latency.
//! - **host**: a serving engine's per-step CPU work grows with the sequences it schedules.
//!
//! Prefill is compute-bound: `2 x active + attention(prompt)` FLOPs per token over peak FLOPs
//! times MFU, so a prompt's tokens slow as it grows.
//!
//! Power of an accelerator is not its TDP whenever busy. It is a floor plus terms in the achieved
//! fractions of peak FLOPs and HBM bandwidth, capped at TDP:
//! `TDP x min(1, floor + c x flops/peak + m x bytes/peak)`. A node draws more than its
//! accelerators: [`Accelerator::host_w`] per accelerator for CPUs, NICs and fans.
//!
//! The global constants of [`Physics::FITTED`] are fitted once on the published measurements in
//! `data/facts/serving` (`cargo run -p tokengrid-energy --example fit`); `docs/fidelity.md` shows
//! every row. Measured throughput overrides replace the roofline where a scenario gives them.

use tokengrid_core::catalog::ModelArch;
use tokengrid_core::{Accelerator, Model};

pub use crate::physics::{
    DEFAULT_DECODE_MBU, DEFAULT_DECODE_MFU, DEFAULT_PREFILL_MFU, Efficiency, Physics,
};
pub use crate::serving::{ServingFigures, SteadyState};

/// Numeric precision of the matrix multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 8-bit floating point tensor cores.
    Fp8,
    /// BF16 tensor cores.
    Bf16,
}

/// The cost of one step on the busiest accelerator of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepCost {
    /// Time, s.
    pub seconds: f64,
    /// Time streaming HBM, s.
    pub memory_s: f64,
    /// Time computing, s.
    pub compute_s: f64,
    /// Time in collectives (all-reduce, all-to-all), s.
    pub communication_s: f64,
    /// Host scheduling and fixed overhead, s.
    pub host_s: f64,
    /// Bytes one accelerator reads from HBM.
    pub bytes: f64,
    /// FLOPs one accelerator performs.
    pub flops: f64,
    /// Share of the compute that is attention over the context.
    pub attention_share: f64,
}

/// One replica of a model on its accelerators: the numbers the model needs, precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Accelerators in the replica.
    pub accelerators: u32,
    /// Tensor-parallel degree of attention and dense layers.
    pub tensor_parallel: u32,
    /// Data-parallel attention groups (accelerators / tensor parallel).
    pub data_parallel: u32,
    /// Expert-parallel degree.
    pub expert_parallel: u32,
    /// Compute precision.
    pub precision: Precision,
    /// Peak dense FLOP/s of one accelerator at that precision.
    pub peak_flops_per_acc: f64,
    /// Peak dense FLOP/s of the whole replica at that precision.
    pub peak_flops: f64,
    /// Peak HBM bytes/s of one accelerator.
    pub hbm_bytes_per_s_per_acc: f64,
    /// Peak HBM bytes/s of the whole replica.
    pub hbm_bytes_per_s: f64,
    /// HBM capacity of the whole replica, bytes.
    pub hbm_bytes: f64,
    /// Parameters active per token.
    pub active_params: f64,
    /// Parameters read by every step whatever the routing; all parameters for a dense model.
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
    /// The global constants.
    pub physics: Physics,
    /// Architecture, where the model names a catalog entry (attention FLOPs, communication).
    pub arch: Option<ModelArch>,
    /// Scale-up bandwidth per accelerator, one direction, bytes/s.
    pub scale_up_bytes_per_s: f64,
    /// Scale-out bandwidth per accelerator, one direction, bytes/s.
    pub scale_out_bytes_per_s: f64,
    /// Accelerators per node.
    pub per_node: u32,
    /// Measured prefill tokens/s of the replica, replacing the roofline.
    pub prefill_override: Option<f64>,
    /// Measured decode tokens/s of one sequence alone (batch 1), anchoring the decode roofline.
    pub decode_override: Option<f64>,
    /// Board power at full load of one accelerator, W.
    pub tdp_w: f64,
    /// Board power when idle of one accelerator, W.
    pub idle_w: f64,
    /// Node power beyond the accelerators, per accelerator, W.
    pub host_w: f64,
}

impl Replica {
    /// A replica of `model` as the scenario deploys it, on accelerator type `acc`.
    pub fn new(model: &Model, acc: &Accelerator) -> Self {
        Self::with_accelerators(model, acc, model.accelerators_per_replica)
    }

    /// A replica of `model` on `n` accelerators of type `acc` (to compare deployments); the
    /// scenario's parallelism where `n` is its deployment, the default split otherwise.
    pub fn with_accelerators(model: &Model, acc: &Accelerator, n: u32) -> Self {
        Self::with_physics(model, acc, n, &Physics::FITTED)
    }

    /// As [`Replica::with_accelerators`] under other global constants (the fit varies them).
    pub fn with_physics(model: &Model, acc: &Accelerator, n: u32, physics: &Physics) -> Self {
        let n = n.max(1);
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
        let par = if n == model.accelerators_per_replica {
            model.parallelism
        } else {
            tokengrid_core::Parallelism::default_for(n, model.moe.is_some())
        };
        Replica {
            accelerators: n,
            tensor_parallel: par.tensor.max(1),
            data_parallel: par.data.max(1),
            expert_parallel: par.expert.max(1),
            precision,
            peak_flops_per_acc: tflops * 1e12,
            peak_flops: tflops * 1e12 * n_f,
            hbm_bytes_per_s_per_acc: acc.hbm_tbps * 1e12,
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
            efficiency: Efficiency::of(model, physics),
            physics: *physics,
            arch: model.arch,
            scale_up_bytes_per_s: acc.scale_up_gbps * 1e9,
            scale_out_bytes_per_s: acc.scale_out_gbps * 1e9,
            per_node: acc.per_node.max(1),
            prefill_override: model.prefill_tokens_per_s,
            decode_override: model.decode_tokens_per_s,
            tdp_w: acc.tdp_w,
            idle_w: acc.idle_w,
            host_w: acc.host_w,
        }
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

    /// Load of the busiest expert-parallel rank over the mean for `tokens` routed tokens:
    /// `1 + sqrt(2 ln(ep) / (tokens k / ep))`, the expected maximum of `ep` Poisson loads (a
    /// normal tail bound). 1 without expert parallelism.
    pub fn expert_imbalance(&self, tokens: f64) -> f64 {
        let ep = f64::from(self.expert_parallel);
        if self.experts == 0 || ep <= 1.0 {
            return 1.0;
        }
        let per_rank = (tokens * f64::from(self.experts_per_token) / ep).max(1.0);
        1.0 + (2.0 * ep.ln() / per_rank).sqrt()
    }

    fn weight_mbu(&self) -> f64 {
        if self.bytes_per_param <= 1.0 {
            self.efficiency.low_precision_mbu
        } else {
            self.efficiency.decode_mbu
        }
    }

    /// Ranks a GQA cache splits over: its KV heads spread over tensor-parallel ranks (beyond the
    /// head count they are copied); an MLA latent is whole on every rank.
    fn kv_split(&self) -> f64 {
        match self.arch {
            Some(a) if a.latent_attention() => 1.0,
            Some(ModelArch {
                attention: tokengrid_core::catalog::Attention::Gqa { kv_heads, .. },
                ..
            }) => f64::from(self.tensor_parallel.min(kv_heads).max(1)),
            _ => f64::from(self.tensor_parallel),
        }
    }

    /// The cost of one decode step of `batch` sequences whose contexts average `context_tokens`,
    /// on the busiest accelerator (before any measured override).
    pub fn decode_cost(&self, batch: u32, context_tokens: f64) -> StepCost {
        let p = &self.physics;
        let b = f64::from(batch.max(1));
        let n = f64::from(self.accelerators);
        let tp = f64::from(self.tensor_parallel);
        let dp = f64::from(self.data_parallel);
        // Sequences one attention group serves (the busiest holds the rounded-up share).
        let b_group = (b / dp).ceil();
        let imbalance = self.expert_imbalance(b);
        // Memory: shared weights split within a group, experts over all accelerators.
        let shared_bytes = self.shared_params * self.bytes_per_param / tp;
        let expert_bytes =
            (self.experts_activated(b) * self.expert_params * self.bytes_per_param / n * imbalance)
                .min(f64::from(self.experts) * self.expert_params * self.bytes_per_param / n);
        let kv_bytes = b_group * context_tokens * self.kv_bytes_per_token / self.kv_split();
        let memory_s = (shared_bytes + expert_bytes)
            / (self.hbm_bytes_per_s_per_acc * self.weight_mbu())
            + kv_bytes / (self.hbm_bytes_per_s_per_acc * self.efficiency.decode_mbu);
        // Compute: dense work split within a group; expert work over all, at the hottest rank.
        let k = f64::from(self.experts_per_token);
        let expert_flops = 2.0 * k * self.expert_params * b / n * imbalance;
        let shared_flops = 2.0 * self.shared_params * b_group / tp;
        let attention_flops = self
            .arch
            .map_or(0.0, |a| a.decode_attention_flops(context_tokens))
            * b_group
            / tp;
        let flops = expert_flops + shared_flops + attention_flops;
        let compute_s = flops / (self.peak_flops_per_acc * self.efficiency.decode_mfu);
        let communication_s = self.all_reduce_s(b_group, true) + self.all_to_all_s(b / n, true);
        let host_s = p.step_overhead_s + p.host_s_per_sequence * b_group;
        StepCost {
            seconds: memory_s.max(compute_s) + communication_s + host_s,
            memory_s,
            compute_s,
            communication_s,
            host_s,
            bytes: shared_bytes + expert_bytes + kv_bytes,
            flops,
            attention_share: if flops > 0.0 {
                attention_flops / flops
            } else {
                0.0
            },
        }
    }

    /// Two ring all-reduces per layer of `tokens` BF16 hidden states over the tensor-parallel
    /// group: `2 (t-1)/t x bytes / link` each, plus latency. 0 without tensor parallelism or
    /// without an architecture to size the activations.
    pub fn all_reduce_s(&self, tokens: f64, latency: bool) -> f64 {
        let tp = f64::from(self.tensor_parallel);
        let Some(a) = self.arch else { return 0.0 };
        if tp <= 1.0 {
            return 0.0;
        }
        let link = if self.tensor_parallel <= self.per_node {
            self.scale_up_bytes_per_s
        } else {
            self.scale_out_bytes_per_s
        };
        let bytes = tokens * f64::from(a.hidden) * 2.0;
        let one = 2.0 * (tp - 1.0) / tp * bytes / link
            + if latency {
                self.physics.collective_latency_s
            } else {
                0.0
            };
        2.0 * f64::from(a.layers) * one
    }

    /// Dispatch (FP8 where the weights are, else BF16) and combine (BF16) of `tokens` tokens per
    /// accelerator to their `k` experts per MoE layer: the share leaving the node crosses the
    /// scale-out network, the rest NVLink, plus two latencies. 0 without expert parallelism.
    pub fn all_to_all_s(&self, tokens: f64, latency: bool) -> f64 {
        let Some(a) = self.arch else { return 0.0 };
        let ep = f64::from(self.expert_parallel);
        if ep <= 1.0 || a.moe_layers() == 0 {
            return 0.0;
        }
        let dispatch = if self.bytes_per_param <= 1.0 {
            1.0
        } else {
            2.0
        };
        let bytes =
            tokens * f64::from(self.experts_per_token) * f64::from(a.hidden) * (dispatch + 2.0);
        let remote = (ep - 1.0) / ep;
        let in_node = (f64::from(self.per_node).min(ep) - 1.0).max(0.0) / ep;
        let off_node = (remote - in_node).max(0.0);
        let t = (bytes * in_node / self.scale_up_bytes_per_s)
            .max(bytes * off_node / self.scale_out_bytes_per_s);
        let l = if latency {
            2.0 * self.physics.collective_latency_s
        } else {
            0.0
        };
        f64::from(a.moe_layers()) * (t + l)
    }

    /// The cost of prefilling one token of a `prompt`-token prompt, on the replica as a whole:
    /// compute (the prompt's attention grows with its length) plus the activations' traffic, a
    /// tensor-parallel group's all-reduce shared by the data-parallel groups and each
    /// accelerator's expert all-to-all shared by all (latencies amortise over long chunks).
    pub fn prefill_cost(&self, prompt: f64) -> StepCost {
        let attention = self.arch.map_or(0.0, |a| {
            a.prefill_attention_flops_per_token(prompt.max(1.0))
        });
        let flops = 2.0 * self.active_params + attention;
        let compute_s = flops / (self.peak_flops * self.efficiency.prefill_mfu);
        let communication_s = self.all_reduce_s(1.0, false) / f64::from(self.data_parallel)
            + self.all_to_all_s(1.0, false) / f64::from(self.accelerators);
        StepCost {
            seconds: compute_s + communication_s,
            compute_s,
            communication_s,
            flops: flops / f64::from(self.accelerators),
            bytes: 0.0,
            attention_share: attention / flops,
            ..StepCost::default()
        }
    }

    /// Prefill throughput of the replica at prompts of `prompt` tokens: the measured figure where
    /// given, else the roofline.
    pub fn prefill_tokens_per_s_at(&self, prompt: f64) -> f64 {
        self.prefill_override
            .unwrap_or_else(|| 1.0 / self.prefill_cost(prompt).seconds)
    }

    /// Prefill throughput of the replica, tokens/s, at 1,000-token prompts.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prefill_tokens_per_s_at(1000.0)
    }

    /// Time to prefill `tokens` prompt tokens as one prompt, s.
    pub fn prefill_s(&self, tokens: f64) -> f64 {
        tokens / self.prefill_tokens_per_s_at(tokens)
    }

    /// Time of one decode step, s: the model above, scaled where a measured batch-1 decode rate
    /// is given so that a lone sequence decodes at exactly that rate.
    pub fn decode_step_s(&self, batch: u32, context_tokens: f64) -> f64 {
        let step = self.decode_cost(batch, context_tokens).seconds;
        match self.decode_override {
            Some(rate) => {
                let lone = self.decode_cost(1, context_tokens).seconds;
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
    /// by the deployment's `max_batch`. Each attention group holds its sequences' cache; an MLA
    /// latent is copied on every tensor-parallel rank.
    pub fn kv_batch_limit(&self, context_tokens: f64) -> u32 {
        let weights_per_acc = (self.shared_params / f64::from(self.tensor_parallel)
            + f64::from(self.experts) * self.expert_params / f64::from(self.accelerators))
            * self.bytes_per_param;
        let free_per_acc = self.hbm_bytes / f64::from(self.accelerators) - weights_per_acc;
        let per_seq_per_acc = context_tokens.max(1.0) * self.kv_bytes_per_token / self.kv_split();
        let fit = (free_per_acc / per_seq_per_acc).floor() * f64::from(self.data_parallel);
        if fit < 1.0 {
            0
        } else {
            (fit.min(f64::from(u32::MAX)) as u32).min(self.max_batch)
        }
    }

    /// Power of one accelerator doing `cost`, W: `TDP x min(1, floor + c x FLOP fraction + m x
    /// bandwidth fraction)`, never below idle.
    pub fn accelerator_power_w(&self, cost: &StepCost) -> f64 {
        if cost.seconds <= 0.0 {
            return self.idle_w;
        }
        let p = &self.physics;
        let flop_fraction = cost.flops / (cost.seconds * self.peak_flops_per_acc);
        let bw_fraction = cost.bytes / (cost.seconds * self.hbm_bytes_per_s_per_acc);
        let fraction = (p.power_floor
            + p.power_per_compute * flop_fraction
            + p.power_per_memory * bw_fraction)
            .min(1.0);
        (self.tdp_w * fraction).max(self.idle_w)
    }

    /// IT power of the replica busy with steps like `cost` (accelerators and hosts), W.
    pub fn busy_it_power_w(&self, cost: &StepCost) -> f64 {
        f64::from(self.accelerators) * (self.accelerator_power_w(cost) + self.host_w)
    }

    /// IT power of the replica at `utilization` (0..1) of its full-batch decode power, W: idle
    /// accelerators plus hosts when 0, busy at the scenario's largest batch when 1.
    pub fn power_w(&self, utilization: f64) -> f64 {
        let busy = self.accelerator_power_w(&self.decode_cost(self.max_batch.max(1), 1000.0));
        f64::from(self.accelerators)
            * (crate::power::accelerator_power_w(busy, self.idle_w, utilization) + self.host_w)
    }

    /// IT energy per output token decoding `batch` sequences with the replica busy, J (decode
    /// steps only; prefill is [`Replica::joules_per_prompt_token`]).
    pub fn joules_per_output_token(&self, batch: u32, context_tokens: f64) -> f64 {
        let cost = self.decode_cost(batch, context_tokens);
        self.busy_it_power_w(&cost) / self.decode_tokens_per_s(batch, context_tokens)
    }

    /// IT energy per prompt token in prefill with the replica busy, J.
    pub fn joules_per_prompt_token(&self) -> f64 {
        let cost = self.prefill_cost(1000.0);
        self.busy_it_power_w(&cost) / self.prefill_tokens_per_s()
    }

    /// The steady state of the replica serving `batch` concurrent requests of `prompt` prompt
    /// and `output` output tokens under continuous batching, prefill interleaved with decode (as
    /// the simulator runs it): each output token costs a decode step's share plus `prompt /
    /// output` tokens of prefill.
    pub fn steady_state(&self, prompt: f64, output: f64, batch: u32) -> SteadyState {
        let output = output.max(1.0);
        let context = prompt + output / 2.0;
        let decode = self.decode_cost(batch, context);
        let step = self.decode_step_s(batch, context);
        let b = f64::from(batch.max(1));
        let prefill_per_output = prompt / output / self.prefill_tokens_per_s_at(prompt);
        let decode_per_output = step / b;
        let s_per_output = decode_per_output + prefill_per_output;
        let prefill = self.prefill_cost(prompt);
        // Time-weighted accelerator power of the two phases.
        let acc_w = (self.accelerator_power_w(&decode) * decode_per_output
            + self.accelerator_power_w(&prefill) * prefill_per_output)
            / s_per_output;
        let tps = 1.0 / s_per_output;
        let n = f64::from(self.accelerators);
        SteadyState {
            batch,
            output_tokens_per_s: tps,
            requests_per_s: tps / output,
            decode_step_s: step,
            inter_token_s: b * s_per_output,
            ttft_s: prompt / self.prefill_tokens_per_s_at(prompt) + step,
            accelerator_power_w: acc_w * n,
            it_power_w: (acc_w + self.host_w) * n,
            accelerator_joules_per_output_token: acc_w * n / tps,
            it_joules_per_output_token: (acc_w + self.host_w) * n / tps,
        }
    }
}

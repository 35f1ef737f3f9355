//! Deployments built from the catalog alone, where no scenario describes them: the fidelity rows
//! and the live dispatcher's registered hubs.

use tokengrid_core::catalog::{self, ModelArch};
use tokengrid_core::{Accelerator, AcceleratorId, KV_RESERVE_FRACTION, Model, Moe, Parallelism};

use crate::roofline::{Replica, ServingFigures};

/// Sequences per accelerator a catalog deployment allows at most.
///
/// assumption: 128 per GPU; vLLM's running batches in the ML.ENERGY v3 chat rows reach 100-380 per
/// GPU at their largest `max_num_seqs`, and a dispatcher should not plan on the extreme.
pub const MAX_BATCH_PER_ACCELERATOR: u32 = 128;

/// Mean context a catalog deployment's batch is sized at, tokens.
///
/// assumption: chat-sized requests (ML.ENERGY's LM Arena chat: a few hundred prompt and ~350-900
/// output tokens); a scenario's class mix replaces it where there is one.
pub const DEFAULT_CONTEXT_TOKENS: f64 = 2000.0;

/// The scenario model of catalog `arch` at `bytes` per weight on `n` accelerators split
/// `tensor` ways (attention data parallel over the rest, experts over all).
pub fn model_of(arch: &ModelArch, bytes: f64, n: u32, tensor: u32, max_batch: u32) -> Model {
    let moe = arch.moe.map(|m| Moe {
        experts: m.experts,
        experts_per_token: m.experts_per_token,
    });
    Model {
        name: arch.name.into(),
        total_params_b: arch.total_params() / 1e9,
        active_params_b: arch.active_params() / 1e9,
        moe,
        bytes_per_param: bytes,
        kv_bytes_per_token: arch.kv_bytes_per_token(2.0),
        accelerator: AcceleratorId(0),
        accelerators_per_replica: n,
        max_batch,
        prefill_tokens_per_s: None,
        decode_tokens_per_s: None,
        prefill_mfu: None,
        decode_mfu: None,
        decode_mbu: None,
        arch: Some(*arch),
        parallelism: Parallelism {
            tensor,
            data: (n / tensor.max(1)).max(1),
            expert: if moe.is_some() { n } else { 1 },
        },
    }
}

/// The scenario accelerator of catalog entry `name`.
pub fn accelerator_of(name: &str) -> Option<Accelerator> {
    catalog::accelerator(name).map(Accelerator::from)
}

/// A replica of catalog model `model` on catalog accelerator `acc` in its released precision:
/// the fewest accelerators, a power of two, whose HBM holds the weights with the KV reserve
/// (`None` when either name is not in the catalog). Dense models run tensor parallel, MoE models
/// expert parallel with data-parallel attention ([`Parallelism::default_for`]).
pub fn catalog_replica(model: &str, acc: &str) -> Option<Replica> {
    let arch = catalog::model(model)?;
    let a = accelerator_of(acc)?;
    let bytes = if a.fp8_tflops.is_some() {
        arch.bytes_per_param
    } else {
        // No FP8 tensor cores: the weights are served in BF16.
        arch.bytes_per_param.max(2.0)
    };
    let weights = arch.total_params() * bytes;
    let need = weights / (1.0 - KV_RESERVE_FRACTION) / (a.hbm_gb * 1e9);
    let n = (need.ceil().max(1.0) as u32).next_power_of_two();
    let default = Parallelism::default_for(n, arch.moe.is_some());
    let m = model_of(
        arch,
        bytes,
        n,
        default.tensor,
        MAX_BATCH_PER_ACCELERATOR * n,
    );
    Some(Replica::new(&m, &a))
}

/// Serving figures of catalog model `model` on catalog accelerator `acc` at
/// [`DEFAULT_CONTEXT_TOKENS`] (see [`catalog_replica`]).
pub fn catalog_figures(model: &str, acc: &str) -> Option<ServingFigures> {
    let r = catalog_replica(model, acc)?;
    let batch = r.kv_batch_limit(DEFAULT_CONTEXT_TOKENS).max(1);
    Some(r.figures(batch, DEFAULT_CONTEXT_TOKENS))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DeepSeek-V3's 671 GB of FP8 weights need 671.0e9 / 0.9 / 85.9e9 = 8.7 -> 16 (a power of
    /// two) H800s; Llama 3.1 8B's 16 GB of BF16 fits one H100.
    #[test]
    fn catalog_replicas_are_the_fewest_that_hold_the_weights() {
        let ds = catalog_replica("deepseek-v3", "H800-SXM").expect("catalog");
        assert_eq!(ds.accelerators, 16);
        assert_eq!((ds.tensor_parallel, ds.expert_parallel), (1, 16));
        let small = catalog_replica("llama-3.1-8b", "H100-SXM").expect("catalog");
        assert_eq!(small.accelerators, 1);
        assert!(catalog_replica("gpt-9", "H100-SXM").is_none());
        // Ascend 910B has no FP8: DeepSeek-V3 in BF16, 1,342 GB over 68.7 GB -> 32.
        let ascend = catalog_replica("deepseek-v3", "Ascend-910B").expect("catalog");
        assert_eq!(ascend.accelerators, 32);
        assert_eq!(ascend.bytes_per_param, 2.0);
    }
}

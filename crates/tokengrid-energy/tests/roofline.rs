//! The serving model against hand calculations and published figures.

use tokengrid_core::catalog;
use tokengrid_energy::fidelity::{accelerator_of, model_of};
use tokengrid_energy::{Physics, Precision, Replica};

use crate::{close, deepseek_v3, dense_70b, h100};

const P: Physics = Physics::FITTED;

fn catalog_replica(model: &str, acc: &str, n: u32, tensor: u32, batch: u32, bytes: f64) -> Replica {
    let arch = catalog::model(model).expect("catalog model");
    let m = model_of(arch, bytes, n, tensor, batch);
    Replica::new(&m, &accelerator_of(acc).expect("catalog accelerator"))
}

#[test]
fn dense_70b_on_two_h100_prefill_by_hand() {
    let r = Replica::new(&dense_70b(2), &h100());
    // BF16 weights run on BF16 tensor cores: 2 x 989 TFLOPS. No architecture: no attention term.
    assert_eq!(r.precision, Precision::Bf16);
    let per_token = 2.0 * 70e9 / (2.0 * 989e12 * P.prefill_mfu);
    close(r.prefill_tokens_per_s(), 1.0 / per_token, 1e-12);
    close(r.prefill_s(1000.0), 1000.0 * per_token, 1e-12);
}

#[test]
fn dense_70b_on_two_h100_decode_by_hand() {
    let r = Replica::new(&dense_70b(2), &h100());
    // Tensor parallel 2: each GPU reads half the 140e9 weight bytes and half of the batch's KV
    // (1,000 tokens x 327,680 B per sequence), at MBU; computes half of 2 x 70e9 per token; the
    // host adds a fixed step overhead plus its time per sequence.
    for b in [1u32, 16] {
        let bf = f64::from(b);
        let memory = (70e9 + bf * 1000.0 * 327_680.0 / 2.0) / (3.35e12 * P.decode_mbu);
        let compute = 2.0 * 70e9 * bf / 2.0 / (989e12 * P.decode_mfu);
        assert!(memory > compute, "memory-bound at batch {b}");
        let host = P.step_overhead_s + P.host_s_per_sequence * bf;
        close(r.decode_step_s(b, 1000.0), memory + host, 1e-12);
        close(
            r.decode_tokens_per_s(b, 1000.0),
            bf / (memory + host),
            1e-12,
        );
    }
}

#[test]
fn moe_splits_into_shared_and_expert_parameters() {
    let r = Replica::new(&deepseek_v3(32), &h100());
    // total = shared + 256 x expert, active = shared + 8 x expert
    // -> expert = (671 - 37) / 248 = 2.556452e9, shared = 37 - 8 x 2.556452 = 16.548387e9
    close(r.expert_params, 634e9 / 248.0, 1e-12);
    close(r.shared_params, 37e9 - 8.0 * 634e9 / 248.0, 1e-12);
    assert_eq!(r.precision, Precision::Fp8);
}

#[test]
fn expert_activation_formula_at_batch_1_and_large_batch() {
    let r = Replica::new(&deepseek_v3(32), &h100());
    // one token picks exactly k = 8 experts: 256 x (1 - (1 - 8/256)^1) = 8
    close(r.experts_activated(1.0), 8.0, 1e-12);
    // 32 tokens: 256 x (1 - 0.96875^32) = 163.314 experts
    close(r.experts_activated(32.0), 163.314, 1e-5);
    // the busiest of 32 expert-parallel ranks at 32 tokens x 8 picks / 32 ranks = 8 per rank:
    // 1 + sqrt(2 ln 32 / 8) = 1.9306
    close(
        r.expert_imbalance(32.0),
        1.0 + (2.0 * 32f64.ln() / 8.0).sqrt(),
        1e-12,
    );
}

#[test]
fn measured_overrides_replace_the_model() {
    let mut m = dense_70b(2);
    m.prefill_tokens_per_s = Some(10_000.0);
    m.decode_tokens_per_s = Some(40.0);
    let r = Replica::new(&m, &h100());
    assert_eq!(r.prefill_tokens_per_s(), 10_000.0);
    close(r.prefill_s(5_000.0), 0.5, 1e-12);
    close(r.decode_tokens_per_s(1, 1000.0), 40.0, 1e-12);
    let plain = Replica::new(&dense_70b(2), &h100());
    let ratio = plain.decode_step_s(16, 1000.0) / plain.decode_step_s(1, 1000.0);
    close(r.decode_step_s(16, 1000.0), ratio / 40.0, 1e-12);
}

#[test]
fn kv_capacity_bounds_the_batch() {
    let r = Replica::new(&dense_70b(2), &h100());
    // per GPU: 80 GB HBM - 70 GB of weights = 10e9 B; a 2,000-token sequence holds half of
    // 2,000 x 327,680 B = 327.68e6 B on each: 30 fit (30.5), under max_batch 64
    assert_eq!(r.kv_batch_limit(2000.0), 30);
    assert_eq!(r.kv_batch_limit(100.0), 64);
}

/// vLLM ran Llama 3.1 70B on 4 x H100 (80 GiB) at a running batch of 898 (ML.ENERGY v3,
/// max_num_seqs 1024, 351 output tokens); the KV cache must hold it at the chat rows' context.
#[test]
fn kv_capacity_admits_the_batch_vllm_ran() {
    let r = catalog_replica("llama-3.1-70b", "H100-SXM", 4, 4, 1024, 2.0);
    assert!(r.kv_batch_limit(100.0 + 351.0 / 2.0) >= 898);
}

/// Attention FLOPs grow with context: GQA 4 x heads x head_dim x context per layer (Llama 3.1
/// 70B: 4 x 64 x 128 x 80 = 2.62e6 per token of context), MLA 2 x heads x (2 x 512 + 64)
/// (DeepSeek-V3: 2 x 128 x 1,088 x 61 = 16.99e6), and their share of a step rises with it.
#[test]
fn attention_share_grows_with_context() {
    let llama = catalog::model("llama-3.1-70b").expect("catalog");
    close(
        llama.decode_attention_flops(1000.0),
        4.0 * 64.0 * 128.0 * 80.0 * 1000.0,
        1e-12,
    );
    let ds = catalog::model("deepseek-v3").expect("catalog");
    close(
        ds.decode_attention_flops(1000.0),
        2.0 * 128.0 * 1088.0 * 61.0 * 1000.0,
        1e-12,
    );
    // DeepSeek-V3.2's sparse attention stops at 2,048 attended tokens (plus its indexer).
    let v32 = catalog::model("deepseek-v3.2").expect("catalog");
    assert!(v32.decode_attention_flops(128_000.0) < 0.2 * ds.decode_attention_flops(128_000.0));
    let r = catalog_replica("llama-3.1-70b", "H100-SXM", 4, 4, 256, 2.0);
    let shares: Vec<f64> = [1_000.0, 8_000.0, 32_000.0]
        .iter()
        .map(|&c| r.decode_cost(64, c).attention_share)
        .collect();
    assert!(shares[0] < shares[1] && shares[1] < shares[2], "{shares:?}");
    // at 1,000 tokens: 2.62e9 / (2 x 70.55e9 + 2.62e9) = 1.8%
    close(
        shares[0],
        2.62144e9 / (2.0 * llama.active_params() + 2.62144e9),
        1e-3,
    );
}

/// DeepSeek's prefill slows 13% per token from 1K to 4K prompts (issue 13, from DeepSeek's
/// day-6 overview); the attention term makes longer prompts slower by a like amount.
#[test]
fn prefill_slows_as_prompts_grow() {
    let r = catalog_replica("deepseek-v3", "H800-SXM", 32, 1, 2816, 1.0);
    let drop = 1.0 - r.prefill_tokens_per_s_at(4000.0) / r.prefill_tokens_per_s_at(1000.0);
    // The model gives 3%: the EP32 all-to-all, not attention, dominates its prefill token.
    assert!((0.02..0.25).contains(&drop), "{drop}");
    // A dense model on one node, where compute dominates, slows more: Llama 3.1 70B TP8.
    let dense = catalog_replica("llama-3.1-70b", "H100-SXM", 8, 8, 256, 2.0);
    let d = 1.0 - dense.prefill_tokens_per_s_at(32_000.0) / dense.prefill_tokens_per_s_at(1000.0);
    // attention per token 4 x 64 x 128 x 80 x P/2: at 32K 42e9 against 2 x 70.55e9 = 141e9.
    assert!(d > 0.15, "{d}");
}

/// Expert-parallel all-to-all and tensor-parallel all-reduce lengthen the step, and beyond a
/// node the scale-out network bounds throughput per GPU: a replica a million GPUs wide still
/// pays two collective latencies per MoE layer (58 x 2 x latency), not microseconds.
#[test]
fn communication_lengthens_the_step_and_bounds_wide_replicas() {
    let ds = |n: u32| catalog_replica("deepseek-v3", "H800-SXM", n, 1, 64 * n, 1.0);
    // 64 sequences per GPU: the all-to-all's share of the step grows as the replica spreads
    // over the scale-out network.
    let share = |n: u32| {
        let c = ds(n).decode_cost(64 * n, 2000.0);
        c.communication_s / c.seconds
    };
    let (node, four, wide) = (share(8), share(32), share(256));
    assert!(
        node > 0.0 && four > node && wide > four,
        "{node} {four} {wide}"
    );
    let huge = ds(1_000_000).decode_step_s(1, 2000.0);
    assert!(huge >= 58.0 * 2.0 * P.collective_latency_s, "{huge}");
    // Tensor parallel over 8 adds 2 all-reduces per layer to the 70B step.
    let tp8 = catalog_replica("llama-3.1-70b", "H100-SXM", 8, 8, 256, 2.0);
    let c = tp8.decode_cost(64, 1000.0);
    assert!(c.communication_s >= 2.0 * 80.0 * P.collective_latency_s);
}

/// ML.ENERGY v3 measured Llama 3.1 8B on one H100 at batch 8 drawing 486 W of its 700 W TDP
/// (639.4 W... per GPU from avg_power_watts / num_gpus); decode at small batch is below TDP.
#[test]
fn small_batch_decode_draws_less_than_tdp() {
    let r = catalog_replica("llama-3.1-8b", "H100-SXM", 1, 1, 8, 2.0);
    let s = r.steady_state(100.0, 400.0, 8);
    assert!(
        s.accelerator_power_w < 0.9 * 700.0,
        "{}",
        s.accelerator_power_w
    );
    assert!(
        (s.accelerator_power_w / 486.4 - 1.0).abs() < 0.25,
        "{}",
        s.accelerator_power_w
    );
    // and a node draws more than its accelerators
    assert!(s.it_power_w > s.accelerator_power_w);
}

/// A MoE model is cheaper per output token than a dense model of equal total size on the same
/// replica: DeepSeek-V3 against a dense 671B on 32 x H800.
#[test]
fn moe_is_cheaper_per_token_than_dense_of_equal_size() {
    let moe = catalog_replica("deepseek-v3", "H800-SXM", 32, 1, 2816, 1.0);
    let mut dense_model = deepseek_v3(32);
    dense_model.moe = None;
    dense_model.active_params_b = dense_model.total_params_b;
    let acc = accelerator_of("H800-SXM").expect("catalog");
    let dense = Replica::new(&dense_model, &acc);
    let (b, ctx) = (512, 2000.0);
    assert!(
        moe.joules_per_output_token(b, ctx) * 3.0 < dense.joules_per_output_token(b, ctx),
        "{} vs {}",
        moe.joules_per_output_token(b, ctx),
        dense.joules_per_output_token(b, ctx)
    );
}

/// MLPerf v4.1 Llama 2 70B Offline: H200 31,302.7 tokens/s on 8 GPUs (TP1, batch 806), H100
/// 24,524.9 on 8 (TP2, batch 896): 1.276x per GPU. The model's ratio comes from HBM size and
/// bandwidth (4.8 against 3.35 TB/s) and must land within 15% of it.
#[test]
fn h200_over_h100_per_gpu_as_mlperf_measured() {
    let h200 = catalog_replica("llama-2-70b", "H200", 1, 1, 806, 1.0);
    let h100 = catalog_replica("llama-2-70b", "H100-SXM", 2, 2, 896, 1.0);
    let a = h200.steady_state(300.0, 300.0, 806).output_tokens_per_s;
    let b = h100.steady_state(300.0, 300.0, 896).output_tokens_per_s / 2.0;
    let measured = (31_302.7 / 8.0) / (24_524.9 / 8.0);
    let ratio = a / b;
    assert!(
        (ratio / measured - 1.0).abs() < 0.15,
        "{ratio} vs {measured}"
    );
}

/// The steady state charges prefill to output tokens: J per output token with prompts exceeds
/// decode alone, and throughput x J per token is the power.
#[test]
fn steady_state_includes_prefill() {
    let r = catalog_replica("llama-3.1-70b", "H100-SXM", 4, 4, 256, 2.0);
    let with = r.steady_state(2000.0, 200.0, 128);
    let without = r.steady_state(0.0, 200.0, 128);
    assert!(with.it_joules_per_output_token > without.it_joules_per_output_token);
    assert!(with.output_tokens_per_s < without.output_tokens_per_s);
    close(
        with.it_joules_per_output_token * with.output_tokens_per_s,
        with.it_power_w,
        1e-9,
    );
}

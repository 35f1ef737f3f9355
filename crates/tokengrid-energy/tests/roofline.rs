//! The roofline against hand calculations.

use tokengrid_energy::roofline::{DEFAULT_DECODE_MBU, DEFAULT_PREFILL_MFU};
use tokengrid_energy::{Precision, Replica};

use crate::{close, deepseek_v3, dense_70b, h100};

#[test]
fn defaults_used_by_these_hand_calculations() {
    assert_eq!(DEFAULT_PREFILL_MFU, 0.40);
    assert_eq!(DEFAULT_DECODE_MBU, 0.35);
}

#[test]
fn dense_70b_on_two_h100_prefill() {
    let r = Replica::new(&dense_70b(2), &h100());
    // BF16 weights run on BF16 tensor cores: 2 x 989 TFLOPS.
    assert_eq!(r.precision, Precision::Bf16);
    // tokens/s = 2 x 989e12 x 0.40 / (2 x 70e9) = 7.912e14 / 1.4e11 = 5,651.43
    close(r.prefill_tokens_per_s(), 5_651.428_571, 1e-9);
    // 1,000 prompt tokens take 1,000 / 5,651.43 = 0.176946 s
    close(r.prefill_s(1000.0), 0.176_946, 1e-5);
}

#[test]
fn dense_70b_on_two_h100_decode_is_memory_bound() {
    let r = Replica::new(&dense_70b(2), &h100());
    // batch 1, context 1,000: bytes = 140e9 weights + 1,000 x 327,680 KV = 140.32768e9
    // bandwidth = 2 x 3.35e12 x 0.35 = 2.345e12 B/s -> memory 0.0598412 s
    // compute = 2 x 70e9 x 1 / (1.978e15 x 0.40) = 1.7695e-4 s -> memory bound
    close(r.decode_step_s(1, 1000.0), 140.327_68e9 / 2.345e12, 1e-12);
    // batch 16: bytes = 140e9 + 16 x 327.68e6 = 145.24288e9 -> 0.0619373 s, 258.33 tokens/s
    close(
        r.decode_tokens_per_s(16, 1000.0),
        16.0 / (145.242_88e9 / 2.345e12),
        1e-12,
    );
    // a dense model reads every weight at any batch
    assert_eq!(r.weights_touched_bytes(1.0), 140e9);
    assert_eq!(r.weights_touched_bytes(500.0), 140e9);
}

#[test]
fn decode_turns_compute_bound_at_large_batch() {
    // Give the dense model an enormous batch on one node: compute 2 x 70e9 x b / (8 x 989e12 x 0.4)
    // overtakes memory (140e9 + b x 1e3 x 327,680) / (8 x 3.35e12 x 0.35) when the KV is tiny.
    let r = Replica::new(&dense_70b(8), &h100());
    let b = 4096u32;
    let ctx = 1.0;
    let compute = 2.0 * 70e9 * 4096.0 / (8.0 * 989e12 * 0.40);
    let memory = (140e9 + 4096.0 * 327_680.0) / (8.0 * 3.35e12 * 0.35);
    assert!(compute > memory);
    close(r.decode_step_s(b, ctx), compute, 1e-12);
}

#[test]
fn moe_splits_into_shared_and_expert_parameters() {
    let r = Replica::new(&deepseek_v3(32), &h100());
    // total = shared + 256 x expert, active = shared + 8 x expert
    // -> expert = (671 - 37) / 248 = 2.556452e9, shared = 37 - 8 x 2.556452 = 16.548387e9
    // (DeepSeek-V3 config: 3 x 7168 x 2048 x 58 MoE layers = 2.554e9 per expert)
    close(r.expert_params, 634e9 / 248.0, 1e-12);
    close(r.shared_params, 37e9 - 8.0 * 634e9 / 248.0, 1e-12);
    assert_eq!(r.precision, Precision::Fp8);
}

#[test]
fn expert_activation_formula_at_batch_1_and_large_batch() {
    let r = Replica::new(&deepseek_v3(32), &h100());
    // one token picks exactly k = 8 experts: 256 x (1 - (1 - 8/256)^1) = 8
    close(r.experts_activated(1.0), 8.0, 1e-12);
    // so a batch-1 step reads the active parameters only: 37e9 x 1 byte
    close(r.weights_touched_bytes(1.0), 37e9, 1e-12);
    // 32 tokens: 256 x (1 - 0.96875^32) = 256 x (1 - 0.362054) = 163.314 experts
    close(
        r.experts_activated(32.0),
        256.0 * (1.0 - 0.968_75f64.powi(32)),
        1e-12,
    );
    close(r.experts_activated(32.0), 163.314, 1e-5);
    // bytes: 16.548e9 + 163.314 x 2.5565e9 = 434.05e9
    close(r.weights_touched_bytes(32.0), 434.05e9, 1e-4);
    // 1,000 tokens: 0.96875^1000 = 1.6e-14, so every expert: all 671e9 weights, never more
    close(r.weights_touched_bytes(1000.0), 671e9, 1e-9);
    assert!(r.weights_touched_bytes(1e6) <= 671e9);
}

#[test]
fn moe_decode_at_batch_1_costs_like_its_active_parameters() {
    let r = Replica::new(&deepseek_v3(32), &h100());
    // bytes = 37e9 + 1,000 x 70,272 = 37.070272e9 at 32 x 3.35e12 x 0.35 = 37.52e12 B/s
    close(r.decode_step_s(1, 1000.0), 37.070_272e9 / 37.52e12, 1e-12);
}

#[test]
fn measured_overrides_replace_the_roofline() {
    let mut m = dense_70b(2);
    m.prefill_tokens_per_s = Some(10_000.0);
    m.decode_tokens_per_s = Some(40.0);
    let r = Replica::new(&m, &h100());
    assert_eq!(r.prefill_tokens_per_s(), 10_000.0);
    close(r.prefill_s(5_000.0), 0.5, 1e-12);
    // a lone sequence decodes at exactly the measured rate
    close(r.decode_tokens_per_s(1, 1000.0), 40.0, 1e-12);
    // a batch keeps the roofline's shape through that point:
    // step(16) = step_roofline(16) / step_roofline(1) / 40
    let plain = Replica::new(&dense_70b(2), &h100());
    let ratio = plain.decode_step_s(16, 1000.0) / plain.decode_step_s(1, 1000.0);
    close(r.decode_step_s(16, 1000.0), ratio / 40.0, 1e-12);
}

#[test]
fn scenario_efficiencies_override_the_defaults() {
    let mut m = dense_70b(2);
    m.prefill_mfu = Some(0.5);
    m.decode_mbu = Some(0.7);
    let r = Replica::new(&m, &h100());
    close(r.prefill_tokens_per_s(), 2.0 * 989e12 * 0.5 / 140e9, 1e-12);
    close(
        r.decode_step_s(1, 0.0),
        140e9 / (2.0 * 3.35e12 * 0.7),
        1e-12,
    );
}

#[test]
fn kv_capacity_bounds_the_batch() {
    let r = Replica::new(&dense_70b(2), &h100());
    // 160 GB HBM - 140 GB weights = 20e9 B; at 2,000 tokens x 327,680 B = 655.36e6 B a sequence,
    // 30 sequences fit (30.5), under max_batch 64
    assert_eq!(r.kv_batch_limit(2000.0), 30);
    // at 100 tokens 610 would fit: max_batch caps it
    assert_eq!(r.kv_batch_limit(100.0), 64);
}

#[test]
fn power_and_energy_per_token() {
    let r = Replica::new(&dense_70b(2), &h100());
    // power: idle + (TDP - idle) x u per accelerator: 2 x (90 + 610 x 0.5) = 790 W
    close(r.power_w(0.5), 790.0, 1e-12);
    close(r.power_w(1.0), 1400.0, 1e-12);
    // J per output token busy at batch 16, ctx 1,000: 1,400 W / 258.33 tokens/s = 5.4195 J
    close(
        r.joules_per_output_token(16, 1000.0),
        1400.0 * (145.242_88e9 / 2.345e12) / 16.0,
        1e-12,
    );
    // per prompt token: 1,400 / 5,651.43 = 0.24772 J
    close(r.joules_per_prompt_token(), 1400.0 / 5_651.428_571, 1e-9);
}

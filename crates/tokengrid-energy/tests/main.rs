//! Integration tests of tokengrid-energy: one module per behaviour. Expected values are worked
//! out by hand in each test from the formula and the published figures they cite.

mod calibration;
mod economics;
mod properties;
mod roofline;
mod solar;
mod supply;
mod tariff;

use tokengrid_core::{Accelerator, Model, Moe, Parallelism};

/// NVIDIA H100 SXM datasheet figures (data/facts/accelerators.csv).
pub fn h100() -> Accelerator {
    Accelerator {
        name: "H100-SXM".into(),
        bf16_tflops: 989.0,
        fp8_tflops: Some(1979.0),
        hbm_gb: 80.0,
        hbm_tbps: 3.35,
        tdp_w: 700.0,
        idle_w: 90.0,
        scale_up_gbps: 450.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: 0.0,
        price_yuan: None,
        lifetime_years: 5.0,
    }
}

/// A dense 70B model in BF16 on `n` accelerators (Llama 3.1 70B shape: 80 layers, 8 KV heads of
/// 128: 2 x 80 x 8 x 128 x 2 = 327,680 KV bytes per token; data/facts/models.csv).
pub fn dense_70b(n: u32) -> Model {
    Model {
        name: "dense-70b".into(),
        total_params_b: 70.0,
        active_params_b: 70.0,
        moe: None,
        bytes_per_param: 2.0,
        kv_bytes_per_token: 327_680.0,
        accelerator: tokengrid_core::AcceleratorId(0),
        accelerators_per_replica: n,
        max_batch: 64,
        prefill_tokens_per_s: None,
        decode_tokens_per_s: None,
        prefill_mfu: None,
        decode_mfu: None,
        decode_mbu: None,
        arch: None,
        parallelism: Parallelism::default_for(n, false),
    }
}

/// DeepSeek-V3 (671B total, 37B active, 256 routed experts, 8 per token, FP8 weights, MLA KV of
/// 70,272 bytes per token) on `n` accelerators.
pub fn deepseek_v3(n: u32) -> Model {
    Model {
        name: "deepseek-v3".into(),
        total_params_b: 671.0,
        active_params_b: 37.0,
        moe: Some(Moe {
            experts: 256,
            experts_per_token: 8,
        }),
        bytes_per_param: 1.0,
        kv_bytes_per_token: 70_272.0,
        accelerator: tokengrid_core::AcceleratorId(0),
        accelerators_per_replica: n,
        max_batch: 2816,
        prefill_tokens_per_s: None,
        decode_tokens_per_s: None,
        prefill_mfu: None,
        decode_mfu: None,
        decode_mbu: None,
        arch: None,
        parallelism: Parallelism::default_for(n, true),
    }
}

/// `|got - want| <= tol x |want|`.
#[track_caller]
pub fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "got {got}, want {want} (relative tolerance {tol})"
    );
}

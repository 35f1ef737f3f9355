//! Calibration against DeepSeek's published serving day (deepseek-ai/open-infra-index, day 6
//! "one more thing": DeepSeek-V3/R1 inference system overview; data/facts/deepseek_serving_day.json):
//! on H800 nodes of 8 GPUs, about 73.7k input tokens/s per node in prefill and 14.8k output
//! tokens/s per node in decode at an average KV length of 4,989 tokens, 20-22 tokens/s per user.

use tokengrid_core::builtin;
use tokengrid_energy::Replica;

const FACTS: &str = include_str!("../../../data/facts/deepseek_serving_day.json");

fn fact(key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(FACTS).expect("json");
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in deepseek_serving_day.json"))
}

fn deepseek_replica() -> (Replica, f64) {
    // The built-in scenario's deployment: 32 x H800 per replica (4 nodes), max_batch derived from
    // the same published day (14,800 / ~21 tokens/s per user x 4 nodes).
    let s = builtin::load("china-east-west").expect("valid");
    let m = s.model(s.model_id("deepseek-v3").expect("model"));
    let r = Replica::new(m, s.accelerator(m.accelerator));
    let nodes = f64::from(m.accelerators_per_replica) / 8.0;
    (r, nodes)
}

#[test]
fn prefill_within_30_percent_of_deepseek_published_per_node() {
    let (r, nodes) = deepseek_replica();
    let published = fact("prefill_throughput_tokens_per_s_per_node");
    assert_eq!(published, 73_700.0);
    let per_node = r.prefill_tokens_per_s() / nodes;
    // Hand: 8 x 1,979e12 FP8 x 0.40 / (2 x 37e9) = 85,578 tokens/s per node, +16%.
    crate::close(per_node, 8.0 * 1979e12 * 0.40 / 74e9, 1e-12);
    let dev = per_node / published - 1.0;
    assert!(
        dev.abs() < 0.30,
        "prefill per node {per_node:.0} vs {published}: {:+.1}%",
        dev * 100.0
    );
}

#[test]
fn decode_within_30_percent_of_deepseek_published_per_node() {
    let (r, nodes) = deepseek_replica();
    let published = fact("decode_throughput_tokens_per_s_per_node");
    let kv = fact("average_kv_length_per_output_token");
    assert_eq!((published, kv), (14_800.0, 4_989.0));
    let batch = r.kv_batch_limit(kv);
    // HBM 32 x 80e9 = 2,560e9; free after 671e9 of weights = 1,889e9; a sequence holds
    // 4,989 x 70,272 = 350.587e6 -> 5,388 fit, so max_batch (2,816) is the bound.
    assert_eq!(batch, 2816);
    let per_node = r.decode_tokens_per_s(batch, kv) / nodes;
    // Hand: bytes = 671e9 (every expert at this batch) + 2,816 x 350.587e6 = 1,658.25e9;
    // bandwidth 32 x 3.35e12 x 0.35 = 37.52e12 -> 44.197 ms a step;
    // 2,816 / 0.044197 / 4 nodes = 15,929 tokens/s per node, +7.6%.
    let step = (671e9 + 2816.0 * 4989.0 * 70_272.0) / (32.0 * 3.35e12 * 0.35);
    crate::close(per_node, 2816.0 / step / 4.0, 1e-9);
    let dev = per_node / published - 1.0;
    assert!(
        dev.abs() < 0.30,
        "decode per node {per_node:.0} vs {published}: {:+.1}%",
        dev * 100.0
    );
    // The same step gives each user 1 / 0.044197 = 22.6 tokens/s; DeepSeek reports 20-22.
    let per_user = 1.0 / r.decode_step_s(batch, kv);
    assert!(
        (18.0..26.0).contains(&per_user),
        "per-user {per_user:.1} tokens/s"
    );
}

//! Calibration: the serving model against every published row in data/facts/serving
//! (docs/fidelity.md) and DeepSeek's serving day (data/facts/deepseek_serving_day.json).

use tokengrid_energy::Physics;
use tokengrid_energy::fidelity::{self, deepseek_day, deepseek_day_model};

const FACTS: &str = include_str!("../../../data/facts/deepseek_serving_day.json");

fn fact(key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(FACTS).expect("json");
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in deepseek_serving_day.json"))
}

#[test]
fn the_day_constants_are_the_published_ones() {
    assert_eq!(
        deepseek_day::DECODE_PER_NODE,
        fact("decode_throughput_tokens_per_s_per_node")
    );
    assert_eq!(
        deepseek_day::PREFILL_PER_NODE,
        fact("prefill_throughput_tokens_per_s_per_node")
    );
    assert_eq!(
        deepseek_day::KV_LENGTH,
        fact("average_kv_length_per_output_token")
    );
    assert_eq!(
        deepseek_day::INPUT_TOKENS,
        (
            fact("input_tokens_total"),
            fact("input_tokens_kv_cache_hit")
        )
    );
}

#[test]
fn deepseek_day_within_15_percent() {
    let (decode, prefill) = deepseek_day_model(&Physics::FITTED).expect("catalog");
    let d = decode / deepseek_day::DECODE_PER_NODE - 1.0;
    let p = prefill / deepseek_day::computed_prefill_per_node() - 1.0;
    assert!(
        d.abs() < 0.15,
        "decode {decode:.0}/node: {:+.1}%",
        d * 100.0
    );
    assert!(
        p.abs() < 0.15,
        "prefill {prefill:.0}/node: {:+.1}%",
        p * 100.0
    );
}

/// The medians of docs/fidelity.md: within 15% on throughput and energy, no row past 1.6x
/// (rows whose own measurement is non-monotone in batch aside, and there is one).
#[test]
fn published_rows_within_15_percent_median() {
    let rows = fidelity::rows();
    assert_eq!(rows.len(), 112, "110 ML.ENERGY rows and 2 MLPerf rows");
    let s = fidelity::summary(&rows, &Physics::FITTED);
    assert_eq!(s.rows, 112);
    assert!(s.throughput < 0.15, "{s:?}");
    assert!(s.energy < 0.15, "{s:?}");
    assert!(s.itl < 0.20, "{s:?}");
    assert!(s.worst <= 1.6, "{s:?}");
    assert_eq!(s.non_monotone, 1, "{s:?}");
}

//! `tokengrid catalog`: the built-in models and accelerators, checked against their model cards
//! and datasheets.

use crate::{stderr, stdout, tokengrid};

#[test]
fn catalog_json_lists_models_with_sizes_from_their_configs() {
    let out = tokengrid(&["catalog", "models", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert!(v["accelerators"].is_null(), "models only");
    let models = v["models"].as_array().expect("models array");
    for name in [
        "deepseek-v3",
        "deepseek-v3.2",
        "kimi-k2",
        "glm-4.5",
        "minimax-m2",
        "qwen3-235b-a22b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.1-405b",
        "llama-2-70b",
    ] {
        assert!(
            models.iter().any(|m| m["architecture"]["name"] == name),
            "{name} missing"
        );
    }
    // DeepSeek-V3 README: 671B total, 37B active.
    let ds = models
        .iter()
        .find(|m| m["architecture"]["name"] == "deepseek-v3")
        .expect("deepseek-v3");
    let total = ds["total_params_b"].as_f64().expect("number");
    assert!((total / 671.0 - 1.0).abs() < 0.01, "{total}");
    assert!(
        ds["architecture"]["source"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
}

#[test]
fn catalog_table_lists_accelerators_with_interconnect() {
    let out = tokengrid(&["catalog", "accelerators"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for name in [
        "H100-SXM",
        "H800-SXM",
        "H200",
        "H20",
        "A100-SXM-80GB",
        "B200",
        "Ascend-910B",
        "Ascend-910C",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    // H100's 80 GiB is 85.9e9 bytes (NVIDIA datasheet counts binary gigabytes).
    assert!(text.contains("85.9"), "{text}");
}

#[test]
fn a_scenario_model_from_the_catalog_with_an_unknown_name_is_located() {
    let dir = std::env::temp_dir().join(format!("tg-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("builtin")
        .replacen("catalog = \"deepseek-v3\"", "catalog = \"deepseek-v9\"", 1);
    let path = dir.join("s.toml");
    std::fs::write(&path, text).expect("write");
    let out = tokengrid(&["scenario", "validate", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("catalog names unknown entry \"deepseek-v9\""),
        "{err}"
    );
    assert!(err.contains("deepseek-v3"), "suggests the near name: {err}");
}

//! The built-in scenarios validate, and their figures agree with the shared data they cite
//! (copied into data/facts/ of this repository).

use std::collections::BTreeMap;

use tokengrid_core::{ClassKind, builtin};

const HUBS_CSV: &str = include_str!("../../../data/facts/hubs.csv");
const ACCELERATORS_CSV: &str = include_str!("../../../data/facts/accelerators.csv");
const MODELS_CSV: &str = include_str!("../../../data/facts/models.csv");

/// Rows of a simple CSV (quoted fields may hold commas), keyed by their first column.
fn rows(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = split(lines.next().expect("header"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields = split(l);
            let row: BTreeMap<String, String> = header.iter().cloned().zip(fields).collect();
            (row[&header[0]].clone(), row)
        })
        .collect()
}

fn split(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().expect("field").push(c),
        }
    }
    out
}

fn num(row: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    row.get(key).and_then(|v| v.parse().ok())
}

#[test]
fn every_builtin_validates() {
    for name in builtin::NAMES {
        builtin::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(builtin::NAMES[0], builtin::DEFAULT);
}

#[test]
fn china_east_west_has_the_eight_national_hubs_of_hubs_csv() {
    let s = builtin::load("china-east-west").expect("valid");
    let facts = rows(HUBS_CSV);
    assert_eq!(facts.len(), 8);
    assert_eq!(s.hubs.len(), 8);
    for (name, row) in &facts {
        let id = s
            .hub_id(name)
            .unwrap_or_else(|| panic!("hub {name} missing"));
        let hub = s.hub(id);
        assert_eq!(Some(hub.lat), num(row, "lat"), "{name} lat");
        assert_eq!(Some(hub.lon), num(row, "lon"), "{name} lon");
        assert_eq!(Some(hub.pue), num(row, "pue_target"), "{name} PUE target");
        if let Some(tariff) = num(row, "tariff_yuan_per_kwh") {
            assert!(
                (hub.tariff_yuan_per_kwh.mean() - tariff).abs() < 1e-12,
                "{name} tariff"
            );
        }
    }
}

#[test]
fn accelerators_match_accelerators_csv() {
    let facts = rows(ACCELERATORS_CSV);
    for name in builtin::NAMES {
        let s = builtin::load(name).expect("valid");
        for a in &s.accelerators {
            let row = facts
                .get(&a.name)
                .unwrap_or_else(|| panic!("{} not in accelerators.csv", a.name));
            assert_eq!(
                Some(a.bf16_tflops),
                num(row, "bf16_dense_tflops"),
                "{}",
                a.name
            );
            assert_eq!(a.fp8_tflops, num(row, "fp8_dense_tflops"), "{}", a.name);
            // The CSV's "80 GB" is the vendor's 80 GiB: 85.9e9 bytes.
            let gib = num(row, "hbm_gb").map(|g| g * 1.073_741_824);
            assert!(
                gib.is_some_and(|g| (a.hbm_gb - g).abs() < 1e-9),
                "{}",
                a.name
            );
            assert_eq!(Some(a.hbm_tbps), num(row, "hbm_tbps"), "{}", a.name);
            assert_eq!(Some(a.tdp_w), num(row, "tdp_w"), "{}", a.name);
        }
    }
}

#[test]
fn models_match_models_csv() {
    let facts = rows(MODELS_CSV);
    for name in builtin::NAMES {
        let s = builtin::load(name).expect("valid");
        for m in &s.models {
            let row = facts
                .get(&m.name)
                .unwrap_or_else(|| panic!("{} not in models.csv", m.name));
            // Computed from the config's shapes: within 2% of the card's rounded figures.
            let near = |got: f64, key: &str| {
                num(row, key).is_some_and(|want| (got / want - 1.0).abs() < 0.02)
            };
            assert!(near(m.total_params_b, "total_params_b"), "{}", m.name);
            assert!(near(m.active_params_b, "active_params_b"), "{}", m.name);
            assert_eq!(
                m.moe.map(|x| f64::from(x.experts)),
                num(row, "routed_experts"),
                "{}",
                m.name
            );
            assert_eq!(
                m.moe.map(|x| f64::from(x.experts_per_token)),
                num(row, "experts_per_token"),
                "{}",
                m.name
            );
        }
    }
}

#[test]
fn deepseek_kv_bytes_follow_from_its_config() {
    // MLA caches the compressed latent (kv_lora_rank) plus the decoupled RoPE key per layer, in
    // BF16: (512 + 64) x 61 x 2 bytes (models/deepseek_v3_config_671B.json).
    let s = builtin::load("china-east-west").expect("valid");
    let m = s.model(s.model_id("deepseek-v3").expect("deepseek"));
    assert_eq!(m.kv_bytes_per_token, ((512 + 64) * 61 * 2) as f64);
}

#[test]
fn china_east_west_has_every_class_kind_and_a_dense_and_a_moe_model() {
    let s = builtin::load("china-east-west").expect("valid");
    let kinds: Vec<&str> = s.classes.iter().map(|c| c.kind.name()).collect();
    for kind in ["inference", "batch", "training"] {
        assert!(kinds.contains(&kind), "no {kind} class");
    }
    assert!(s.models.iter().any(|m| m.moe.is_some()));
    assert!(s.models.iter().any(|m| m.moe.is_none()));
    for c in &s.classes {
        if let ClassKind::Inference(i) = &c.kind {
            assert!(
                i.ttft_slo_ms.is_some() && i.e2e_slo_ms.is_some(),
                "{} has SLOs",
                c.name
            );
        }
    }
}

/// Every number in a built-in scenario carries a comment (its source, or `assumption:`) on its
/// own line or on the line before (a comment block, or a pair such as lat/lon).
#[test]
fn every_number_in_a_builtin_carries_a_comment() {
    for name in builtin::NAMES {
        let text = builtin::text(name).expect("text");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some((_, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.split('#').next().unwrap_or("").trim();
            let numeric = value
                .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '[' || c == '{')
                && value.contains(|c: char| c.is_ascii_digit());
            if !numeric || line.trim_start().starts_with('#') {
                continue;
            }
            // A list may span lines: its comment may sit on any of them.
            let mut end = i;
            if value.starts_with('[') {
                while !lines[end].split('#').next().unwrap_or("").contains(']')
                    && end + 1 < lines.len()
                {
                    end += 1;
                }
            }
            let commented = lines[i..=end].iter().any(|l| l.contains('#'))
                || (i > 0 && lines[i - 1].contains('#'));
            assert!(
                commented,
                "{name}:{}: `{}` has no source comment",
                i + 1,
                line.trim()
            );
        }
    }
}

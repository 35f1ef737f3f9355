//! Tests of the live view.

use std::collections::BTreeMap;

use super::*;
use crate::clock::now_ms;

fn spec(name: &str, models: &[&str], accelerators: &[(&str, u32)]) -> HubSpec {
    HubSpec {
        name: name.into(),
        endpoint: "http://127.0.0.1:1".into(),
        lat: 36.0,
        lon: 107.6,
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        accelerators: accelerators
            .iter()
            .map(|(a, n)| ((*a).to_owned(), *n))
            .collect::<BTreeMap<_, _>>(),
        tariff_yuan_per_kwh: 0.4,
        pue: 1.2,
        tariff_by_hour: None,
        utc_offset_hours: None,
        grid_carbon_g_per_kwh: None,
        api_key: None,
        heartbeats: None,
    }
}

/// A hub's figures come from what it registered: Llama 3.1 8B on H100 (one GPU holds its
/// 16 GB) is not DeepSeek-V3 on H800 (16 GPUs hold its 671 GB).
#[test]
fn registered_hardware_and_model_decide_the_figures() {
    let small = spec("a", &["llama-3.1-8b"], &[("H100-SXM", 8)]);
    let f = hub_figures(&small, "llama-3.1-8b");
    assert_eq!(
        f,
        catalog_figures("llama-3.1-8b", "H100-SXM").expect("catalog")
    );
    assert_eq!(f.accelerators, 1);
    let ds = hub_figures(
        &spec("b", &["deepseek-v3"], &[("H800-SXM", 32)]),
        "deepseek-v3",
    );
    assert_eq!(ds.accelerators, 16);
    assert_ne!(f, ds);
    // The type the hub has most of decides; unknown types are skipped.
    let mixed = spec(
        "c",
        &["llama-3.1-8b"],
        &[("H100-SXM", 2), ("B200", 8), ("TPU", 64)],
    );
    assert_eq!(
        hub_figures(&mixed, "llama-3.1-8b"),
        catalog_figures("llama-3.1-8b", "B200").expect("catalog")
    );
    // Unknown model: the reference model on the hub's accelerators; unknown everything: the
    // reference deployment.
    assert_eq!(
        hub_figures(&small, "my-finetune"),
        catalog_figures("deepseek-v3", "H100-SXM").expect("catalog")
    );
    assert_eq!(
        hub_figures(&spec("d", &["x"], &[("TPU", 4)]), "x"),
        reference_figures()
    );
}

/// Round trips remembered per hub are the great circle's for the origin asked, whatever
/// was asked before and wherever the hub moves: Shanghai to Gansu (Qingyang) and to Guizhou.
#[test]
fn round_trips_follow_the_origin_and_the_hub() {
    let hub = |mut s: HubSpec, lat: f64, lon: f64| {
        (s.lat, s.lon) = (lat, lon);
        LiveHub {
            spec: s,
            token_hash: String::new(),
            telemetry: None,
            last_seen_ms: now_ms(),
            auth: HubAuth::None,
        }
    };
    let view_at = |lat: f64, lon: f64| {
        let reg = HubRegistry::new(vec![hub(spec("a", &["x"], &[]), lat, lon)]);
        LiveView::new(Arc::new(reg), Duration::from_secs(3600), now_ms())
    };
    let by_hand = |a: (f64, f64), b: (f64, f64)| derived_route(a, b, DEFAULT_ROUTE_FACTOR).rtt_ms;
    let (shanghai, beijing) = ((31.2, 121.5), (39.9, 116.4));
    let (gansu, guizhou) = ((35.7, 107.6), (26.6, 106.6));
    let at = |p: (f64, f64)| Origin::Point { lat: p.0, lon: p.1 };
    let v = view_at(gansu.0, gansu.1);
    for _ in 0..2 {
        for from in [shanghai, beijing] {
            assert_eq!(v.rtt_ms(at(from), HubId(0)), by_hand(from, gansu));
        }
    }
    // The same hub id elsewhere: not the remembered Gansu figure.
    let moved = view_at(guizhou.0, guizhou.1);
    assert_eq!(
        moved.rtt_ms(at(shanghai), HubId(0)),
        by_hand(shanghai, guizhou)
    );
    assert_ne!(by_hand(shanghai, guizhou), by_hand(shanghai, gansu));
}

#[test]
fn the_live_view_serves_each_hubs_own_figures() {
    let hub = |s: HubSpec| LiveHub {
        spec: s,
        token_hash: String::new(),
        telemetry: None,
        last_seen_ms: now_ms(),
        auth: HubAuth::None,
    };
    let reg = Arc::new(HubRegistry::new(vec![
        hub(spec("a", &["llama-3.1-8b"], &[("H100-SXM", 8)])),
        hub(spec("b", &["deepseek-v3"], &[("H800-SXM", 32)])),
    ]));
    let view = LiveView::new(reg, Duration::from_secs(3600), now_ms());
    let llama = view.model_id("llama-3.1-8b").expect("served");
    let m = view.model(HubId(0), llama).expect("served at a");
    let f = catalog_figures("llama-3.1-8b", "H100-SXM").expect("catalog");
    assert_eq!(m.decode_s_per_token, f.decode_step_s);
    assert_eq!(m.joules_per_output_token, f.joules_per_output_token);
    assert_eq!(m.marginal_kw, f.marginal_kw);
    assert!(view.model(HubId(1), llama).is_none());
}

//! Decisions per second: the built-in scenario's 8 hubs (its unloaded view), and synthetic views
//! of 8, 100 and 1,000 hubs, for each policy. Run: `cargo bench -p tokengrid-sched`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokengrid_core::{AcceleratorId, ClassId, HubId, ModelId, RegionId, builtin};
use tokengrid_sched::*;

/// A view of `n` hubs with varied RTT, tariff and carbon, all serving model 0.
struct Synthetic {
    hubs: Vec<(HubSnapshot, ModelSnapshot, f64)>,
}

impl Synthetic {
    fn new(n: usize) -> Self {
        let hubs = (0..n)
            .map(|i| {
                let x = i as f64;
                (
                    HubSnapshot {
                        up: i % 17 != 3,
                        pue: 1.2 + (x * 0.37).sin().abs() * 0.1,
                        tariff_now: 0.3 + (x * 0.71).sin().abs() * 0.7,
                        green_surplus_kw: if i % 5 == 0 { 50.0 } else { 0.0 },
                        carbon_g_per_kwh_now: 100.0 + (x * 1.3).cos().abs() * 600.0,
                        power_headroom_kw: 1e4,
                    },
                    ModelSnapshot {
                        replicas: 8,
                        free_slots: (i % 7) as u32 * 100,
                        queue_len: (i % 3) as u32,
                        max_queue: Some(1000),
                        expected_wait_s: (i % 4) as f64 * 0.05,
                        utilization: (x * 0.13).sin().abs(),
                        prefill_tokens_per_s: 300_000.0,
                        decode_s_per_token: 0.03,
                        joules_per_prompt_token: 0.065,
                        joules_per_output_token: 0.23,
                        marginal_kw: 19.5,
                    },
                    5.0 + (x * 2.1).sin().abs() * 40.0,
                )
            })
            .collect();
        Synthetic { hubs }
    }
}

impl ClusterView for Synthetic {
    fn now_s(&self) -> f64 {
        36_000.0
    }
    fn hub_count(&self) -> usize {
        self.hubs.len()
    }
    fn hub(&self, h: HubId) -> HubSnapshot {
        self.hubs[h.index()].0
    }
    fn model(&self, h: HubId, _m: ModelId) -> Option<ModelSnapshot> {
        Some(self.hubs[h.index()].1)
    }
    fn rtt_ms(&self, _from: Origin, h: HubId) -> f64 {
        self.hubs[h.index()].2
    }
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let s = self.hubs[h.index()].0;
        Forecast {
            tariff: s.tariff_now,
            green_surplus_kw: s.green_surplus_kw,
            carbon_g_per_kwh: s.carbon_g_per_kwh_now,
            until_s: ((at_s / 3600.0).floor() + 1.0) * 3600.0,
        }
    }
    fn free_slots_at(&self, h: HubId, _m: ModelId, _f: f64, _t: f64) -> u32 {
        self.hubs[h.index()].1.free_slots
    }
    fn free_accelerators(&self, _h: HubId, _a: Option<AcceleratorId>, _f: f64, _t: f64) -> u32 {
        512
    }
    fn link(&self, _a: HubId, _b: HubId) -> LinkSnapshot {
        LinkSnapshot {
            rtt_ms: 20.0,
            gbps: 400.0,
            loss: 0.0,
            deterministic: true,
        }
    }
    fn can_reserve(&self, _a: HubId, _b: HubId, _g: f64, _f: f64, _t: f64) -> bool {
        true
    }
}

fn request(draw: f64) -> Work<'static> {
    Work::Inference(InferenceRequest {
        model: ModelId(0),
        class: Some(ClassId(0)),
        origin: Origin::Region(RegionId(1)),
        prompt_tokens: 1221,
        output_tokens: 211,
        ttft_slo_ms: Some(2000.0),
        e2e_slo_ms: Some(60_000.0),
        residency: None,
        draw,
    })
}

fn bench(c: &mut Criterion) {
    let s = builtin::load("china-east-west").expect("built-in");
    let builtin_view = StaticView::new(&s).at(10.0 * 3600.0);
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    for policy in ["nearest", "cost-slo", "green"] {
        let mut sched = Scheduler::new(Policy::named(policy).expect("policy"));
        let w = request(0.5);
        g.bench_function(format!("china-east-west-8/{policy}"), |b| {
            b.iter(|| black_box(sched.decide(black_box(&builtin_view), black_box(&w))))
        });
    }
    for n in [8usize, 100, 1000] {
        let v = Synthetic::new(n);
        let mut sched = Scheduler::new(Policy::named("cost-slo").expect("policy"));
        let w = request(0.5);
        g.bench_function(format!("synthetic-{n}/cost-slo"), |b| {
            b.iter(|| black_box(sched.decide(black_box(&v), black_box(&w))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

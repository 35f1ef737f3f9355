//! A hand-built ClusterView.

use tokengrid_core::{AcceleratorId, HubId, ModelId};
use tokengrid_sched::*;

#[derive(Debug, Clone)]
pub(crate) struct TestHub {
    pub(crate) snap: HubSnapshot,
    pub(crate) model: Option<ModelSnapshot>,
    pub(crate) rtt_ms: f64,
    pub(crate) tariff: [f64; 24],
    pub(crate) carbon: [f64; 24],
    pub(crate) free_accelerators: u32,
    /// No slot or accelerator is free in a window that starts before this time, s.
    pub(crate) busy_until_s: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct TestView {
    pub(crate) now_s: f64,
    pub(crate) hubs: Vec<TestHub>,
    pub(crate) deterministic: bool,
    pub(crate) link_gbps: f64,
    pub(crate) reservable: bool,
}

pub(crate) fn model() -> ModelSnapshot {
    ModelSnapshot {
        replicas: 4,
        free_slots: 100,
        queue_len: 0,
        max_queue: None,
        expected_wait_s: 0.0,
        utilization: 0.1,
        prefill_tokens_per_s: 10_000.0,
        decode_s_per_token: 0.02,
        joules_per_prompt_token: 0.1,
        joules_per_output_token: 0.5,
        marginal_kw: 1.0,
    }
}

/// A hub `rtt_ms` away with a flat tariff and carbon.
pub(crate) fn hub(rtt_ms: f64, tariff: f64, carbon: f64) -> TestHub {
    TestHub {
        snap: HubSnapshot {
            up: true,
            pue: 1.2,
            tariff_now: tariff,
            green_surplus_kw: 0.0,
            carbon_g_per_kwh_now: carbon,
            power_headroom_kw: 1e6,
        },
        model: Some(model()),
        rtt_ms,
        tariff: [tariff; 24],
        carbon: [carbon; 24],
        free_accelerators: 1024,
        busy_until_s: 0.0,
    }
}

impl TestView {
    pub(crate) fn new(hubs: Vec<TestHub>) -> Self {
        TestView {
            now_s: 0.0,
            hubs,
            deterministic: true,
            link_gbps: 400.0,
            reservable: true,
        }
    }

    fn hour(&self, t: f64) -> usize {
        ((t / 3600.0).floor() as usize) % 24
    }
}

impl ClusterView for TestView {
    fn now_s(&self) -> f64 {
        self.now_s
    }
    fn hub_count(&self) -> usize {
        self.hubs.len()
    }
    fn hub(&self, h: HubId) -> HubSnapshot {
        let hub = &self.hubs[h.index()];
        let hour = self.hour(self.now_s);
        HubSnapshot {
            tariff_now: hub.tariff[hour],
            carbon_g_per_kwh_now: hub.carbon[hour],
            ..hub.snap
        }
    }
    fn model(&self, h: HubId, _m: ModelId) -> Option<ModelSnapshot> {
        self.hubs[h.index()].model
    }
    fn rtt_ms(&self, _from: Origin, h: HubId) -> f64 {
        self.hubs[h.index()].rtt_ms
    }
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let hub = &self.hubs[h.index()];
        let hour = self.hour(at_s);
        Forecast {
            tariff: hub.tariff[hour],
            green_surplus_kw: hub.snap.green_surplus_kw,
            carbon_g_per_kwh: hub.carbon[hour],
            until_s: ((at_s / 3600.0).floor() + 1.0) * 3600.0,
        }
    }
    fn free_slots_at(&self, h: HubId, _m: ModelId, from: f64, _to: f64) -> u32 {
        let hub = &self.hubs[h.index()];
        if from < hub.busy_until_s {
            return 0;
        }
        hub.model.map_or(0, |m| m.free_slots)
    }
    fn free_accelerators(&self, h: HubId, _acc: Option<AcceleratorId>, from: f64, _to: f64) -> u32 {
        let hub = &self.hubs[h.index()];
        if from < hub.busy_until_s {
            return 0;
        }
        hub.free_accelerators
    }
    fn link(&self, _a: HubId, _b: HubId) -> LinkSnapshot {
        LinkSnapshot {
            rtt_ms: 20.0,
            gbps: self.link_gbps,
            loss: if self.deterministic { 0.0 } else { 1e-4 },
            deterministic: self.deterministic,
        }
    }
    fn can_reserve(&self, _a: HubId, _b: HubId, _gbps: f64, _from: f64, _to: f64) -> bool {
        self.reservable
    }
}

/// An inference request of 1,000 prompt and 100 output tokens.
pub(crate) fn request<'a>(ttft_slo_ms: Option<f64>, residency: Option<&'a HubSet>) -> Work<'a> {
    Work::Inference(InferenceRequest {
        model: ModelId(0),
        class: None,
        origin: Origin::Point {
            lat: 31.2,
            lon: 121.5,
        },
        prompt_tokens: 1000,
        output_tokens: 100,
        ttft_slo_ms,
        e2e_slo_ms: None,
        residency,
        draw: 0.5,
    })
}

pub(crate) fn decide(policy: &str, view: &dyn ClusterView, work: &Work<'_>) -> Decision {
    Scheduler::new(Policy::named(policy).expect("policy")).decide(view, work)
}

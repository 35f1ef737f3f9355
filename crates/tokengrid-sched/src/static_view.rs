//! A [`ClusterView`] of a scenario with no load: every replica free, no queue, supply and prices
//! from the scenario's hourly profiles. Planning tools, examples and benchmarks decide on it; the
//! simulator's view adds live load on top of the same numbers.

use tokengrid_core::{AcceleratorId, HubId, ModelId, Scenario};
use tokengrid_energy::hourly::Clock;
use tokengrid_energy::supply;
use tokengrid_net::Topology;

use crate::facts::{ModelFacts, link_snapshot, model_facts, rtt_from};
use crate::view::*;

/// The unloaded view of a scenario.
#[derive(Debug, Clone)]
pub struct StaticView {
    now_s: f64,
    clock: Clock,
    /// Per hour of day, per hub.
    hubs: Vec<[HubSnapshot; 24]>,
    forecasts: Vec<[Forecast; 24]>,
    models: Vec<Option<ModelFacts>>,
    max_queue: Vec<Option<u32>>,
    n_models: usize,
    accelerators: Vec<Vec<(AcceleratorId, u32)>>,
    topo: Topology,
    hub_sites: Vec<(f64, f64)>,
}

impl StaticView {
    /// The view of `s` at simulated time 0.
    pub fn new(s: &Scenario) -> Self {
        let clock = Clock::of(s);
        let mut hubs = Vec::with_capacity(s.hubs.len());
        let mut forecasts = Vec::with_capacity(s.hubs.len());
        for h in &s.hubs {
            let green = supply::green_mw(s, h);
            let idle_kw: f64 = h
                .accelerators
                .iter()
                .map(|(a, n)| f64::from(*n) * s.accelerator(*a).idle_w / 1000.0)
                .sum::<f64>()
                * h.pue;
            let snap = |hour: usize| HubSnapshot {
                up: true,
                pue: h.pue,
                tariff_now: h.tariff_yuan_per_kwh.at(hour),
                green_surplus_kw: (green.at(hour) * 1000.0 - idle_kw).max(0.0),
                carbon_g_per_kwh_now: h.grid_carbon_g_per_kwh.at(hour),
                power_headroom_kw: h.grid_cap_mw * 1000.0 - idle_kw,
            };
            hubs.push(std::array::from_fn(snap));
            forecasts.push(std::array::from_fn(|hour| {
                let sn = snap(hour);
                Forecast {
                    tariff: sn.tariff_now,
                    green_surplus_kw: sn.green_surplus_kw,
                    carbon_g_per_kwh: sn.carbon_g_per_kwh_now,
                    until_s: 0.0,
                }
            }));
        }
        StaticView {
            now_s: 0.0,
            clock,
            hubs,
            forecasts,
            models: model_facts(s),
            max_queue: s.hubs.iter().map(|h| h.max_queue).collect(),
            n_models: s.models.len(),
            accelerators: s.hubs.iter().map(|h| h.accelerators.clone()).collect(),
            topo: Topology::new(s),
            hub_sites: s.hubs.iter().map(|h| (h.lat, h.lon)).collect(),
        }
    }

    /// Moves the view's clock to `t_s`.
    pub fn at(mut self, t_s: f64) -> Self {
        self.now_s = t_s;
        self
    }

    /// Sets the clock.
    pub fn set_now(&mut self, t_s: f64) {
        self.now_s = t_s;
    }

    /// Marks a hub down or up.
    pub fn set_up(&mut self, h: HubId, up: bool) {
        for snap in &mut self.hubs[h.index()] {
            snap.up = up;
        }
    }

    /// The site graph.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// Load-independent figures of a model at a hub.
    pub fn facts(&self, h: HubId, m: ModelId) -> Option<ModelFacts> {
        self.models
            .get(h.index() * self.n_models + m.index())
            .copied()
            .flatten()
    }
}

impl ClusterView for StaticView {
    fn now_s(&self) -> f64 {
        self.now_s
    }

    fn hub_count(&self) -> usize {
        self.hubs.len()
    }

    #[inline]
    fn hub(&self, h: HubId) -> HubSnapshot {
        self.hubs[h.index()][self.clock.hour(self.now_s)]
    }

    #[inline]
    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let f = self.facts(h, m)?;
        Some(ModelSnapshot {
            replicas: f.replicas,
            free_slots: f.replicas * f.replica.batch,
            queue_len: 0,
            max_queue: self.max_queue[h.index()],
            expected_wait_s: 0.0,
            utilization: 0.0,
            prefill_tokens_per_s: f.replica.prefill_tokens_per_s,
            decode_s_per_token: f.replica.decode_step_s,
            joules_per_prompt_token: f.replica.joules_per_prompt_token,
            joules_per_output_token: f.replica.joules_per_output_token,
            marginal_kw: f.replica.marginal_kw,
        })
    }

    #[inline]
    fn rtt_ms(&self, from: Origin, h: HubId) -> f64 {
        rtt_from(&self.topo, self.hub_sites[h.index()], from, h)
    }

    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let local = self.clock.local_s(at_s);
        let mut f = self.forecasts[h.index()][self.clock.hour(at_s)];
        f.until_s = at_s + tokengrid_energy::hourly::to_next_hour(local);
        f
    }

    fn free_slots_at(&self, h: HubId, m: ModelId, _from_s: f64, _to_s: f64) -> u32 {
        self.facts(h, m).map_or(0, |f| f.replicas * f.replica.batch)
    }

    fn free_accelerators(
        &self,
        h: HubId,
        acc: Option<AcceleratorId>,
        _from_s: f64,
        _to_s: f64,
    ) -> u32 {
        self.accelerators[h.index()]
            .iter()
            .filter(|(a, _)| acc.is_none_or(|want| want == *a))
            .map(|(_, n)| *n)
            .sum()
    }

    fn link(&self, a: HubId, b: HubId) -> LinkSnapshot {
        link_snapshot(&self.topo, a, b)
    }

    fn can_reserve(&self, a: HubId, b: HubId, gbps: f64, _from_s: f64, _to_s: f64) -> bool {
        let l = self.link(a, b);
        l.deterministic && l.gbps >= gbps
    }
}

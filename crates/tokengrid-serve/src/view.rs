//! The live dispatcher's [`ClusterView`]: registered hubs and their latest telemetry, so the same
//! policy code as the simulator decides on real hubs.
//!
//! A hub reports free replicas, queue depth, its tariff now and its green share now. What the
//! telemetry does not carry (per-token speed and energy) comes from nominal figures of the
//! energy model for DeepSeek-V3 on a 32 x H800 replica (`tokengrid energy --model deepseek-v3
//! --accelerator H800-SXM`): prefill 342,314 tokens/s per replica, a 28 ms decode step at full
//! batch, 0.065 J per prompt token and 0.221 J per output token.

use std::sync::Arc;
use std::time::Duration;

use tokengrid_core::{AcceleratorId, DEFAULT_ROUTE_FACTOR, HubId, ModelId};
use tokengrid_net::geo::derived_route;
use tokengrid_sched::view::*;

use crate::clock::now_ms;
use crate::wire::{HubSpec, Telemetry};

/// Nominal prefill throughput of a replica, tokens/s.
pub const NOMINAL_PREFILL_TOKENS_PER_S: f64 = 342_314.0;
/// Nominal decode time per output token a sequence sees, s.
pub const NOMINAL_DECODE_S_PER_TOKEN: f64 = 0.028;
/// Nominal IT energy per prompt token, J.
pub const NOMINAL_J_PER_PROMPT_TOKEN: f64 = 0.065;
/// Nominal IT energy per output token, J.
pub const NOMINAL_J_PER_OUTPUT_TOKEN: f64 = 0.221;
/// Nominal mean service time of a request, s (for wait estimates from queue depth).
pub const NOMINAL_SERVICE_S: f64 = 6.0;

/// A registered hub.
#[derive(Debug, Clone)]
pub struct LiveHub {
    /// Its registration.
    pub spec: HubSpec,
    /// SHA-256 of its token.
    pub token_hash: String,
    /// Its latest telemetry.
    pub telemetry: Option<Telemetry>,
    /// When it was last heard from (registration or telemetry), ms since the Unix epoch (wall
    /// clock, so replicas sharing a ledger agree).
    pub last_seen_ms: i64,
}

impl LiveHub {
    /// In rotation: heard from within the timeout, and not reporting itself down.
    pub fn is_up(&self, timeout: Duration) -> bool {
        let age_ms = now_ms().saturating_sub(self.last_seen_ms);
        age_ms <= i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX)
            && self.telemetry.is_none_or(|t| t.up)
    }
}

/// The registered hubs and the models they serve, shared by every view taken while it is
/// current (a registration or telemetry push makes a new one; a view never sees it change).
#[derive(Debug, Clone, Default)]
pub struct HubRegistry {
    /// Hubs in registration order (hub id = index).
    pub hubs: Vec<LiveHub>,
    /// Every model some hub serves, sorted (model id = index).
    pub models: Vec<String>,
}

impl HubRegistry {
    /// A registry of `hubs`.
    pub fn new(hubs: Vec<LiveHub>) -> Self {
        let mut r = HubRegistry {
            hubs,
            models: Vec::new(),
        };
        r.index_models();
        r
    }

    /// Recomputes the model list (after a registration).
    pub fn index_models(&mut self) {
        let mut models: Vec<String> = self
            .hubs
            .iter()
            .flat_map(|h| h.spec.models.iter().cloned())
            .collect();
        models.sort();
        models.dedup();
        self.models = models;
    }
}

/// A snapshot of the registry for one decision: the shared registry plus who is up now.
#[derive(Debug, Clone)]
pub struct LiveView {
    reg: Arc<HubRegistry>,
    up: Vec<bool>,
    /// Wall clock at the snapshot, s since the Unix epoch (the view's time 0).
    now_unix_s: f64,
}

/// A hub's offset from UTC when its registration gives none, hours (China Standard Time; the
/// hubs this tool was built for are in China).
pub const DEFAULT_UTC_OFFSET_HOURS: f64 = 8.0;

/// The nominal serving figures of a replica (see the module documentation).
pub fn nominal_model() -> ModelSnapshot {
    ModelSnapshot {
        replicas: 1,
        free_slots: 1,
        queue_len: 0,
        max_queue: None,
        expected_wait_s: 0.0,
        utilization: 0.5,
        prefill_tokens_per_s: NOMINAL_PREFILL_TOKENS_PER_S,
        decode_s_per_token: NOMINAL_DECODE_S_PER_TOKEN,
        joules_per_prompt_token: NOMINAL_J_PER_PROMPT_TOKEN,
        joules_per_output_token: NOMINAL_J_PER_OUTPUT_TOKEN,
        marginal_kw: 0.0,
    }
}

impl LiveView {
    /// The view of `reg` now: hubs silent past `timeout` (or reporting down) are down.
    pub fn new(reg: Arc<HubRegistry>, timeout: Duration) -> Self {
        let up = reg.hubs.iter().map(|h| h.is_up(timeout)).collect();
        LiveView {
            reg,
            up,
            now_unix_s: now_ms() as f64 / 1e3,
        }
    }

    /// A hub's OpenAI base URL.
    pub fn endpoint(&self, h: HubId) -> &str {
        self.reg
            .hubs
            .get(h.index())
            .map_or("", |x| x.spec.endpoint.as_str())
    }

    /// The id of a model some hub serves.
    pub fn model_id(&self, name: &str) -> Option<ModelId> {
        self.reg
            .models
            .iter()
            .position(|m| m == name)
            .map(|i| ModelId(i as u32))
    }

    /// A hub's name.
    pub fn hub_name(&self, h: HubId) -> &str {
        self.reg
            .hubs
            .get(h.index())
            .map_or("?", |x| x.spec.name.as_str())
    }

    fn spec(&self, h: HubId) -> (&HubSpec, Option<Telemetry>, bool) {
        let hub = &self.reg.hubs[h.index()];
        (&hub.spec, hub.telemetry, self.up[h.index()])
    }
}

impl ClusterView for LiveView {
    fn now_s(&self) -> f64 {
        0.0
    }

    fn hub_count(&self) -> usize {
        self.reg.hubs.len()
    }

    fn hub(&self, h: HubId) -> HubSnapshot {
        let (spec, t, up) = self.spec(h);
        // The marginal kWh is green in the share the hub reports: price it accordingly.
        let (tariff, green) = t.map_or((spec.tariff_yuan_per_kwh, 0.0), |t| {
            (t.tariff_yuan_per_kwh, t.green_fraction)
        });
        HubSnapshot {
            up,
            pue: spec.pue,
            tariff_now: tariff * (1.0 - green),
            green_surplus_kw: 0.0,
            carbon_g_per_kwh_now: 0.0,
            power_headroom_kw: f64::INFINITY,
        }
    }

    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let (spec, t, _) = self.spec(h);
        let name = self.reg.models.get(m.index())?;
        if !spec.models.contains(name) {
            return None;
        }
        let (free, queue) = t.map_or((1, 0), |t| (t.free_replicas, t.queue_depth));
        let replicas = free.max(1);
        Some(ModelSnapshot {
            replicas,
            free_slots: free,
            queue_len: queue,
            expected_wait_s: if free > 0 {
                0.0
            } else {
                f64::from(queue + 1) * NOMINAL_SERVICE_S / f64::from(replicas)
            },
            utilization: if free > 0 { 0.5 } else { 1.0 },
            ..nominal_model()
        })
    }

    fn rtt_ms(&self, from: Origin, h: HubId) -> f64 {
        let (spec, _, _) = self.spec(h);
        let (lat, lon) = match from {
            Origin::Point { lat, lon } => (lat, lon),
            Origin::Region(_) => return 0.0,
        };
        derived_route((lat, lon), (spec.lat, spec.lon), DEFAULT_ROUTE_FACTOR).rtt_ms
    }

    /// The price of the hub's local hour at `at_s` (s from now): the telemetry's price for the
    /// current hour, the registered time-of-use profile for later ones (flat when none was
    /// registered). Each forecast holds to the end of its local hour.
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let (spec, _, _) = self.spec(h);
        let offset_s = spec.utc_offset_hours.unwrap_or(DEFAULT_UTC_OFFSET_HOURS) * 3600.0;
        let local = self.now_unix_s + offset_s;
        let hour_now = (local / 3600.0).floor();
        let hour_start = ((local + at_s) / 3600.0).floor();
        let until_s = ((hour_start + 1.0) * 3600.0 - local).max(at_s + 1e-3);
        let tariff = match &spec.tariff_by_hour {
            Some(profile) if hour_start > hour_now => profile
                .get((hour_start as i64).rem_euclid(24) as usize)
                .copied()
                .unwrap_or(spec.tariff_yuan_per_kwh),
            _ => self.hub(h).tariff_now,
        };
        Forecast {
            tariff,
            green_surplus_kw: 0.0,
            carbon_g_per_kwh: 0.0,
            until_s,
        }
    }

    fn free_slots_at(&self, h: HubId, m: ModelId, _from_s: f64, _to_s: f64) -> u32 {
        self.model(h, m).map_or(0, |x| x.free_slots.max(1))
    }

    fn free_accelerators(
        &self,
        h: HubId,
        _acc: Option<AcceleratorId>,
        _from_s: f64,
        _to_s: f64,
    ) -> u32 {
        self.spec(h).0.accelerators.values().sum()
    }

    fn link(&self, a: HubId, b: HubId) -> LinkSnapshot {
        let (sa, sb) = (self.spec(a).0, self.spec(b).0);
        LinkSnapshot {
            rtt_ms: derived_route((sa.lat, sa.lon), (sb.lat, sb.lon), DEFAULT_ROUTE_FACTOR).rtt_ms,
            gbps: 100.0,
            loss: 1e-5,
            deterministic: false,
        }
    }

    fn can_reserve(&self, _a: HubId, _b: HubId, _gbps: f64, _from_s: f64, _to_s: f64) -> bool {
        false
    }
}

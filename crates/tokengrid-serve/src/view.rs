//! The live dispatcher's [`ClusterView`]: registered hubs and their latest telemetry, so the same
//! policy code as the simulator decides on real hubs.
//!
//! A hub reports free replicas, queue depth, its tariff now and its green share now. What the
//! telemetry does not carry (per-token speed and energy) comes from the serving model: the
//! catalog model it serves on the catalog accelerator it registered most of
//! ([`tokengrid_energy::deploy::catalog_figures`], the same figures `tokengrid energy` reports).
//! A model or accelerator the catalog does not know is costed as the reference deployment,
//! DeepSeek-V3 on H800 ([`reference_figures`]).

use std::sync::Arc;
use std::time::Duration;

use tokengrid_core::{AcceleratorId, DEFAULT_ROUTE_FACTOR, HubId, ModelId};
use tokengrid_energy::ServingFigures;
use tokengrid_energy::deploy::catalog_figures;
use tokengrid_net::geo::derived_route;
use tokengrid_sched::view::*;

use crate::upstream::{Api, upstream_url};
use crate::wire::{HubSpec, NATIONAL_GRID_CARBON_G_PER_KWH, Telemetry};

/// The reference deployment a hub is costed as when the catalog knows neither its model nor its
/// accelerators: DeepSeek-V3 on H800, the built-in scenarios' deployment.
pub const REFERENCE: (&str, &str) = ("deepseek-v3", "H800-SXM");

/// Serving figures of the reference deployment.
pub fn reference_figures() -> ServingFigures {
    catalog_figures(REFERENCE.0, REFERENCE.1).unwrap_or(ServingFigures {
        accelerators: 1,
        batch: 1,
        prefill_tokens_per_s: 1.0,
        decode_step_s: 1.0,
        joules_per_prompt_token: 0.0,
        joules_per_output_token: 0.0,
        idle_kw: 0.0,
        marginal_kw: 0.0,
    })
}

/// Serving figures of `model` at a hub registered as `spec`: the catalog model on the catalog
/// accelerator type the hub has most of; the reference deployment's where the catalog knows
/// neither.
pub fn hub_figures(spec: &HubSpec, model: &str) -> ServingFigures {
    let mut types: Vec<(&String, &u32)> = spec.accelerators.iter().collect();
    types.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let acc = types
        .iter()
        .map(|(name, _)| name.as_str())
        .find(|name| tokengrid_core::catalog::accelerator(name).is_some())
        .unwrap_or(REFERENCE.1);
    catalog_figures(model, acc)
        .or_else(|| catalog_figures(REFERENCE.0, acc))
        .unwrap_or_else(reference_figures)
}

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
    /// How requests to it authenticate.
    pub auth: HubAuth,
}

/// How the dispatcher authenticates to a hub.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum HubAuth {
    /// It needs no key.
    #[default]
    None,
    /// `Authorization: Bearer` with its API key (a header value marked sensitive).
    Bearer(axum::http::HeaderValue),
    /// It has a key this replica cannot open (no or another `TOKENGRID_SECRET_KEY`): out of
    /// rotation, as a request without its key would only be refused.
    Unavailable(String),
}

impl HubAuth {
    /// The authentication for a hub whose sealed key (if any) is `sealed`.
    pub fn open(
        sealer: Option<&crate::secrets::Sealer>,
        hub: &str,
        sealed: Option<&str>,
    ) -> HubAuth {
        let Some(sealed) = sealed else {
            return HubAuth::None;
        };
        let Some(sealer) = sealer else {
            return HubAuth::Unavailable(format!(
                "its API key is sealed in the ledger and this dispatcher has no {}",
                crate::secrets::SECRET_KEY_ENV
            ));
        };
        match sealer.open(hub, sealed).map(|k| HubAuth::bearer(&k)) {
            Ok(Some(auth)) => auth,
            Ok(None) => HubAuth::Unavailable("its API key is not a valid header value".into()),
            Err(e) => HubAuth::Unavailable(format!("its API key: {e}")),
        }
    }

    /// `Authorization: Bearer KEY`, or `None` when the key cannot be a header value.
    pub fn bearer(key: &crate::secrets::Secret) -> Option<HubAuth> {
        let mut v = axum::http::HeaderValue::from_str(&format!("Bearer {}", key.expose())).ok()?;
        v.set_sensitive(true);
        Some(HubAuth::Bearer(v))
    }
}

impl LiveHub {
    /// In rotation at `now_ms`: heard from within the timeout, and not reporting itself down.
    pub fn is_up(&self, timeout: Duration, now_ms: i64) -> bool {
        let age_ms = now_ms.saturating_sub(self.last_seen_ms);
        (self.spec.heartbeats == Some(false)
            || age_ms <= i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))
            && self.telemetry.is_none_or(|t| t.up)
            && !matches!(self.auth, HubAuth::Unavailable(_))
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
    /// Serving figures by hub, then model id (the registered hardware and the catalog).
    pub figures: Vec<Vec<ServingFigures>>,
    /// Whether a hub serves a model, by hub, then model id (looked up on every decision).
    pub serves: Vec<Vec<bool>>,
    /// Each hub's OpenAI URLs by [`Api::index`], parsed once (`None`: the endpoint does not
    /// make a URL; the proxy then reports why when it tries the hub).
    pub uris: Vec<[Option<axum::http::Uri>; 2]>,
    /// Each hub's name as the `x-tokengrid-hub` header of its answers, made once.
    pub name_headers: Vec<Option<axum::http::HeaderValue>>,
}

impl HubRegistry {
    /// A registry of `hubs`.
    pub fn new(hubs: Vec<LiveHub>) -> Self {
        let mut r = HubRegistry {
            hubs,
            models: Vec::new(),
            figures: Vec::new(),
            serves: Vec::new(),
            uris: Vec::new(),
            name_headers: Vec::new(),
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
        self.figures = self
            .hubs
            .iter()
            .map(|h| models.iter().map(|m| hub_figures(&h.spec, m)).collect())
            .collect();
        self.serves = self
            .hubs
            .iter()
            .map(|h| models.iter().map(|m| h.spec.models.contains(m)).collect())
            .collect();
        self.uris = (self.hubs.iter())
            .map(|h| Api::ALL.map(|api| upstream_url(&h.spec.endpoint, api).parse().ok()))
            .collect();
        self.name_headers = (self.hubs.iter())
            .map(|h| axum::http::HeaderValue::from_str(&h.spec.name).ok())
            .collect();
        self.models = models;
    }
}

thread_local! {
    /// Round trips last worked out on this thread, by hub id: (origin and hub site as bits, ms).
    static RTT_MEMO: std::cell::RefCell<Vec<([u64; 4], f64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A snapshot of the registry for one decision: the shared registry plus who is up now.
#[derive(Debug, Clone)]
pub struct LiveView {
    reg: Arc<HubRegistry>,
    up: Vec<bool>,
    /// The clock at the snapshot, ms since the Unix epoch (the view's time 0).
    now_ms: i64,
}

/// A hub's offset from UTC when its registration gives none, hours (China Standard Time; the
/// hubs this tool was built for are in China).
pub const DEFAULT_UTC_OFFSET_HOURS: f64 = 8.0;

/// A replica with `f`'s figures, one free slot, no queue.
pub fn model_with(f: &ServingFigures) -> ModelSnapshot {
    ModelSnapshot {
        replicas: 1,
        free_slots: 1,
        queue_len: 0,
        max_queue: None,
        expected_wait_s: 0.0,
        utilization: 0.5,
        prefill_tokens_per_s: f.prefill_tokens_per_s,
        decode_s_per_token: f.decode_step_s,
        joules_per_prompt_token: f.joules_per_prompt_token,
        joules_per_output_token: f.joules_per_output_token,
        marginal_kw: f.marginal_kw,
    }
}

/// The reference deployment's replica (for an answer whose hub has left the registry).
pub fn nominal_model() -> ModelSnapshot {
    model_with(&reference_figures())
}

impl LiveView {
    /// The view of `reg` at `now_ms` (ms since the Unix epoch): hubs silent past `timeout` (or
    /// reporting down) are down.
    pub fn new(reg: Arc<HubRegistry>, timeout: Duration, now_ms: i64) -> Self {
        let up = reg.hubs.iter().map(|h| h.is_up(timeout, now_ms)).collect();
        LiveView { reg, up, now_ms }
    }

    /// Takes the hubs whose names match `down` out of rotation in this view.
    pub(crate) fn mark_down(&mut self, down: impl Fn(&str) -> bool) {
        for (up, h) in self.up.iter_mut().zip(&self.reg.hubs) {
            if *up && down(&h.spec.name) {
                *up = false;
            }
        }
    }

    /// Each registered hub's name and whether it is in rotation in this view.
    pub(crate) fn rotation(&self) -> impl Iterator<Item = (&str, bool)> {
        self.reg
            .hubs
            .iter()
            .zip(&self.up)
            .map(|(h, up)| (h.spec.name.as_str(), *up))
    }

    /// The models some hub in rotation serves (heard from, not down, not resting after a
    /// failure), sorted.
    pub(crate) fn models_in_rotation(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .reg
            .hubs
            .iter()
            .zip(&self.up)
            .filter(|(_, up)| **up)
            .flat_map(|(h, _)| h.spec.models.iter().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The time this view was taken, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The `Authorization` header requests to a hub carry, if it needs one.
    pub fn authorization(&self, h: HubId) -> Option<&axum::http::HeaderValue> {
        match self.reg.hubs.get(h.index()).map(|x| &x.auth) {
            Some(HubAuth::Bearer(v)) => Some(v),
            _ => None,
        }
    }

    /// The URL of the hub's OpenAI endpoint for `api`, when its base URL makes one.
    pub fn upstream(&self, h: HubId, api: Api) -> Option<&axum::http::Uri> {
        self.reg.uris.get(h.index())?[api.index()].as_ref()
    }

    /// The hub's OpenAI base URL as registered.
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

    /// A hub's name as a header value (`None`: not one).
    pub fn hub_header(&self, h: HubId) -> Option<&axum::http::HeaderValue> {
        self.reg.name_headers.get(h.index())?.as_ref()
    }

    /// A hub's name.
    pub fn hub_name(&self, h: HubId) -> &str {
        self.reg
            .hubs
            .get(h.index())
            .map_or("?", |x| x.spec.name.as_str())
    }

    /// The hub's local time at the snapshot, s since the Unix epoch shifted by its UTC offset.
    fn local_s(&self, spec: &HubSpec) -> f64 {
        let offset_s = spec.utc_offset_hours.unwrap_or(DEFAULT_UTC_OFFSET_HOURS) * 3600.0;
        self.now_ms as f64 / 1e3 + offset_s
    }

    /// The registered price at `at_s` from now: the time-of-use profile's value for that local
    /// hour, or the flat tariff when none was registered.
    fn registered_tariff(&self, spec: &HubSpec, at_s: f64) -> f64 {
        let hour = ((self.local_s(spec) + at_s) / 3600.0).floor() as i64;
        spec.tariff_by_hour
            .as_ref()
            .and_then(|p| p.get(hour.rem_euclid(24) as usize).copied())
            .unwrap_or(spec.tariff_yuan_per_kwh)
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
        // The marginal kWh is green in the share the hub reports: price it accordingly. Before
        // its first telemetry, the registered price of the current local hour.
        let (tariff, green) = t.map_or_else(
            || (self.registered_tariff(spec, 0.0), 0.0),
            |t| (t.tariff_yuan_per_kwh, t.green_fraction),
        );
        // The grid's share of the marginal kWh carries the grid's CO2, as in the simulator's
        // view (which the green policy ranks by).
        let carbon = t
            .and_then(|t| t.grid_carbon_g_per_kwh)
            .or(spec.grid_carbon_g_per_kwh)
            .unwrap_or(NATIONAL_GRID_CARBON_G_PER_KWH);
        HubSnapshot {
            up,
            pue: spec.pue,
            tariff_now: tariff * (1.0 - green),
            green_surplus_kw: 0.0,
            carbon_g_per_kwh_now: carbon * (1.0 - green),
            power_headroom_kw: f64::INFINITY,
        }
    }

    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let (_, t, _) = self.spec(h);
        let serves = self.reg.serves.get(h.index())?;
        if !serves.get(m.index()).copied().unwrap_or(false) {
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
            ..model_with(
                &self
                    .reg
                    .figures
                    .get(h.index())
                    .and_then(|f| f.get(m.index()))
                    .copied()
                    .unwrap_or_else(reference_figures),
            )
        })
    }

    fn rtt_ms(&self, from: Origin, h: HubId) -> f64 {
        let (spec, _, _) = self.spec(h);
        let (lat, lon) = match from {
            Origin::Point { lat, lon } => (lat, lon),
            Origin::Region(_) => return 0.0,
        };
        // The same function of the same four numbers: remembered per hub on this thread, as
        // clients mostly share an origin and the great circle's trigonometry costs about 130
        // instructions per hub per decision (callgrind: 1,000 of a decision's 42,000 over 8
        // hubs).
        let key = [lat, lon, spec.lat, spec.lon].map(f64::to_bits);
        RTT_MEMO.with_borrow_mut(|memo| {
            let i = h.index();
            if let Some(&(k, ms)) = memo.get(i)
                && k == key
            {
                return ms;
            }
            let ms = derived_route((lat, lon), (spec.lat, spec.lon), DEFAULT_ROUTE_FACTOR).rtt_ms;
            if memo.len() <= i {
                memo.resize(i + 1, ([u64::MAX; 4], 0.0));
            }
            memo[i] = (key, ms);
            ms
        })
    }

    /// The price of the hub's local hour at `at_s` (s from now): the telemetry's price for the
    /// current hour, the registered time-of-use profile for later ones (flat when none was
    /// registered). Each forecast holds to the end of its local hour.
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let (spec, _, _) = self.spec(h);
        let local = self.local_s(spec);
        let hour_now = (local / 3600.0).floor();
        let hour_start = ((local + at_s) / 3600.0).floor();
        let until_s = ((hour_start + 1.0) * 3600.0 - local).max(at_s + 1e-3);
        let tariff = if hour_start > hour_now {
            self.registered_tariff(spec, at_s)
        } else {
            self.hub(h).tariff_now
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

#[cfg(test)]
mod tests;

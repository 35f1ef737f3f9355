//! `ClusterView`: the read-only picture of the hubs a policy decides on.
//!
//! The simulator implements it from its own state, the live dispatcher from hub telemetry; the
//! policy code never knows which. Every method is a cheap lookup (the simulator answers from dense
//! arrays), so a decision over 8 hubs takes well under a microsecond.

use tokengrid_core::{AcceleratorId, HubId, ModelId, RegionId};

/// Where a unit of work comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin {
    /// A demand region of the scenario.
    Region(RegionId),
    /// A point (the live dispatcher's clients), degrees.
    Point {
        /// Latitude, degrees north.
        lat: f64,
        /// Longitude, degrees east.
        lon: f64,
    },
}

/// What a policy sees of a hub now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HubSnapshot {
    /// In rotation (not failed, heartbeating).
    pub up: bool,
    /// Power usage effectiveness.
    pub pue: f64,
    /// Electricity price now, per kWh.
    pub tariff_now: f64,
    /// Local green supply not used by the hub's current draw, kW (0 when none).
    pub green_surplus_kw: f64,
    /// Grid carbon intensity now, g/kWh.
    pub carbon_g_per_kwh_now: f64,
    /// Facility power the hub may still draw before its grid cap, kW.
    pub power_headroom_kw: f64,
}

/// What a policy sees of one model's serving at a hub now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSnapshot {
    /// Replicas of the model at the hub.
    pub replicas: u32,
    /// Sequences that could start now without waiting (free batch slots, or idle replicas
    /// without batching).
    pub free_slots: u32,
    /// Requests waiting.
    pub queue_len: u32,
    /// Bound on waiting requests; `None` is unbounded.
    pub max_queue: Option<u32>,
    /// Expected wait before service starts, s.
    pub expected_wait_s: f64,
    /// Fraction of replica capacity in use (0..1).
    pub utilization: f64,
    /// Prefill throughput of one replica, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// Decode time per output token one sequence sees at the current load, s.
    pub decode_s_per_token: f64,
    /// IT energy per prompt token, J.
    pub joules_per_prompt_token: f64,
    /// IT energy per output token, J.
    pub joules_per_output_token: f64,
    /// Extra IT power if one more replica turns busy, kW (0 when a busy replica has room).
    pub marginal_kw: f64,
}

/// Forecast of a hub's supply at a future time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// Electricity price, per kWh.
    pub tariff: f64,
    /// Local green supply expected to be left over by the hub's own load, kW.
    pub green_surplus_kw: f64,
    /// Grid carbon intensity, g/kWh.
    pub carbon_g_per_kwh: f64,
    /// The forecast holds until this time, s (the next hour boundary of the hub's profiles).
    pub until_s: f64,
}

/// A link between two hubs as a policy sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkSnapshot {
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Bandwidth, Gbit/s.
    pub gbps: f64,
    /// Random loss probability.
    pub loss: f64,
    /// Whether bandwidth on it can be reserved.
    pub deterministic: bool,
}

/// The read-only picture a policy decides on.
pub trait ClusterView {
    /// Seconds since the scenario start (simulated or wall clock).
    fn now_s(&self) -> f64;
    /// Number of hubs; hub ids are `0..hub_count()`.
    fn hub_count(&self) -> usize;
    /// The hub now.
    fn hub(&self, h: HubId) -> HubSnapshot;
    /// The model's serving at the hub now; `None` when the hub does not serve it.
    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot>;
    /// Round-trip time from an origin to a hub, ms.
    fn rtt_ms(&self, from: Origin, h: HubId) -> f64;
    /// Supply forecast at `at_s` (up to 48 h ahead).
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast;
    /// Sequence slots of model `m` at the hub not yet promised to deferred work for the whole
    /// window `[from_s, to_s)`.
    fn free_slots_at(&self, h: HubId, m: ModelId, from_s: f64, to_s: f64) -> u32;
    /// Accelerators (of type `acc`, or any) free at the hub for the whole window
    /// `[from_s, to_s)`, after reservations already made.
    fn free_accelerators(
        &self,
        h: HubId,
        acc: Option<AcceleratorId>,
        from_s: f64,
        to_s: f64,
    ) -> u32;
    /// The best link between two hubs.
    fn link(&self, a: HubId, b: HubId) -> LinkSnapshot;
    /// Whether `gbps` can be reserved on deterministic links between two hubs over a window.
    fn can_reserve(&self, a: HubId, b: HubId, gbps: f64, from_s: f64, to_s: f64) -> bool;
}

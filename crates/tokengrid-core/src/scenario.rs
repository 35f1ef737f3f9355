//! The validated domain model of a scenario.
//!
//! Every reference between entities is a dense index (`ModelId`, `HubId`, ...) resolved during
//! validation, so later crates never look anything up by string on a hot path. Every quantity
//! carries its unit in its name.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::hardware::{Accelerator, Model};
use crate::policy::PolicyDef;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the scenario's list of this entity.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// Index of an accelerator type in [`Scenario::accelerators`].
    AcceleratorId
);
id_type!(
    /// Index of a model in [`Scenario::models`].
    ModelId
);
id_type!(
    /// Index of a hub in [`Scenario::hubs`].
    HubId
);
id_type!(
    /// Index of a demand region in [`Scenario::regions`].
    RegionId
);
id_type!(
    /// Index of a workload class in [`Scenario::classes`].
    ClassId
);

/// Default fiber route length over great-circle distance (DESIGN.md; shared/data/facts/network.md
/// treats 1.3-2x as the common range and the factor as an assumption).
pub const DEFAULT_ROUTE_FACTOR: f64 = 1.4;

/// Share of a replica's HBM kept free for the KV cache when checking that a model's weights fit.
///
/// assumption: serving engines reserve most of the memory left after weights for the KV cache;
/// a replica whose weights leave less than a tenth of HBM could hold almost no context.
pub const KV_RESERVE_FRACTION: f64 = 0.10;

/// A whole validated scenario: the world tokengrid plans and simulates.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Start time with its UTC offset; hour 0 of every hourly list is local midnight of this day.
    pub start: OffsetDateTime,
    /// How long arrivals are admitted.
    pub duration: Duration,
    /// Seed of every random stream.
    pub seed: u64,
    /// Currency code of tariffs and costs.
    pub currency: String,
    /// Fiber route length over great-circle distance for derived links.
    pub route_factor: f64,
    /// Accelerator types.
    pub accelerators: Vec<Accelerator>,
    /// Models.
    pub models: Vec<Model>,
    /// Data-center hubs.
    pub hubs: Vec<Hub>,
    /// Demand regions.
    pub regions: Vec<Region>,
    /// Workload classes.
    pub classes: Vec<Class>,
    /// Explicit links; other site pairs get links derived from geography.
    pub links: Vec<Link>,
    /// The scenario's own scheduling policies.
    pub policies: Vec<PolicyDef>,
}

impl Scenario {
    /// Seconds from local midnight (in the start's own UTC offset) to the start: hour 0 of every
    /// hourly list is that midnight.
    pub fn start_second_of_day(&self) -> u32 {
        let t = self.start.time();
        u32::from(t.hour()) * 3600 + u32::from(t.minute()) * 60 + u32::from(t.second())
    }

    /// Day of the year of the start, 1..=366 (local date).
    pub fn start_day_of_year(&self) -> u16 {
        self.start.ordinal()
    }

    /// The accelerator type `id`.
    pub fn accelerator(&self, id: AcceleratorId) -> &Accelerator {
        &self.accelerators[id.index()]
    }
    /// The model `id`.
    pub fn model(&self, id: ModelId) -> &Model {
        &self.models[id.index()]
    }
    /// The hub `id`.
    pub fn hub(&self, id: HubId) -> &Hub {
        &self.hubs[id.index()]
    }
    /// The region `id`.
    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id.index()]
    }
    /// The class `id`.
    pub fn class(&self, id: ClassId) -> &Class {
        &self.classes[id.index()]
    }
    /// The hub named `name`.
    pub fn hub_id(&self, name: &str) -> Option<HubId> {
        position(self.hubs.iter().map(|h| h.name.as_str()), name).map(HubId)
    }
    /// The model named `name`.
    pub fn model_id(&self, name: &str) -> Option<ModelId> {
        position(self.models.iter().map(|m| m.name.as_str()), name).map(ModelId)
    }
    /// The accelerator type named `name`.
    pub fn accelerator_id(&self, name: &str) -> Option<AcceleratorId> {
        position(self.accelerators.iter().map(|a| a.name.as_str()), name).map(AcceleratorId)
    }
    /// The region named `name`.
    pub fn region_id(&self, name: &str) -> Option<RegionId> {
        position(self.regions.iter().map(|r| r.name.as_str()), name).map(RegionId)
    }
    /// The class named `name`.
    pub fn class_id(&self, name: &str) -> Option<ClassId> {
        position(self.classes.iter().map(|c| c.name.as_str()), name).map(ClassId)
    }
    /// The site (hub or region) named `name`.
    pub fn site(&self, name: &str) -> Option<Site> {
        self.hub_id(name)
            .map(Site::Hub)
            .or_else(|| self.region_id(name).map(Site::Region))
    }
    /// Name of a site.
    pub fn site_name(&self, site: Site) -> &str {
        match site {
            Site::Hub(h) => &self.hub(h).name,
            Site::Region(r) => &self.region(r).name,
        }
    }
    /// Latitude and longitude of a site, degrees.
    pub fn site_lat_lon(&self, site: Site) -> (f64, f64) {
        match site {
            Site::Hub(h) => (self.hub(h).lat, self.hub(h).lon),
            Site::Region(r) => (self.region(r).lat, self.region(r).lon),
        }
    }
    /// Accelerators of type `acc` installed at hub `hub`.
    pub fn accelerators_at(&self, hub: HubId, acc: AcceleratorId) -> u32 {
        self.hub(hub)
            .accelerators
            .iter()
            .find(|(a, _)| *a == acc)
            .map_or(0, |(_, n)| *n)
    }
    /// Replicas of `model` at hub `hub` (0 when it does not serve the model).
    pub fn replicas_at(&self, hub: HubId, model: ModelId) -> u32 {
        self.hub(hub)
            .replicas
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0, |(_, n)| *n)
    }

    /// Accelerators of type `acc` at hub `hub` not held by serving replicas: free for training.
    pub fn training_accelerators_at(&self, hub: HubId, acc: AcceleratorId) -> u32 {
        let held: u32 = self
            .hub(hub)
            .replicas
            .iter()
            .filter(|(m, _)| self.model(*m).accelerator == acc)
            .map(|(m, n)| n * self.model(*m).accelerators_per_replica)
            .sum();
        self.accelerators_at(hub, acc).saturating_sub(held)
    }
}

fn position<'a>(mut names: impl Iterator<Item = &'a str>, name: &str) -> Option<u32> {
    names
        .position(|n| n == name)
        .and_then(|i| u32::try_from(i).ok())
}

impl Scenario {
    /// Multiplies every region's request rate by `factor` (a demand scenario: 2024's 100 billion
    /// tokens a day is the national scenario at 1/1,400). `factor` must be finite and > 0.
    pub fn scale_demand(&mut self, factor: f64) {
        for r in &mut self.regions {
            r.peak_rps *= factor;
        }
    }
}

/// 24 values, one per local hour of day (hour 0 = midnight local time of the scenario start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hourly(pub [f64; 24]);

impl Hourly {
    /// The same value every hour.
    pub fn flat(v: f64) -> Self {
        Hourly([v; 24])
    }
    /// The value at hour of day `hour` (taken modulo 24).
    #[inline]
    pub fn at(&self, hour: usize) -> f64 {
        self.0[hour % 24]
    }
    /// Mean over the 24 hours.
    pub fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / 24.0
    }
}

/// Named green-supply profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreenProfile {
    /// Photovoltaic output from a clear-sky model at the hub's latitude, longitude and date.
    Solar,
}

/// Local green supply of a hub.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GreenSupply {
    /// MW available in each hour.
    HourlyMw(Hourly),
    /// A named profile scaled by installed capacity, MW.
    Profile {
        /// Which profile.
        profile: GreenProfile,
        /// Installed capacity, MW.
        installed_mw: f64,
    },
}

/// How a replica serves concurrent sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// Continuous batching up to the model's `max_batch`.
    Continuous,
    /// One sequence per replica at a time (an exact M/G/n queue).
    None,
}

/// A scheduled hub outage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    /// Offset from the scenario start.
    pub at: Duration,
    /// Length.
    pub length: Duration,
}

/// A data-center hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Hub {
    /// Hub name.
    pub name: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Power usage effectiveness, >= 1.
    pub pue: f64,
    /// Grid connection cap, MW.
    pub grid_cap_mw: f64,
    /// Accelerator counts by type, ordered by id.
    pub accelerators: Vec<(AcceleratorId, u32)>,
    /// Models served, ordered by id.
    pub models: Vec<ModelId>,
    /// Replicas of each served model, ordered by model id.
    pub replicas: Vec<(ModelId, u32)>,
    /// Tariff by hour, currency units per kWh.
    pub tariff_yuan_per_kwh: Hourly,
    /// Local green supply; `None` when the hub has none.
    pub green: Option<GreenSupply>,
    /// Grid carbon intensity by hour, g CO2/kWh.
    pub grid_carbon_g_per_kwh: Hourly,
    /// Batching mode.
    pub batching: Batching,
    /// Bound on waiting requests; `None` is unbounded.
    pub max_queue: Option<u32>,
    /// Scheduled outages.
    pub outages: Vec<Outage>,
    /// Operating cost other than electricity, yuan per day (0 when the scenario gives none).
    pub other_opex_yuan_per_day: f64,
}

impl Hub {
    /// Whether the hub serves `model`.
    pub fn serves(&self, model: ModelId) -> bool {
        self.models.contains(&model)
    }
}

/// Trace file formats a region can replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure LLM inference trace CSV: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    AzureCsv,
    /// Mooncake JSON Lines: `timestamp` (ms), `input_length`, `output_length`.
    MooncakeJsonl,
}

/// A region's trace replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The trace file, resolved against the scenario file's folder.
    pub file: PathBuf,
    /// Its format.
    pub format: TraceFormat,
    /// Class of every replayed request.
    pub class: ClassId,
    /// Trace time is divided by this.
    pub time_scale: f64,
}

/// A demand region.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Region name.
    pub name: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Requests per second at diurnal factor 1.0 (0 when the region only replays a trace).
    pub peak_rps: f64,
    /// Diurnal factors by hour.
    pub diurnal: Hourly,
    /// Class shares of requests, ordered by class id; they sum to 1.
    pub mix: Vec<(ClassId, f64)>,
    /// Hubs this region's data may go to; `None` means any.
    pub residency: Option<Vec<HubId>>,
    /// Trace replay, when the region replays one.
    pub trace: Option<Trace>,
}

impl Region {
    /// Whether this region's data may be processed at `hub`.
    pub fn may_use(&self, hub: HubId) -> bool {
        self.residency.as_ref().is_none_or(|r| r.contains(&hub))
    }
}

/// A token-length distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenDist {
    /// Always `value` tokens.
    Fixed {
        /// Tokens.
        value: f64,
    },
    /// Exponential with mean `mean` tokens.
    Exponential {
        /// Mean tokens.
        mean: f64,
    },
    /// Lognormal with median `median` tokens and log-space standard deviation `sigma`.
    Lognormal {
        /// Median tokens.
        median: f64,
        /// Sigma of the underlying normal.
        sigma: f64,
    },
}

impl TokenDist {
    /// The distribution's mean, tokens.
    pub fn mean(&self) -> f64 {
        match *self {
            TokenDist::Fixed { value } => value,
            TokenDist::Exponential { mean } => mean,
            TokenDist::Lognormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
        }
    }
}

/// A workload class.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// Class name.
    pub name: String,
    /// What kind of work and its parameters.
    pub kind: ClassKind,
}

/// The kinds of work.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassKind {
    /// Interactive inference with latency SLOs.
    Inference(Inference),
    /// Deferrable batch inference with a deadline.
    Batch(Batch),
    /// A training job.
    Training(Training),
}

impl ClassKind {
    /// The kind's name as written in TOML.
    pub fn name(&self) -> &'static str {
        match self {
            ClassKind::Inference(_) => "inference",
            ClassKind::Batch(_) => "batch",
            ClassKind::Training(_) => "training",
        }
    }
}

impl Class {
    /// The model an inference or batch class runs; `None` for training.
    pub fn model(&self) -> Option<ModelId> {
        match &self.kind {
            ClassKind::Inference(i) => Some(i.model),
            ClassKind::Batch(b) => Some(b.model),
            ClassKind::Training(_) => None,
        }
    }
}

/// Parameters of an inference class.
#[derive(Debug, Clone, PartialEq)]
pub struct Inference {
    /// Model served.
    pub model: ModelId,
    /// Prompt length.
    pub prompt_tokens: TokenDist,
    /// Output length.
    pub output_tokens: TokenDist,
    /// Time-to-first-token SLO, ms.
    pub ttft_slo_ms: Option<f64>,
    /// End-to-end latency SLO, ms.
    pub e2e_slo_ms: Option<f64>,
}

/// Parameters of a batch class.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Model served.
    pub model: ModelId,
    /// Prompt length per job.
    pub prompt_tokens: TokenDist,
    /// Output length per job.
    pub output_tokens: TokenDist,
    /// Deadline after arrival.
    pub deadline: Duration,
}

/// Parameters of a training class.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Accelerators a job uses.
    pub accelerators: u32,
    /// Accelerator type required; `None` means any.
    pub accelerator: Option<AcceleratorId>,
    /// Wall-clock hours on `accelerators` at full (single data-center) efficiency.
    pub compute_hours: f64,
    /// Gradient bytes exchanged per step, GB.
    pub gradient_gb_per_step: f64,
    /// Compute time of one step, s.
    pub step_compute_s: f64,
    /// Deadline after arrival.
    pub deadline: Duration,
    /// Whether a job may be split across hubs.
    pub splittable: bool,
    /// Job arrivals per day.
    pub jobs_per_day: f64,
}

/// A site: where a link can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Site {
    /// A hub.
    Hub(HubId),
    /// A demand region.
    Region(RegionId),
}

/// How far apart a link's ends are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkLength {
    /// Fiber route length, km.
    Km(f64),
    /// Measured round-trip time, ms.
    RttMs(f64),
}

/// An explicit network link.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// One end.
    pub a: Site,
    /// Other end.
    pub b: Site,
    /// Length or measured RTT.
    pub length: LinkLength,
    /// Bandwidth, Gbit/s.
    pub gbps: f64,
    /// Random packet loss probability.
    pub loss: f64,
    /// Part of a deterministic network.
    pub deterministic: bool,
    /// Reservable bandwidth, Gbit/s (0 unless deterministic).
    pub reservable_gbps: f64,
    /// Scheduled degradations.
    pub degradations: Vec<Degradation>,
}

/// A scheduled link degradation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degradation {
    /// Offset from the scenario start.
    pub at: Duration,
    /// Length.
    pub length: Duration,
    /// Round-trip time added, ms.
    pub extra_rtt_ms: f64,
    /// Packet loss meanwhile.
    pub loss: f64,
}

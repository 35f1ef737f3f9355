//! The scenario file exactly as written: serde structs that mirror the TOML of DESIGN.md.
//!
//! Nothing here is checked beyond TOML syntax, key names (`deny_unknown_fields`) and value types;
//! Validation (the private `validate` module) turns a [`RawScenario`] into the domain [`crate::Scenario`]. The raw form is
//! also what `Serialize` writes back, so a scenario round-trips through TOML.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// `[scenario]`: name, start, duration, seed, currency.
    pub scenario: RawHeader,
    /// `[[accelerator]]` tables.
    #[serde(default, rename = "accelerator", skip_serializing_if = "Vec::is_empty")]
    pub accelerators: Vec<RawAccelerator>,
    /// `[[model]]` tables.
    #[serde(default, rename = "model", skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<RawModel>,
    /// `[[hub]]` tables.
    #[serde(default, rename = "hub", skip_serializing_if = "Vec::is_empty")]
    pub hubs: Vec<RawHub>,
    /// `[[region]]` tables.
    #[serde(default, rename = "region", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RawRegion>,
    /// `[[class]]` tables.
    #[serde(default, rename = "class", skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<RawClass>,
    /// `[[link]]` tables.
    #[serde(default, rename = "link", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<RawLink>,
    /// `[[policy]]` tables: the scenario's own policies.
    #[serde(default, rename = "policy", skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<RawPolicy>,
}

/// `[[policy]]`: a named set of scheduling plugins and score weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Policy name (used with `--policy`).
    pub name: String,
    /// Filter plugins, in order (the hard filters model, up, residency, capacity are always
    /// applied first).
    #[serde(default)]
    pub filters: Vec<String>,
    /// Score plugin name -> weight.
    pub scores: BTreeMap<String, f64>,
    /// What deferrable work's start time minimises: "cost" (default) or "carbon".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
}

/// `[scenario]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    /// Scenario name.
    pub name: String,
    /// RFC 3339 start time with offset; hour 0 of every hourly list is local midnight of this day.
    pub start: String,
    /// Simulated duration, humantime ("6h", "90m", "7d").
    pub duration: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// Currency of tariffs and costs (ISO 4217 code).
    pub currency: String,
    /// Fiber route length over great-circle distance for derived links (default 1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_factor: Option<f64>,
}

/// `[[accelerator]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccelerator {
    /// Type name, referenced by models and hubs.
    pub name: String,
    /// Built-in catalog entry whose figures fill the keys this table leaves out
    /// (`tokengrid catalog accelerators`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// Peak dense BF16 TFLOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16_tflops: Option<f64>,
    /// Peak dense FP8 TFLOPS, where the accelerator has FP8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_tflops: Option<f64>,
    /// HBM capacity, GB (1e9 bytes; the vendor's "80 GB" is 80 GiB = 85.9 GB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbm_gb: Option<f64>,
    /// HBM bandwidth, TB/s (1e12 bytes/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbm_tbps: Option<f64>,
    /// Board power at full load, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tdp_w: Option<f64>,
    /// Board power when idle, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_w: Option<f64>,
    /// Scale-up (NVLink) bandwidth per accelerator, one direction, GB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_gbps: Option<f64>,
    /// Scale-out (InfiniBand, RoCE) bandwidth per accelerator, one direction, GB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_gbps: Option<f64>,
    /// Accelerators per node (one scale-up domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_node: Option<u32>,
    /// Node power beyond the accelerators (CPUs, NICs, fans) per accelerator, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_w: Option<f64>,
    /// Purchase price of one accelerator with its share of the server, yuan (cost of ownership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_yuan: Option<f64>,
    /// Years the purchase is written off over (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_years: Option<f64>,
}

/// `[[model]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Model name, referenced by hubs and classes.
    pub name: String,
    /// Built-in catalog entry whose architecture fills the keys this table leaves out
    /// (`tokengrid catalog models`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// Total parameters, billions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_params_b: Option<f64>,
    /// Parameters active per token, billions (equal to total for a dense model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_params_b: Option<f64>,
    /// Routed experts (MoE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts: Option<u32>,
    /// Routed experts each token activates (MoE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts_per_token: Option<u32>,
    /// Bytes per weight (1.0 for FP8, 2.0 for BF16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_param: Option<f64>,
    /// KV-cache bytes per token of context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_bytes_per_token: Option<f64>,
    /// Tensor-parallel degree of attention and dense layers (default: the whole replica for a
    /// dense model, 1 for a MoE model, whose attention then runs data parallel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_parallel: Option<u32>,
    /// Expert-parallel degree of the MoE layers (default: the whole replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_parallel: Option<u32>,
    /// Accelerator type a replica runs on.
    pub accelerator: String,
    /// Accelerators per replica.
    pub accelerators_per_replica: u32,
    /// Concurrent sequences per replica.
    pub max_batch: u32,
    /// Measured prefill throughput per replica, tokens/s (overrides the roofline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_tokens_per_s: Option<f64>,
    /// Measured decode throughput per replica, tokens/s (overrides the roofline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tokens_per_s: Option<f64>,
    /// Achieved fraction of peak FLOPs in prefill (default: tokengrid-energy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_mfu: Option<f64>,
    /// Achieved fraction of peak FLOPs in decode (default: tokengrid-energy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_mfu: Option<f64>,
    /// Achieved fraction of peak HBM bandwidth in decode (default: tokengrid-energy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_mbu: Option<f64>,
}

/// `[[hub]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHub {
    /// Hub name (a site).
    pub name: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Power usage effectiveness (facility energy / IT energy), >= 1.
    pub pue: f64,
    /// Grid connection cap, MW.
    pub grid_cap_mw: f64,
    /// Accelerator counts by type name.
    pub accelerators: BTreeMap<String, u32>,
    /// Models served.
    pub models: Vec<String>,
    /// Replicas of each served model; by default each accelerator type is shared evenly among the
    /// served models that run on it. Accelerators left over are free for training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<BTreeMap<String, u32>>,
    /// Tariff, yuan/kWh: one number or 24 hourly values.
    pub tariff_yuan_per_kwh: OneOrHourly,
    /// Local green supply: 24 hourly MW values or a named profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green_mw: Option<RawGreen>,
    /// Grid carbon intensity, g CO2/kWh: one number or 24 hourly values.
    pub grid_carbon_g_per_kwh: OneOrHourly,
    /// "continuous" (default) or "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<String>,
    /// Queue bound (requests waiting); unbounded when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<u32>,
    /// Failure schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<RawOutage>,
    /// Operating cost other than electricity (staff, maintenance, network, rent), yuan per day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_opex_yuan_per_day: Option<f64>,
}

/// One outage: `{ at = "2h", for = "30m" }`, offsets from the scenario start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    /// Start, humantime offset from the scenario start.
    pub at: String,
    /// Length, humantime.
    #[serde(rename = "for")]
    pub length: String,
}

/// `[[region]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    /// Region name (a site).
    pub name: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Requests per second at diurnal factor 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rps: Option<f64>,
    /// 24 hourly factors applied to `peak_rps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<Vec<f64>>,
    /// Class name -> share of requests; shares sum to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<BTreeMap<String, f64>>,
    /// Hubs this region's data may go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Vec<String>>,
    /// Replay arrivals from a trace file instead of Poisson arrivals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<RawTrace>,
}

/// A region's `trace = { file, format, class, time_scale }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrace {
    /// Path, relative to the scenario file.
    pub file: String,
    /// "azure-csv" or "mooncake-jsonl".
    pub format: String,
    /// Class every replayed request belongs to.
    pub class: String,
    /// Trace time is divided by this (2.0 replays twice as fast); default 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
}

/// `[[class]]`: one flat table whose allowed keys depend on `kind` (checked in validation, so a
/// misplaced key is reported at its own line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    /// Class name, referenced by region mixes and traces.
    pub name: String,
    /// "inference", "batch" or "training".
    pub kind: String,
    /// Model (inference and batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Prompt-length distribution (inference and batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<RawDist>,
    /// Output-length distribution (inference and batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<RawDist>,
    /// Time-to-first-token SLO, ms (inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_slo_ms: Option<f64>,
    /// End-to-end latency SLO, ms (inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_slo_ms: Option<f64>,
    /// Deadline after arrival, humantime (batch and training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Accelerators a training job needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerators: Option<u32>,
    /// Accelerator type a training job needs (any type when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
    /// Compute hours at full efficiency (training), wall-clock hours on `accelerators`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_hours: Option<f64>,
    /// Gradient bytes exchanged per step, GB (training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_gb_per_step: Option<f64>,
    /// Compute time of one step, s (training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_compute_s: Option<f64>,
    /// Whether a training job may be split across hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splittable: Option<bool>,
    /// Training job arrivals per day (Poisson).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs_per_day: Option<f64>,
}

/// A token-length distribution: `{ dist = "lognormal", median = 900, sigma = 1.1 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDist {
    /// "fixed", "exponential" or "lognormal".
    pub dist: String,
    /// Fixed value (fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Mean (exponential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Median (lognormal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
    /// Sigma of the underlying normal (lognormal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
}

/// `[[link]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// One end (region or hub name).
    pub a: String,
    /// Other end (region or hub name).
    pub b: String,
    /// Fiber route length, km (give this or `rtt_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub km: Option<f64>,
    /// Measured round-trip time, ms (give this or `km`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// Bandwidth, Gbit/s.
    pub gbps: f64,
    /// Random packet loss probability, 0 <= loss < 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Part of a deterministic network (reservable bandwidth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deterministic: Option<bool>,
    /// Reservable bandwidth, Gbit/s (deterministic links only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservable_gbps: Option<f64>,
    /// Scheduled degradations: `[{ at = "2h", for = "30m", extra_rtt_ms = 40.0, loss = 0.01 }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degradations: Vec<RawDegradation>,
}

/// One link degradation, offsets from the scenario start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDegradation {
    /// Start, humantime offset from the scenario start.
    pub at: String,
    /// Length, humantime.
    #[serde(rename = "for")]
    pub length: String,
    /// Round-trip time added meanwhile (a reroute), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_rtt_ms: Option<f64>,
    /// Packet loss meanwhile (replacing the link's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
}

/// A value that is one number or a list (meant to hold 24 hourly values; the length is checked in
/// validation so that the error can say which list and how long it was).
#[derive(Debug, Clone, PartialEq)]
pub enum OneOrHourly {
    /// The same value every hour.
    One(f64),
    /// One value per hour.
    Hourly(Vec<f64>),
}

impl Serialize for OneOrHourly {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OneOrHourly::One(v) => s.serialize_f64(*v),
            OneOrHourly::Hourly(vs) => vs.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OneOrHourly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrHourly;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a list of 24 hourly numbers")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(OneOrHourly::One(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(OneOrHourly::One(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(OneOrHourly::One(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<f64>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrHourly::Hourly)
            }
        }
        d.deserialize_any(V)
    }
}

/// `green_mw`: 24 hourly MW values, or `{ profile = "solar", installed_mw = 200.0 }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawGreen {
    /// Hourly MW.
    Hourly(Vec<f64>),
    /// A named profile scaled by installed capacity.
    Profile(RawGreenProfile),
}

/// `{ profile = "solar", installed_mw = 200.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGreenProfile {
    /// Profile name ("solar" or "wind").
    pub profile: String,
    /// Installed capacity, MW.
    pub installed_mw: f64,
}

impl Serialize for RawGreen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawGreen::Hourly(vs) => vs.serialize(s),
            RawGreen::Profile(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RawGreen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawGreen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list of 24 hourly MW values or a table { profile = \"solar\", installed_mw = .. }",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<f64>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawGreen::Hourly)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawGreenProfile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawGreen::Profile)
            }
        }
        d.deserialize_any(V)
    }
}

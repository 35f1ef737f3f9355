//! The report of a run: the JSON object of DESIGN.md (`simulate --format json`), and the time
//! series (`timeseries.csv`: one row per hub per time step).

use hdrhistogram::Histogram;
use serde::Serialize;
use tokengrid_core::{HubId, Scenario};

use crate::engine::{Nanos, secs};
use crate::stats::Stats;
use crate::world::{STEP_S, World};

mod timeseries;

pub use timeseries::StepRow;

/// Percentiles of a latency, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
}

/// Request counts and latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requests {
    /// Arrivals: completed + rejected + failed.
    pub total: u64,
    /// Served to the end.
    pub completed: u64,
    /// No feasible hub, or the queue was full.
    pub rejected: u64,
    /// Lost to a fault and not recovered.
    pub failed: u64,
    /// Share meeting both SLOs (rejected and failed count as missed).
    pub slo_met_fraction: f64,
    /// Time to first token.
    pub ttft_ms: Percentiles,
    /// End-to-end latency.
    pub e2e_ms: Percentiles,
    /// Sent again after their hub failed.
    pub redispatched: u64,
    /// Batch requests given a later start.
    pub deferred: u64,
}

/// Tokens served.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tokens {
    /// Prompt tokens of completed requests.
    pub prompt: u64,
    /// Output tokens of completed requests.
    pub output: u64,
}

/// Energy, cost and carbon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Energy {
    /// IT energy, kWh.
    pub it_kwh: f64,
    /// Facility energy, kWh.
    pub facility_kwh: f64,
    /// From the grid, kWh.
    pub grid_kwh: f64,
    /// From local green supply, kWh.
    pub green_kwh: f64,
    /// Electricity cost, scenario currency.
    pub cost: f64,
    /// CO2, kg.
    pub carbon_kg: f64,
}

/// Cost of ownership over the run: electricity next to the other operating cost and the
/// write-off of the accelerators (straight line over their lifetime), scenario currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ownership {
    /// Electricity (the energy section's cost).
    pub electricity: f64,
    /// Other operating cost: the hubs' `other_opex_yuan_per_day` over the run.
    pub other_operating: f64,
    /// Accelerators written off over the run: `n x price / lifetime`, for types with a price.
    pub capital: f64,
    /// Electricity over operating cost (electricity + other); 1 when nothing else is priced.
    pub power_share_of_operating: f64,
    /// Electricity over the total (operating + capital).
    pub power_share_of_total: f64,
    /// Accelerators in the hubs without a price (their capital is not counted).
    pub unpriced_accelerators: u64,
}

impl Ownership {
    /// The ownership cost of scenario `s` over `run_s` seconds with `electricity` spent.
    pub fn of(s: &tokengrid_core::Scenario, run_s: f64, electricity: f64) -> Self {
        const YEAR_S: f64 = 365.0 * 86_400.0;
        let mut capital = 0.0;
        let mut other = 0.0;
        let mut unpriced = 0u64;
        for h in &s.hubs {
            other += h.other_opex_yuan_per_day * run_s / 86_400.0;
            for &(a, n) in &h.accelerators {
                let acc = s.accelerator(a);
                match acc.price_yuan {
                    Some(p) => capital += f64::from(n) * p / (acc.lifetime_years * YEAR_S) * run_s,
                    None => unpriced += u64::from(n),
                }
            }
        }
        let share = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 1.0 };
        Ownership {
            electricity,
            other_operating: other,
            capital,
            power_share_of_operating: share(electricity, electricity + other),
            power_share_of_total: share(electricity, electricity + other + capital),
            unpriced_accelerators: unpriced,
        }
    }
}

/// One hub.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubReport {
    /// Hub name.
    pub name: String,
    /// Requests completed there.
    pub requests: u64,
    /// Prompt + output tokens completed there.
    pub tokens: u64,
    /// Mean fraction of its serving capacity in use over the run (sequence slots in use over
    /// slots; with `batching = "none"`, the fraction of replicas busy).
    pub utilization: f64,
    /// Facility energy, kWh.
    pub energy_kwh: f64,
    /// Electricity cost.
    pub cost: f64,
    /// CO2, kg.
    pub carbon_kg: f64,
    /// Mean time from arrival at the hub to the start of service, ms.
    pub mean_wait_ms: f64,
    /// Local green supply used, kWh.
    pub green_kwh: f64,
    /// Requests rejected or failed with this hub the one that came closest to taking them, by
    /// reason code (the hub whose refusal is the request's reason in `unserved`).
    pub unserved: std::collections::BTreeMap<String, u64>,
}

/// One class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// Class name.
    pub name: String,
    /// Arrivals.
    pub requests: u64,
    /// Share meeting its SLOs (deadline for batch).
    pub slo_met_fraction: f64,
    /// Mean wait at the hub, ms.
    pub mean_wait_ms: f64,
    /// Time to first token.
    pub ttft_ms: Percentiles,
    /// End-to-end latency.
    pub e2e_ms: Percentiles,
    /// Time-to-first-token SLO, ms (inference classes with one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_slo_ms: Option<f64>,
    /// End-to-end SLO, ms (inference classes with one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_slo_ms: Option<f64>,
    /// End-to-end latency at the quantiles of [`CDF_QUANTILES`], ms (for CDF charts).
    pub e2e_cdf_ms: Vec<f64>,
    /// Requests of this class rejected or failed, by reason code (e.g. `ttft_slo`: no hub
    /// expected to meet the SLO; `queue_full`; `residency`; `hub_down`).
    pub unserved: std::collections::BTreeMap<String, u64>,
}

/// Why work went unserved, by reason code: the reason at the hub that came closest to taking
/// it (`ttft_slo` / `e2e_slo` / `deadline`: no hub expected to meet it; `queue_full`;
/// `no_capacity`; `residency`; `hub_down`; `power_cap`; `no_network_reservation`;
/// `model_not_served`).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Unserved {
    /// Rejected requests.
    pub rejected: std::collections::BTreeMap<String, u64>,
    /// Failed requests (lost to a fault and not placed again).
    pub failed: std::collections::BTreeMap<String, u64>,
    /// Rejected training jobs.
    pub jobs_rejected: std::collections::BTreeMap<String, u64>,
}

/// Quantiles at which class latency distributions are reported.
pub const CDF_QUANTILES: [f64; 21] = [
    0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97,
    0.98, 0.99, 0.995, 0.999,
];

/// Requests completed from one region at one hub.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Region name.
    pub region: String,
    /// Hub name.
    pub hub: String,
    /// Requests completed.
    pub requests: u64,
}

/// Requests completed from one region at one hub in one hour of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyFlow {
    /// Hours since the start (0 = the first hour).
    pub hour: u32,
    /// Region name.
    pub region: String,
    /// Hub name.
    pub hub: String,
    /// Requests completed (rounded in fluid mode).
    pub requests: u64,
}

/// Training jobs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct JobsReport {
    /// Arrived.
    pub arrived: u64,
    /// Placed (now or later).
    pub placed: u64,
    /// Of which split across two hubs.
    pub split: u64,
    /// No feasible placement.
    pub rejected: u64,
    /// Lost to a hub failure.
    pub failed: u64,
    /// Ran to the end.
    pub completed: u64,
}

/// Faults that happened during the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct FaultsReport {
    /// Hub outages started.
    pub hub_outages: u64,
    /// Link degradations started.
    pub link_degradations: u64,
}

/// Engine figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EngineReport {
    /// Events handled.
    pub events: u64,
    /// Fluid mode: time steps taken (0 in discrete mode).
    pub steps: u64,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// Events per wall-clock second.
    pub events_per_second: f64,
}

/// The report of a run (DESIGN.md's `simulate --format json` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Version of this report's JSON shape ([`SCHEMA_VERSION`]): keys are only ever added
    /// within a version.
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Policy name.
    pub policy: String,
    /// Seed.
    pub seed: u64,
    /// "discrete" or "fluid".
    pub mode: &'static str,
    /// The accounting window, s: energy, cost and carbon are counted from 0 to here (the end
    /// of the last work, or the latest end of every run in a comparison, or `--horizon`), idle
    /// power included, so runs over the same window compare.
    pub simulated_s: f64,
    /// How long arrivals were admitted, s (the rest of the window is drain and idle).
    pub arrivals_s: f64,
    /// Requests.
    pub requests: Requests,
    /// Tokens.
    pub tokens: Tokens,
    /// Energy.
    pub energy: Energy,
    /// Cost of ownership: electricity, other operating cost, accelerators written off.
    pub ownership: Ownership,
    /// Electricity cost per million tokens (prompt + output).
    pub cost_per_million_tokens: f64,
    /// Per hub.
    pub hubs: Vec<HubReport>,
    /// Per class.
    pub classes: Vec<ClassReport>,
    /// Where each region's completed requests were served.
    pub flows: Vec<Flow>,
    /// The same hour by hour (cells with requests only).
    pub hourly_flows: Vec<HourlyFlow>,
    /// Training jobs.
    pub jobs: JobsReport,
    /// Why requests and jobs went unserved.
    pub unserved: Unserved,
    /// Faults.
    pub faults: FaultsReport,
    /// Engine figures (wall-clock: not reproducible).
    pub engine: EngineReport,
    /// Per hub per step (written to timeseries.csv, not to the JSON).
    #[serde(skip)]
    pub timeseries: Vec<StepRow>,
}

impl Report {
    /// The JSON with the wall-clock fields zeroed, for comparing runs.
    pub fn deterministic_json(&self) -> String {
        let mut r = self.clone();
        r.engine.wall_seconds = 0.0;
        r.engine.events_per_second = 0.0;
        serde_json::to_string(&r).unwrap_or_default()
    }
}

/// Version of the JSON reports' shape (`schema_version` in every report, compare output and
/// scenario listing). Raised when a key is renamed or removed; keys are added freely.
pub const SCHEMA_VERSION: u32 = 1;

/// What a run knows of itself besides its statistics.
pub(crate) struct RunInfo<'a> {
    pub(crate) policy: &'a str,
    pub(crate) seed: u64,
    /// When the last work finished (the end of the accounting window).
    pub(crate) end: Nanos,
    /// How long arrivals were admitted, s.
    pub(crate) arrivals_s: f64,
    pub(crate) events: u64,
    pub(crate) wall_s: f64,
    /// Fluid mode: the steps taken.
    pub(crate) fluid_steps: Option<u64>,
}

fn owned(
    m: &std::collections::BTreeMap<&'static str, u64>,
) -> std::collections::BTreeMap<String, u64> {
    m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn pct(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles { p50: 0.0, p99: 0.0 };
    }
    Percentiles {
        p50: h.value_at_quantile(0.5) as f64 / 1e3,
        p99: h.value_at_quantile(0.99) as f64 / 1e3,
    }
}

fn frac(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

pub(crate) fn build_report(s: &Scenario, world: &World, st: &Stats, run: RunInfo<'_>) -> Report {
    let run_s = secs(run.end).max(1e-9);
    let mut energy = Energy {
        it_kwh: 0.0,
        facility_kwh: 0.0,
        grid_kwh: 0.0,
        green_kwh: 0.0,
        cost: 0.0,
        carbon_kg: 0.0,
    };
    let mut hubs = Vec::with_capacity(s.hubs.len());
    let mut timeseries = Vec::new();
    for (hi, h) in s.hubs.iter().enumerate() {
        let m = &world.meters()[hi];
        let t = &m.total;
        energy.it_kwh += t.it_kwh;
        energy.facility_kwh += t.facility_kwh;
        energy.grid_kwh += t.grid_kwh;
        energy.green_kwh += t.green_kwh;
        energy.cost += t.cost;
        energy.carbon_kg += t.carbon_kg;
        let busy_s: f64 = m.steps.iter().map(|st| st.busy_replica_s).sum();
        let replicas = f64::from(m.total_replicas);
        hubs.push(HubReport {
            name: h.name.clone(),
            requests: st.hub_requests[hi],
            tokens: st.hub_tokens[hi],
            utilization: if replicas > 0.0 {
                busy_s / (replicas * run_s)
            } else {
                0.0
            },
            energy_kwh: t.facility_kwh,
            cost: t.cost,
            carbon_kg: t.carbon_kg,
            mean_wait_ms: if st.hub_waited[hi] > 0 {
                st.hub_wait_s[hi] / st.hub_waited[hi] as f64 * 1e3
            } else {
                0.0
            },
            green_kwh: t.green_kwh,
            unserved: owned(&st.hub_unserved[hi]),
        });
        for (step, st) in m.steps.iter().enumerate() {
            let t0 = step as f64 * STEP_S;
            let len_h = (run_s.min(t0 + STEP_S) - t0).max(1e-9) / 3600.0;
            let d = &st.draw;
            timeseries.push(StepRow {
                t_s: t0,
                hub: h.name.clone(),
                power_mw: d.facility_kwh / len_h / 1000.0,
                green_mw: d.green_kwh / len_h / 1000.0,
                grid_mw: d.grid_kwh / len_h / 1000.0,
                tariff: if d.grid_kwh > 0.0 {
                    d.cost / d.grid_kwh
                } else {
                    h.tariff_yuan_per_kwh.at(world.clock().hour(t0))
                },
                cost: d.cost,
                carbon_kg: d.carbon_kg,
                utilization: if replicas > 0.0 {
                    st.busy_replica_s / (replicas * len_h * 3600.0)
                } else {
                    0.0
                },
                queue: st.queue,
                green_available_mw: m.green_mw[world.clock().hour(t0)],
            });
        }
    }
    timeseries.sort_by(|a, b| {
        a.t_s
            .total_cmp(&b.t_s)
            .then_with(|| hub_order(s, &a.hub).cmp(&hub_order(s, &b.hub)))
    });
    let tokens = st.n.prompt_tokens + st.n.output_tokens;
    Report {
        schema_version: SCHEMA_VERSION,
        scenario: s.name.clone(),
        policy: run.policy.to_owned(),
        seed: run.seed,
        mode: if run.fluid_steps.is_some() {
            "fluid"
        } else {
            "discrete"
        },
        simulated_s: run_s,
        arrivals_s: run.arrivals_s,
        requests: Requests {
            total: st.n.arrived,
            completed: st.n.completed,
            rejected: st.n.rejected,
            failed: st.n.failed,
            slo_met_fraction: frac(st.n.met, st.n.arrived),
            ttft_ms: pct(&st.ttft),
            e2e_ms: pct(&st.e2e),
            redispatched: st.n.redispatched,
            deferred: st.n.deferred,
        },
        tokens: Tokens {
            prompt: st.n.prompt_tokens,
            output: st.n.output_tokens,
        },
        energy,
        ownership: Ownership::of(s, run_s, energy.cost),
        cost_per_million_tokens: if tokens > 0 {
            energy.cost / tokens as f64 * 1e6
        } else {
            0.0
        },
        hubs,
        classes: s
            .classes
            .iter()
            .zip(&st.classes)
            .map(|(c, ci)| {
                let (ttft_slo_ms, e2e_slo_ms) = match &c.kind {
                    tokengrid_core::ClassKind::Inference(inf) => (inf.ttft_slo_ms, inf.e2e_slo_ms),
                    tokengrid_core::ClassKind::Batch(b) => {
                        (None, Some(b.deadline.as_secs_f64() * 1e3))
                    }
                    tokengrid_core::ClassKind::Training(_) => (None, None),
                };
                ClassReport {
                    name: c.name.clone(),
                    requests: ci.requests,
                    slo_met_fraction: frac(ci.met, ci.requests),
                    mean_wait_ms: ci.mean_wait_s() * 1e3,
                    ttft_ms: pct(&ci.ttft),
                    e2e_ms: pct(&ci.e2e),
                    ttft_slo_ms,
                    e2e_slo_ms,
                    unserved: owned(&ci.unserved),
                    e2e_cdf_ms: if ci.e2e.is_empty() {
                        Vec::new()
                    } else {
                        CDF_QUANTILES
                            .iter()
                            .map(|q| ci.e2e.value_at_quantile(*q) as f64 / 1e3)
                            .collect()
                    },
                }
            })
            .collect(),
        flows: s
            .regions
            .iter()
            .enumerate()
            .flat_map(|(ri, r)| {
                s.hubs.iter().enumerate().filter_map(move |(hi, h)| {
                    let n = st.flows[ri * s.hubs.len() + hi];
                    (n > 0).then(|| Flow {
                        region: r.name.clone(),
                        hub: h.name.clone(),
                        requests: n,
                    })
                })
            })
            .collect(),
        hourly_flows: st
            .hourly
            .iter()
            .enumerate()
            .flat_map(|(hour, cells)| {
                cells.iter().enumerate().filter_map(move |(i, &x)| {
                    let n = x.round() as u64;
                    (n > 0).then(|| HourlyFlow {
                        hour: hour as u32,
                        region: s.regions[i / s.hubs.len()].name.clone(),
                        hub: s.hubs[i % s.hubs.len()].name.clone(),
                        requests: n,
                    })
                })
            })
            .collect(),
        jobs: JobsReport {
            arrived: st.n.jobs,
            placed: st.n.jobs_placed,
            split: st.n.jobs_split,
            rejected: st.n.jobs_rejected,
            failed: st.n.jobs_failed,
            completed: st.n.jobs_done,
        },
        unserved: Unserved {
            rejected: owned(&st.n.rejected_by),
            failed: owned(&st.n.failed_by),
            jobs_rejected: owned(&st.n.jobs_rejected_by),
        },
        faults: FaultsReport {
            hub_outages: st.n.hub_outages,
            link_degradations: st.n.link_faults,
        },
        engine: EngineReport {
            events: run.events,
            steps: run.fluid_steps.unwrap_or(0),
            wall_seconds: run.wall_s,
            events_per_second: if run.wall_s > 0.0 {
                run.events as f64 / run.wall_s
            } else {
                0.0
            },
        },
        timeseries,
    }
}

fn hub_order(s: &Scenario, name: &str) -> usize {
    s.hub_id(name).map_or(usize::MAX, HubId::index)
}

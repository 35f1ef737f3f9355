//! The hourly LP planner.
//!
//! For each hour of the day, variables `x[r,c,h]` give the share of region `r`'s class-`c`
//! demand served at hub `h`. The LP minimises the hour's electricity cost subject to:
//!
//! - demand met: `sum_h x[r,c,h] + unserved[r,c] = 1` (unserved demand carries a large penalty,
//!   so it is used only when no capacity is left);
//! - hub capacity: per hub and model, `sum lambda x load <= utilization cap x replicas`, where
//!   `load` is the replica-seconds a request takes (prefill plus its share of decode steps);
//! - power: facility power = idle + marginal power of the work placed; local green supply covers
//!   what it can, the grid the rest, within the grid cap;
//! - SLO and residency: `x = 0` where the hub is not allowed or the latency SLO is infeasible
//!   (round trip + prefill + decode at the nominal batch, no queueing).
//!
//! Solved with microlp, a pure-Rust simplex (a fresh machine needs no C++ toolchain); the
//! `highs` feature switches good_lp to HiGHS.

use good_lp::{
    Expression, Solution, SolverModel, Variable, constraint, default_solver, variable, variables,
};
use serde::Serialize;
use tokengrid_core::{ClassId, ClassKind, HubId, RegionId, Scenario, Site};
use tokengrid_energy::hourly::Clock;

/// Highest planned utilization of a hub's replicas.
///
/// assumption: 90% keeps queueing delay bounded; a plan at 100% would promise latency an M/G/n
/// queue cannot keep.
pub const UTILIZATION_CAP: f64 = 0.9;

/// Penalty per unserved request, currency units (far above any energy cost).
pub const UNSERVED_PENALTY: f64 = 1e3;

/// One hub in an hour's problem.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanHub {
    /// Name.
    pub name: String,
    /// Facility power drawn with no work, kW.
    pub idle_kw: f64,
    /// Local green supply this hour, kW.
    pub green_kw: f64,
    /// Tariff this hour, per kWh.
    pub tariff: f64,
    /// Grid connection cap, kW.
    pub grid_cap_kw: f64,
}

/// A capacity pool: one model's replicas at one hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// Hub index.
    pub hub: usize,
    /// Replica-seconds available per second (replicas x utilization cap).
    pub capacity: f64,
}

/// One way to serve a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOption {
    /// Hub index.
    pub hub: usize,
    /// Pool index.
    pub pool: usize,
    /// Replica-seconds one request takes.
    pub load_s: f64,
    /// Marginal facility energy of one request, kWh.
    pub kwh: f64,
    /// Round trip from the flow's region, ms.
    pub rtt_ms: f64,
}

/// One region's demand for one class.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Region.
    pub region: RegionId,
    /// Class.
    pub class: ClassId,
    /// Requests per second this hour.
    pub rps: f64,
    /// Feasible hubs.
    pub options: Vec<PlanOption>,
}

/// One hour's LP.
#[derive(Debug, Clone, PartialEq)]
pub struct HourProblem {
    /// Hubs.
    pub hubs: Vec<PlanHub>,
    /// Capacity pools.
    pub pools: Vec<Pool>,
    /// Demand.
    pub flows: Vec<Flow>,
}

/// An hour's optimum.
#[derive(Debug, Clone, PartialEq)]
pub struct HourSolution {
    /// Electricity cost of the hour, currency units (idle power included, penalties excluded).
    pub cost: f64,
    /// Per flow, per option: share.
    pub shares: Vec<Vec<f64>>,
    /// Per flow: unserved share.
    pub unserved: Vec<f64>,
    /// Per pool: planned utilization (load over replica-seconds, before the cap).
    pub pool_utilization: Vec<f64>,
}

/// Why the LP could not be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("LP planner: {0}")]
pub struct PlanError(pub String);

/// Electricity cost of an hour for given shares (the LP's objective without penalties):
/// per hub, grid power = max(0, idle + placed marginal power - green), times the tariff.
pub fn hour_cost(p: &HourProblem, shares: &[Vec<f64>]) -> f64 {
    let mut kw: Vec<f64> = p.hubs.iter().map(|h| h.idle_kw).collect();
    for (f, xs) in p.flows.iter().zip(shares) {
        for (o, x) in f.options.iter().zip(xs) {
            kw[o.hub] += f.rps * x * o.kwh * 3600.0;
        }
    }
    p.hubs
        .iter()
        .zip(kw)
        .map(|(h, kw)| (kw - h.green_kw).max(0.0) * h.tariff)
        .sum()
}

/// Solves one hour.
pub fn solve_hour(p: &HourProblem) -> Result<HourSolution, PlanError> {
    let mut vars = variables!();
    let x: Vec<Vec<Variable>> = p
        .flows
        .iter()
        .map(|f| {
            f.options
                .iter()
                .map(|_| vars.add(variable().min(0.0).max(1.0)))
                .collect()
        })
        .collect();
    let unserved: Vec<Variable> = p
        .flows
        .iter()
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    let grid: Vec<Variable> = p
        .hubs
        .iter()
        .map(|h| vars.add(variable().min(0.0).max(h.grid_cap_kw.max(0.0))))
        .collect();
    let mut objective = Expression::from(0.0);
    for (h, g) in p.hubs.iter().zip(&grid) {
        objective += h.tariff * *g;
    }
    for (f, u) in p.flows.iter().zip(&unserved) {
        objective += UNSERVED_PENALTY * f.rps * 3600.0 * *u;
    }
    let mut model = vars.minimise(objective).using(default_solver);
    for (xs, u) in x.iter().zip(&unserved) {
        let mut met = Expression::from(*u);
        for v in xs {
            met += *v;
        }
        model = model.with(constraint!(met == 1.0));
    }
    for (pi, pool) in p.pools.iter().enumerate() {
        let mut load = Expression::from(0.0);
        for (f, xs) in p.flows.iter().zip(&x) {
            for (o, v) in f.options.iter().zip(xs) {
                if o.pool == pi {
                    load += f.rps * o.load_s * *v;
                }
            }
        }
        model = model.with(constraint!(load <= pool.capacity));
    }
    for (hi, (h, g)) in p.hubs.iter().zip(&grid).enumerate() {
        // grid >= idle + placed - green
        let mut placed = Expression::from(h.idle_kw - h.green_kw);
        for (f, xs) in p.flows.iter().zip(&x) {
            for (o, v) in f.options.iter().zip(xs) {
                if o.hub == hi {
                    placed += f.rps * o.kwh * 3600.0 * *v;
                }
            }
        }
        model = model.with(constraint!(*g >= placed));
    }
    let sol = model.solve().map_err(|e| PlanError(e.to_string()))?;
    let shares: Vec<Vec<f64>> = x
        .iter()
        .map(|xs| xs.iter().map(|v| sol.value(*v).clamp(0.0, 1.0)).collect())
        .collect();
    let unserved: Vec<f64> = unserved
        .iter()
        .map(|u| sol.value(*u).clamp(0.0, 1.0))
        .collect();
    let mut pool_load = vec![0.0; p.pools.len()];
    for (f, xs) in p.flows.iter().zip(&shares) {
        for (o, v) in f.options.iter().zip(xs) {
            pool_load[o.pool] += f.rps * o.load_s * v;
        }
    }
    let pool_utilization = pool_load
        .iter()
        .zip(&p.pools)
        .map(|(l, pool)| {
            if pool.capacity > 0.0 {
                l / pool.capacity * UTILIZATION_CAP
            } else {
                0.0
            }
        })
        .collect();
    Ok(HourSolution {
        cost: hour_cost(p, &shares),
        shares,
        unserved,
        pool_utilization,
    })
}

/// One assignment in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Region name.
    pub region: String,
    /// Class name.
    pub class: String,
    /// Hub name.
    pub hub: String,
    /// Share of the region's class demand.
    pub share: f64,
    /// Requests per second that share is.
    pub rps: f64,
}

/// One hour of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanHour {
    /// Local hour of day.
    pub hour: usize,
    /// Electricity cost of the hour.
    pub cost: f64,
    /// Shares above 0.1%.
    pub assignments: Vec<Assignment>,
    /// Share of demand left unserved (capacity exhausted).
    pub unserved_share: f64,
    /// Demand of the hour, requests per second.
    pub requests_per_s: f64,
}

/// What a heuristic policy's plan would cost for the same demand (each flow fills its
/// best-ranked hubs up to capacity), for comparison with the LP optimum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeuristicCost {
    /// Policy name.
    pub policy: String,
    /// Electricity cost over the day.
    pub total_cost: f64,
    /// Share of the day's requests left unserved.
    pub unserved_share: f64,
}

/// A hub's planned load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanHubLoad {
    /// Hub name.
    pub name: String,
    /// Mean planned utilization of its replicas over the day.
    pub mean_utilization: f64,
}

/// A flow's hub shares in one hour: (region, class, [(hub, share)]).
type FlowShares = (RegionId, ClassId, Vec<(HubId, f64)>);

/// The day's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Scenario name.
    pub scenario: String,
    /// Sum of the hours' costs.
    pub total_cost: f64,
    /// Hour by hour.
    pub hours: Vec<PlanHour>,
    /// Per hub.
    pub hubs: Vec<PlanHubLoad>,
    /// The same demand planned by heuristic policies.
    pub heuristics: Vec<HeuristicCost>,
    #[serde(skip)]
    shares: Vec<Vec<FlowShares>>,
    #[serde(skip)]
    clock: Option<Clock>,
}

impl Plan {
    /// The planned hub shares of `region`'s `class` demand at simulated time `t_s`.
    pub fn shares(&self, region: RegionId, class: ClassId, t_s: f64) -> Option<Vec<(HubId, f64)>> {
        let hour = self.clock?.hour(t_s);
        self.shares
            .get(hour)?
            .iter()
            .find(|(r, c, _)| *r == region && *c == class)
            .map(|(_, _, s)| s.clone())
    }
}

/// The facts the planner needs about one (class, hub) pair.
struct ClassAtHub {
    rtt_ms: f64,
    load_s: f64,
    kwh_marginal: f64,
    feasible: bool,
}

fn class_at_hub(
    s: &Scenario,
    topo: &tokengrid_net::Topology,
    r: RegionId,
    c: ClassId,
    h: HubId,
) -> Option<ClassAtHub> {
    let class = s.class(c);
    let model_id = class.model()?;
    let hub = s.hub(h);
    if !hub.serves(model_id) || s.replicas_at(h, model_id) == 0 {
        return None;
    }
    let (_, fig, _) = crate::facts::replica_figures(s, model_id);
    let batch = fig.batch;
    let (prompt, output, ttft, e2e) = match &class.kind {
        ClassKind::Inference(i) => (
            i.prompt_tokens.mean(),
            i.output_tokens.mean(),
            i.ttft_slo_ms,
            i.e2e_slo_ms,
        ),
        ClassKind::Batch(b) => (b.prompt_tokens.mean(), b.output_tokens.mean(), None, None),
        ClassKind::Training(_) => return None,
    };
    let prefill_s = prompt / fig.prefill_tokens_per_s;
    let step = fig.decode_step_s;
    let rtt = topo.rtt_ms(Site::Region(r), Site::Hub(h));
    let ttft_ms = rtt + prefill_s * 1e3;
    let e2e_ms = ttft_ms + output * step * 1e3;
    // The same headroom as the policies' SLO filter.
    let headroom = crate::plugin::SLO_HEADROOM;
    let feasible = s.region(r).may_use(h)
        && ttft.is_none_or(|t| ttft_ms <= t * headroom)
        && e2e.is_none_or(|t| e2e_ms <= t * headroom);
    // A request holds the replica for its prefill and a 1/batch share of each decode step.
    let load_s = prefill_s + output * step / f64::from(batch);
    // Marginal energy: the power a busy replica adds over idle, over that replica time.
    let kwh_marginal =
        fig.marginal_kw * 1000.0 * load_s * hub.pue / tokengrid_energy::JOULES_PER_KWH;
    Some(ClassAtHub {
        rtt_ms: rtt,
        load_s,
        kwh_marginal,
        feasible,
    })
}

/// Builds the LP of local hour `hour` for scenario `s`.
pub fn hour_problem(s: &Scenario, topo: &tokengrid_net::Topology, hour: usize) -> HourProblem {
    let hubs: Vec<PlanHub> = s
        .hubs
        .iter()
        .map(|h| PlanHub {
            name: h.name.clone(),
            idle_kw: crate::facts::hub_idle_kw(s, h) * h.pue,
            green_kw: tokengrid_energy::supply::green_mw(s, h).at(hour) * 1000.0,
            tariff: h.tariff_yuan_per_kwh.at(hour),
            grid_cap_kw: h.grid_cap_mw * 1000.0,
        })
        .collect();
    let mut pools = Vec::new();
    let mut pool_of = std::collections::BTreeMap::new();
    for (hi, h) in s.hubs.iter().enumerate() {
        for &m in &h.models {
            let replicas = s.replicas_at(HubId(hi as u32), m);
            pool_of.insert((hi, m), pools.len());
            pools.push(Pool {
                hub: hi,
                capacity: f64::from(replicas) * UTILIZATION_CAP,
            });
        }
    }
    let mut flows = Vec::new();
    for (ri, r) in s.regions.iter().enumerate() {
        for &(c, share) in &r.mix {
            let rps = r.peak_rps * r.diurnal.at(hour) * share;
            if rps <= 0.0 {
                continue;
            }
            let region = RegionId(ri as u32);
            let options = (0..s.hubs.len())
                .filter_map(|hi| {
                    let h = HubId(hi as u32);
                    let fact = class_at_hub(s, topo, region, c, h)?;
                    let model = s.class(c).model()?;
                    fact.feasible.then(|| PlanOption {
                        hub: hi,
                        pool: pool_of[&(hi, model)],
                        load_s: fact.load_s,
                        kwh: fact.kwh_marginal,
                        rtt_ms: fact.rtt_ms,
                    })
                })
                .collect();
            flows.push(Flow {
                region,
                class: c,
                rps,
                options,
            });
        }
    }
    HourProblem { hubs, pools, flows }
}

/// A heuristic's plan for an hour: each flow, in order, fills its options ranked by `key`
/// (lowest first) up to the capacity left, like a policy that sends each request to its best
/// hub until that hub is full. Demand no option can take stays unserved.
pub fn greedy_shares(
    p: &HourProblem,
    key: impl Fn(&Flow, &PlanOption, &PlanHub) -> f64,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut left: Vec<f64> = p.pools.iter().map(|pool| pool.capacity).collect();
    let mut shares = Vec::with_capacity(p.flows.len());
    let mut unserved = Vec::with_capacity(p.flows.len());
    for f in &p.flows {
        let mut order: Vec<usize> = (0..f.options.len()).collect();
        order.sort_by(|&a, &b| {
            key(f, &f.options[a], &p.hubs[f.options[a].hub])
                .total_cmp(&key(f, &f.options[b], &p.hubs[f.options[b].hub]))
                .then(a.cmp(&b))
        });
        let mut xs = vec![0.0; f.options.len()];
        let mut need = 1.0;
        for i in order {
            let o = &f.options[i];
            let per_share = f.rps * o.load_s;
            let take = if per_share > 0.0 {
                (left[o.pool] / per_share).min(need)
            } else {
                need
            };
            if take > 0.0 {
                xs[i] = take;
                need -= take;
                left[o.pool] -= take * per_share;
            }
            if need <= 1e-12 {
                break;
            }
        }
        shares.push(xs);
        unserved.push(need.max(0.0));
    }
    (shares, unserved)
}

/// An hour's objective with penalties: electricity cost plus the unserved penalty.
pub fn hour_objective(p: &HourProblem, shares: &[Vec<f64>], unserved: &[f64]) -> f64 {
    hour_cost(p, shares)
        + p.flows
            .iter()
            .zip(unserved)
            .map(|(f, u)| UNSERVED_PENALTY * f.rps * 3600.0 * u)
            .sum::<f64>()
}

/// Plans the 24 hours of a day for scenario `s`.
pub fn plan(s: &Scenario) -> Result<Plan, PlanError> {
    let topo = tokengrid_net::Topology::new(s);
    let mut hours = Vec::with_capacity(24);
    let mut shares = Vec::with_capacity(24);
    let mut heuristic_cost = [0.0; HEURISTICS.len()];
    let mut heuristic_unserved = [0.0; HEURISTICS.len()];
    let mut total_demand = 0.0;
    let mut util_sum = vec![0.0; s.hubs.len()];
    let mut util_n = vec![0.0; s.hubs.len()];
    for hour in 0..24 {
        let p = hour_problem(s, &topo, hour);
        let sol = solve_hour(&p)?;
        let mut assignments = Vec::new();
        let mut hour_shares = Vec::new();
        let mut unserved = 0.0;
        let mut demand = 0.0;
        for ((f, xs), u) in p.flows.iter().zip(&sol.shares).zip(&sol.unserved) {
            let mut by_hub = Vec::new();
            for (o, x) in f.options.iter().zip(xs) {
                by_hub.push((HubId(o.hub as u32), *x));
                if *x > 1e-3 {
                    assignments.push(Assignment {
                        region: s.region(f.region).name.clone(),
                        class: s.class(f.class).name.clone(),
                        hub: s.hubs[o.hub].name.clone(),
                        share: *x,
                        rps: x * f.rps,
                    });
                }
            }
            hour_shares.push((f.region, f.class, by_hub));
            unserved += u * f.rps;
            demand += f.rps;
        }
        // Hub utilization: replica-weighted over its pools.
        let mut used = vec![0.0; s.hubs.len()];
        let mut cap = vec![0.0; s.hubs.len()];
        for (pool, u) in p.pools.iter().zip(&sol.pool_utilization) {
            used[pool.hub] += u * pool.capacity;
            cap[pool.hub] += pool.capacity;
        }
        for hi in 0..s.hubs.len() {
            if cap[hi] > 0.0 {
                util_sum[hi] += used[hi] / cap[hi];
                util_n[hi] += 1.0;
            }
        }
        for (i, (_, key)) in HEURISTICS.iter().enumerate() {
            let (shares, unserved) = greedy_shares(&p, key);
            heuristic_cost[i] += hour_cost(&p, &shares);
            heuristic_unserved[i] += p
                .flows
                .iter()
                .zip(&unserved)
                .map(|(f, u)| f.rps * u)
                .sum::<f64>();
        }
        total_demand += demand;
        hours.push(PlanHour {
            hour,
            cost: sol.cost,
            assignments,
            unserved_share: if demand > 0.0 { unserved / demand } else { 0.0 },
            requests_per_s: demand,
        });
        shares.push(hour_shares);
    }
    Ok(Plan {
        scenario: s.name.clone(),
        total_cost: hours.iter().map(|h| h.cost).sum(),
        hubs: s
            .hubs
            .iter()
            .enumerate()
            .map(|(i, h)| PlanHubLoad {
                name: h.name.clone(),
                mean_utilization: if util_n[i] > 0.0 {
                    util_sum[i] / util_n[i]
                } else {
                    0.0
                },
            })
            .collect(),
        heuristics: HEURISTICS
            .iter()
            .enumerate()
            .map(|(i, (name, _))| HeuristicCost {
                policy: (*name).to_owned(),
                total_cost: heuristic_cost[i],
                unserved_share: if total_demand > 0.0 {
                    heuristic_unserved[i] / total_demand
                } else {
                    0.0
                },
            })
            .collect(),
        hours,
        shares,
        clock: Some(Clock::of(s)),
    })
}

/// How a heuristic ranks a flow's hubs, lowest first.
type RankKey = fn(&Flow, &PlanOption, &PlanHub) -> f64;

/// The heuristic plans compared with the LP: nearest (round trip) and cheapest marginal energy
/// cost at the hour's tariff (cost-slo's choice where every hub meets the SLO).
const HEURISTICS: [(&str, RankKey); 2] = [
    ("nearest", |_, o, _| o.rtt_ms),
    ("cost-slo", |_, o, h| o.kwh * h.tariff + o.rtt_ms * 1e-9),
];

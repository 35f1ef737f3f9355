//! Policies: named sets of filter and score plugins with weights, and the scheduler that runs
//! them.
//!
//! For each unit of work the scheduler estimates every hub ([`crate::estimate`]), drops those a
//! filter rejects, normalises each score plugin's costs over the remaining hubs to 0..100
//! (100 = best), multiplies by the plugin's weight and sums. The highest total wins; ties go to
//! the lowest hub id, so the same view and work always give the same decision.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokengrid_core::{HubId, Scenario};

use crate::estimate::{Objective, candidate};
use crate::plan::Plan;
use crate::plugin::*;
use crate::view::ClusterView;
use crate::work::{TrainingJob, Work};

/// A policy as written: plugin names and score weights.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    /// Policy name.
    pub name: String,
    /// Filter plugin names, applied in order.
    pub filters: Vec<String>,
    /// Score plugin names and weights.
    pub scores: Vec<(String, f64)>,
    /// What deferrable work's start time minimises.
    pub objective: Objective,
}

/// Names of the built-in policies; `cost-slo` is the default.
pub const POLICY_NAMES: &[&str] = &["nearest", "cheapest", "cost-slo", "green", "plan"];

/// The default policy.
pub const DEFAULT_POLICY: &str = "cost-slo";

/// Filters every policy applies: no policy may break a legal or physical constraint.
const HARD: &[&str] = tokengrid_core::HARD_FILTERS;

fn spec(name: &str, extra: &[&str], scores: &[(&str, f64)], objective: Objective) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        filters: HARD.iter().chain(extra).map(|s| (*s).to_owned()).collect(),
        scores: scores.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect(),
        objective,
    }
}

/// The specification of a built-in policy.
pub fn builtin_spec(name: &str) -> Option<PolicySpec> {
    Some(match name {
        // Today's practice: the lowest-latency hub serving the model, no SLO filter.
        "nearest" => spec(name, &[], &[("latency", 1.0)], Objective::Cost),
        // The lowest energy price, blind to SLOs: what SLO-blind routing costs.
        "cheapest" => spec(name, &[], &[("energy-cost", 1.0)], Objective::Cost),
        // The lowest cost among hubs that meet the SLO (latency breaks ties).
        "cost-slo" => spec(
            name,
            &["slo", "power"],
            &[("energy-cost", 1.0), ("latency", 0.001)],
            Objective::Cost,
        ),
        // The lowest carbon among hubs that meet the SLO (cost breaks ties).
        "green" => spec(
            name,
            &["slo", "power"],
            &[("carbon", 1.0), ("energy-cost", 0.001)],
            Objective::Carbon,
        ),
        // Follows the hourly LP plan among SLO-feasible hubs (cost-slo where the plan is silent).
        "plan" => spec(
            name,
            &["slo", "power"],
            &[("energy-cost", 1.0), ("latency", 0.001)],
            Objective::Cost,
        ),
        _ => return None,
    })
}

/// Errors building a policy (the user's to fix).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A plugin name the registry does not know.
    #[error("policy \"{policy}\": unknown {kind} plugin \"{name}\" (known: {known})")]
    UnknownPlugin {
        /// Policy name.
        policy: String,
        /// "filter" or "score".
        kind: &'static str,
        /// The unknown name.
        name: String,
        /// Known names.
        known: String,
    },
    /// A plugin listed twice.
    #[error("policy \"{policy}\": plugin \"{name}\" is listed twice")]
    Duplicate {
        /// Policy name.
        policy: String,
        /// The plugin.
        name: String,
    },
    /// A weight that is negative or not finite, or no score at all.
    #[error("policy \"{policy}\": {why}")]
    Weights {
        /// Policy name.
        policy: String,
        /// What is wrong.
        why: String,
    },
    /// A policy name that is neither built in nor defined by the scenario.
    #[error(
        "unknown policy \"{0}\" (built in: nearest, cheapest, cost-slo, green, plan; or a [[policy]] of the scenario)"
    )]
    UnknownPolicy(String),
    /// A registry entry registered twice.
    #[error("plugin \"{0}\" is already registered")]
    AlreadyRegistered(String),
    /// The plan policy without a plan.
    #[error("the plan policy needs a plan (tokengrid plan)")]
    NoPlan,
}

type FilterCtor = fn() -> Box<dyn FilterPlugin>;
type ScoreCtor = fn() -> Box<dyn ScorePlugin>;

/// Named plugins. Registering a name twice is an error.
#[derive(Debug, Clone)]
pub struct Registry {
    filters: BTreeMap<&'static str, FilterCtor>,
    scores: BTreeMap<&'static str, ScoreCtor>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            filters: BTreeMap::new(),
            scores: BTreeMap::new(),
        }
    }

    /// The built-in plugins.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        let filters: [(&'static str, FilterCtor); 6] = [
            ("model", || Box::new(ModelServed)),
            ("up", || Box::new(HubUp)),
            ("residency", || Box::new(Residency)),
            ("capacity", || Box::new(Capacity)),
            ("slo", || Box::new(Slo)),
            ("power", || Box::new(PowerCap)),
        ];
        for (name, ctor) in filters {
            // Names are distinct by construction.
            let _ = r.register_filter(name, ctor);
        }
        let scores: [(&'static str, ScoreCtor); 5] = [
            ("energy-cost", || Box::new(EnergyCost)),
            ("carbon", || Box::new(Carbon)),
            ("latency", || Box::new(Latency)),
            ("response-time", || Box::new(ResponseTime)),
            ("load", || Box::new(LoadBalance)),
        ];
        for (name, ctor) in scores {
            let _ = r.register_score(name, ctor);
        }
        r
    }

    /// Adds a filter plugin under `name`.
    pub fn register_filter(
        &mut self,
        name: &'static str,
        ctor: FilterCtor,
    ) -> Result<(), PolicyError> {
        if self.filters.contains_key(name) || self.scores.contains_key(name) {
            return Err(PolicyError::AlreadyRegistered(name.to_owned()));
        }
        self.filters.insert(name, ctor);
        Ok(())
    }

    /// Adds a score plugin under `name`.
    pub fn register_score(
        &mut self,
        name: &'static str,
        ctor: ScoreCtor,
    ) -> Result<(), PolicyError> {
        if self.filters.contains_key(name) || self.scores.contains_key(name) {
            return Err(PolicyError::AlreadyRegistered(name.to_owned()));
        }
        self.scores.insert(name, ctor);
        Ok(())
    }

    /// Builds a policy from its specification.
    pub fn build(&self, spec: &PolicySpec) -> Result<Policy, PolicyError> {
        let mut seen = Vec::new();
        let mut dup = |name: &str| {
            if seen.contains(&name.to_owned()) {
                Err(PolicyError::Duplicate {
                    policy: spec.name.clone(),
                    name: name.to_owned(),
                })
            } else {
                seen.push(name.to_owned());
                Ok(())
            }
        };
        let mut filters = Vec::new();
        for name in &spec.filters {
            dup(name)?;
            let ctor =
                self.filters
                    .get(name.as_str())
                    .ok_or_else(|| PolicyError::UnknownPlugin {
                        policy: spec.name.clone(),
                        kind: "filter",
                        name: name.clone(),
                        known: self.filters.keys().copied().collect::<Vec<_>>().join(", "),
                    })?;
            filters.push(ctor());
        }
        let mut scores = Vec::new();
        for (name, weight) in &spec.scores {
            dup(name)?;
            let ctor =
                self.scores
                    .get(name.as_str())
                    .ok_or_else(|| PolicyError::UnknownPlugin {
                        policy: spec.name.clone(),
                        kind: "score",
                        name: name.clone(),
                        known: self.scores.keys().copied().collect::<Vec<_>>().join(", "),
                    })?;
            if !(weight.is_finite() && *weight >= 0.0) {
                return Err(PolicyError::Weights {
                    policy: spec.name.clone(),
                    why: format!("weight of \"{name}\" must be >= 0, got {weight}"),
                });
            }
            scores.push((ctor(), *weight));
        }
        if scores.is_empty() {
            return Err(PolicyError::Weights {
                policy: spec.name.clone(),
                why: "a policy needs at least one score plugin".into(),
            });
        }
        Ok(Policy {
            name: spec.name.clone(),
            filters,
            scores,
            objective: spec.objective,
            plan: None,
        })
    }
}

/// A policy ready to decide.
#[derive(Debug)]
pub struct Policy {
    /// Its name.
    pub name: String,
    filters: Vec<Box<dyn FilterPlugin>>,
    scores: Vec<(Box<dyn ScorePlugin>, f64)>,
    objective: Objective,
    plan: Option<Arc<Plan>>,
}

impl Policy {
    /// A built-in policy by name. The `plan` policy needs [`Policy::with_plan`].
    pub fn named(name: &str) -> Result<Policy, PolicyError> {
        let spec = builtin_spec(name).ok_or_else(|| PolicyError::UnknownPolicy(name.to_owned()))?;
        Registry::builtin().build(&spec)
    }

    /// The `plan` policy following `plan`.
    pub fn with_plan(plan: Arc<Plan>) -> Result<Policy, PolicyError> {
        let mut p = Policy::named("plan")?;
        p.plan = Some(plan);
        Ok(p)
    }

    /// Builds the named policy for scenario `s`: one of the scenario's own `[[policy]]` tables,
    /// or a built-in (`plan` solves the scenario's LP first).
    pub fn for_scenario(name: &str, s: &Scenario) -> Result<Policy, PolicyError> {
        if let Some(def) = s.policies.iter().find(|p| p.name == name) {
            let spec = PolicySpec {
                name: def.name.clone(),
                filters: def.filters.clone(),
                scores: def.scores.clone(),
                objective: if def.carbon_objective {
                    Objective::Carbon
                } else {
                    Objective::Cost
                },
            };
            return Registry::builtin().build(&spec);
        }
        if name == "plan" {
            let plan = crate::plan::plan(s).map_err(|_| PolicyError::NoPlan)?;
            return Policy::with_plan(Arc::new(plan));
        }
        Policy::named(name)
    }

    /// Filter plugin names.
    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filters.iter().map(|f| f.name()).collect()
    }

    /// Score plugin names and weights.
    pub fn score_names(&self) -> Vec<(&'static str, f64)> {
        self.scores.iter().map(|(s, w)| (s.name(), *w)).collect()
    }
}

/// A split training job's second hub and network reservation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Split {
    /// The second hub.
    pub hub: HubId,
    /// Accelerators at the first hub.
    pub first_accelerators: u32,
    /// Accelerators at the second hub.
    pub second_accelerators: u32,
    /// Reserved bandwidth between the hubs, Gbit/s (0 when best effort).
    pub reserve_gbps: f64,
    /// Efficiency relative to one data center.
    pub efficiency: f64,
}

/// Where (and when) a unit of work goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    /// The hub.
    pub hub: HubId,
    /// Start time, s since the scenario start (now, or later for deferred work).
    pub start_s: f64,
    /// Expected end, s.
    pub end_s: f64,
    /// Expected electricity cost.
    pub cost: f64,
    /// Expected CO2, kg.
    pub carbon_kg: f64,
    /// For a training job split across two hubs.
    pub split: Option<Split>,
}

/// The outcome of a decision: a placement, or a rejection with every hub's reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it here.
    Place(Placement),
    /// No hub can take it: each hub's reason.
    Reject(Vec<(HubId, Reason)>),
}

impl Decision {
    /// The chosen hub, if placed.
    pub fn hub(&self) -> Option<HubId> {
        match self {
            Decision::Place(p) => Some(p.hub),
            Decision::Reject(_) => None,
        }
    }
}

/// One hub's line in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubLine {
    /// The hub.
    pub hub: HubId,
    /// `None` when it passed every filter, else the first filter's reason.
    pub rejected: Option<Reason>,
    /// Per score plugin: name, raw cost, normalised score (0..100), weight.
    pub scores: Vec<(&'static str, f64, f64, f64)>,
    /// Weighted total (feasible hubs only).
    pub total: f64,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Policy name.
    pub policy: String,
    /// The chosen hub.
    pub chosen: Option<HubId>,
    /// Every hub.
    pub hubs: Vec<HubLine>,
}

/// Runs a policy, reusing its scratch space between decisions (no allocation per decision on
/// the placement path).
#[derive(Debug)]
pub struct Scheduler {
    policy: Policy,
    cands: Vec<Candidate>,
    feasible: Vec<usize>,
    raw: Vec<f64>,
    bounds: Vec<(f64, f64)>,
    /// 100 / (hi - lo) per score plugin (0 when all hubs tie).
    scale: Vec<f64>,
    rejected: Vec<(HubId, Reason)>,
}

impl Scheduler {
    /// A scheduler running `policy`.
    pub fn new(policy: Policy) -> Self {
        Scheduler {
            policy,
            cands: Vec::new(),
            feasible: Vec::new(),
            raw: Vec::new(),
            bounds: Vec::new(),
            scale: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decides where `work` goes.
    pub fn decide<V: ClusterView + ?Sized>(&mut self, view: &V, work: &Work<'_>) -> Decision {
        self.run(view, work, None)
    }

    /// Decides and explains: every hub's filter verdict and scores.
    pub fn explain<V: ClusterView + ?Sized>(
        &mut self,
        view: &V,
        work: &Work<'_>,
    ) -> (Decision, Explanation) {
        let mut ex = Explanation {
            policy: self.policy.name.clone(),
            chosen: None,
            hubs: Vec::new(),
        };
        let d = self.run(view, work, Some(&mut ex));
        ex.chosen = d.hub();
        (d, ex)
    }

    fn run<V: ClusterView + ?Sized>(
        &mut self,
        view: &V,
        work: &Work<'_>,
        mut ex: Option<&mut Explanation>,
    ) -> Decision {
        let n = view.hub_count();
        self.cands.clear();
        self.feasible.clear();
        self.rejected.clear();
        for i in 0..n {
            let h = HubId(i as u32);
            let c = candidate(view, work, h, self.policy.objective);
            let verdict = self
                .policy
                .filters
                .iter()
                .try_for_each(|f| f.filter(work, &c));
            match verdict {
                Ok(()) => self.feasible.push(i),
                Err(r) => self.rejected.push((h, r)),
            }
            if let Some(ex) = ex.as_deref_mut() {
                ex.hubs.push(HubLine {
                    hub: h,
                    rejected: verdict.err(),
                    scores: Vec::new(),
                    total: 0.0,
                });
            }
            self.cands.push(c);
        }
        if self.feasible.is_empty() {
            if let Work::Training(t) = work
                && t.splittable
                && let Some(p) = self.split(view, t)
            {
                return Decision::Place(p);
            }
            // SLOs are soft when nothing meets them: interactive work goes to the hub expected
            // to answer first rather than being refused (hard constraints still hold).
            if let Work::Inference(_) = work
                && let Some(&(h, _)) = self
                    .rejected
                    .iter()
                    .filter(|(_, r)| matches!(r, Reason::TtftSlo | Reason::E2eSlo))
                    .min_by(|a, b| {
                        let (ca, cb) = (&self.cands[a.0.index()], &self.cands[b.0.index()]);
                        ca.e2e_ms.total_cmp(&cb.e2e_ms).then(a.0.cmp(&b.0))
                    })
            {
                let c = &self.cands[h.index()];
                return Decision::Place(Placement {
                    hub: c.hub,
                    start_s: c.start_s,
                    end_s: c.end_s,
                    cost: c.cost,
                    carbon_kg: c.carbon_kg,
                    split: None,
                });
            }
            return Decision::Reject(std::mem::take(&mut self.rejected));
        }
        // Raw costs, per plugin, over feasible hubs.
        let k = self.policy.scores.len();
        let m = self.feasible.len();
        self.raw.clear();
        self.raw.resize(k * m, 0.0);
        for (pi, (plugin, _)) in self.policy.scores.iter().enumerate() {
            for (fi, &ci) in self.feasible.iter().enumerate() {
                self.raw[pi * m + fi] = plugin.cost(work, &self.cands[ci]);
            }
        }
        // Normalise each plugin to 0..100 (100 = lowest cost), weight, sum: O(plugins x hubs).
        self.bounds.clear();
        self.scale.clear();
        for pi in 0..k {
            let row = &self.raw[pi * m..(pi + 1) * m];
            let (lo, hi) = row
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            self.bounds.push((lo, hi));
            self.scale
                .push(if hi > lo { 100.0 / (hi - lo) } else { 0.0 });
        }
        let mut best: Option<(f64, usize)> = None;
        let plan_pick = self.plan_pick(work);
        for fi in 0..m {
            let mut total = 0.0;
            for (pi, (plugin, weight)) in self.policy.scores.iter().enumerate() {
                let x = self.raw[pi * m + fi];
                let (lo, hi) = self.bounds[pi];
                // 100 x (hi - x) / (hi - lo), with the division done once per plugin.
                let norm = if hi > lo {
                    ((hi - x) * self.scale[pi]).clamp(0.0, 100.0)
                } else {
                    100.0
                };
                total += weight * norm;
                if let Some(ex) = ex.as_deref_mut() {
                    let line = &mut ex.hubs[self.feasible[fi]];
                    line.scores.push((plugin.name(), x, norm, *weight));
                }
            }
            if let Some(ex) = ex.as_deref_mut() {
                ex.hubs[self.feasible[fi]].total = total;
            }
            if best.is_none_or(|(b, _)| total > b) {
                best = Some((total, fi));
            }
        }
        let mut chosen = self.feasible[best.map_or(0, |(_, fi)| fi)];
        if let Some(pick) = plan_pick.and_then(|shares| self.pick_by_shares(shares, work)) {
            chosen = pick;
        }
        let c = &self.cands[chosen];
        Decision::Place(Placement {
            hub: c.hub,
            start_s: c.start_s,
            end_s: c.end_s,
            cost: c.cost,
            carbon_kg: c.carbon_kg,
            split: None,
        })
    }

    /// The plan's hub shares for this work, when the policy follows a plan.
    fn plan_pick(&self, work: &Work<'_>) -> Option<Vec<(HubId, f64)>> {
        let plan = self.policy.plan.as_ref()?;
        let Work::Inference(r) = work else {
            return None;
        };
        let (crate::view::Origin::Region(region), Some(class)) = (r.origin, r.class) else {
            return None;
        };
        plan.shares(region, class, self.cands.first().map_or(0.0, |c| c.start_s))
    }

    /// Picks a feasible hub by the plan's shares with the work's random draw; `None` when no
    /// planned hub is feasible.
    fn pick_by_shares(&self, shares: Vec<(HubId, f64)>, work: &Work<'_>) -> Option<usize> {
        let Work::Inference(r) = work else {
            return None;
        };
        let ok: Vec<(usize, f64)> = shares
            .iter()
            .filter(|(h, s)| *s > 0.0 && self.feasible.contains(&h.index()))
            .map(|(h, s)| (h.index(), *s))
            .collect();
        let total: f64 = ok.iter().map(|(_, s)| s).sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = r.draw.clamp(0.0, 1.0 - 1e-12) * total;
        for (i, s) in &ok {
            if x < *s {
                return Some(*i);
            }
            x -= s;
        }
        ok.last().map(|(i, _)| *i)
    }

    /// Splits a training job that no single hub can take across the cheapest feasible pair.
    fn split<V: ClusterView + ?Sized>(&self, view: &V, t: &TrainingJob) -> Option<Placement> {
        let n = view.hub_count();
        let now = view.now_s();
        let mut best: Option<Placement> = None;
        for a in 0..n {
            for b in (a + 1)..n {
                let (ha, hb) = (HubId(a as u32), HubId(b as u32));
                let (sa, sb) = (view.hub(ha), view.hub(hb));
                if !(sa.up && sb.up) {
                    continue;
                }
                let link = view.link(ha, hb);
                let transport = if link.deterministic {
                    tokengrid_net::Transport::RdmaSr
                } else {
                    tokengrid_net::Transport::Tcp
                };
                let loss = if link.deterministic { 0.0 } else { link.loss };
                let job = tokengrid_net::training::TrainingJob {
                    gradient_gb: t.gradient_gb_per_step,
                    step_compute_s: t.step_compute_s,
                    participants: 2,
                    overlap: tokengrid_net::training::DEFAULT_OVERLAP,
                    single_dc_gbps: tokengrid_net::training::SINGLE_DC_GBPS,
                };
                let eff = job
                    .across(
                        transport,
                        &tokengrid_net::goodput::PathParams::new(link.gbps, link.rtt_ms, loss),
                    )
                    .efficiency;
                if eff <= 0.0 {
                    continue;
                }
                let duration = t.compute_hours * 3600.0 / eff;
                let end = now + duration;
                if end > t.deadline_s {
                    continue;
                }
                if link.deterministic && !view.can_reserve(ha, hb, link.gbps, now, end) {
                    continue;
                }
                let fa = view.free_accelerators(ha, t.accelerator, now, end);
                let fb = view.free_accelerators(hb, t.accelerator, now, end);
                // As many as fit at the first hub, the rest at the second.
                let first = fa.min(t.accelerators);
                let second = t.accelerators - first;
                if second == 0 || second > fb {
                    continue;
                }
                let w = |k: u32| f64::from(k) * t.accelerator_w / 1000.0;
                let (ca, xa) = crate::estimate::window_cost(view, ha, w(first) * sa.pue, now, end);
                let (cb, xb) = crate::estimate::window_cost(view, hb, w(second) * sb.pue, now, end);
                let key = match self.policy.objective {
                    Objective::Cost => ca + cb,
                    Objective::Carbon => xa + xb,
                };
                let better = best.is_none_or(|p| {
                    key < match self.policy.objective {
                        Objective::Cost => p.cost,
                        Objective::Carbon => p.carbon_kg,
                    }
                });
                if better {
                    best = Some(Placement {
                        hub: ha,
                        start_s: now,
                        end_s: end,
                        cost: ca + cb,
                        carbon_kg: xa + xb,
                        split: Some(Split {
                            hub: hb,
                            first_accelerators: first,
                            second_accelerators: second,
                            reserve_gbps: if link.deterministic { link.gbps } else { 0.0 },
                            efficiency: eff,
                        }),
                    });
                }
            }
        }
        best
    }
}

/// Commits a placement against the caller's state (hub capacity, network). The scheduler never
/// mutates state; the simulator and the service implement this.
pub trait Reserver {
    /// Holds what the placement needs; `Err` leaves nothing held.
    fn reserve(&mut self, work: &Work<'_>, p: &Placement) -> Result<(), Reason>;
    /// Releases what `reserve` held; idempotent.
    fn unreserve(&mut self, work: &Work<'_>, p: &Placement);
}

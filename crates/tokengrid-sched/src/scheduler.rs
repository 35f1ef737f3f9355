//! The scheduler loop: estimate every hub, filter, normalise and weight the scores, pick.
//!
//! For each unit of work the scheduler estimates every hub ([`crate::estimate`]), drops those a
//! filter rejects, normalises each score plugin's costs over the remaining hubs to 0..100
//! (100 = best), multiplies by the plugin's weight and sums. The highest total wins; ties go to
//! the lowest hub id, so the same view and work always give the same decision.

use tokengrid_core::HubId;

use crate::decision::{Decision, Explanation, HubLine, Placement};
use crate::estimate::estimate_all;
use crate::plugin::BuiltinFilter as F;
use crate::plugin::BuiltinScore as S;
use crate::plugin::{BuiltinFilter, BuiltinScore, Candidate, Each, Reason};
use crate::registry::Policy;
use crate::view::ClusterView;
use crate::work::Work;

/// Runs a policy, reusing its scratch space between decisions (no allocation per decision on
/// the placement path).
#[derive(Debug)]
pub struct Scheduler {
    policy: Policy,
    /// The policy's filters and scores in order: built-ins run directly, others through
    /// their plugin (by index).
    filters: Vec<Step<BuiltinFilter>>,
    scores: Vec<Step<BuiltinScore>>,
    cands: Vec<Candidate>,
    feasible: Vec<usize>,
    /// Each hub's first failed filter.
    verdicts: Vec<Option<Reason>>,
    /// One score plugin's raw costs over the feasible hubs.
    raw: Vec<f64>,
    /// Each score plugin's (lowest, highest) raw cost over the feasible hubs.
    ranges: Vec<(f64, f64)>,
    /// Weighted totals of the feasible hubs.
    totals: Vec<f64>,
    rejected: Vec<(HubId, Reason)>,
    /// The policy's plugins as one of the built-in policies' lists, when they are one.
    shape: Option<Shape>,
}

/// The filter and score lists of the built-in policies. A policy with one of them is decided by
/// a loop compiled for that list ([`Scheduler::judge`]): hub by hub, every filter and score
/// inlined, where the general path runs plugin by plugin. Both run each built-in's own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `nearest`.
    HardLatency,
    /// `cheapest`.
    HardCost,
    /// `cost-slo` and `plan`.
    SloCostLatency,
    /// `green`.
    SloCarbonCost,
}

/// The hard filters every policy applies (`tokengrid_core::HARD_FILTERS`, in order).
const HARD: [F; 4] = [F::ModelServed, F::HubUp, F::Residency, F::Capacity];
/// The hard filters, then the SLO and power filters.
const SLO: [F; 6] = [
    F::ModelServed,
    F::HubUp,
    F::Residency,
    F::Capacity,
    F::Slo,
    F::PowerCap,
];

impl Shape {
    /// The shape of these filter and score lists, if they are a built-in policy's.
    fn of(filters: &[Step<BuiltinFilter>], scores: &[Step<BuiltinScore>]) -> Option<Shape> {
        let f: Vec<F> = filters.iter().map(Step::builtin).collect::<Option<_>>()?;
        let sc: Vec<S> = scores.iter().map(Step::builtin).collect::<Option<_>>()?;
        Some(match (f.as_slice(), sc.as_slice()) {
            (f, [S::Latency]) if f == HARD => Shape::HardLatency,
            (f, [S::EnergyCost]) if f == HARD => Shape::HardCost,
            (f, [S::EnergyCost, S::Latency]) if f == SLO => Shape::SloCostLatency,
            (f, [S::Carbon, S::EnergyCost]) if f == SLO => Shape::SloCarbonCost,
            _ => return None,
        })
    }
}

/// One filter over every hub still without a failure.
struct FilterPass<'a, 'w> {
    work: &'a Work<'w>,
    cands: &'a [Candidate],
    verdicts: &'a mut [Option<Reason>],
}

impl Each<Result<(), Reason>> for FilterPass<'_, '_> {
    #[inline]
    fn each<P: Fn(&Work<'_>, &Candidate) -> Result<(), Reason>>(&mut self, plugin: P) {
        for (c, v) in self.cands.iter().zip(self.verdicts.iter_mut()) {
            if v.is_none()
                && let Err(r) = plugin(self.work, c)
            {
                *v = Some(r);
            }
        }
    }
}

/// One score plugin's raw costs over the feasible hubs, and their range.
struct ScorePass<'a, 'w> {
    work: &'a Work<'w>,
    cands: &'a [Candidate],
    feasible: &'a [usize],
    raw: &'a mut [f64],
    lo: f64,
    hi: f64,
}

impl Each<f64> for ScorePass<'_, '_> {
    #[inline]
    fn each<P: Fn(&Work<'_>, &Candidate) -> f64>(&mut self, plugin: P) {
        for (x, &ci) in self.raw.iter_mut().zip(self.feasible) {
            *x = plugin(self.work, &self.cands[ci]);
            // Comparisons rather than `f64::min` and `max`, whose NaN handling costs several
            // instructions: a NaN cost is skipped by both.
            if *x < self.lo {
                self.lo = *x;
            }
            if *x > self.hi {
                self.hi = *x;
            }
        }
    }
}

/// A score plugin's costs normalised to 0..100 over their range among the feasible hubs (100 =
/// lowest): `100 x (hi - x) / (hi - lo)`, the division done once per plugin; every hub scores 100
/// when the costs do not spread.
#[derive(Debug, Clone, Copy)]
struct Norm {
    hi: f64,
    /// 100 / (hi - lo), or 0 when the range does not spread.
    scale: f64,
    spread: bool,
}

impl Norm {
    /// The normalisation over the range `(lo, hi)`.
    #[inline(always)]
    fn over((lo, hi): (f64, f64)) -> Norm {
        Norm {
            hi,
            scale: if hi > lo { 100.0 / (hi - lo) } else { 0.0 },
            spread: hi > lo,
        }
    }

    /// Cost `x` normalised.
    #[inline(always)]
    fn of(self, x: f64) -> f64 {
        if self.spread {
            ((self.hi - x) * self.scale).clamp(0.0, 100.0)
        } else {
            100.0
        }
    }
}

/// A plugin as the scheduler runs it.
#[derive(Debug, Clone, Copy)]
enum Step<B> {
    /// A built-in, without a virtual call.
    Builtin(B),
    /// Another plugin: its index in the policy.
    Plugin(usize),
}

impl<B: Copy> Step<B> {
    /// The built-in, if this is one.
    fn builtin(&self) -> Option<B> {
        match *self {
            Step::Builtin(b) => Some(b),
            Step::Plugin(_) => None,
        }
    }
}

impl Scheduler {
    /// A scheduler running `policy`.
    pub fn new(policy: Policy) -> Self {
        let filters: Vec<Step<BuiltinFilter>> = (policy.filters.iter().enumerate())
            .map(|(i, f)| f.builtin().map_or(Step::Plugin(i), Step::Builtin))
            .collect();
        let scores: Vec<Step<BuiltinScore>> = (policy.scores.iter().enumerate())
            .map(|(i, (s, _))| s.builtin().map_or(Step::Plugin(i), Step::Builtin))
            .collect();
        let shape = Shape::of(&filters, &scores);
        Scheduler {
            shape,
            policy,
            filters,
            scores,
            cands: Vec::new(),
            feasible: Vec::new(),
            verdicts: Vec::new(),
            raw: Vec::new(),
            ranges: Vec::new(),
            totals: Vec::new(),
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

    /// The last decision's hubs as [`Scheduler::explain`] lists them, without building the
    /// explanation: each hub, its first failed filter (`None`: it passed every one) and, for
    /// hubs that passed, its weighted total (0 for the others).
    pub fn verdicts(&self) -> impl Iterator<Item = (HubId, Option<Reason>, f64)> + '_ {
        // The hubs that passed are the feasible ones, in hub order, their totals in the same
        // order (with none feasible, no hub passed and no total is read).
        let mut totals = self.totals.iter();
        self.verdicts.iter().enumerate().map(move |(i, &v)| {
            let total = match v {
                None => totals.next().copied().unwrap_or(0.0),
                Some(_) => 0.0,
            };
            (HubId(i as u32), v, total)
        })
    }

    fn run<V: ClusterView + ?Sized>(
        &mut self,
        view: &V,
        work: &Work<'_>,
        mut ex: Option<&mut Explanation>,
    ) -> Decision {
        let n = view.hub_count();
        // Candidates are estimated in place: a slot per hub, kept between decisions.
        if self.cands.len() != n {
            self.cands.clear();
            let now = view.now_s();
            self.cands.extend((0..n).map(|i| {
                let h = HubId(i as u32);
                crate::estimate::blank(h, view.hub(h), now)
            }));
        }
        self.feasible.clear();
        self.rejected.clear();
        if let Some(ex) = ex.as_deref_mut() {
            ex.hubs.reserve(n);
        }
        estimate_all(view, work, self.policy.objective, &mut self.cands);
        if ex.is_none()
            && let Some(shape) = self.shape
        {
            return match shape {
                Shape::HardLatency => self.decide_shaped(view, work, &HARD, &[S::Latency]),
                Shape::HardCost => self.decide_shaped(view, work, &HARD, &[S::EnergyCost]),
                Shape::SloCostLatency => {
                    self.decide_shaped(view, work, &SLO, &[S::EnergyCost, S::Latency])
                }
                Shape::SloCarbonCost => {
                    self.decide_shaped(view, work, &SLO, &[S::Carbon, S::EnergyCost])
                }
            };
        }
        self.filter_by_filter(work, ex.as_deref_mut());
        if self.feasible.is_empty() {
            return self.none_feasible(view, work);
        }
        self.score_by_plugin(work);
        self.total_up(ex.as_deref_mut());
        let mut best: Option<(f64, usize)> = None;
        for (fi, &total) in self.totals.iter().enumerate() {
            if let Some(ex) = ex.as_deref_mut() {
                ex.hubs[self.feasible[fi]].total = total;
            }
            if best.is_none_or(|(b, _)| total > b) {
                best = Some((total, fi));
            }
        }
        let chosen = self.feasible[best.map_or(0, |(_, fi)| fi)];
        self.place(work, chosen)
    }

    /// [`Scheduler::run`] for a policy whose lists `filters` and `scores` are known when this is
    /// compiled, without an explanation: [`Scheduler::judge`], then [`Scheduler::total_rows`].
    /// The same decision and totals as the general path (`verdicts_match_the_explanation`).
    #[inline(always)]
    fn decide_shaped<V: ClusterView + ?Sized, const NF: usize, const NS: usize>(
        &mut self,
        view: &V,
        work: &Work<'_>,
        filters: &[BuiltinFilter; NF],
        scores: &[BuiltinScore; NS],
    ) -> Decision {
        self.judge(work, filters, scores);
        if self.feasible.is_empty() {
            return self.none_feasible(view, work);
        }
        let fi = self.total_rows::<NS>();
        self.place(work, self.feasible[fi])
    }

    /// The decision when no hub passed the filters: a split training job, interactive work at
    /// the hub expected to answer first when only SLOs stood in the way, or a rejection.
    fn none_feasible<V: ClusterView + ?Sized>(&mut self, view: &V, work: &Work<'_>) -> Decision {
        if let Work::Training(t) = work
            && t.splittable
            && let Some(p) = crate::training::split_across_hubs(view, t, self.policy.objective)
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
            return Decision::Place(Placement::at(&self.cands[h.index()]));
        }
        Decision::Reject(std::mem::take(&mut self.rejected))
    }

    /// Places the work at candidate `chosen` (the highest total), or where the policy's plan
    /// sends it when it follows one.
    fn place(&self, work: &Work<'_>, chosen: usize) -> Decision {
        let chosen = self
            .plan_pick(work)
            .and_then(|shares| self.pick_by_shares(shares, work))
            .unwrap_or(chosen);
        Decision::Place(Placement::at(&self.cands[chosen]))
    }

    /// Each hub's first failed filter, filter by filter over every hub (a built-in's code chosen
    /// once per filter rather than per hub); the feasible and rejected hubs; the explanation's
    /// lines.
    fn filter_by_filter(&mut self, work: &Work<'_>, mut ex: Option<&mut Explanation>) {
        let n = self.cands.len();
        let k = self.policy.scores.len();
        self.verdicts.clear();
        self.verdicts.resize(n, None);
        for f in &self.filters {
            let mut pass = FilterPass {
                work,
                cands: &self.cands,
                verdicts: &mut self.verdicts,
            };
            match *f {
                Step::Builtin(b) => b.visit(&mut pass),
                Step::Plugin(p) => pass.each(|w, c| self.policy.filters[p].filter(w, c)),
            }
        }
        for (i, &verdict) in self.verdicts.iter().enumerate() {
            let h = HubId(i as u32);
            match verdict {
                None => self.feasible.push(i),
                Some(r) => self.rejected.push((h, r)),
            }
            if let Some(ex) = ex.as_deref_mut() {
                ex.hubs.push(HubLine {
                    hub: h,
                    rejected: verdict,
                    scores: if verdict.is_none() {
                        Vec::with_capacity(k)
                    } else {
                        Vec::new()
                    },
                    total: 0.0,
                });
            }
        }
    }

    /// Each score plugin's raw costs over the feasible hubs (`raw[plugin x hubs + i]` for the
    /// `i`th feasible hub) and their range, plugin by plugin.
    fn score_by_plugin(&mut self, work: &Work<'_>) {
        let (n, m) = (self.cands.len(), self.feasible.len());
        self.raw.clear();
        self.raw.resize(self.scores.len() * n, 0.0);
        self.ranges.clear();
        for (pi, step) in self.scores.iter().enumerate() {
            let mut pass = ScorePass {
                work,
                cands: &self.cands,
                feasible: &self.feasible,
                raw: &mut self.raw[pi * n..pi * n + m],
                lo: f64::INFINITY,
                hi: f64::NEG_INFINITY,
            };
            match *step {
                Step::Builtin(b) => b.visit(&mut pass),
                Step::Plugin(p) => pass.each(|w, c| self.policy.scores[p].0.cost(w, c)),
            }
            self.ranges.push((pass.lo, pass.hi));
        }
    }

    /// [`Scheduler::filter_by_filter`] and [`Scheduler::score_by_plugin`] in one pass over the
    /// hubs, for `filters` and `scores` known when this is compiled: each hub's filters run in
    /// order to its first failure, and a hub that passes is scored while its estimate is at
    /// hand. The same verdicts, costs and ranges (a range is a minimum and a maximum, whatever
    /// the order); the costs are kept hub by hub (`raw[feasible x NS + plugin]`), as
    /// [`Scheduler::total_rows`] reads them.
    #[inline(always)]
    fn judge<const NF: usize, const NS: usize>(
        &mut self,
        work: &Work<'_>,
        filters: &[BuiltinFilter; NF],
        scores: &[BuiltinScore; NS],
    ) {
        let n = self.cands.len();
        self.verdicts.clear();
        self.verdicts.resize(n, None);
        self.raw.clear();
        self.raw.resize(NS * n, 0.0);
        let mut ranges = [(f64::INFINITY, f64::NEG_INFINITY); NS];
        let mut rows = self.raw.chunks_exact_mut(NS);
        for (i, (c, v)) in self.cands.iter().zip(&mut self.verdicts).enumerate() {
            let mut verdict = None;
            for f in filters {
                if let Err(r) = f.filter(work, c) {
                    verdict = Some(r);
                    break;
                }
            }
            *v = verdict;
            match verdict {
                None => {
                    // A row per hub: never fewer rows than hubs.
                    if let Some(row) = rows.next() {
                        for ((sc, range), x) in scores.iter().zip(&mut ranges).zip(row) {
                            *x = sc.cost(work, c);
                            // As in `ScorePass`: comparisons, a NaN skipped by both.
                            if *x < range.0 {
                                range.0 = *x;
                            }
                            if *x > range.1 {
                                range.1 = *x;
                            }
                        }
                    }
                    self.feasible.push(i);
                }
                Some(r) => self.rejected.push((HubId(i as u32), r)),
            }
        }
        self.ranges.clear();
        self.ranges.extend_from_slice(&ranges);
    }

    /// [`Scheduler::total_up`] for [`Scheduler::judge`]'s costs of `NS` plugins, without an
    /// explanation, and the feasible hub with the highest total (the first on a tie). Each total
    /// is the same sum in the same order as `total_up`'s, so the same number.
    #[inline(always)]
    fn total_rows<const NS: usize>(&mut self) -> usize {
        let m = self.feasible.len();
        let mut norm_of = [(Norm::over((0.0, 0.0)), 0.0); NS];
        for ((x, (_, weight)), &range) in norm_of
            .iter_mut()
            .zip(&self.policy.scores)
            .zip(&self.ranges)
        {
            *x = (Norm::over(range), *weight);
        }
        self.totals.clear();
        self.totals.resize(m, 0.0);
        let mut best: Option<(f64, usize)> = None;
        for (fi, (total, row)) in self
            .totals
            .iter_mut()
            .zip(self.raw.chunks_exact(NS))
            .enumerate()
        {
            for (&(over, weight), &x) in norm_of.iter().zip(row) {
                *total += weight * over.of(x);
            }
            if best.is_none_or(|(b, _)| *total > b) {
                best = Some((*total, fi));
            }
        }
        best.map_or(0, |(_, fi)| fi)
    }

    /// Each feasible hub's weighted total: per plugin, each hub's cost normalised to 0..100
    /// over the range (100 = lowest), weighted and added (plugins in order, so a total is the
    /// same sum whichever way the costs were found): O(plugins x hubs).
    fn total_up(&mut self, mut ex: Option<&mut Explanation>) {
        let (n, m) = (self.cands.len(), self.feasible.len());
        self.totals.clear();
        self.totals.resize(m, 0.0);
        for (pi, (plugin, weight)) in self.policy.scores.iter().enumerate() {
            let over = Norm::over(self.ranges[pi]);
            let raw = &self.raw[pi * n..pi * n + m];
            for (fi, (total, &x)) in self.totals.iter_mut().zip(raw).enumerate() {
                let norm = over.of(x);
                *total += weight * norm;
                if let Some(ex) = ex.as_deref_mut() {
                    let line = &mut ex.hubs[self.feasible[fi]];
                    line.scores.push((plugin.name(), x, norm, *weight));
                }
            }
        }
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
}

#[cfg(test)]
mod tests {
    use super::{Scheduler, Shape};
    use crate::registry::Policy;

    /// Every built-in policy is decided by the loop compiled for its lists: a change to a
    /// built-in's filters or scores that no shape matches would quietly fall back to the
    /// general path (the same decisions, about a fifth slower).
    #[test]
    fn every_builtin_policy_has_a_compiled_shape() {
        for (name, shape) in [
            ("nearest", Shape::HardLatency),
            ("cheapest", Shape::HardCost),
            ("cost-slo", Shape::SloCostLatency),
            ("green", Shape::SloCarbonCost),
        ] {
            let s = Scheduler::new(Policy::named(name).expect("built-in policy"));
            assert_eq!(s.shape, Some(shape), "{name}");
        }
    }
}

//! Where a step's flows go: decided in rounds by the policy, contended pools shared in proportion
//! to demand, each pool taking flow until the policy would send it elsewhere.

use tokengrid_core::{ClassKind, HubId, ModelId};
use tokengrid_sched::view::*;
use tokengrid_sched::{BatchJob, Decision, HubSet, InferenceRequest, Reason, Work};

use super::view::FluidView;
use super::{ADMISSION_BISECTIONS, Chunk, Fluid, PLACEMENT_ROUNDS, WAIT_BOUND_BISECTIONS};
use crate::sim::Sim;

impl Sim<'_> {
    /// Decides where the step's flows go and serves what the chosen pools can take this step.
    /// Flows are decided in rounds against the same view: a pool that more flows choose than it
    /// can take serves each the same share of its demand, and the rest of each is decided again
    /// in the next round with that pool shown full, as the policy ranks the hubs. In the
    /// discrete mode the regions' requests interleave, so each region's overflow from a
    /// contended pool is in proportion to its demand; placing flows one after another gave all
    /// of it to whichever flow came last (under cost-slo a whole eastern deepseek replica was
    /// woken for one region's overflow while the other two slept, where the discrete mode keeps
    /// all three busy at a third of the load). What no pool can take waits in the last chosen
    /// pool's backlog.
    pub(super) fn fluid_place(&mut self, fl: &mut Fluid, mut pending: Vec<Chunk>, now: f64) {
        let mut demand = vec![0.0; fl.pools.len()];
        for _ in 0..PLACEMENT_ROUNDS.max(4 * (self.s.hubs.len() + 1)) {
            if pending.is_empty() {
                return;
            }
            let mut wants = Vec::with_capacity(pending.len());
            for c in pending.drain(..) {
                if let Some(pool) = self.fluid_decide(fl, &c, now) {
                    wants.push((pool, c));
                }
            }
            demand.fill(0.0);
            for (pool, c) in &wants {
                demand[*pool] += c.count * fl.work_s(&self.world, *pool, c.class);
            }
            for (pool, &want) in demand.iter().enumerate() {
                if want <= 0.0 {
                    continue;
                }
                let room = fl.pools[pool].left_s;
                let share = if want > room { room / want } else { 1.0 };
                let group: Vec<Chunk> = wants
                    .iter()
                    .filter(|(p, _)| *p == pool)
                    .map(|(_, c)| *c)
                    .collect();
                let f = self.admissible(fl, pool, &group, share);
                for mut c in group {
                    let take = c.count * f;
                    self.fluid_serve(fl, pool, c, take, 0.0);
                    c.count -= take;
                    if c.count > 1e-9 {
                        pending.push(c);
                    }
                }
            }
        }
        // Every hub the policy would use is full this step: wait at the last choice.
        for c in pending {
            let class = self.s.class(c.class);
            if let Some(pool) = class.model().and_then(|m| self.fluid_last_pool(fl, m)) {
                let w = fl.work_s(&self.world, pool, c.class);
                fl.pools[pool].backlog.push_back(c, w);
            } else {
                let why = Reason::NoCapacity.code();
                self.stats
                    .unserved(c.class.index(), None, false, why, c.count.round() as u64);
            }
        }
    }

    /// How much of `share` of each flow in `group` (all choosing `pool`) the pool takes before
    /// the policy would stop choosing it for one of them: all of it when every flow still
    /// prefers the pool with it booked; otherwise the least fraction (by bisection) at which one
    /// no longer does, so the rest of the flows goes elsewhere in the next round. The discrete
    /// mode's dispatcher sends requests to a pool until the latency it expects there passes its
    /// bound, request by request; booking a whole flow at once overshot that point (prefill-bound
    /// code pools filled to a prefill share of 0.93 where the policy stops at about 0.87).
    fn admissible(&mut self, fl: &mut Fluid, pool: usize, group: &[Chunk], share: f64) -> f64 {
        let hub = self.world.pool_hub(pool);
        let holds = |this: &mut Self, fl: &mut Fluid, f: f64| {
            for c in group {
                fl.book(&this.world, pool, c.class, c.count * f);
            }
            let ok = group
                .iter()
                .all(|c| this.fluid_prefers(fl, c, hub, pool, None));
            for c in group {
                fl.book(&this.world, pool, c.class, -c.count * f);
            }
            ok
        };
        if holds(self, fl, share) {
            return share;
        }
        let (mut lo, mut hi) = (0.0, share);
        for _ in 0..ADMISSION_BISECTIONS {
            let mid = 0.5 * (lo + hi);
            if holds(self, fl, mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// The longest prefill wait at `pool` at which the policy still sends flow `c` there (the
    /// pool shown with room, everything else as it is): found by asking the policy, bisecting
    /// the wait shown, so whatever latency bound its filters keep is the one taken. Infinite when
    /// no wait up to twice the class's tightest SLO turns the flow away. Kept for the step.
    pub(super) fn fluid_wait_bound(&mut self, fl: &mut Fluid, c: &Chunk, pool: usize) -> f64 {
        let key = (c.region.index(), c.class.index(), pool);
        if let Some(&b) = fl.bounds.get(&key) {
            return b;
        }
        let hub = self.world.pool_hub(pool);
        let top = match &self.s.class(c.class).kind {
            ClassKind::Inference(i) => {
                let tightest = match (i.ttft_slo_ms, i.e2e_slo_ms) {
                    (Some(t), Some(e)) => t.min(e),
                    (Some(t), None) | (None, Some(t)) => t,
                    (None, None) => 0.0,
                };
                2.0 * tightest / 1e3
            }
            _ => 0.0,
        };
        let chosen = |this: &mut Self, w: f64| this.fluid_prefers(fl, c, hub, pool, Some(w));
        let bound = if top <= 0.0 || chosen(self, top) || !chosen(self, 0.0) {
            f64::INFINITY
        } else {
            let (mut lo, mut hi) = (0.0, top);
            for _ in 0..WAIT_BOUND_BISECTIONS {
                let mid = 0.5 * (lo + hi);
                if chosen(self, mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        fl.bounds.insert(key, bound);
        bound
    }

    /// Whether the policy still places flow `c` at `hub` now, the pool shown with room (and with
    /// prefill wait `wait` when given).
    fn fluid_prefers(
        &mut self,
        fl: &Fluid,
        c: &Chunk,
        hub: HubId,
        pool: usize,
        wait: Option<f64>,
    ) -> bool {
        let residency_set = self.residency[c.region.index()].clone();
        let Some(work) = self.fluid_work(fl, c, residency_set.as_ref()) else {
            return true;
        };
        let view = FluidView {
            world: &self.world,
            fluid: fl,
            open: Some(pool),
            wait_at: wait.map(|w| (pool, w)),
        };
        match self.sched.decide(&view, &work) {
            Decision::Place(p) => p.hub == hub && p.start_s <= self.world.now_s() + fl.step_s,
            Decision::Reject(_) => false,
        }
    }

    /// The representative request of flow `c`.
    fn fluid_work<'r>(
        &mut self,
        fl: &Fluid,
        c: &Chunk,
        residency: Option<&'r HubSet>,
    ) -> Option<Work<'r>> {
        let class = self.s.class(c.class);
        let (prompt, output) = fl.mean_tokens(c.class);
        Some(match &class.kind {
            ClassKind::Inference(i) => Work::Inference(InferenceRequest {
                model: i.model,
                class: Some(c.class),
                origin: Origin::Region(c.region),
                prompt_tokens: prompt.round().max(1.0) as u32,
                output_tokens: output.round().max(1.0) as u32,
                ttft_slo_ms: i.ttft_slo_ms,
                e2e_slo_ms: i.e2e_slo_ms,
                residency,
                draw: rand::Rng::random::<f64>(&mut self.draws),
            }),
            ClassKind::Batch(b) => Work::Batch(BatchJob {
                model: b.model,
                origin: Origin::Region(c.region),
                prompt_tokens: prompt.round().max(1.0) as u32,
                output_tokens: output.round().max(1.0) as u32,
                deadline_s: c.since_s + b.deadline.as_secs_f64(),
                residency,
            }),
            ClassKind::Training(_) => return None,
        })
    }

    /// Decides where flow `c` goes: the pool to serve it in now, or `None` when it is handled
    /// otherwise (deferred, refused, or waiting in a full pool's backlog).
    fn fluid_decide(&mut self, fl: &mut Fluid, c: &Chunk, now: f64) -> Option<usize> {
        let class = self.s.class(c.class);
        let ci = c.class.index();
        let model = class.model()?;
        let residency_set = self.residency[c.region.index()].clone();
        let work = self.fluid_work(fl, c, residency_set.as_ref())?;
        let view = FluidView {
            world: &self.world,
            fluid: fl,
            open: None,
            wait_at: None,
        };
        let p = match self.sched.decide(&view, &work) {
            Decision::Place(p) => p,
            Decision::Reject(rs) => {
                let closest = Reason::closest(&rs);
                let why = closest.map_or("no_hub", |(_, r)| r.code());
                let hub = closest.map(|(h, _)| h.index());
                self.stats
                    .unserved(ci, hub, false, why, c.count.round() as u64);
                return None;
            }
        };
        let Some(pool) = self.world.pool_index(p.hub, model) else {
            self.stats.unserved(
                ci,
                Some(p.hub.index()),
                false,
                Reason::ModelNotServed.code(),
                c.count.round() as u64,
            );
            return None;
        };
        if p.start_s > now + fl.step_s {
            // Deferred batch work joins the pool's backlog in its hour, staggered behind
            // the work already booked into that hour (never past its deadline), as in the
            // discrete mode.
            self.stats.n.deferred += c.count.round() as u64;
            let w = fl.work_s(&self.world, pool, c.class);
            let stagger = self.world.book_deferred(pool, p.start_s, w * c.count);
            let room = match &class.kind {
                ClassKind::Batch(b) => {
                    c.since_s + b.deadline.as_secs_f64()
                        - p.start_s
                        - w * f64::from(self.world.pool_slots(pool))
                }
                _ => 0.0,
            };
            fl.deferred
                .push((p.start_s + stagger.min(room.max(0.0)), pool, *c));
            return None;
        }
        let fp = &fl.pools[pool];
        if fp.left_s <= 1e-9 || !fp.backlog.is_empty() {
            // Full (or behind others): the flow waits here.
            let w = fl.work_s(&self.world, pool, c.class);
            fl.pools[pool].backlog.push_back(*c, w);
            return None;
        }
        // Under capacity, continuous batching starts arrivals as they come: no wait.
        Some(pool)
    }

    /// The pool with the shortest backlog serving `m` at a hub that is up.
    fn fluid_last_pool(&self, fl: &Fluid, m: ModelId) -> Option<usize> {
        (0..self.s.hubs.len())
            .filter(|&h| self.world.is_up(HubId(h as u32)))
            .filter_map(|h| self.world.pool_index(HubId(h as u32), m))
            .min_by(|&a, &b| fl.backlog_s(a).total_cmp(&fl.backlog_s(b)))
    }
}

//! The simulated hubs: pools of replicas per (hub, model), their queues, continuous batching,
//! training reservations, and energy accounting per hub per time step. The world is the
//! simulator's [`ClusterView`]: the policy decides on exactly the state that is simulated.

use std::cell::Cell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use tokengrid_core::{AcceleratorId, Batching, HubId, ModelId, Scenario, Site};
use tokengrid_energy::hourly::{Clock, HOUR_S};
use tokengrid_energy::summary::default_context;
use tokengrid_energy::{Draw, HubSupply, Replica as RooflineReplica};
use tokengrid_net::Topology;
use tokengrid_net::reserve::ReservationBook;
use tokengrid_sched::view::*;

use crate::engine::{Nanos, secs};

/// Length of one accounting time step, s.
pub const STEP_S: f64 = 900.0;

/// A float with a total order, for heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ord64(pub(crate) f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// One replica: a continuous batch whose sequences all advance one token per decode step.
///
/// `counter` counts decode steps done; a sequence that joins at counter `c` with `n` output
/// tokens finishes when the counter reaches `c + n`. The step time depends only on the batch
/// size, which changes only when a sequence joins or leaves, so completions are computed, not
/// stepped. A join pauses decoding while its prompt is prefilled (until `resume_at`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Replica {
    pub(crate) active: u32,
    counter: f64,
    last: Nanos,
    pub(crate) resume_at: Nanos,
    seqs: BinaryHeap<Reverse<(Ord64, u32)>>,
    pub(crate) generation: u32,
    /// When the pending completion event fires (`None` when there is none).
    pub(crate) scheduled: Option<Nanos>,
}

/// One model's serving at one hub.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub(crate) hub: HubId,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) queue: VecDeque<u32>,
    /// Sequences per replica.
    pub(crate) slots: u32,
    pub(crate) prefill_tokens_per_s: f64,
    /// Decode step time by batch size (index 0 unused).
    step_s: Vec<f64>,
    pub(crate) joules_per_prompt_token: f64,
    pub(crate) joules_per_output_token: f64,
    /// IT kW a replica adds when busy (over idle).
    pub(crate) marginal_kw: f64,
    pub(crate) max_queue: Option<u32>,
    pub(crate) free_slots: u32,
    pub(crate) busy_replicas: u32,
    /// Prefill seconds of requests dispatched here but still on the network.
    pub(crate) inflight_prefill_s: f64,
    /// Exponentially decayed prefill seconds started (time constant `PREFILL_TAU_S`), and when
    /// it was last decayed: the share of replica time spent prefilling lately.
    prefill_load: f64,
    prefill_load_at: Nanos,
    /// Slot-seconds in use, and when last counted (for utilization).
    pub(crate) slot_s: f64,
    slot_at: Nanos,
    /// Expected service time of a request, s (running mean of observed ones).
    pub(crate) mean_service_s: f64,
    served: u64,
    /// Seconds of deferred work booked per absolute hour since the start.
    deferred: Vec<f64>,
    /// 1 / (`PREFILL_TAU_S` x replicas): turns prefill load into a share of replica time.
    share_per_load_s: f64,
    /// The replicas summed up for decisions; `None` after any replica's batch changed.
    room: Cell<Option<Room>>,
}

/// Where a pool's replicas have room, summed up once per change of their batches rather than on
/// every decision.
#[derive(Debug, Clone, Copy)]
struct Room {
    /// Earliest end of the queued prefills among replicas with room (`Nanos::MAX` when none).
    resume_at: Nanos,
    /// Replicas with room.
    replicas: u32,
    /// Whether one of them is idle.
    idle: bool,
    /// Whether one of them is busy.
    busy: bool,
}

/// Time constant of the recent prefill share, s.
const PREFILL_TAU_S: f64 = 10.0;

impl Pool {
    /// Counts slot-seconds in use up to `now` (call before the number of free slots changes).
    fn count_slots(&mut self, now: Nanos) {
        if now > self.slot_at {
            let used = self.slots * self.replicas.len() as u32 - self.free_slots;
            self.slot_s += f64::from(used) * secs(now - self.slot_at);
            self.slot_at = now;
        }
    }

    /// Adds `prefill_s` of prefill started at `now` to the recent prefill load.
    fn note_prefill(&mut self, prefill_s: f64, now: Nanos) {
        let dt = secs(now.saturating_sub(self.prefill_load_at));
        self.prefill_load = self.prefill_load * (-dt / PREFILL_TAU_S).exp() + prefill_s;
        self.prefill_load_at = now;
    }

    /// Share of replica time spent prefilling lately (0..1). Between joins the load decays;
    /// a linear bound of the exponential (1 - dt/tau <= e^(-dt/tau)... floored at 0) keeps this
    /// cheap on the decision path and never leaves an idle pool looking busy.
    fn prefill_share(&self, now: Nanos) -> f64 {
        if self.prefill_load == 0.0 {
            return 0.0;
        }
        // Multiplications by constants only: this runs for every hub on every decision.
        let dt = secs(now.saturating_sub(self.prefill_load_at));
        let load = self.prefill_load * (1.0 - dt * (1.0 / PREFILL_TAU_S)).max(0.0);
        (load * self.share_per_load_s).min(0.95)
    }

    /// Where the replicas have room (cached until a batch changes).
    fn room(&self) -> Room {
        if let Some(r) = self.room.get() {
            return r;
        }
        let mut room = Room {
            resume_at: Nanos::MAX,
            replicas: 0,
            idle: false,
            busy: false,
        };
        for r in self.replicas.iter().filter(|r| r.active < self.slots) {
            room.resume_at = room.resume_at.min(r.resume_at);
            room.replicas += 1;
            if r.active == 0 {
                room.idle = true;
            } else {
                room.busy = true;
            }
        }
        self.room.set(Some(room));
        room
    }

    #[inline]
    pub(crate) fn step(&self, batch: u32) -> f64 {
        let b = (batch as usize).clamp(1, self.step_s.len() - 1);
        self.step_s[b]
    }

    /// Brings a replica's counter to `now`.
    fn advance(&mut self, r: usize, now: Nanos) {
        let step = self.step(self.replicas[r].active);
        let rep = &mut self.replicas[r];
        let from = rep.last.max(rep.resume_at);
        if rep.active > 0 && now > from {
            rep.counter += secs(now - from) / step;
        }
        rep.last = now;
    }

    /// When the replica's next sequence finishes.
    fn next_completion(&self, r: usize, now: Nanos) -> Option<Nanos> {
        let rep = &self.replicas[r];
        let Reverse((Ord64(finish), _)) = *rep.seqs.peek()?;
        let start = now.max(rep.resume_at);
        let steps = (finish - rep.counter).max(0.0);
        Some(start + crate::engine::ns(steps * self.step(rep.active)))
    }
}

/// A hub's energy meter and per-step accounts.
#[derive(Debug, Clone)]
pub(crate) struct HubMeter {
    pub(crate) supply: HubSupply,
    pub(crate) idle_kw: f64,
    pub(crate) busy_kw: f64,
    pub(crate) busy_replicas: u32,
    pub(crate) total_replicas: u32,
    pub(crate) last: Nanos,
    pub(crate) total: Draw,
    pub(crate) steps: Vec<StepAccount>,
    pub(crate) green_mw: [f64; 24],
    pub(crate) grid_cap_kw: f64,
}

/// One hub's account of one time step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepAccount {
    /// Energy, cost and carbon.
    pub draw: Draw,
    /// Replica-seconds busy.
    pub busy_replica_s: f64,
    /// Requests waiting at the step's end.
    pub queue: u32,
}

impl HubMeter {
    /// Accounts the interval since the last change at the current power.
    fn account(&mut self, now: Nanos) {
        if now <= self.last {
            return;
        }
        let it_kw = self.idle_kw + self.busy_kw;
        let (mut t0, t1) = (secs(self.last), secs(now));
        while t0 < t1 {
            let step = (t0 / STEP_S).floor() as usize;
            let end = ((step + 1) as f64 * STEP_S).min(t1);
            let d = self.supply.draw(t0, end, it_kw);
            if self.steps.len() <= step {
                self.steps.resize(step + 1, StepAccount::default());
            }
            let acc = &mut self.steps[step];
            acc.draw.add(&d);
            acc.busy_replica_s += f64::from(self.busy_replicas) * (end - t0);
            self.total.add(&d);
            t0 = end;
        }
        self.last = now;
    }

    /// Facility power now, kW.
    fn facility_kw(&self) -> f64 {
        (self.idle_kw + self.busy_kw) * self.supply.pue
    }
}

/// A booked training job at a hub: accelerators held over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Booking {
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) accelerators: u32,
    pub(crate) accelerator: Option<AcceleratorId>,
}

/// Everything simulated about the hubs.
#[derive(Debug, Clone)]
pub struct World {
    pub(crate) now: Nanos,
    /// Local hour of day at `now`.
    hour: usize,
    /// Simulated times `[from, until)` over which `hour` holds.
    hour_span: (Nanos, Nanos),
    pub(crate) clock: Clock,
    pub(crate) pools: Vec<Pool>,
    /// Pool index by (hub, model): `pool_of[hub * models + model]`.
    pool_of: Vec<Option<u32>>,
    n_models: usize,
    pub(crate) up: Vec<bool>,
    pub(crate) meters: Vec<HubMeter>,
    pub(crate) topo: Topology,
    pub(crate) book: ReservationBook,
    pub(crate) bookings: Vec<Vec<Booking>>,
    training_capacity: Vec<Vec<(AcceleratorId, u32)>>,
    tariff: Vec<[f64; 24]>,
    carbon: Vec<[f64; 24]>,
    pue: Vec<f64>,
    hub_sites: Vec<(f64, f64)>,
}

impl World {
    /// The hubs of `s`, idle, at time 0.
    pub fn new(s: &Scenario) -> Self {
        let clock = Clock::of(s);
        let n_models = s.models.len();
        let mut pools = Vec::new();
        let mut pool_of = vec![None; s.hubs.len() * n_models];
        for (hi, h) in s.hubs.iter().enumerate() {
            let hub = HubId(hi as u32);
            for &m in &h.models {
                let model = s.model(m);
                let acc = s.accelerator(model.accelerator);
                let r = RooflineReplica::new(model, acc);
                let ctx = default_context(s, m);
                let slots = match h.batching {
                    Batching::Continuous => r.kv_batch_limit(ctx).max(1),
                    Batching::None => 1,
                };
                let step_s: Vec<f64> = (0..=slots)
                    .map(|b| r.decode_step_s(b.max(1), ctx))
                    .collect();
                let n = s.replicas_at(hub, m);
                pool_of[hi * n_models + m.index()] = Some(pools.len() as u32);
                pools.push(Pool {
                    hub,
                    replicas: vec![Replica::default(); n as usize],
                    queue: VecDeque::new(),
                    slots,
                    prefill_tokens_per_s: r.prefill_tokens_per_s(),
                    joules_per_prompt_token: r.joules_per_prompt_token(),
                    joules_per_output_token: r.joules_per_output_token(slots, ctx),
                    marginal_kw: f64::from(r.accelerators) * (acc.tdp_w - acc.idle_w) / 1000.0,
                    max_queue: h.max_queue,
                    free_slots: n * slots,
                    busy_replicas: 0,
                    inflight_prefill_s: 0.0,
                    prefill_load: 0.0,
                    prefill_load_at: 0,
                    slot_s: 0.0,
                    slot_at: 0,
                    mean_service_s: 0.01 + 200.0 * step_s[slots as usize],
                    served: 0,
                    deferred: Vec::new(),
                    share_per_load_s: 1.0 / (PREFILL_TAU_S * f64::from(n.max(1))),
                    room: Cell::new(None),
                    step_s,
                });
            }
        }
        let meters = s
            .hubs
            .iter()
            .enumerate()
            .map(|(hi, h)| {
                let idle_w: f64 = h
                    .accelerators
                    .iter()
                    .map(|(a, n)| f64::from(*n) * s.accelerator(*a).idle_w)
                    .sum();
                let replicas = h.replicas.iter().map(|(_, n)| *n).sum();
                let _ = hi;
                HubMeter {
                    supply: HubSupply::new(s, h),
                    idle_kw: idle_w / 1000.0,
                    busy_kw: 0.0,
                    busy_replicas: 0,
                    total_replicas: replicas,
                    last: 0,
                    total: Draw::default(),
                    steps: Vec::new(),
                    green_mw: tokengrid_energy::supply::green_mw(s, h).0,
                    grid_cap_kw: h.grid_cap_mw * 1000.0,
                }
            })
            .collect();
        let topo = Topology::new(s);
        let book = ReservationBook::new(&topo);
        World {
            now: 0,
            hour: clock.hour(0.0),
            hour_span: (0, 0),
            clock,
            pools,
            pool_of,
            n_models,
            up: vec![true; s.hubs.len()],
            meters,
            book,
            topo,
            bookings: vec![Vec::new(); s.hubs.len()],
            training_capacity: s
                .hubs
                .iter()
                .enumerate()
                .map(|(hi, h)| {
                    h.accelerators
                        .iter()
                        .map(|(a, _)| (*a, s.training_accelerators_at(HubId(hi as u32), *a)))
                        .collect()
                })
                .collect(),
            tariff: s.hubs.iter().map(|h| h.tariff_yuan_per_kwh.0).collect(),
            carbon: s.hubs.iter().map(|h| h.grid_carbon_g_per_kwh.0).collect(),
            pue: s.hubs.iter().map(|h| h.pue).collect(),
            hub_sites: s.hubs.iter().map(|h| (h.lat, h.lon)).collect(),
        }
    }

    /// The pool serving `m` at `h`.
    #[inline]
    pub(crate) fn pool_index(&self, h: HubId, m: ModelId) -> Option<usize> {
        self.pool_of
            .get(h.index() * self.n_models + m.index())
            .copied()
            .flatten()
            .map(|p| p as usize)
    }

    /// Accounts energy up to `now` for hub `h` before its power changes.
    fn touch(&mut self, h: usize, now: Nanos) {
        self.meters[h].account(now);
    }

    /// A replica turned busy or idle.
    fn set_busy(&mut self, pool: usize, busy: bool, now: Nanos) {
        let h = self.pools[pool].hub.index();
        self.touch(h, now);
        let kw = self.pools[pool].marginal_kw;
        let m = &mut self.meters[h];
        if busy {
            self.pools[pool].busy_replicas += 1;
            m.busy_kw += kw;
            m.busy_replicas += 1;
        } else {
            self.pools[pool].busy_replicas -= 1;
            m.busy_kw = (m.busy_kw - kw).max(0.0);
            m.busy_replicas -= 1;
        }
    }

    /// Starts serving request `req` on the least-loaded replica with room; returns the replica
    /// and the time its first token is out, or `None` when every replica is full.
    pub(crate) fn join(
        &mut self,
        pool: usize,
        req: u32,
        prompt: u32,
        output: u32,
        now: Nanos,
    ) -> Option<(usize, Nanos)> {
        let p = &self.pools[pool];
        let r = (0..p.replicas.len())
            .filter(|&r| p.replicas[r].active < p.slots)
            .min_by_key(|&r| (p.replicas[r].active, r))?;
        let was_idle = p.replicas[r].active == 0;
        if was_idle {
            self.set_busy(pool, true, now);
        }
        let p = &mut self.pools[pool];
        p.count_slots(now);
        p.advance(r, now);
        let prefill_s = f64::from(prompt) / p.prefill_tokens_per_s;
        p.note_prefill(prefill_s, now);
        let prefill = crate::engine::ns(prefill_s);
        let rep = &mut p.replicas[r];
        rep.resume_at = rep.resume_at.max(now) + prefill;
        let finish = rep.counter + f64::from(output);
        rep.seqs.push(Reverse((Ord64(finish), req)));
        rep.active += 1;
        p.free_slots -= 1;
        p.room.set(None);
        Some((r, p.replicas[r].resume_at))
    }

    /// When the replica's next completion is due, if an event must be scheduled for it: only
    /// when none is pending or the pending one would fire too late (a pending event that fires
    /// early finds nothing done and asks again). Bumps the generation when it does.
    pub(crate) fn reschedule(&mut self, pool: usize, r: usize, now: Nanos) -> Option<(Nanos, u32)> {
        let p = &mut self.pools[pool];
        let t = p.next_completion(r, now)?;
        let rep = &mut p.replicas[r];
        if rep.scheduled.is_some_and(|s| s <= t) {
            return None;
        }
        rep.generation = rep.generation.wrapping_add(1);
        rep.scheduled = Some(t);
        Some((t, rep.generation))
    }

    /// Pops the sequences of a replica that are done by `now`.
    pub(crate) fn finish_due(&mut self, pool: usize, r: usize, now: Nanos, done: &mut Vec<u32>) {
        let p = &mut self.pools[pool];
        p.count_slots(now);
        p.advance(r, now);
        let rep = &mut p.replicas[r];
        while let Some(&Reverse((Ord64(finish), req))) = rep.seqs.peek() {
            if finish > rep.counter + 1e-6 {
                break;
            }
            rep.seqs.pop();
            rep.active -= 1;
            p.free_slots += 1;
            p.room.set(None);
            done.push(req);
        }
        if rep.active == 0 {
            rep.counter = 0.0;
            self.set_busy(pool, false, now);
        }
    }

    /// Records a finished request's service time (for expected-wait estimates).
    pub(crate) fn observe_service(&mut self, pool: usize, service_s: f64) {
        let p = &mut self.pools[pool];
        p.served += 1;
        let w = 1.0 / (p.served.min(1000) as f64);
        p.mean_service_s += w * (service_s - p.mean_service_s);
    }

    /// Empties a hub (outage): every queued and running request id, replicas idle.
    pub(crate) fn evacuate(&mut self, h: HubId, now: Nanos) -> Vec<u32> {
        let mut out = Vec::new();
        for pi in 0..self.pools.len() {
            if self.pools[pi].hub != h {
                continue;
            }
            self.pools[pi].count_slots(now);
            out.extend(self.pools[pi].queue.drain(..));
            for r in 0..self.pools[pi].replicas.len() {
                let was_busy = self.pools[pi].replicas[r].active > 0;
                let rep = &mut self.pools[pi].replicas[r];
                out.extend(rep.seqs.drain().map(|Reverse((_, id))| id));
                rep.active = 0;
                rep.counter = 0.0;
                rep.resume_at = now;
                rep.generation = rep.generation.wrapping_add(1);
                rep.scheduled = None;
                if was_busy {
                    self.set_busy(pi, false, now);
                }
            }
            let p = &mut self.pools[pi];
            p.free_slots = p.slots * p.replicas.len() as u32;
            p.room.set(None);
        }
        out
    }

    /// Replica-seconds a request occupies: its prefill (which pauses the replica's batch) and
    /// its share of the decode steps at full batch.
    pub(crate) fn replica_seconds(&self, pool: usize, prompt: u32, output: u32) -> f64 {
        let p = &self.pools[pool];
        f64::from(prompt) / p.prefill_tokens_per_s
            + f64::from(output) * p.step(p.slots) / f64::from(p.slots)
    }

    /// Books deferred work of `replica_s` replica-seconds into the hour of `start_s`. Returns how
    /// long after `start_s` the job should leave, so that the hour's deferred jobs follow one
    /// another across the pool's replicas instead of all arriving at once.
    pub(crate) fn book_deferred(&mut self, pool: usize, start_s: f64, replica_s: f64) -> f64 {
        let replicas = self.pools[pool].replicas.len() as f64;
        let hour = (start_s / HOUR_S).floor().max(0.0) as usize;
        let d = &mut self.pools[pool].deferred;
        if d.len() <= hour {
            d.resize(hour + 1, 0.0);
        }
        let before = d[hour];
        d[hour] += replica_s;
        if replicas > 0.0 {
            before / replicas
        } else {
            0.0
        }
    }

    /// Training accelerators: hold `n` at hub `h` over a window.
    pub(crate) fn book_training(&mut self, h: HubId, b: Booking) {
        self.bookings[h.index()].push(b);
    }

    /// A training job starts or stops drawing power at hub `h`.
    pub(crate) fn training_power(&mut self, h: HubId, kw: f64, on: bool, now: Nanos) {
        self.touch(h.index(), now);
        let m = &mut self.meters[h.index()];
        if on {
            m.busy_kw += kw;
        } else {
            m.busy_kw = (m.busy_kw - kw).max(0.0);
        }
    }

    /// Closes every meter and slot count at `end`.
    pub(crate) fn close(&mut self, end: Nanos) {
        for h in 0..self.meters.len() {
            self.meters[h].account(end);
        }
        for p in &mut self.pools {
            p.count_slots(end);
        }
    }

    /// Records queue lengths at a step boundary.
    pub(crate) fn sample_queues(&mut self, step: usize) {
        for p in &self.pools {
            let m = &mut self.meters[p.hub.index()];
            if m.steps.len() <= step {
                m.steps.resize(step + 1, StepAccount::default());
            }
            m.steps[step].queue += p.queue.len() as u32;
        }
    }

    fn hour_now(&self) -> usize {
        self.hour
    }

    /// Moves the clock to `t` (and the cached local hour with it, recomputed only when `t`
    /// leaves the hour it was computed for).
    #[inline]
    pub(crate) fn set_now(&mut self, t: Nanos) {
        self.now = t;
        if t < self.hour_span.0 || t >= self.hour_span.1 {
            let at = secs(t);
            self.hour = self.clock.hour(at);
            let to_next = tokengrid_energy::hourly::to_next_hour(self.clock.local_s(at));
            self.hour_span = (t, t.saturating_add(crate::engine::ns(to_next)));
        }
    }
}

impl ClusterView for World {
    fn now_s(&self) -> f64 {
        secs(self.now)
    }

    fn hub_count(&self) -> usize {
        self.up.len()
    }

    #[inline]
    fn hub(&self, h: HubId) -> HubSnapshot {
        let i = h.index();
        let hour = self.hour_now();
        let m = &self.meters[i];
        let facility = m.facility_kw();
        HubSnapshot {
            up: self.up[i],
            pue: self.pue[i],
            tariff_now: self.tariff[i][hour],
            green_surplus_kw: (m.green_mw[hour] * 1000.0 - facility).max(0.0),
            carbon_g_per_kwh_now: self.carbon[i][hour],
            power_headroom_kw: m.grid_cap_kw - facility,
        }
    }

    #[inline]
    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let p = &self.pools[self.pool_index(h, m)?];
        let n = p.replicas.len() as u32;
        let capacity = n * p.slots;
        let in_use = capacity - p.free_slots;
        // The shortest prefill backlog among replicas with room, how many have room, whether
        // one is idle, whether a busy one has room.
        let room = p.room();
        let backlog = room.resume_at.saturating_sub(self.now);
        // Waiting: a free slot still waits for the prefills queued ahead on its replica (a
        // join pauses the batch for its prefill) and for those still on the network; with no
        // free slot, the queue ahead drains at the pool's completion rate.
        let wait = if capacity == 0 {
            0.0
        } else if p.free_slots > 0 {
            secs(if room.resume_at == Nanos::MAX {
                0
            } else {
                backlog
            }) + p.inflight_prefill_s / f64::from(room.replicas.max(1))
        } else {
            (p.queue.len() as f64 + 1.0) * p.mean_service_s / f64::from(capacity)
        };
        let batch = (in_use + 1).min(p.slots);
        Some(ModelSnapshot {
            replicas: n,
            free_slots: p.free_slots,
            queue_len: p.queue.len() as u32,
            max_queue: p.max_queue,
            expected_wait_s: wait,
            utilization: if capacity > 0 {
                f64::from(in_use) / f64::from(capacity)
            } else {
                1.0
            },
            prefill_tokens_per_s: p.prefill_tokens_per_s,
            // Decoding pauses while joins prefill: a token takes longer by that share.
            decode_s_per_token: p.step(batch / n.max(1) + 1) / (1.0 - p.prefill_share(self.now)),
            joules_per_prompt_token: p.joules_per_prompt_token,
            joules_per_output_token: p.joules_per_output_token,
            marginal_kw: if room.idle && !room.busy {
                p.marginal_kw
            } else {
                0.0
            },
        })
    }

    #[inline]
    fn rtt_ms(&self, from: Origin, h: HubId) -> f64 {
        tokengrid_sched::facts::rtt_from(&self.topo, self.hub_sites[h.index()], from, h)
    }

    #[inline]
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let i = h.index();
        // Whole local hours since the start day's midnight (truncation is the floor here: local
        // time is never negative); one division, no libm call.
        let local = self.clock.local_s(at_s).max(0.0);
        let hours = (local / HOUR_S) as u64;
        let hour = (hours % 24) as usize;
        let facility = self.meters[i].facility_kw();
        Forecast {
            tariff: self.tariff[i][hour],
            green_surplus_kw: (self.meters[i].green_mw[hour] * 1000.0 - facility).max(0.0),
            carbon_g_per_kwh: self.carbon[i][hour],
            until_s: at_s + ((hours + 1) as f64 * HOUR_S - local),
        }
    }

    fn free_slots_at(&self, h: HubId, m: ModelId, from_s: f64, to_s: f64) -> u32 {
        let Some(pi) = self.pool_index(h, m) else {
            return 0;
        };
        let p = &self.pools[pi];
        // Deferred work may book up to this share of each hour's replica time; the rest is
        // left for interactive traffic.
        const DEFERRED_SHARE: f64 = 0.7;
        let capacity = p.replicas.len() as f64 * HOUR_S * DEFERRED_SHARE;
        let first = (from_s / HOUR_S).floor().max(0.0) as usize;
        let last = (to_s / HOUR_S).floor().max(0.0) as usize;
        let booked = (first..=last)
            .map(|hour| p.deferred.get(hour).copied().unwrap_or(0.0))
            .fold(0.0, f64::max);
        if capacity <= 0.0 {
            return 0;
        }
        // The free share of the pool, in slots.
        ((1.0 - booked / capacity).max(0.0) * f64::from(p.slots) * p.replicas.len() as f64) as u32
    }

    fn free_accelerators(
        &self,
        h: HubId,
        acc: Option<AcceleratorId>,
        from_s: f64,
        to_s: f64,
    ) -> u32 {
        let i = h.index();
        if !self.up[i] {
            return 0;
        }
        let capacity: u32 = self.training_capacity[i]
            .iter()
            .filter(|(a, _)| acc.is_none_or(|want| want == *a))
            .map(|(_, n)| *n)
            .sum();
        // Peak booked over the window: check at every booking start inside it.
        let relevant: Vec<&Booking> = self.bookings[i]
            .iter()
            .filter(|b| b.start < to_s && b.end > from_s)
            .filter(|b| acc.is_none_or(|want| b.accelerator.is_none_or(|x| x == want)))
            .collect();
        let peak = std::iter::once(from_s)
            .chain(relevant.iter().map(|b| b.start.max(from_s)))
            .map(|t| {
                relevant
                    .iter()
                    .filter(|b| b.start <= t && t < b.end)
                    .map(|b| b.accelerators)
                    .sum::<u32>()
            })
            .max()
            .unwrap_or(0);
        capacity.saturating_sub(peak)
    }

    fn link(&self, a: HubId, b: HubId) -> LinkSnapshot {
        tokengrid_sched::facts::link_snapshot(&self.topo, a, b)
    }

    fn can_reserve(&self, a: HubId, b: HubId, gbps: f64, from_s: f64, to_s: f64) -> bool {
        let mut trial = self.book.clone();
        trial
            .reserve(
                &self.topo,
                &tokengrid_net::reserve::Request {
                    from: Site::Hub(a),
                    to: Site::Hub(b),
                    gbps,
                    start_s: from_s,
                    end_s: to_s,
                },
            )
            .is_ok()
    }
}

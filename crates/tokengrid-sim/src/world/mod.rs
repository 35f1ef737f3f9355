//! The simulated hubs: pools of replicas per (hub, model), their queues, continuous batching,
//! training reservations, and energy accounting per hub per time step. The world is the
//! simulator's [`ClusterView`]: the policy decides on exactly the state that is simulated.

use tokengrid_core::{AcceleratorId, Batching, HubId, ModelId, Scenario};
use tokengrid_energy::hourly::{Clock, HOUR_S};
use tokengrid_energy::{Draw, HubSupply};
use tokengrid_net::Topology;
use tokengrid_net::reserve::ReservationBook;
use tokengrid_sched::view::HubSnapshot;

use crate::engine::{Nanos, secs};

/// Length of one accounting time step, s.
pub const STEP_S: f64 = 900.0;

mod meter;
mod pool;
mod view;

pub use meter::StepAccount;
pub(crate) use meter::{Booking, HubMeter};
use pool::{ReplicaFigures, ServingPool, finish_key};

/// Everything simulated about the hubs.
#[derive(Debug, Clone)]
pub struct World {
    now: Nanos,
    /// Local hour of day at `now`.
    hour: usize,
    /// Simulated times `[from, until)` over which `hour` holds.
    hour_span: (Nanos, Nanos),
    clock: Clock,
    /// Forecast hours by time ([`view::HourMemo`]).
    hours: view::HourMemo,
    pools: Vec<ServingPool>,
    /// ServingPool index by (hub, model): `pool_of[hub * models + model]`.
    pool_of: Vec<Option<u32>>,
    n_models: usize,
    up: Vec<bool>,
    meters: Vec<HubMeter>,
    topo: Topology,
    /// Round trip of each explicit link without faults, ms (the scenario's links come first
    /// in the topology, so link `i` of the scenario is link `i` of the site graph).
    base_rtt: Vec<f64>,
    book: ReservationBook,
    bookings: Vec<Vec<Booking>>,
    training_capacity: Vec<Vec<(AcceleratorId, u32)>>,
    tariff: Vec<[f64; 24]>,
    carbon: Vec<[f64; 24]>,
    pue: Vec<f64>,
    hub_sites: Vec<(f64, f64)>,
    /// Each hub as the policy sees it now ([`World::hub_snapshot`]), kept up to date where its
    /// inputs change (its state, its power, the hour) rather than computed for every hub on
    /// every decision.
    snaps: Vec<HubSnapshot>,
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
                let (r, full, ctx) = tokengrid_sched::facts::replica_figures(s, m);
                let (slots, fig) = match h.batching {
                    Batching::Continuous => (full.batch, full),
                    Batching::None => (1, r.figures(1, ctx)),
                };
                let step_s: Vec<f64> = (0..=slots)
                    .map(|b| r.decode_step_s(b.max(1), ctx))
                    .collect();
                let n = s.replicas_at(hub, m);
                pool_of[hi * n_models + m.index()] = Some(pools.len() as u32);
                let figures = ReplicaFigures {
                    prefill_tokens_per_s: fig.prefill_tokens_per_s,
                    joules_per_prompt_token: fig.joules_per_prompt_token,
                    joules_per_output_token: fig.joules_per_output_token,
                    marginal_kw: fig.marginal_kw,
                };
                pools.push(ServingPool::new(
                    hub,
                    n,
                    slots,
                    step_s,
                    figures,
                    h.max_queue,
                ));
            }
        }
        let meters = s
            .hubs
            .iter()
            .map(|h| {
                let replicas = h.replicas.iter().map(|(_, n)| *n).sum();
                HubMeter {
                    supply: HubSupply::new(s, h),
                    idle_kw: tokengrid_sched::facts::hub_idle_kw(s, h),
                    busy_kw: 0.0,
                    busy_replicas: 0.0,
                    total_replicas: replicas,
                    last: 0,
                    total: Draw::default(),
                    steps: Vec::new(),
                    green_mw: tokengrid_energy::supply::green_mw(s, h).0,
                    grid_cap_kw: h.grid_cap_mw * 1000.0,
                    span: None,
                }
            })
            .collect();
        let topo = Topology::new(s);
        let book = ReservationBook::new(&topo);
        let mut world = World {
            now: 0,
            hour: clock.hour(0.0),
            hour_span: (0, 0),
            clock,
            hours: view::HourMemo::new(),
            pools,
            pool_of,
            n_models,
            up: vec![true; s.hubs.len()],
            meters,
            book,
            base_rtt: (0..s.links.len()).map(|i| topo.links[i].rtt_ms).collect(),
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
            snaps: Vec::new(),
        };
        world.snaps = (0..s.hubs.len()).map(|i| world.hub_snapshot(i)).collect();
        world
    }

    /// Simulated time now.
    #[inline]
    pub(crate) fn now(&self) -> Nanos {
        self.now
    }

    /// The scenario's clock (local hours of the hubs' profiles).
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The energy meter of every hub, by hub index.
    pub(crate) fn meters(&self) -> &[HubMeter] {
        &self.meters
    }

    /// Whether hub `h` is in service.
    pub(crate) fn is_up(&self, h: HubId) -> bool {
        self.up[h.index()]
    }

    /// A hub fails or recovers (its work is moved off by [`World::evacuate`]).
    pub(crate) fn set_up(&mut self, h: HubId, up: bool) {
        self.up[h.index()] = up;
        self.refresh(h.index());
    }

    /// Hub `i` as the policy sees it now: computed from its state, its meter and the hour.
    fn hub_snapshot(&self, i: usize) -> HubSnapshot {
        let (green_surplus_kw, power_headroom_kw) = self.power_figures(i);
        HubSnapshot {
            up: self.up[i],
            pue: self.pue[i],
            tariff_now: self.tariff[i][self.hour],
            green_surplus_kw,
            carbon_g_per_kwh_now: self.carbon[i][self.hour],
            power_headroom_kw,
        }
    }

    /// Hub `i`'s green surplus and power headroom now, kW: the snapshot's two figures that
    /// depend on its power.
    #[inline]
    fn power_figures(&self, i: usize) -> (f64, f64) {
        let m = &self.meters[i];
        let facility = m.facility_kw();
        (
            (m.green_mw[self.hour] * 1000.0 - facility).max(0.0),
            m.grid_cap_kw - facility,
        )
    }

    /// Hub `i`'s snapshot after a change to its state.
    #[inline]
    fn refresh(&mut self, i: usize) {
        self.snaps[i] = self.hub_snapshot(i);
    }

    /// Hub `i`'s snapshot after a change to its power: only the two figures that depend on it
    /// (a replica turns busy or idle on most requests where batches are small).
    #[inline]
    fn refresh_power(&mut self, i: usize) {
        let (green_surplus_kw, power_headroom_kw) = self.power_figures(i);
        let snap = &mut self.snaps[i];
        snap.green_surplus_kw = green_surplus_kw;
        snap.power_headroom_kw = power_headroom_kw;
    }

    /// Every hub's snapshot (the hour changed).
    #[inline(never)]
    fn refresh_all(&mut self) {
        for i in 0..self.snaps.len() {
            self.refresh(i);
        }
    }

    /// A request with `prompt` tokens was sent to `pool` and is on the network: its prefill is
    /// counted in the pool's expected wait until it arrives.
    pub(crate) fn send_prefill(&mut self, pool: usize, prompt: u32) {
        let p = &mut self.pools[pool];
        p.inflight_prefill_s += f64::from(prompt) / p.prefill_tokens_per_s;
    }

    /// A request sent with [`World::send_prefill`] reached its pool.
    pub(crate) fn prefill_arrived(&mut self, pool: usize, prompt: u32) {
        let p = &mut self.pools[pool];
        p.inflight_prefill_s =
            (p.inflight_prefill_s - f64::from(prompt) / p.prefill_tokens_per_s).max(0.0);
    }

    /// Service time of one request at full batch: its prefill and its output's decode steps, s.
    pub(crate) fn service_s(&self, pool: usize, prompt: u32, output: u32) -> f64 {
        let p = &self.pools[pool];
        f64::from(prompt) / p.prefill_tokens_per_s + f64::from(output) * p.step(p.slots)
    }

    /// Puts request `id` in the pool's queue; `false` when the queue is at its bound.
    pub(crate) fn enqueue(&mut self, pool: usize, id: u32) -> bool {
        let p = &mut self.pools[pool];
        if p.max_queue.is_some_and(|q| p.queue.len() as u32 >= q) {
            return false;
        }
        p.queue.push_back(id);
        true
    }

    /// The next waiting request of the pool, when a slot is free for it.
    pub(crate) fn next_waiting(&mut self, pool: usize) -> Option<u32> {
        let p = &mut self.pools[pool];
        if p.free_slots == 0 {
            return None;
        }
        p.queue.pop_front()
    }

    /// Puts back a request [`World::next_waiting`] gave out but that could not start.
    pub(crate) fn keep_waiting(&mut self, pool: usize, id: u32) {
        self.pools[pool].queue.push_front(id);
    }

    /// Whether a replica's completion event of `generation` is still the current one; if so
    /// it is consumed (no event is pending for the replica any more).
    pub(crate) fn replica_event(&mut self, pool: usize, replica: usize, generation: u32) -> bool {
        let rep = &mut self.pools[pool].replicas[replica];
        if rep.generation != generation {
            return false;
        }
        rep.scheduled = None;
        true
    }

    /// Link `link` of the scenario degrades (extra round trip, its loss) or recovers
    /// (`extra_rtt_ms` 0 and the link's own loss). New decisions see the change.
    pub(crate) fn set_link_condition(&mut self, link: usize, extra_rtt_ms: f64, loss: f64) {
        let rtt = self.base_rtt[link] + extra_rtt_ms;
        self.topo.set_link(link, rtt, loss);
    }

    /// Reserves bandwidth on a deterministic path; the reservation's id, or `None` when no
    /// path has room.
    pub(crate) fn reserve_path(&mut self, req: &tokengrid_net::reserve::Request) -> Option<u64> {
        self.book.reserve(&self.topo, req).ok().map(|r| r.id)
    }

    /// Releases a reservation made by [`World::reserve_path`].
    pub(crate) fn release_path(&mut self, id: u64) {
        self.book.release(id);
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
            m.busy_replicas += 1.0;
        } else {
            self.pools[pool].busy_replicas -= 1;
            m.busy_kw = (m.busy_kw - kw).max(0.0);
            m.busy_replicas -= 1.0;
        }
        self.refresh_power(h);
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
        let r = p.picker.pick(p.slots)?;
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
        rep.seqs.push(finish_key(finish), req);
        rep.active += 1;
        p.picker.set(r, rep.active);
        let (full, resume_at) = (rep.active == p.slots, rep.resume_at);
        p.full_replicas += u32::from(full);
        p.latest_resume = p.latest_resume.max(resume_at);
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
        while let Some((key, req)) = rep.seqs.peek() {
            let finish = f64::from_bits(key);
            if finish > rep.counter + 1e-6 {
                break;
            }
            rep.seqs.pop();
            p.full_replicas -= u32::from(rep.active == p.slots);
            rep.active -= 1;
            p.free_slots += 1;
            p.room.set(None);
            done.push(req);
        }
        p.picker.set(r, rep.active);
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
                out.extend(rep.seqs.drain());
                rep.active = 0;
                self.pools[pi].picker.set(r, 0);
                let rep = &mut self.pools[pi].replicas[r];
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
            p.full_replicas = 0;
            p.latest_resume = now;
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
        // The cast truncates toward zero and saturates at 0: the floor, 0 before the start.
        let hour = (start_s / HOUR_S) as usize;
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
        self.refresh_power(h.index());
    }

    /// Fluid mode: a pool's replicas are busy `busy` on average from now on (replacing the
    /// `before` it had), drawing the marginal power of that many busy replicas.
    pub(crate) fn fluid_busy(&mut self, pool: usize, before: f64, busy: f64, now: Nanos) {
        let h = self.pools[pool].hub.index();
        self.touch(h, now);
        let kw = self.pools[pool].marginal_kw;
        let m = &mut self.meters[h];
        m.busy_kw = (m.busy_kw + (busy - before) * kw).max(0.0);
        m.busy_replicas = (m.busy_replicas + busy - before).max(0.0);
        self.refresh_power(h);
    }

    /// Number of serving pools.
    pub(crate) fn pool_count(&self) -> usize {
        self.pools.len()
    }

    /// The serving figures of pool `pool`: (hub, replicas, slots, prefill tokens/s, step at
    /// batch `b`).
    pub(crate) fn pool_hub(&self, pool: usize) -> HubId {
        self.pools[pool].hub
    }

    /// Replicas of a pool.
    pub(crate) fn pool_replicas(&self, pool: usize) -> u32 {
        self.pools[pool].replicas.len() as u32
    }

    /// Sequences per replica of a pool.
    pub(crate) fn pool_slots(&self, pool: usize) -> u32 {
        self.pools[pool].slots
    }

    /// Prefill tokens/s of one replica of a pool.
    pub(crate) fn pool_prefill_tokens_per_s(&self, pool: usize) -> f64 {
        self.pools[pool].prefill_tokens_per_s
    }

    /// Decode step of a pool's replica at batch `b`, s.
    pub(crate) fn pool_step(&self, pool: usize, b: u32) -> f64 {
        self.pools[pool].step(b)
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

    /// Fluid mode: adds `waiting` requests of `pool`'s backlog to its hub's queue sample of
    /// `step`.
    pub(crate) fn add_queue_sample(&mut self, pool: usize, step: usize, waiting: u32) {
        let m = &mut self.meters[self.pools[pool].hub.index()];
        if m.steps.len() <= step {
            m.steps.resize(step + 1, StepAccount::default());
        }
        m.steps[step].queue = m.steps[step].queue.saturating_add(waiting);
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

    /// Moves the clock to `t` (and the cached local hour with it, recomputed only when `t`
    /// leaves the hour it was computed for).
    #[inline]
    pub(crate) fn set_now(&mut self, t: Nanos) {
        self.now = t;
        if t < self.hour_span.0 || t >= self.hour_span.1 {
            let at = secs(t);
            let hour = self.clock.hour(at);
            let to_next = tokengrid_energy::hourly::to_next_hour(self.clock.local_s(at));
            self.hour_span = (t, t.saturating_add(crate::engine::ns(to_next)));
            if hour != self.hour {
                self.hour = hour;
                self.refresh_all();
            }
        }
    }
}

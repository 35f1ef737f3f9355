//! Fluid mode: time-stepped flows instead of individual requests, for national-scale days.
//!
//! Every step (one minute by default) each (region, class) demand is a rate. The same policy code
//! decides where a flow goes, for a representative request of its class. Flows are placed in
//! rounds: every flow is decided against the same view, a pool chosen by more than it can take
//! gives each the same share of its demand, and it takes no more than the policy would still send
//! it (the share at which the policy stops choosing the pool for one of the flows, found by
//! asking the policy with the share booked); the rest of each flow is decided again in the next
//! round. What no pool can take this step waits in the last chosen pool's backlog, served first
//! in later steps. A pool's capacity is its replicas' seconds; a request takes its prefill and a
//! `1 / slots` share of its decode steps at full batch, as in the discrete mode's accounting.
//!
//! Latency, taken once a step's placement is done (at the pool's load over the whole step): a
//! request's time to first token is its round trip, its wait in the backlog, its wait for the
//! prefills ahead of it and its prefill; its end-to-end time adds its output at the decode step
//! of the pool's mean batch, slowed by the share of time spent prefilling. SLO
//! attainment is taken over fixed samples of each class's token distributions. Busy replicas, and
//! so power, follow from the flow through each pool: with `L` sequences in service on `n`
//! replicas (Little's law), `n (1 - e^(-L/n))` replicas are busy. Energy, green supply, cost and
//! carbon are accounted by the same meters as the discrete mode; training jobs, outages and
//! link faults run as events, as there.

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tokengrid_core::{ClassId, ClassKind, RegionId};
use tokengrid_sched::view::*;

use crate::engine::{ns, stream_seed};
use crate::workload::sample_tokens;
use crate::world::World;

use super::{Ev, Sim};

/// Iterations of the batch's fixed point (it moves by less than half a sequence within a few).
const BATCH_ITERATIONS: usize = 16;

/// Placement rounds a step takes at least (flows that find no pool after them wait in a
/// backlog).
const PLACEMENT_ROUNDS: usize = 16;

/// Bisections of the share a pool takes before the policy stops choosing it (1/256 of it).
const ADMISSION_BISECTIONS: usize = 8;

/// Bisections of the policy's wait bound (to 1/1024 of twice the class's tightest SLO).
const WAIT_BOUND_BISECTIONS: usize = 10;

/// Token samples per class that SLO attainment and latency percentiles are taken over.
const SAMPLES: usize = 64;

mod account;
mod place;
mod queueing;
mod view;

use account::Served;
use queueing::erlang_c;

/// A chunk of waiting requests of one (region, class).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    region: RegionId,
    class: ClassId,
    count: f64,
    /// Since when they wait at their hub, s (their arrival, or their release when deferred).
    since_s: f64,
    /// When they arrived, s.
    arrived_s: f64,
}

/// Requests waiting at a pool, oldest first, with their count and replica-seconds kept as
/// running sums (the policy's view reads both for every pool at every decision; summing the
/// chunks each time was 70% of a national day's time).
#[derive(Debug, Clone, Default)]
struct Backlog {
    /// Each chunk with the replica-seconds one of its requests takes.
    chunks: VecDeque<(Chunk, f64)>,
    count: f64,
    work_s: f64,
}

impl Backlog {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Requests waiting.
    fn count(&self) -> f64 {
        self.count
    }

    /// Replica-seconds waiting.
    fn work_s(&self) -> f64 {
        self.work_s
    }

    fn push_back(&mut self, c: Chunk, w: f64) {
        self.count += c.count;
        self.work_s += c.count * w;
        self.chunks.push_back((c, w));
    }

    fn push_front(&mut self, c: Chunk, w: f64) {
        self.count += c.count;
        self.work_s += c.count * w;
        self.chunks.push_front((c, w));
    }

    fn pop_front(&mut self) -> Option<(Chunk, f64)> {
        let (c, w) = self.chunks.pop_front()?;
        if self.chunks.is_empty() {
            // Exactly zero when empty: no rounding left behind.
            self.count = 0.0;
            self.work_s = 0.0;
        } else {
            self.count -= c.count;
            self.work_s -= c.count * w;
        }
        Some((c, w))
    }

    fn drain(&mut self) -> impl Iterator<Item = Chunk> + '_ {
        self.count = 0.0;
        self.work_s = 0.0;
        self.chunks.drain(..).map(|(c, _)| c)
    }
}

/// One pool's fluid state.
#[derive(Debug, Clone, Default)]
struct FluidPool {
    /// Replica-seconds left in the current step.
    left_s: f64,
    /// Replica-seconds used in the current step.
    used_s: f64,
    /// Output tokens of the requests taken this step (their decode, for Little's law).
    out_tokens: f64,
    /// Waiting requests, oldest first.
    backlog: Backlog,
    /// Busy replicas as last metered.
    busy: f64,
    /// Prefill seconds started in the current step.
    prefill_s: f64,
    /// Prefill times of the requests taken this step and last: count, sum S, sum S^2.
    pf: [f64; 3],
    last_pf: [f64; 3],
    /// The mean batch and the prefill wait as last worked out, until the pool's load changes
    /// (a round decides every flow against the same pools: without it, each decision solved
    /// every pool's batch again, a fifth of a national day's time).
    cached: std::cell::Cell<Option<Cached>>,
}

/// A pool's derived figures at its current load.
#[derive(Debug, Clone, Copy)]
struct Cached {
    batch: f64,
    prefill_wait: (f64, f64),
}

impl FluidPool {
    /// Share of replica time spent prefilling this step (so far). Flows are booked, and the
    /// policy asked again, before a round's share is kept, so the policy sees the share the
    /// step's flows give. (Until 2026-12-03 the policy saw the larger of this step's share and
    /// the last step's: a pool filled in one step looked full in the next, was passed over,
    /// and filled again; code pools alternated between prefill shares of 0.78 and 0.87.)
    fn rho(&self, replicas: f64, dt: f64) -> f64 {
        (self.prefill_s / (replicas * dt)).min(0.95)
    }

    /// Mean wait of a prompt for the prefills ahead of it: M/G/c with c replicas (Erlang C
    /// probability of waiting, Allen-Cunneen mean wait of those that wait), as
    /// (probability, mean of those that wait).
    fn prefill_wait(&self, replicas: f64, dt: f64) -> (f64, f64) {
        if let Some(c) = self.cached.get() {
            return c.prefill_wait;
        }
        self.prefill_wait_now(replicas, dt)
    }

    fn prefill_wait_now(&self, replicas: f64, dt: f64) -> (f64, f64) {
        let n = self.pf[0] + self.last_pf[0];
        if n <= 0.0 {
            return (0.0, 0.0);
        }
        let mean = (self.pf[1] + self.last_pf[1]) / n;
        let m2 = (self.pf[2] + self.last_pf[2]) / n;
        if mean <= 0.0 {
            return (0.0, 0.0);
        }
        let cs2 = (m2 - mean * mean).max(0.0) / (mean * mean);
        let rho = self.rho(replicas, dt);
        (
            erlang_c(replicas, rho * replicas),
            mean * (1.0 + cs2) / 2.0 / (replicas * (1.0 - rho)),
        )
    }
}

/// Fluid-mode state of a run.
#[derive(Debug)]
pub(super) struct Fluid {
    step_s: f64,
    pools: Vec<FluidPool>,
    /// (prompt, output) samples by class.
    samples: Vec<Vec<(f64, f64)>>,
    /// Per class: mean prompt, mean output, mean squared prompt of the samples.
    moments: Vec<(f64, f64, f64)>,
    /// Deferred flows: (release s, pool, chunk).
    deferred: Vec<(f64, usize, Chunk)>,
    /// What this step served, accounted at its end.
    served: Vec<Served>,
    /// The policy's wait bounds found this step, by (region, class, pool).
    bounds: std::collections::HashMap<(usize, usize, usize), f64>,
    /// Fractional requests not yet in the latency percentiles, by class and sample.
    carry_samples: Vec<f64>,
    /// Fractional request counts carried into the integer counters, by class.
    carry: Vec<f64>,
    pub(super) steps: u64,
}

impl Fluid {
    pub(super) fn new(s: &tokengrid_core::Scenario, world: &World, seed: u64, step_s: f64) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(stream_seed(seed, u64::MAX - 1));
        let samples: Vec<Vec<(f64, f64)>> = s
            .classes
            .iter()
            .map(|c| {
                let (p, o) = match &c.kind {
                    ClassKind::Inference(i) => (i.prompt_tokens, i.output_tokens),
                    ClassKind::Batch(b) => (b.prompt_tokens, b.output_tokens),
                    ClassKind::Training(_) => return Vec::new(),
                };
                let mut all: Vec<(f64, f64)> = (0..SAMPLES)
                    .map(|_| {
                        (
                            f64::from(sample_tokens(&p, &mut rng)),
                            f64::from(sample_tokens(&o, &mut rng)),
                        )
                    })
                    .collect();
                exact_means(&mut all, p.mean(), o.mean());
                all
            })
            .collect();
        let moments = samples
            .iter()
            .map(|v: &Vec<(f64, f64)>| {
                let n = v.len().max(1) as f64;
                (
                    v.iter().map(|x| x.0).sum::<f64>() / n,
                    v.iter().map(|x| x.1).sum::<f64>() / n,
                    v.iter().map(|x| x.0 * x.0).sum::<f64>() / n,
                )
            })
            .collect();
        Fluid {
            step_s,
            pools: vec![FluidPool::default(); world.pool_count()],
            samples,
            moments,
            deferred: Vec::new(),
            served: Vec::new(),
            bounds: std::collections::HashMap::new(),
            carry_samples: vec![0.0; s.classes.len() * SAMPLES],
            carry: vec![0.0; s.classes.len()],
            steps: 0,
        }
    }

    /// Requests waiting in each pool's backlog, by pool.
    pub(super) fn backlogs(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.pools.iter().enumerate().map(|(i, p)| {
            let n = p.backlog.count();
            (i, n.round().min(f64::from(u32::MAX)) as u32)
        })
    }

    /// Whether work is still waiting anywhere.
    pub(super) fn busy(&self) -> bool {
        !self.deferred.is_empty() || self.pools.iter().any(|p| !p.backlog.is_empty())
    }
}

impl Fluid {
    /// Sequences in service per replica of `pool` over the step (Little's law on the work taken
    /// so far): each request is in service for its prefill and its output at the decode step of
    /// that batch, slowed by the share of time prefilling, so the batch is the fixed point of
    /// `B = (sum prefill + sum output x step(B) / (1 - rho)) / (replicas x dt)`, at most the
    /// slots. The step grows with the batch, so iterating from the step of one sequence climbs
    /// to it.
    fn batch(&self, world: &World, pool: usize) -> f64 {
        let fp = &self.pools[pool];
        if let Some(c) = fp.cached.get() {
            return c.batch;
        }
        let n = f64::from(world.pool_replicas(pool).max(1));
        let batch = self.batch_now(world, pool);
        fp.cached.set(Some(Cached {
            batch,
            prefill_wait: fp.prefill_wait_now(n, self.step_s),
        }));
        batch
    }

    fn batch_now(&self, world: &World, pool: usize) -> f64 {
        let fp = &self.pools[pool];
        let n = f64::from(world.pool_replicas(pool).max(1));
        let per = 1.0 / (n * self.step_s);
        let slots = f64::from(world.pool_slots(pool));
        let slow = 1.0 / (1.0 - fp.rho(n, self.step_s));
        let mut b: f64 = 1.0;
        for _ in 0..BATCH_ITERATIONS {
            let step = world.pool_step(pool, b.ceil() as u32) * slow;
            let next = ((fp.prefill_s + fp.out_tokens * step) * per).min(slots);
            if (next - b).abs() < 0.5 {
                return next;
            }
            b = next;
        }
        b
    }

    /// [`Fluid::batch`] in whole sequences, at least one and at most the slots.
    fn batch_size(&self, world: &World, pool: usize) -> u32 {
        let slots = f64::from(world.pool_slots(pool));
        self.batch(world, pool).ceil().clamp(1.0, slots) as u32
    }

    /// Replica-seconds one request of `class` takes in `pool`.
    fn work_s(&self, world: &World, pool: usize, class: ClassId) -> f64 {
        let (p, o) = self.mean_tokens(class);
        let slots = world.pool_slots(pool);
        p / world.pool_prefill_tokens_per_s(pool)
            + o * world.pool_step(pool, slots) / f64::from(slots)
    }

    fn mean_tokens(&self, class: ClassId) -> (f64, f64) {
        let m = self.moments[class.index()];
        (m.0, m.1)
    }

    /// Books `count` requests of `class` into `pool`'s step (a negative count takes them out).
    fn book(&mut self, world: &World, pool: usize, class: ClassId, count: f64) {
        let w = self.work_s(world, pool, class);
        let (prompt, output, p2) = self.moments[class.index()];
        let rate = world.pool_prefill_tokens_per_s(pool);
        let fp = &mut self.pools[pool];
        fp.cached.set(None);
        fp.left_s -= count * w;
        fp.used_s += count * w;
        fp.out_tokens += count * output;
        fp.prefill_s += count * prompt / rate;
        fp.pf[0] += count;
        fp.pf[1] += count * prompt / rate;
        fp.pf[2] += count * p2 / (rate * rate);
    }

    /// Replica-seconds of a pool's backlog.
    fn backlog_s(&self, pool: usize) -> f64 {
        self.pools[pool].backlog.work_s()
    }
}

/// Scales token samples so their means are the distributions' own, `prompt` and `output`:
/// capacity is booked at the mean, and 64 draws miss it (an exponential's by 12% at one
/// standard error; the default day's chat prompts came out 7% short, and the fluid mode's
/// energy under `nearest` 2.3% low). The samples keep their shape for the latency percentiles.
fn exact_means(samples: &mut [(f64, f64)], prompt: f64, output: f64) {
    let n = samples.len().max(1) as f64;
    let (p, o) = samples
        .iter()
        .fold((0.0, 0.0), |(p, o), x| (p + x.0 / n, o + x.1 / n));
    let (sp, so) = (
        if p > 0.0 { prompt / p } else { 1.0 },
        if o > 0.0 { output / o } else { 1.0 },
    );
    for x in samples {
        x.0 *= sp;
        x.1 *= so;
    }
}

impl Sim<'_> {
    /// One fluid step starting now.
    pub(super) fn fluid_step(&mut self) {
        let Some(mut fl) = self.fluid.take() else {
            return;
        };
        let now = self.world.now_s();
        let dt = fl.step_s;
        fl.steps += 1;
        fl.bounds.clear();
        // Capacity of the step; a hub that is down serves nothing and its backlog is decided
        // again.
        let mut redo = Vec::new();
        for pool in 0..fl.pools.len() {
            let up = self.world.is_up(self.world.pool_hub(pool));
            let fp = &mut fl.pools[pool];
            fp.left_s = if up {
                f64::from(self.world.pool_replicas(pool)) * dt
            } else {
                0.0
            };
            fp.used_s = 0.0;
            fp.out_tokens = 0.0;
            fp.prefill_s = 0.0;
            fp.last_pf = fp.pf;
            fp.pf = [0.0; 3];
            fp.cached.set(None);
            if !up {
                redo.extend(fp.backlog.drain());
            }
        }
        // Deferred flows due now join their pool's backlog.
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut fl.deferred)
            .into_iter()
            .partition(|d| d.0 <= now + 1e-9);
        fl.deferred = later;
        for (release, pool, mut chunk) in due {
            chunk.since_s = release;
            let w = fl.work_s(&self.world, pool, chunk.class);
            fl.pools[pool].backlog.push_back(chunk, w);
        }
        // Backlogs first, oldest first.
        for pool in 0..fl.pools.len() {
            while fl.pools[pool].left_s > 1e-9 {
                let Some((mut c, w)) = fl.pools[pool].backlog.pop_front() else {
                    break;
                };
                let take = (fl.pools[pool].left_s / w).min(c.count);
                // Served through the step: on average half way through the room it takes.
                let start = now
                    + (fl.pools[pool].used_s + take * w / 2.0)
                        / f64::from(self.world.pool_replicas(pool).max(1));
                self.fluid_serve(&mut fl, pool, c, take, start - c.since_s);
                c.count -= take;
                if c.count > 1e-9 {
                    fl.pools[pool].backlog.push_front(c, w);
                    break;
                }
            }
        }
        for c in &redo {
            self.stats.n.redispatched += c.count.round() as u64;
        }
        self.fluid_place(&mut fl, redo, now);
        // New arrivals of the step.
        let mut arrivals = Vec::new();
        if now < self.end_s {
            let span = dt.min(self.end_s - now);
            let hour = self.world.clock().hour(now);
            for (ri, r) in self.s.regions.iter().enumerate() {
                for &(class, share) in &r.mix {
                    if matches!(self.s.class(class).kind, ClassKind::Training(_)) {
                        continue;
                    }
                    let count = r.peak_rps * share * r.diurnal.at(hour) * span;
                    if count <= 0.0 {
                        continue;
                    }
                    let carried = fl.carry[class.index()] + count;
                    let whole = carried.floor();
                    fl.carry[class.index()] = carried - whole;
                    self.stats.n.arrived += whole as u64;
                    self.stats.classes[class.index()].requests += whole as u64;
                    let chunk = Chunk {
                        region: RegionId(ri as u32),
                        class,
                        count,
                        since_s: now + span / 2.0,
                        arrived_s: now + span / 2.0,
                    };
                    arrivals.push(chunk);
                }
            }
        }
        self.fluid_place(&mut fl, arrivals, now);
        self.fluid_account(&mut fl);
        // Power follows the flow through each pool.
        for pool in 0..fl.pools.len() {
            let n = f64::from(self.world.pool_replicas(pool));
            let l = fl.batch(&self.world, pool) * n;
            let busy = if n > 0.0 {
                n * (1.0 - (-l / n).exp())
            } else {
                0.0
            };
            let before = fl.pools[pool].busy;
            self.world.fluid_busy(pool, before, busy, self.world.now());
            fl.pools[pool].busy = busy;
        }
        let more = now + dt < self.end_s || fl.busy();
        self.fluid = Some(fl);
        if more {
            self.engine.after(ns(dt), Ev::Fluid);
        } else {
            // Idle from here on: the replicas stop drawing serving power.
            let now_ns = self.world.now();
            if let Some(fl) = self.fluid.as_mut() {
                for pool in 0..fl.pools.len() {
                    let before = fl.pools[pool].busy;
                    self.world.fluid_busy(pool, before, 0.0, now_ns + ns(dt));
                    fl.pools[pool].busy = 0.0;
                }
            }
        }
    }
}

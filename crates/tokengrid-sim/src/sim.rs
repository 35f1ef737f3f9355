//! The simulation: arrivals, policy decisions, network delay, queues, continuous batching,
//! deferred and training work, faults, and the report.

use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tokengrid_core::{ClassId, ClassKind, HubId, RegionId, Scenario};
use tokengrid_sched::{
    BatchJob, ClusterView, Decision, HubSet, InferenceRequest, Origin, Placement, Policy,
    Scheduler, TrainingJob, Work,
};

use crate::engine::{Engine, Nanos, ns, secs, stream_seed};
use crate::report::*;
use crate::workload::{Arrival, Source, TraceError, TraceRow, read_trace, sources};
use crate::world::{Booking, STEP_S, World};

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Policy name (built in or the scenario's).
    pub policy: String,
    /// Arrivals are admitted for this long, s (default: the scenario's duration).
    pub duration_s: Option<f64>,
    /// Seed (default: the scenario's).
    pub seed: Option<u64>,
    /// Called every million events or so with (simulated seconds, events so far).
    pub progress: Option<Progress>,
}

/// A progress callback: (simulated seconds, events handled).
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(f64, u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Why a run could not start (the user's to fix).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The policy could not be built.
    #[error("{0}")]
    Policy(#[from] tokengrid_sched::PolicyError),
    /// A trace could not be read.
    #[error("{0}")]
    Trace(#[from] TraceError),
    /// A bad option.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    /// The next arrival of a source.
    Arrive { source: u32 },
    /// A request reaches its hub after the network delay.
    ReachHub { req: u32 },
    /// A replica's next sequence may be done.
    Replica {
        pool: u32,
        replica: u32,
        generation: u32,
    },
    /// Deferred batch jobs due by now leave their origin.
    Release,
    /// A training job starts.
    TrainingStart { job: u32 },
    /// A training job ends.
    TrainingEnd { job: u32 },
    /// A hub fails.
    HubDown { hub: u32 },
    /// A hub recovers.
    HubUp { hub: u32 },
    /// A link degradation starts (`on`) or ends.
    LinkFault {
        link: u32,
        degradation: u32,
        on: bool,
    },
    /// An accounting step ends.
    Step { step: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InFlight,
    Waiting,
    Running,
    Done,
    Rejected,
    Failed,
}

#[derive(Debug, Clone, Copy)]
struct Request {
    class: ClassId,
    region: RegionId,
    prompt: u32,
    output: u32,
    arrival: Nanos,
    hub: HubId,
    pool: u32,
    one_way: Nanos,
    at_hub: Nanos,
    started: Nanos,
    first_token: Nanos,
    state: State,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    class: ClassId,
    deadline: Nanos,
    placement: Placement,
    kw_first: f64,
    kw_second: f64,
    state: State,
    reservation: Option<u64>,
}

/// Runs scenario `s` under `opts`.
pub fn run(s: &Scenario, opts: &Options) -> Result<Report, SimError> {
    let policy = Policy::for_scenario(&opts.policy, s)?;
    let duration_s = opts.duration_s.unwrap_or(s.duration.as_secs_f64());
    if !(duration_s.is_finite() && duration_s > 0.0) {
        return Err(SimError::Invalid(format!(
            "duration {duration_s} s must be > 0"
        )));
    }
    let seed = opts.seed.unwrap_or(s.seed);
    let mut traces = Vec::new();
    for (ri, r) in s.regions.iter().enumerate() {
        if let Some(t) = &r.trace {
            traces.push((
                RegionId(ri as u32),
                Arc::new(read_trace(&t.file, t.format)?),
            ));
        }
    }
    let wall = Instant::now();
    let mut sim = Sim::new(s, policy, seed, duration_s, &traces);
    sim.progress = opts.progress.clone();
    sim.base_rtt = (0..s.links.len())
        .map(|i| sim.world.topo.links[i].rtt_ms)
        .collect();
    sim.run();
    Ok(sim.report(wall.elapsed().as_secs_f64(), &opts.policy, seed))
}

struct ClassStats {
    requests: u64,
    met: u64,
    wait_s: f64,
    waited: u64,
    ttft: Histogram<u64>,
    e2e: Histogram<u64>,
}

#[derive(Default)]
struct Counts {
    arrived: u64,
    completed: u64,
    rejected: u64,
    failed: u64,
    redispatched: u64,
    deferred: u64,
    met: u64,
    prompt_tokens: u64,
    output_tokens: u64,
    jobs: u64,
    jobs_placed: u64,
    jobs_split: u64,
    jobs_rejected: u64,
    jobs_failed: u64,
    jobs_done: u64,
    link_faults: u64,
    hub_outages: u64,
}

struct Sim<'a> {
    s: &'a Scenario,
    world: World,
    engine: Engine<Ev>,
    sched: Scheduler,
    sources: Vec<Source>,
    pending: Vec<Option<Arrival>>,
    end_s: f64,
    requests: Vec<Request>,
    /// Slots of `requests` whose request has finished (done, rejected or failed).
    free_ids: Vec<u32>,
    jobs: Vec<Job>,
    residency: Vec<Option<HubSet>>,
    draws: Pcg64Mcg,
    done: Vec<u32>,
    in_flight: u64,
    classes: Vec<ClassStats>,
    ttft: Histogram<u64>,
    e2e: Histogram<u64>,
    n: Counts,
    hub_requests: Vec<u64>,
    hub_tokens: Vec<u64>,
    hub_wait_s: Vec<f64>,
    hub_waited: Vec<u64>,
    flows: Vec<u64>,
    last_event: Nanos,
    /// Deferred batch jobs by release time: kept out of the event queue, which holds one
    /// Release event for the earliest.
    deferred: std::collections::BinaryHeap<std::cmp::Reverse<(Nanos, u32)>>,
    next_release: Option<Nanos>,
    /// Round trip of each explicit link without faults, ms.
    base_rtt: Vec<f64>,
    progress: Option<Progress>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds, 3 significant digits; auto-resizing, so any value fits.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid"));
    h.auto(true);
    h
}

impl<'a> Sim<'a> {
    fn new(
        s: &'a Scenario,
        policy: Policy,
        seed: u64,
        end_s: f64,
        traces: &[(RegionId, Arc<Vec<TraceRow>>)],
    ) -> Self {
        let world = World::new(s);
        let mut sources = sources(s, seed, traces);
        let mut engine = Engine::new();
        let mut pending = Vec::with_capacity(sources.len());
        for (i, src) in sources.iter_mut().enumerate() {
            let first = src.next(&world.clock, end_s, s);
            if let Some(a) = first {
                engine.schedule(a.at, Ev::Arrive { source: i as u32 });
            }
            pending.push(first);
        }
        for (hi, h) in s.hubs.iter().enumerate() {
            for o in &h.outages {
                engine.schedule(ns(o.at.as_secs_f64()), Ev::HubDown { hub: hi as u32 });
                engine.schedule(
                    ns((o.at + o.length).as_secs_f64()),
                    Ev::HubUp { hub: hi as u32 },
                );
            }
        }
        for (li, l) in s.links.iter().enumerate() {
            for (di, d) in l.degradations.iter().enumerate() {
                let (link, degradation) = (li as u32, di as u32);
                engine.schedule(
                    ns(d.at.as_secs_f64()),
                    Ev::LinkFault {
                        link,
                        degradation,
                        on: true,
                    },
                );
                engine.schedule(
                    ns((d.at + d.length).as_secs_f64()),
                    Ev::LinkFault {
                        link,
                        degradation,
                        on: false,
                    },
                );
            }
        }
        engine.schedule(ns(STEP_S), Ev::Step { step: 0 });
        Sim {
            s,
            world,
            engine,
            sched: Scheduler::new(policy),
            sources,
            pending,
            end_s,
            requests: Vec::new(),
            free_ids: Vec::new(),
            jobs: Vec::new(),
            residency: s
                .regions
                .iter()
                .map(|r| r.residency.as_ref().map(|hs| HubSet::of(hs)))
                .collect(),
            draws: Pcg64Mcg::seed_from_u64(stream_seed(seed, u64::MAX)),
            done: Vec::new(),
            in_flight: 0,
            classes: s
                .classes
                .iter()
                .map(|_| ClassStats {
                    requests: 0,
                    met: 0,
                    wait_s: 0.0,
                    waited: 0,
                    ttft: histogram(),
                    e2e: histogram(),
                })
                .collect(),
            ttft: histogram(),
            e2e: histogram(),
            n: Counts::default(),
            hub_requests: vec![0; s.hubs.len()],
            hub_tokens: vec![0; s.hubs.len()],
            hub_wait_s: vec![0.0; s.hubs.len()],
            hub_waited: vec![0; s.hubs.len()],
            flows: vec![0; s.hubs.len() * s.regions.len()],
            last_event: 0,
            deferred: std::collections::BinaryHeap::new(),
            next_release: None,
            base_rtt: Vec::new(),
            progress: None,
        }
    }

    fn run(&mut self) {
        while let Some((t, ev)) = self.engine.pop() {
            self.world.set_now(t);
            if self.engine.events() & 0xF_FFFF == 0
                && let Some(p) = &self.progress
            {
                (p.0)(secs(t), self.engine.events());
            }
            match ev {
                Ev::Arrive { source } => self.arrive(source as usize),
                Ev::ReachHub { req } => self.reach_hub(req),
                Ev::Replica {
                    pool,
                    replica,
                    generation,
                } => self.replica(pool as usize, replica as usize, generation),
                Ev::Release => self.release(),
                Ev::TrainingStart { job } => self.training_start(job as usize),
                Ev::TrainingEnd { job } => self.training_end(job as usize),
                Ev::HubDown { hub } => self.hub_down(HubId(hub)),
                Ev::HubUp { hub } => self.world.up[hub as usize] = true,
                Ev::LinkFault {
                    link,
                    degradation,
                    on,
                } => self.link_fault(link as usize, degradation as usize, on),
                Ev::Step { step } => {
                    self.world.sample_queues(step as usize);
                    // Keep stepping while anything can still happen.
                    if secs(t) < self.end_s || self.in_flight > 0 || self.engine.pending() > 0 {
                        self.engine.after(ns(STEP_S), Ev::Step { step: step + 1 });
                    }
                    continue;
                }
            }
            self.last_event = t;
        }
        let end = self.last_event.max(ns(self.end_s));
        self.world.close(end);
        self.last_event = end;
    }

    fn arrive(&mut self, source: usize) {
        let Some(a) = self.pending[source].take() else {
            return;
        };
        let next = self.sources[source].next(&self.world.clock, self.end_s, self.s);
        if let Some(n) = next {
            self.engine.schedule(
                n.at,
                Ev::Arrive {
                    source: source as u32,
                },
            );
        }
        self.pending[source] = next;
        match &self.s.class(a.class).kind {
            ClassKind::Training(_) => self.training_arrival(a),
            _ => {
                let Some(region) = a.region else { return };
                let req = Request {
                    class: a.class,
                    region,
                    prompt: a.prompt,
                    output: a.output,
                    arrival: a.at,
                    hub: HubId(0),
                    pool: 0,
                    one_way: 0,
                    at_hub: 0,
                    started: 0,
                    first_token: 0,
                    state: State::InFlight,
                };
                // Slots of finished requests are reused: memory follows the requests in the
                // system, not every request of the run.
                let id = match self.free_ids.pop() {
                    Some(id) => {
                        self.requests[id as usize] = req;
                        id
                    }
                    None => {
                        self.requests.push(req);
                        (self.requests.len() - 1) as u32
                    }
                };
                self.n.arrived += 1;
                self.classes[a.class.index()].requests += 1;
                self.in_flight += 1;
                self.dispatch(id, false);
            }
        }
    }

    /// Asks the policy where request `id` goes and sends it there.
    fn dispatch(&mut self, id: u32, again: bool) {
        let r = self.requests[id as usize];
        let class = self.s.class(r.class);
        let residency = self.residency[r.region.index()].as_ref();
        let work = match &class.kind {
            ClassKind::Inference(i) => Work::Inference(InferenceRequest {
                model: i.model,
                class: Some(r.class),
                origin: Origin::Region(r.region),
                prompt_tokens: r.prompt,
                // A dispatcher knows the prompt, not how long the answer will be: it plans with
                // the class's mean output.
                output_tokens: i.output_tokens.mean().round().max(1.0) as u32,
                ttft_slo_ms: i
                    .ttft_slo_ms
                    .map(|slo| slo - secs(self.world.now - r.arrival) * 1e3),
                e2e_slo_ms: i
                    .e2e_slo_ms
                    .map(|slo| slo - secs(self.world.now - r.arrival) * 1e3),
                residency,
                draw: self.draws.random::<f64>(),
            }),
            ClassKind::Batch(b) => Work::Batch(BatchJob {
                model: b.model,
                origin: Origin::Region(r.region),
                prompt_tokens: r.prompt,
                output_tokens: r.output,
                deadline_s: secs(r.arrival) + b.deadline.as_secs_f64(),
                residency,
            }),
            ClassKind::Training(_) => return,
        };
        let model = class.model().unwrap_or(tokengrid_core::ModelId(0));
        match self.sched.decide(&self.world, &work) {
            Decision::Place(p) => {
                let Some(pool) = self.world.pool_index(p.hub, model) else {
                    self.finish_unserved(id, again);
                    return;
                };
                if again {
                    self.n.redispatched += 1;
                }
                let rtt = self.world.rtt_ms(Origin::Region(r.region), p.hub);
                let req = &mut self.requests[id as usize];
                req.hub = p.hub;
                req.pool = pool as u32;
                req.one_way = ns(rtt / 2.0 / 1e3);
                req.state = State::InFlight;
                let start = ns(p.start_s).max(self.world.now);
                if start > self.world.now + ns(1.0) {
                    // Deferred batch work: book its slot time and leave at its start, staggered
                    // behind the work already booked into that hour (never past its deadline).
                    self.n.deferred += 1;
                    let pl = &self.world.pools[pool];
                    let service = f64::from(r.prompt) / pl.prefill_tokens_per_s
                        + f64::from(r.output) * pl.step(pl.slots);
                    let replica_s = self.world.replica_seconds(pool, r.prompt, r.output);
                    let stagger = self.world.book_deferred(pool, p.start_s, replica_s);
                    let deadline_room = match &class.kind {
                        ClassKind::Batch(b) => {
                            secs(r.arrival) + b.deadline.as_secs_f64()
                                - service
                                - rtt / 1e3
                                - p.start_s
                        }
                        _ => 0.0,
                    };
                    let delay = stagger.min(deadline_room.max(0.0));
                    self.defer(start + ns(delay), id);
                } else {
                    let one_way = req.one_way;
                    self.world.pools[pool].inflight_prefill_s +=
                        f64::from(r.prompt) / self.world.pools[pool].prefill_tokens_per_s;
                    self.engine.after(one_way, Ev::ReachHub { req: id });
                }
            }
            Decision::Reject(_) => self.finish_unserved(id, again),
        }
    }

    fn finish_unserved(&mut self, id: u32, again: bool) {
        let req = &mut self.requests[id as usize];
        if again {
            req.state = State::Failed;
            self.n.failed += 1;
        } else {
            req.state = State::Rejected;
            self.n.rejected += 1;
        }
        self.in_flight -= 1;
        self.free_ids.push(id);
    }

    fn defer(&mut self, at: Nanos, id: u32) {
        self.deferred.push(std::cmp::Reverse((at, id)));
        if self.next_release.is_none_or(|t| at < t) {
            self.next_release = Some(at);
            self.engine.schedule(at, Ev::Release);
        }
    }

    fn release(&mut self) {
        let now = self.world.now;
        if self.next_release != Some(now) {
            return; // superseded by an earlier Release
        }
        self.next_release = None;
        while let Some(&std::cmp::Reverse((at, id))) = self.deferred.peek() {
            if at > now {
                self.next_release = Some(at);
                self.engine.schedule(at, Ev::Release);
                break;
            }
            self.deferred.pop();
            let r = self.requests[id as usize];
            let pool = &mut self.world.pools[r.pool as usize];
            pool.inflight_prefill_s += f64::from(r.prompt) / pool.prefill_tokens_per_s;
            self.engine.after(r.one_way, Ev::ReachHub { req: id });
        }
    }

    fn reach_hub(&mut self, id: u32) {
        let r = self.requests[id as usize];
        if r.state != State::InFlight {
            return;
        }
        let pool = &mut self.world.pools[r.pool as usize];
        pool.inflight_prefill_s =
            (pool.inflight_prefill_s - f64::from(r.prompt) / pool.prefill_tokens_per_s).max(0.0);
        let now = self.world.now;
        if !self.world.up[r.hub.index()] {
            // The hub failed while the request was on its way: choose again.
            self.dispatch(id, true);
            return;
        }
        self.requests[id as usize].at_hub = now;
        let pool = r.pool as usize;
        if self.try_start(id, pool) {
            return;
        }
        let p = &self.world.pools[pool];
        if p.max_queue.is_some_and(|q| p.queue.len() as u32 >= q) {
            self.finish_unserved(id, false);
            return;
        }
        self.world.pools[pool].queue.push_back(id);
        self.requests[id as usize].state = State::Waiting;
    }

    /// Starts `id` on a replica of `pool` if one has room.
    fn try_start(&mut self, id: u32, pool: usize) -> bool {
        let now = self.world.now;
        let r = self.requests[id as usize];
        let Some((replica, first)) = self.world.join(pool, id, r.prompt, r.output, now) else {
            return false;
        };
        let req = &mut self.requests[id as usize];
        req.state = State::Running;
        req.started = now;
        req.first_token = first;
        self.schedule_replica(pool, replica);
        true
    }

    fn schedule_replica(&mut self, pool: usize, replica: usize) {
        if let Some((t, generation)) = self.world.reschedule(pool, replica, self.world.now) {
            self.engine.schedule(
                t,
                Ev::Replica {
                    pool: pool as u32,
                    replica: replica as u32,
                    generation,
                },
            );
        }
    }

    fn replica(&mut self, pool: usize, replica: usize, generation: u32) {
        if self.world.pools[pool].replicas[replica].generation != generation {
            return;
        }
        self.world.pools[pool].replicas[replica].scheduled = None;
        let now = self.world.now;
        let mut done = std::mem::take(&mut self.done);
        done.clear();
        self.world.finish_due(pool, replica, now, &mut done);
        for &id in &done {
            self.complete(id, pool);
        }
        self.done = done;
        // Admit waiting requests while the pool has room.
        while self.world.pools[pool].free_slots > 0 {
            let Some(next) = self.world.pools[pool].queue.pop_front() else {
                break;
            };
            if !self.try_start(next, pool) {
                self.world.pools[pool].queue.push_front(next);
                break;
            }
        }
        self.schedule_replica(pool, replica);
    }

    fn complete(&mut self, id: u32, pool: usize) {
        let now = self.world.now;
        let r = self.requests[id as usize];
        self.requests[id as usize].state = State::Done;
        self.in_flight -= 1;
        self.free_ids.push(id);
        self.n.completed += 1;
        self.n.prompt_tokens += u64::from(r.prompt);
        self.n.output_tokens += u64::from(r.output);
        let h = r.hub.index();
        self.hub_requests[h] += 1;
        self.flows[r.region.index() * self.s.hubs.len() + h] += 1;
        self.hub_tokens[h] += u64::from(r.prompt) + u64::from(r.output);
        let wait = secs(r.started - r.at_hub);
        self.hub_wait_s[h] += wait;
        self.hub_waited[h] += 1;
        self.world.observe_service(pool, secs(now - r.started));
        // Nanoseconds to the nearest microsecond, in integers.
        let ttft_us = (r.first_token + r.one_way - r.arrival + 500) / 1000;
        let e2e_us = (now + r.one_way - r.arrival + 500) / 1000;
        let c = &mut self.classes[r.class.index()];
        c.wait_s += wait;
        c.waited += 1;
        let _ = c.ttft.record(ttft_us.max(1));
        let _ = c.e2e.record(e2e_us.max(1));
        let kind = &self.s.class(r.class).kind;
        let met = match kind {
            ClassKind::Inference(i) => {
                i.ttft_slo_ms.is_none_or(|slo| ttft_us as f64 <= slo * 1e3)
                    && i.e2e_slo_ms.is_none_or(|slo| e2e_us as f64 <= slo * 1e3)
            }
            ClassKind::Batch(b) => e2e_us as f64 <= b.deadline.as_secs_f64() * 1e6,
            ClassKind::Training(_) => true,
        };
        if met {
            self.n.met += 1;
            c.met += 1;
        }
    }

    fn hub_down(&mut self, hub: HubId) {
        let now = self.world.now;
        self.n.hub_outages += 1;
        self.world.up[hub.index()] = false;
        let evacuated = self.world.evacuate(hub, now);
        for id in evacuated {
            // Work in flight on a failed hub is dispatched again (from its origin) or fails.
            self.requests[id as usize].state = State::InFlight;
            self.dispatch(id, true);
        }
        // Training running there fails.
        for j in 0..self.jobs.len() {
            let job = self.jobs[j];
            let here =
                job.placement.hub == hub || job.placement.split.is_some_and(|sp| sp.hub == hub);
            if here && job.state == State::Running {
                self.stop_training(j, State::Failed);
                self.n.jobs_failed += 1;
            }
        }
    }

    /// A link fault starts or ends: the scenario's explicit links come first in the topology, so
    /// link `i` of the scenario is link `i` of the site graph. New decisions and requests see the
    /// changed round trip; work already placed keeps its plan.
    fn link_fault(&mut self, link: usize, degradation: usize, on: bool) {
        let Some(l) = self.s.links.get(link) else {
            return;
        };
        let Some(d) = l.degradations.get(degradation) else {
            return;
        };
        let base = self.base_rtt[link];
        let (rtt, loss) = if on {
            (base + d.extra_rtt_ms, d.loss)
        } else {
            (base, l.loss)
        };
        self.world.topo.set_link(link, rtt, loss);
        if on {
            self.n.link_faults += 1;
        }
    }

    fn training_arrival(&mut self, a: Arrival) {
        let ClassKind::Training(t) = &self.s.class(a.class).kind else {
            return;
        };
        self.n.jobs += 1;
        self.classes[a.class.index()].requests += 1;
        let acc_w = t
            .accelerator
            .map(|acc| self.s.accelerator(acc).tdp_w)
            .or_else(|| self.s.accelerators.first().map(|x| x.tdp_w))
            .unwrap_or(700.0);
        let work = Work::Training(TrainingJob {
            accelerators: t.accelerators,
            accelerator: t.accelerator,
            compute_hours: t.compute_hours,
            gradient_gb_per_step: t.gradient_gb_per_step,
            step_compute_s: t.step_compute_s,
            deadline_s: secs(a.at) + t.deadline.as_secs_f64(),
            splittable: t.splittable,
            accelerator_w: acc_w,
        });
        let Decision::Place(p) = self.sched.decide(&self.world, &work) else {
            self.n.jobs_rejected += 1;
            return;
        };
        let mut reservation = None;
        let (first, second) = match p.split {
            Some(sp) => {
                if sp.reserve_gbps > 0.0 {
                    let req = tokengrid_net::reserve::Request {
                        from: tokengrid_core::Site::Hub(p.hub),
                        to: tokengrid_core::Site::Hub(sp.hub),
                        gbps: sp.reserve_gbps,
                        start_s: p.start_s,
                        end_s: p.end_s,
                    };
                    match self.world.book.reserve(&self.world.topo, &req) {
                        Ok(r) => reservation = Some(r.id),
                        Err(_) => {
                            self.n.jobs_rejected += 1;
                            return;
                        }
                    }
                }
                self.n.jobs_split += 1;
                (sp.first_accelerators, sp.second_accelerators)
            }
            None => (t.accelerators, 0),
        };
        let book = |n: u32| Booking {
            start: p.start_s,
            end: p.end_s,
            accelerators: n,
            accelerator: t.accelerator,
        };
        self.world.book_training(p.hub, book(first));
        if let Some(sp) = p.split {
            self.world.book_training(sp.hub, book(second));
        }
        self.n.jobs_placed += 1;
        let kw = |n: u32| f64::from(n) * acc_w / 1000.0;
        let idle_w = t
            .accelerator
            .map_or(0.0, |acc| self.s.accelerator(acc).idle_w);
        let busy = |n: u32| kw(n) - f64::from(n) * idle_w / 1000.0;
        let id = self.jobs.len();
        self.jobs.push(Job {
            class: a.class,
            deadline: a.at + ns(t.deadline.as_secs_f64()),
            placement: p,
            kw_first: busy(first),
            kw_second: busy(second),
            state: State::Waiting,
            reservation,
        });
        self.engine
            .schedule(ns(p.start_s), Ev::TrainingStart { job: id as u32 });
    }

    fn training_start(&mut self, j: usize) {
        let job = self.jobs[j];
        if job.state != State::Waiting {
            return;
        }
        let now = self.world.now;
        let hubs_up = self.world.up[job.placement.hub.index()]
            && job
                .placement
                .split
                .is_none_or(|sp| self.world.up[sp.hub.index()]);
        if !hubs_up {
            self.jobs[j].state = State::Failed;
            self.n.jobs_failed += 1;
            return;
        }
        self.world
            .training_power(job.placement.hub, job.kw_first, true, now);
        if let Some(sp) = job.placement.split {
            self.world.training_power(sp.hub, job.kw_second, true, now);
        }
        self.jobs[j].state = State::Running;
        self.engine
            .schedule(ns(job.placement.end_s), Ev::TrainingEnd { job: j as u32 });
    }

    fn training_end(&mut self, j: usize) {
        if self.jobs[j].state == State::Running {
            self.stop_training(j, State::Done);
            self.n.jobs_done += 1;
            let job = self.jobs[j];
            if self.world.now <= job.deadline {
                self.classes[job.class.index()].met += 1;
            }
        }
    }

    fn stop_training(&mut self, j: usize, state: State) {
        let now = self.world.now;
        let job = self.jobs[j];
        self.world
            .training_power(job.placement.hub, job.kw_first, false, now);
        if let Some(sp) = job.placement.split {
            self.world.training_power(sp.hub, job.kw_second, false, now);
        }
        if let Some(r) = job.reservation {
            self.world.book.release(r);
        }
        self.jobs[j].state = state;
    }

    fn report(&mut self, wall_s: f64, policy: &str, seed: u64) -> Report {
        // The run's latency percentiles are over interactive requests (a deferred batch job's
        // "latency" is mostly its chosen wait): the inference classes' histograms merged.
        for (c, stats) in self.s.classes.iter().zip(&self.classes) {
            if matches!(c.kind, ClassKind::Inference(_)) {
                let _ = self.ttft.add(&stats.ttft);
                let _ = self.e2e.add(&stats.e2e);
            }
        }
        build_report(ReportInput {
            s: self.s,
            policy,
            seed,
            world: &self.world,
            end: self.last_event,
            arrived: self.n.arrived,
            completed: self.n.completed,
            rejected: self.n.rejected,
            failed: self.n.failed,
            redispatched: self.n.redispatched,
            deferred: self.n.deferred,
            met: self.n.met,
            prompt_tokens: self.n.prompt_tokens,
            output_tokens: self.n.output_tokens,
            ttft: &self.ttft,
            e2e: &self.e2e,
            classes: self
                .classes
                .iter()
                .map(|c| ClassInput {
                    requests: c.requests,
                    met: c.met,
                    mean_wait_s: if c.waited > 0 {
                        c.wait_s / c.waited as f64
                    } else {
                        0.0
                    },
                    ttft: &c.ttft,
                    e2e: &c.e2e,
                })
                .collect(),
            hub_requests: &self.hub_requests,
            hub_tokens: &self.hub_tokens,
            hub_wait_s: &self.hub_wait_s,
            hub_waited: &self.hub_waited,
            flows: &self.flows,
            faults: FaultsReport {
                hub_outages: self.n.hub_outages,
                link_degradations: self.n.link_faults,
            },
            jobs: JobsReport {
                arrived: self.n.jobs,
                placed: self.n.jobs_placed,
                split: self.n.jobs_split,
                rejected: self.n.jobs_rejected,
                failed: self.n.jobs_failed,
                completed: self.n.jobs_done,
            },
            events: self.engine.events(),
            wall_s,
        })
    }
}

//! The simulation: arrivals, policy decisions, network delay, queues, continuous batching,
//! deferred and training work, faults, and the report.

use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tokengrid_core::{ClassId, HubId, RegionId, Scenario};
use tokengrid_sched::{HubSet, Policy, Scheduler};

use crate::engine::{Engine, Nanos, ns, secs, stream_seed};
use crate::report::{Report, RunInfo, build_report};
use crate::stats::Stats;
use crate::workload::{Arrival, Source, TraceError, TraceRow, read_trace, sources};
use crate::world::{STEP_S, World};

mod deferred;
mod faults;
mod fluid;
mod inference;
mod training;
mod window;

pub use window::SharedWindow;

use training::Job;

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
    /// Fluid mode with this step, s (time-stepped flows instead of requests); `None`: discrete.
    pub fluid_step_s: Option<f64>,
    /// Account until at least this time, s (idle power over the tail): a common window for
    /// runs to be compared over. A run that drains later is accounted to its own end.
    pub horizon_s: Option<f64>,
    /// Close the books at the latest end of every run sharing this window (compare).
    pub window: Option<std::sync::Arc<SharedWindow>>,
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
    /// A fluid step begins.
    Fluid,
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

/// Runs scenario `s` under `opts`.
pub fn run(s: &Scenario, opts: &Options) -> Result<Report, SimError> {
    // Taken first: if this run fails before its end, the dropped ticket frees the others.
    let ticket = opts.window.as_ref().map(|w| w.ticket());
    let policy = Policy::for_scenario(&opts.policy, s)?;
    let duration_s = opts.duration_s.unwrap_or(s.duration.as_secs_f64());
    if !(duration_s.is_finite() && duration_s > 0.0) {
        return Err(SimError::Invalid(format!(
            "duration {duration_s} s must be > 0"
        )));
    }
    let seed = opts.seed.unwrap_or(s.seed);
    if let Some(step) = opts.fluid_step_s {
        if !(step.is_finite() && step > 0.0 && step <= 3600.0) {
            return Err(SimError::Invalid(format!(
                "fluid step {step} s must be within 0 < step <= 1 h"
            )));
        }
        if let Some(r) = s.regions.iter().find(|r| r.trace.is_some()) {
            return Err(SimError::Invalid(format!(
                "region \"{}\" replays a trace; fluid mode works on rates, so run it in discrete mode (--mode discrete)",
                r.name
            )));
        }
    }
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
    let mut sim = Sim::new(s, policy, seed, duration_s, &traces, opts.fluid_step_s);
    sim.progress = opts.progress.clone();
    if let Some(h) = opts.horizon_s {
        if !(h.is_finite() && h > 0.0) {
            return Err(SimError::Invalid(format!("horizon {h} s must be > 0")));
        }
        // Rounded, not ceiled as event times are: a window read back from a report
        // (`simulated_s`) must give the same nanosecond it came from.
        sim.horizon = (h * 1e9).round() as u64;
    }
    sim.ticket = ticket;
    sim.run();
    Ok(sim.report(wall.elapsed().as_secs_f64(), &opts.policy, seed))
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
    /// Output tokens a dispatcher plans with, per class: the class's mean (worked out once,
    /// not per decision).
    planned_output: Vec<u32>,
    draws: Pcg64Mcg,
    done: Vec<u32>,
    in_flight: u64,
    stats: Stats,
    last_event: Nanos,
    /// Deferred batch jobs by release time: kept out of the event queue, which holds one
    /// Release event for the earliest.
    deferred: std::collections::BinaryHeap<std::cmp::Reverse<(Nanos, u32)>>,
    next_release: Option<Nanos>,
    progress: Option<Progress>,
    fluid: Option<fluid::Fluid>,
    /// Books close no earlier than this (ns).
    horizon: Nanos,
    /// The comparison this run is part of, if any.
    ticket: Option<window::Ticket>,
}

impl<'a> Sim<'a> {
    fn new(
        s: &'a Scenario,
        policy: Policy,
        seed: u64,
        end_s: f64,
        traces: &[(RegionId, Arc<Vec<TraceRow>>)],
        fluid_step_s: Option<f64>,
    ) -> Self {
        let world = World::new(s);
        let mut sources = sources(s, seed, traces);
        if fluid_step_s.is_some() {
            // Requests come as flows; training jobs stay events.
            sources.retain(|src| matches!(src, crate::workload::Source::Training { .. }));
        }
        let mut engine = Engine::new();
        let mut pending = Vec::with_capacity(sources.len());
        for (i, src) in sources.iter_mut().enumerate() {
            let first = src.next(world.clock(), end_s, s);
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
        let fluid = fluid_step_s.map(|step| fluid::Fluid::new(s, &world, seed, step));
        if fluid.is_some() {
            engine.schedule(0, Ev::Fluid);
        }
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
            planned_output: s
                .classes
                .iter()
                .map(|c| match &c.kind {
                    tokengrid_core::ClassKind::Inference(i) => {
                        i.output_tokens.mean().round().max(1.0) as u32
                    }
                    _ => 0,
                })
                .collect(),
            draws: Pcg64Mcg::seed_from_u64(stream_seed(seed, u64::MAX)),
            done: Vec::new(),
            in_flight: 0,
            stats: Stats::new(s),
            last_event: 0,
            deferred: std::collections::BinaryHeap::new(),
            next_release: None,
            progress: None,
            fluid,
            horizon: 0,
            ticket: None,
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
                Ev::HubUp { hub } => self.world.set_up(HubId(hub), true),
                Ev::LinkFault {
                    link,
                    degradation,
                    on,
                } => self.link_fault(link as usize, degradation as usize, on),
                Ev::Fluid => self.fluid_step(),
                Ev::Step { step } => {
                    self.world.sample_queues(step as usize);
                    if let Some(fl) = &self.fluid {
                        for (pool, waiting) in fl.backlogs() {
                            self.world.add_queue_sample(pool, step as usize, waiting);
                        }
                    }
                    // Keep stepping while anything can still happen.
                    if secs(t) < self.end_s || self.in_flight > 0 || self.engine.pending() > 0 {
                        self.engine.after(ns(STEP_S), Ev::Step { step: step + 1 });
                    }
                    continue;
                }
            }
            self.last_event = t;
        }
        let mut end = self.last_event.max(ns(self.end_s)).max(self.horizon);
        if let Some(t) = self.ticket.take() {
            end = t.agree(end);
        }
        self.world.close(end);
        self.last_event = end;
    }

    fn report(&mut self, wall_s: f64, policy: &str, seed: u64) -> Report {
        self.stats.finish_fluid();
        self.stats.merge_interactive(self.s);
        let run = RunInfo {
            policy,
            seed,
            end: self.last_event,
            arrivals_s: self.end_s,
            events: self.engine.events(),
            wall_s,
            fluid_steps: self.fluid.as_ref().map(|f| f.steps),
        };
        build_report(self.s, &self.world, &self.stats, run)
    }
}

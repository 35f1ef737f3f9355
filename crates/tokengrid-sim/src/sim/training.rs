//! Training jobs: placement (whole or split across two hubs with a network reservation),
//! accelerator bookings, power while they run, and failure when a hub goes down.

use tokengrid_core::{ClassId, ClassKind};
use tokengrid_sched::{Decision, Placement, Reason, TrainingJob, Work};

use crate::engine::{Nanos, ns, secs};
use crate::workload::Arrival;
use crate::world::Booking;

use super::{Ev, Sim, State};

/// A training job of the run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub(super) class: ClassId,
    pub(super) deadline: Nanos,
    pub(super) placement: Placement,
    pub(super) kw_first: f64,
    pub(super) kw_second: f64,
    pub(super) state: State,
    pub(super) reservation: Option<u64>,
}

impl Sim<'_> {
    pub(super) fn training_arrival(&mut self, a: Arrival) {
        let ClassKind::Training(t) = &self.s.class(a.class).kind else {
            return;
        };
        self.stats.n.jobs += 1;
        self.stats.classes[a.class.index()].requests += 1;
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
        let p = match self.sched.decide(&self.world, &work) {
            Decision::Place(p) => p,
            Decision::Reject(rs) => {
                let why = Reason::of_rejection(&rs).map_or("no_hub", Reason::code);
                self.stats.n.jobs_rejected += 1;
                *self.stats.n.jobs_rejected_by.entry(why).or_default() += 1;
                return;
            }
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
                    match self.world.reserve_path(&req) {
                        Some(id) => reservation = Some(id),
                        None => {
                            self.stats.n.jobs_rejected += 1;
                            *self
                                .stats
                                .n
                                .jobs_rejected_by
                                .entry(Reason::NoNetworkReservation.code())
                                .or_default() += 1;
                            return;
                        }
                    }
                }
                self.stats.n.jobs_split += 1;
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
        self.stats.n.jobs_placed += 1;
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

    pub(super) fn training_start(&mut self, j: usize) {
        let job = self.jobs[j];
        if job.state != State::Waiting {
            return;
        }
        let now = self.world.now();
        let hubs_up = self.world.is_up(job.placement.hub)
            && job
                .placement
                .split
                .is_none_or(|sp| self.world.is_up(sp.hub));
        if !hubs_up {
            self.jobs[j].state = State::Failed;
            self.stats.n.jobs_failed += 1;
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

    pub(super) fn training_end(&mut self, j: usize) {
        if self.jobs[j].state == State::Running {
            self.stop_training(j, State::Done);
            self.stats.n.jobs_done += 1;
            let job = self.jobs[j];
            if self.world.now() <= job.deadline {
                self.stats.classes[job.class.index()].met += 1;
            }
        }
    }

    pub(super) fn stop_training(&mut self, j: usize, state: State) {
        let now = self.world.now();
        let job = self.jobs[j];
        self.world
            .training_power(job.placement.hub, job.kw_first, false, now);
        if let Some(sp) = job.placement.split {
            self.world.training_power(sp.hub, job.kw_second, false, now);
        }
        if let Some(r) = job.reservation {
            self.world.release_path(r);
        }
        self.jobs[j].state = state;
    }
}

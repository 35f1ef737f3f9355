//! Inference and batch requests: arrival, the policy's decision, the network, the hub's queue,
//! a replica's continuous batch, completion.

use rand::Rng;
use tokengrid_core::{ClassKind, HubId};
use tokengrid_sched::{BatchJob, ClusterView, Decision, InferenceRequest, Origin, Reason, Work};

use crate::engine::{ns, secs};
use crate::stats::Completion;

use super::{Ev, Request, Sim, State};

impl Sim<'_> {
    pub(super) fn arrive(&mut self, source: usize) {
        let Some(a) = self.pending[source].take() else {
            return;
        };
        let next = self.sources[source].next(self.world.clock(), self.end_s, self.s);
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
                self.stats.n.arrived += 1;
                self.stats.classes[a.class.index()].requests += 1;
                self.in_flight += 1;
                self.dispatch(id, false);
            }
        }
    }

    /// Asks the policy where request `id` goes and sends it there.
    pub(super) fn dispatch(&mut self, id: u32, again: bool) {
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
                output_tokens: self.planned_output[r.class.index()],
                ttft_slo_ms: i
                    .ttft_slo_ms
                    .map(|slo| slo - secs(self.world.now() - r.arrival) * 1e3),
                e2e_slo_ms: i
                    .e2e_slo_ms
                    .map(|slo| slo - secs(self.world.now() - r.arrival) * 1e3),
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
                    let why = Reason::ModelNotServed.code();
                    self.finish_unserved(id, Some(p.hub.index()), again, why);
                    return;
                };
                if again {
                    self.stats.n.redispatched += 1;
                }
                let rtt = self.world.rtt_ms(Origin::Region(r.region), p.hub);
                let req = &mut self.requests[id as usize];
                req.hub = p.hub;
                req.pool = pool as u32;
                req.one_way = ns(rtt / 2.0 / 1e3);
                req.state = State::InFlight;
                let start = ns(p.start_s).max(self.world.now());
                if start > self.world.now() + ns(1.0) {
                    // Deferred batch work: book its slot time and leave at its start, staggered
                    // behind the work already booked into that hour (never past its deadline).
                    self.stats.n.deferred += 1;
                    let service = self.world.service_s(pool, r.prompt, r.output);
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
                    self.world.send_prefill(pool, r.prompt);
                    self.engine.after(one_way, Ev::ReachHub { req: id });
                }
            }
            Decision::Reject(rs) => {
                let closest = Reason::closest(&rs);
                let why = closest.map_or("no_hub", |(_, r)| r.code());
                self.finish_unserved(id, closest.map(|(h, _)| h.index()), again, why);
            }
        }
    }

    /// `why`: the reason code (a [`Reason`]'s, or "no_hub" when there was none to ask), at
    /// `hub`, the one that came closest to serving the request.
    pub(super) fn finish_unserved(
        &mut self,
        id: u32,
        hub: Option<usize>,
        again: bool,
        why: &'static str,
    ) {
        let req = &mut self.requests[id as usize];
        req.state = if again {
            State::Failed
        } else {
            State::Rejected
        };
        let class = req.class.index();
        self.stats.unserved(class, hub, again, why, 1);
        self.in_flight -= 1;
        self.free_ids.push(id);
    }

    pub(super) fn reach_hub(&mut self, id: u32) {
        let r = self.requests[id as usize];
        if r.state != State::InFlight {
            return;
        }
        self.world.prefill_arrived(r.pool as usize, r.prompt);
        let now = self.world.now();
        if !self.world.is_up(r.hub) {
            // The hub failed while the request was on its way: choose again.
            self.dispatch(id, true);
            return;
        }
        self.requests[id as usize].at_hub = now;
        let pool = r.pool as usize;
        if self.try_start(id, pool) {
            return;
        }
        if self.world.enqueue(pool, id) {
            self.requests[id as usize].state = State::Waiting;
        } else {
            self.finish_unserved(id, Some(r.hub.index()), false, Reason::QueueFull.code());
        }
    }

    /// Starts `id` on a replica of `pool` if one has room.
    pub(super) fn try_start(&mut self, id: u32, pool: usize) -> bool {
        let now = self.world.now();
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

    pub(super) fn schedule_replica(&mut self, pool: usize, replica: usize) {
        if let Some((t, generation)) = self.world.reschedule(pool, replica, self.world.now()) {
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

    pub(super) fn replica(&mut self, pool: usize, replica: usize, generation: u32) {
        if !self.world.replica_event(pool, replica, generation) {
            return;
        }
        let now = self.world.now();
        let mut done = std::mem::take(&mut self.done);
        done.clear();
        self.world.finish_due(pool, replica, now, &mut done);
        for &id in &done {
            self.complete(id, pool);
        }
        self.done = done;
        // Admit waiting requests while the pool has room.
        while let Some(next) = self.world.next_waiting(pool) {
            if !self.try_start(next, pool) {
                self.world.keep_waiting(pool, next);
                break;
            }
        }
        self.schedule_replica(pool, replica);
    }

    pub(super) fn complete(&mut self, id: u32, pool: usize) {
        let now = self.world.now();
        let r = self.requests[id as usize];
        self.requests[id as usize].state = State::Done;
        self.in_flight -= 1;
        self.free_ids.push(id);
        let wait_s = secs(r.started - r.at_hub);
        self.world.observe_service(pool, secs(now - r.started));
        // Nanoseconds to the nearest microsecond, in integers.
        let ttft_us = (r.first_token + r.one_way - r.arrival + 500) / 1000;
        let e2e_us = (now + r.one_way - r.arrival + 500) / 1000;
        let met = match &self.s.class(r.class).kind {
            ClassKind::Inference(i) => {
                i.ttft_slo_ms.is_none_or(|slo| ttft_us as f64 <= slo * 1e3)
                    && i.e2e_slo_ms.is_none_or(|slo| e2e_us as f64 <= slo * 1e3)
            }
            ClassKind::Batch(b) => e2e_us as f64 <= b.deadline.as_secs_f64() * 1e6,
            ClassKind::Training(_) => true,
        };
        let done = Completion {
            class: r.class.index(),
            region: r.region.index(),
            hub: r.hub.index(),
            prompt: r.prompt,
            output: r.output,
            wait_s,
            ttft_us,
            e2e_us,
            hour: (now / 3_600_000_000_000) as u32,
        };
        self.stats.complete(done, met);
    }
}

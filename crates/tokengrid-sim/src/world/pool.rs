//! One model's serving at one hub: its replicas' continuous batches, its queue and the load
//! figures the policy reads.

use std::cell::Cell;
use std::collections::VecDeque;

use tokengrid_core::HubId;

use crate::engine::{Nanos, secs};
use crate::quad::QuadHeap;

/// A sequence's finish (decode steps, never negative) as a heap key: the bits of a
/// non-negative float order as the float does, and compare as one integer.
#[inline]
pub(super) fn finish_key(finish: f64) -> u64 {
    debug_assert!(finish >= 0.0);
    finish.to_bits()
}

/// One replica: a continuous batch whose sequences all advance one token per decode step.
///
/// `counter` counts decode steps done; a sequence that joins at counter `c` with `n` output
/// tokens finishes when the counter reaches `c + n`. The step time depends only on the batch
/// size, which changes only when a sequence joins or leaves, so completions are computed, not
/// stepped. A join pauses decoding while its prompt is prefilled (until `resume_at`).
#[derive(Debug, Clone, Default)]
pub(crate) struct BatchReplica {
    pub(crate) active: u32,
    pub(super) counter: f64,
    pub(super) last: Nanos,
    pub(crate) resume_at: Nanos,
    /// Running sequences: (finish key, request), earliest finish first.
    pub(super) seqs: Seqs,
    pub(crate) generation: u32,
    /// When the pending completion event fires (`None` when there is none).
    pub(crate) scheduled: Option<Nanos>,
}

/// A replica's running sequences, earliest `(finish key, request)` first: the pair packed in
/// one integer in a four-ary heap ([`QuadHeap`]; a full deepseek-v3 replica runs 2,816
/// sequences). The order is the pair's, so which sequence finishes first is the same as with
/// any heap.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seqs {
    heap: QuadHeap<u128>,
}

impl Seqs {
    fn pack(key: u64, req: u32) -> u128 {
        (u128::from(key) << 32) | u128::from(req)
    }

    fn unpack(x: u128) -> (u64, u32) {
        ((x >> 32) as u64, x as u32)
    }

    /// Adds request `req` finishing at `key`.
    pub(super) fn push(&mut self, key: u64, req: u32) {
        self.heap.push(Self::pack(key, req));
    }

    /// The earliest.
    pub(super) fn peek(&self) -> Option<(u64, u32)> {
        self.heap.peek().map(|&x| Self::unpack(x))
    }

    /// Removes the earliest.
    pub(super) fn pop(&mut self) -> Option<(u64, u32)> {
        self.heap.pop().map(Self::unpack)
    }

    /// Removes every sequence, giving their requests earliest finish first.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = u32> + '_ {
        self.heap.drain_sorted().map(|x| Self::unpack(x).1)
    }
}

/// The replica a new sequence joins: the least busy one with room, the lowest index on a tie.
///
/// A segment tree over `(active sequences, index)` keys: a change costs O(log replicas) and
/// the choice O(1), where a scan would visit every replica on every join (64 of them in a
/// 64-server hub without batching).
#[derive(Debug, Clone)]
pub(super) struct Picker {
    /// Leaves start here (a power of two).
    size: usize,
    /// `tree[1]` is the minimum key; leaf `size + r` is replica `r`'s key.
    tree: Vec<u64>,
}

impl Picker {
    fn key(active: u32, r: usize) -> u64 {
        (u64::from(active) << 32) | r as u64
    }

    /// `n` idle replicas.
    pub(super) fn new(n: usize) -> Self {
        let size = n.max(1).next_power_of_two();
        let mut tree = vec![u64::MAX; 2 * size];
        for r in 0..n {
            tree[size + r] = Self::key(0, r);
        }
        for i in (1..size).rev() {
            tree[i] = tree[2 * i].min(tree[2 * i + 1]);
        }
        Picker { size, tree }
    }

    /// Replica `r` now runs `active` sequences.
    pub(super) fn set(&mut self, r: usize, active: u32) {
        let mut i = self.size + r;
        self.tree[i] = Self::key(active, r);
        while i > 1 {
            i /= 2;
            self.tree[i] = self.tree[2 * i].min(self.tree[2 * i + 1]);
        }
    }

    /// The least busy replica if it has fewer than `slots` sequences.
    pub(super) fn pick(&self, slots: u32) -> Option<usize> {
        let k = self.tree[1];
        ((k >> 32) < u64::from(slots)).then_some((k & 0xFFFF_FFFF) as usize)
    }
}

/// One model's serving at one hub.
#[derive(Debug, Clone)]
pub(crate) struct ServingPool {
    pub(crate) hub: HubId,
    pub(crate) replicas: Vec<BatchReplica>,
    /// Which replica a joining sequence goes to.
    pub(super) picker: Picker,
    pub(crate) queue: VecDeque<u32>,
    /// Sequences per replica.
    pub(crate) slots: u32,
    pub(crate) prefill_tokens_per_s: f64,
    /// Decode step time by batch size (index 0 unused).
    pub(super) step_s: Vec<f64>,
    pub(crate) joules_per_prompt_token: f64,
    pub(crate) joules_per_output_token: f64,
    /// IT kW a replica adds when busy (over idle).
    pub(crate) marginal_kw: f64,
    pub(crate) max_queue: Option<u32>,
    pub(crate) free_slots: u32,
    pub(crate) busy_replicas: u32,
    /// Replicas whose batch is full.
    pub(super) full_replicas: u32,
    /// The latest end of any replica's queued prefills (no earlier than any one's).
    pub(super) latest_resume: Nanos,
    /// Prefill seconds of requests dispatched here but still on the network.
    pub(crate) inflight_prefill_s: f64,
    /// Exponentially decayed prefill seconds started (time constant `PREFILL_TAU_S`), and when
    /// it was last decayed: the share of replica time spent prefilling lately.
    pub(super) prefill_load: f64,
    pub(super) prefill_load_at: Nanos,
    /// Slot-seconds in use, and when last counted (for utilization).
    pub(crate) slot_s: f64,
    pub(super) slot_at: Nanos,
    /// Expected service time of a request, s (running mean of observed ones).
    pub(crate) mean_service_s: f64,
    pub(super) served: u64,
    /// Seconds of deferred work booked per absolute hour since the start.
    pub(super) deferred: Vec<f64>,
    /// 1 / (`PREFILL_TAU_S` x replicas): turns prefill load into a share of replica time.
    pub(super) share_per_load_s: f64,
    /// The replicas summed up for decisions; `None` after any replica's batch changed.
    pub(super) room: Cell<Option<Room>>,
}

/// Load-independent serving figures of one replica, from the energy model.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReplicaFigures {
    /// Prefill tokens/s.
    pub(super) prefill_tokens_per_s: f64,
    /// IT J per prompt token.
    pub(super) joules_per_prompt_token: f64,
    /// IT J per output token at full batch.
    pub(super) joules_per_output_token: f64,
    /// IT kW a replica adds when busy (over idle).
    pub(super) marginal_kw: f64,
}

/// Where a pool's replicas have room, summed up once per change of their batches rather than on
/// every decision.
#[derive(Debug, Clone, Copy)]
pub(super) struct Room {
    /// Earliest end of the queued prefills among replicas with room (`Nanos::MAX` when none).
    pub(super) resume_at: Nanos,
    /// Replicas with room.
    pub(super) replicas: u32,
    /// Whether one of them is idle.
    pub(super) idle: bool,
    /// Whether one of them is busy.
    pub(super) busy: bool,
}

/// Time constant of the recent prefill share, s.
pub(super) const PREFILL_TAU_S: f64 = 10.0;

impl ServingPool {
    /// `n` idle replicas of a model at `hub`, each serving up to `slots` sequences, whose decode
    /// step at batch `b` takes `step_s[b]`.
    pub(super) fn new(
        hub: HubId,
        n: u32,
        slots: u32,
        step_s: Vec<f64>,
        figures: ReplicaFigures,
        max_queue: Option<u32>,
    ) -> Self {
        ServingPool {
            hub,
            replicas: vec![BatchReplica::default(); n as usize],
            picker: Picker::new(n as usize),
            queue: VecDeque::new(),
            slots,
            prefill_tokens_per_s: figures.prefill_tokens_per_s,
            joules_per_prompt_token: figures.joules_per_prompt_token,
            joules_per_output_token: figures.joules_per_output_token,
            marginal_kw: figures.marginal_kw,
            max_queue,
            free_slots: n * slots,
            busy_replicas: 0,
            full_replicas: 0,
            latest_resume: 0,
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
        }
    }

    /// Counts slot-seconds in use up to `now` (call before the number of free slots changes).
    pub(super) fn count_slots(&mut self, now: Nanos) {
        if now > self.slot_at {
            let used = self.slots * self.replicas.len() as u32 - self.free_slots;
            self.slot_s += f64::from(used) * secs(now - self.slot_at);
            self.slot_at = now;
        }
    }

    /// Adds `prefill_s` of prefill started at `now` to the recent prefill load.
    pub(super) fn note_prefill(&mut self, prefill_s: f64, now: Nanos) {
        let dt = secs(now.saturating_sub(self.prefill_load_at));
        self.prefill_load = self.prefill_load * (-dt / PREFILL_TAU_S).exp() + prefill_s;
        self.prefill_load_at = now;
    }

    /// Share of replica time spent prefilling lately (0..1). Between joins the load decays;
    /// a linear bound of the exponential (1 - dt/tau <= e^(-dt/tau)... floored at 0) keeps this
    /// cheap on the decision path and never leaves an idle pool looking busy.
    pub(super) fn prefill_share(&self, now: Nanos) -> f64 {
        if self.prefill_load == 0.0 {
            return 0.0;
        }
        // Multiplications by constants only: this runs for every hub on every decision.
        let dt = secs(now.saturating_sub(self.prefill_load_at));
        let load = self.prefill_load * (1.0 - dt * (1.0 / PREFILL_TAU_S)).max(0.0);
        (load * self.share_per_load_s).min(0.95)
    }

    /// Where the replicas have room at `now` (cached until a batch changes). The counts come
    /// from counters kept as batches change; only when some replica's prefills run past `now`
    /// are the replicas scanned for the earliest end among those with room. Otherwise every
    /// such end is at or before `now`, and `resume_at` is given as `now` (all a decision reads
    /// of it is how far it lies ahead of `now`: nothing).
    pub(super) fn room(&self, now: Nanos) -> Room {
        if let Some(r) = self.room.get() {
            return r;
        }
        let n = self.replicas.len() as u32;
        let with_room = n - self.full_replicas;
        let idle = n - self.busy_replicas;
        let resume_at = if with_room == 0 {
            Nanos::MAX
        } else if self.latest_resume <= now {
            now
        } else {
            self.replicas
                .iter()
                .filter(|r| r.active < self.slots)
                .map(|r| r.resume_at)
                .min()
                .unwrap_or(Nanos::MAX)
        };
        let room = Room {
            resume_at,
            replicas: with_room,
            idle: idle > 0,
            busy: with_room > idle,
        };
        self.room.set(Some(room));
        room
    }

    #[inline]
    pub(crate) fn step(&self, batch: u32) -> f64 {
        let b = (batch as usize).clamp(1, self.step_s.len() - 1);
        self.step_s[b]
    }

    /// Brings a replica's counter to `now`.
    pub(super) fn advance(&mut self, r: usize, now: Nanos) {
        let step = self.step(self.replicas[r].active);
        let rep = &mut self.replicas[r];
        let from = rep.last.max(rep.resume_at);
        if rep.active > 0 && now > from {
            rep.counter += secs(now - from) / step;
        }
        rep.last = now;
    }

    /// When the replica's next sequence finishes.
    pub(super) fn next_completion(&self, r: usize, now: Nanos) -> Option<Nanos> {
        let rep = &self.replicas[r];
        let (key, _) = rep.seqs.peek()?;
        let finish = f64::from_bits(key);
        let start = now.max(rep.resume_at);
        let steps = (finish - rep.counter).max(0.0);
        Some(start + crate::engine::ns(steps * self.step(rep.active)))
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    use super::Picker;

    /// The picker chooses what a scan of every replica would: the fewest active sequences
    /// among those with room, the lowest index on a tie; none when all are full.
    #[test]
    fn picker_chooses_as_a_scan_would() {
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        for (n, slots) in [(1, 1), (3, 1), (5, 4), (64, 1), (13, 7)] {
            let mut active = vec![0u32; n];
            let mut picker = Picker::new(n);
            for _ in 0..5_000 {
                let scan = (0..n)
                    .filter(|&r| active[r] < slots)
                    .min_by_key(|&r| (active[r], r));
                assert_eq!(picker.pick(slots), scan, "{n} replicas of {slots} slots");
                // Join on the chosen replica, or leave a random busy one.
                let changed = if rng.random_bool(0.6) {
                    let Some(j) = scan else { continue };
                    active[j] += 1;
                    j
                } else {
                    let r = rng.random_range(0..n);
                    if active[r] == 0 {
                        continue;
                    }
                    active[r] -= 1;
                    r
                };
                picker.set(changed, active[changed]);
            }
        }
    }
}

//! The world as the policy sees it: the simulator's [`ClusterView`].

use tokengrid_core::{AcceleratorId, HubId, ModelId, Site};
use tokengrid_energy::hourly::HOUR_S;
use tokengrid_sched::view::*;

use crate::engine::{Nanos, secs};

use super::World;
use super::meter::Booking;

impl ClusterView for World {
    fn now_s(&self) -> f64 {
        secs(self.now)
    }

    fn hub_count(&self) -> usize {
        self.up.len()
    }

    #[inline(always)]
    fn hub(&self, h: HubId) -> HubSnapshot {
        self.snaps[h.index()]
    }

    #[inline(always)]
    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let p = &self.pools[self.pool_index(h, m)?];
        let n = p.replicas.len() as u32;
        let capacity = n * p.slots;
        let in_use = capacity - p.free_slots;
        // The shortest prefill backlog among replicas with room, how many have room, whether
        // one is idle, whether a busy one has room.
        let room = p.room(self.now);
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

    #[inline(always)]
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        let i = h.index();
        let (hour, until_s) = self.hours.of(&self.clock, at_s);
        let facility = self.meters[i].facility_kw();
        Forecast {
            tariff: self.tariff[i][hour],
            green_surplus_kw: (self.meters[i].green_mw[hour] * 1000.0 - facility).max(0.0),
            carbon_g_per_kwh: self.carbon[i][hour],
            until_s,
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
        // Whole hours, 0 before the start (a float-to-integer cast truncates toward zero and
        // saturates below at 0: the floor for any time, negative ones floored at 0).
        let first = (from_s / HOUR_S) as usize;
        let last = (to_s / HOUR_S) as usize;
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

/// The local hour at a time and the time that hour ends, remembered for the last few times
/// asked. A decision on deferrable work asks every hub's forecast at the same times (now, then
/// each hour boundary up to the deadline), and the answer depends on the time alone, so the
/// division and remainder are done once per time rather than once per hub (2.5% off the
/// built-in day's run time). The answers are the ones computed without the memo, bit for bit:
/// each slot holds the exact time it was computed for.
#[derive(Debug, Clone)]
pub(crate) struct HourMemo {
    /// (time's bits, hour of day, end of that hour), by a hash of the time's bits.
    slots: [std::cell::Cell<(u64, usize, f64)>; HourMemo::SLOTS],
}

impl HourMemo {
    /// A decision asks about nine times; with 16 slots two of them often shared one and
    /// pushed each other out for every hub (1,334 M instructions in the first 1,200 s of the
    /// built-in day; 1,320 M with 64 slots, 1,318 M with 256).
    const SLOTS: usize = 64;

    pub(crate) fn new() -> Self {
        // A time whose bits are all ones is a NaN, which `of` never stores nor looks up: the
        // slots start empty.
        HourMemo {
            slots: std::array::from_fn(|_| std::cell::Cell::new((u64::MAX, 0, 0.0))),
        }
    }

    /// The slot of a time's bits: Fibonacci hashing (the top bits of the product depend on
    /// every bit of the time).
    #[inline]
    fn slot(bits: u64) -> usize {
        (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize
    }

    /// The local hour of day at `at_s` and when it ends, s.
    #[inline(always)]
    pub(crate) fn of(&self, clock: &tokengrid_energy::hourly::Clock, at_s: f64) -> (usize, f64) {
        let bits = at_s.to_bits();
        let slot = &self.slots[Self::slot(bits)];
        let (key, hour, until_s) = slot.get();
        if key == bits && bits != u64::MAX {
            return (hour, until_s);
        }
        // Whole local hours since the start day's midnight (truncation is the floor here: local
        // time is never negative); one division, no libm call.
        let local = clock.local_s(at_s).max(0.0);
        let hours = (local / HOUR_S) as u64;
        let hour = (hours % 24) as usize;
        let until_s = at_s + ((hours + 1) as f64 * HOUR_S - local);
        if !at_s.is_nan() {
            slot.set((bits, hour, until_s));
        }
        (hour, until_s)
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    use super::HourMemo;
    use crate::engine::{Nanos, ns};
    use crate::world::World;
    use tokengrid_core::HubId;

    /// Asked the same times again and again, in any order and with times that share a slot,
    /// the memo gives what the hour arithmetic gives for each time on its own: the local hour
    /// (the scenario day starts at local midnight plus its start second) and the next whole
    /// local hour.
    #[test]
    fn the_hour_memo_answers_as_the_arithmetic_does() {
        let s = tokengrid_core::load("china-east-west").expect("built-in scenario");
        let clock = tokengrid_energy::hourly::Clock::of(&s);
        let start = clock.local_s(0.0);
        let memo = HourMemo::new();
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        // Five hundred times, asked 20 times over in random order: far more than the memo's
        // slots, so entries are replaced all along.
        let mut times: Vec<f64> = (0..200)
            .map(|i| {
                if i % 3 == 0 {
                    f64::from(i) * 3600.0
                } else {
                    rng.random_range(0.0..3.0 * 86_400.0)
                }
            })
            .collect();
        // Each local hour boundary and a time a hair before it that shares its slot: their bits
        // differ only at the end, and their hours differ.
        for k in 1..100 {
            let boundary = f64::from(k) * 3600.0 - start % 3600.0;
            let slot = HourMemo::slot(boundary.to_bits());
            let before = (1..)
                .map(|j| boundary - f64::from(j) * 1e-7)
                .find(|t| HourMemo::slot(t.to_bits()) == slot)
                .expect("some time before the boundary shares its slot");
            times.extend([boundary, before]);
        }
        for _ in 0..20 {
            for _ in 0..times.len() {
                let t = times[rng.random_range(0..times.len())];
                let local = start + t;
                let whole_hours = (local / 3600.0).floor();
                let want_hour = (whole_hours as u64 % 24) as usize;
                let want_until = t + ((whole_hours + 1.0) * 3600.0 - local);
                let (hour, until) = memo.of(&clock, t);
                assert_eq!(hour, want_hour, "hour at {t}");
                assert_eq!(
                    until.to_bits(),
                    want_until.to_bits(),
                    "end of the hour at {t}"
                );
            }
        }
    }

    /// The hub snapshots the world keeps (and the policy reads) are the ones computed from its
    /// state at every moment: across hours, outages and recoveries, replicas turning busy and
    /// idle, training power on and off, and fluid load.
    #[test]
    fn kept_hub_snapshots_follow_the_state() {
        let s = tokengrid_core::load("china-east-west").expect("built-in scenario");
        let mut w = World::new(&s);
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let (hubs, pools) = (s.hubs.len(), w.pool_count());
        // Replicas turned busy per pool, so none turns idle that was not busy.
        let mut busy = vec![0u32; pools];
        let mut t: Nanos = 0;
        for step in 0..5_000 {
            // Up to two minutes at a time: about three and a half days, every hour boundary
            // crossed.
            t += ns(rng.random_range(0.0..120.0));
            w.set_now(t);
            let h = HubId(rng.random_range(0..hubs) as u32);
            let p = rng.random_range(0..pools);
            match rng.random_range(0..4) {
                0 => w.set_up(h, rng.random_bool(0.7)),
                1 => {
                    let on = busy[p] == 0 || rng.random_bool(0.5);
                    busy[p] = if on { busy[p] + 1 } else { busy[p] - 1 };
                    w.set_busy(p, on, t);
                }
                2 => w.training_power(h, rng.random_range(0.0..60.0), rng.random_bool(0.5), t),
                _ => w.fluid_busy(p, rng.random_range(0.0..2.0), rng.random_range(0.0..2.0), t),
            }
            for i in 0..hubs {
                assert_eq!(w.snaps[i], w.hub_snapshot(i), "hub {i} after step {step}");
            }
        }
    }
}

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

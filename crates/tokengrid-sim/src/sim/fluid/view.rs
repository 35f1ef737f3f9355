//! The world as the policy sees it in fluid mode.

use tokengrid_core::{AcceleratorId, HubId, ModelId};
use tokengrid_sched::view::*;

use super::Fluid;
use crate::world::World;

/// The world as the policy sees it in fluid mode: the world's hubs, with each pool's room this
/// step and its backlog.
pub(super) struct FluidView<'a> {
    pub(super) world: &'a World,
    pub(super) fluid: &'a Fluid,
    /// A pool shown with room whatever it has left, so that only its latency decides whether
    /// the policy still takes it.
    pub(super) open: Option<usize>,
    /// A pool shown with this prefill wait instead of its own (to find the policy's bound).
    pub(super) wait_at: Option<(usize, f64)>,
}

impl ClusterView for FluidView<'_> {
    fn now_s(&self) -> f64 {
        self.world.now_s()
    }
    fn hub_count(&self) -> usize {
        self.world.hub_count()
    }
    fn hub(&self, h: HubId) -> HubSnapshot {
        self.world.hub(h)
    }
    fn model(&self, h: HubId, m: ModelId) -> Option<ModelSnapshot> {
        let mut snap = self.world.model(h, m)?;
        let pool = self.world.pool_index(h, m)?;
        let fp = &self.fluid.pools[pool];
        let n = f64::from(snap.replicas.max(1));
        let capacity = n * self.fluid.step_s;
        let room = (fp.left_s / capacity).clamp(0.0, 1.0);
        let slots = f64::from(snap.replicas * self.world.pool_slots(pool));
        let waiting = fp.backlog.count();
        // New work queues behind a backlog: no free slot while one waits.
        snap.free_slots = if waiting > 0.0 {
            0
        } else {
            (room * slots).floor() as u32
        };
        if self.open == Some(pool) {
            snap.free_slots = snap.free_slots.max(1);
        }
        snap.queue_len = waiting.min(f64::from(u32::MAX)) as u32;
        snap.utilization = 1.0 - room;
        // With room, a prompt waits for the prefills ahead of it; without, the backlog drains
        // at the pool's full rate (replica-seconds waiting over replicas) after what is left of
        // this step's work.
        let dt = self.fluid.step_s;
        let (p_wait, queued) = fp.prefill_wait(n, dt);
        let rho = fp.rho(n, dt);
        snap.expected_wait_s = if snap.free_slots > 0 {
            p_wait * queued
        } else {
            self.fluid.backlog_s(pool) / n + dt * (1.0 - room)
        };
        if let Some((p, w)) = self.wait_at
            && p == pool
        {
            snap.expected_wait_s = w;
        }
        let batch = self.fluid.batch_size(self.world, pool);
        snap.decode_s_per_token = self.world.pool_step(pool, batch) / (1.0 - rho);
        Some(snap)
    }
    fn rtt_ms(&self, from: Origin, h: HubId) -> f64 {
        self.world.rtt_ms(from, h)
    }
    fn forecast(&self, h: HubId, at_s: f64) -> Forecast {
        self.world.forecast(h, at_s)
    }
    fn free_slots_at(&self, h: HubId, m: ModelId, from_s: f64, to_s: f64) -> u32 {
        self.world.free_slots_at(h, m, from_s, to_s)
    }
    fn free_accelerators(&self, h: HubId, a: Option<AcceleratorId>, f: f64, t: f64) -> u32 {
        self.world.free_accelerators(h, a, f, t)
    }
    fn link(&self, a: HubId, b: HubId) -> LinkSnapshot {
        self.world.link(a, b)
    }
    fn can_reserve(&self, a: HubId, b: HubId, gbps: f64, from_s: f64, to_s: f64) -> bool {
        self.world.can_reserve(a, b, gbps, from_s, to_s)
    }
}

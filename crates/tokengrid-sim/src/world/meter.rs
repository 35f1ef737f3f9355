//! A hub's energy meter: power now, and energy, cost and carbon per accounting step.

use tokengrid_core::AcceleratorId;
use tokengrid_energy::{Draw, HubSupply};

use crate::engine::{Nanos, secs};

use super::STEP_S;

/// A hub's energy meter and per-step accounts.
#[derive(Debug, Clone)]
pub(crate) struct HubMeter {
    pub(crate) supply: HubSupply,
    pub(crate) idle_kw: f64,
    pub(crate) busy_kw: f64,
    pub(crate) busy_replicas: f64,
    pub(crate) total_replicas: u32,
    pub(crate) last: Nanos,
    pub(crate) total: Draw,
    pub(crate) steps: Vec<StepAccount>,
    pub(crate) green_mw: [f64; 24],
    pub(crate) grid_cap_kw: f64,
}

/// One hub's account of one time step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepAccount {
    /// Energy, cost and carbon.
    pub draw: Draw,
    /// Replica-seconds busy.
    pub busy_replica_s: f64,
    /// Requests waiting at the step's end.
    pub queue: u32,
}

impl HubMeter {
    /// Accounts the interval since the last change at the current power.
    pub(super) fn account(&mut self, now: Nanos) {
        if now <= self.last {
            return;
        }
        let it_kw = self.idle_kw + self.busy_kw;
        let (mut t0, t1) = (secs(self.last), secs(now));
        while t0 < t1 {
            // Truncation is the floor here: time is never negative.
            let step = (t0 / STEP_S) as usize;
            let end = ((step + 1) as f64 * STEP_S).min(t1);
            let d = self.supply.draw(t0, end, it_kw);
            if self.steps.len() <= step {
                self.steps.resize(step + 1, StepAccount::default());
            }
            let acc = &mut self.steps[step];
            acc.draw.add(&d);
            acc.busy_replica_s += self.busy_replicas * (end - t0);
            self.total.add(&d);
            t0 = end;
        }
        self.last = now;
    }

    /// Facility power now, kW.
    pub(super) fn facility_kw(&self) -> f64 {
        (self.idle_kw + self.busy_kw) * self.supply.pue
    }
}

/// A booked training job at a hub: accelerators held over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Booking {
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) accelerators: u32,
    pub(crate) accelerator: Option<AcceleratorId>,
}

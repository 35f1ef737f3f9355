//! A hub's energy meter: power now, and energy, cost and carbon per accounting step.

use tokengrid_core::AcceleratorId;
use tokengrid_energy::hourly::{Clock, HOUR_S, floor_nonneg, hour_of};
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
    /// The accounting step and local hour the last interval ended in (see [`Span`]).
    pub(super) span: Option<Span>,
}

/// An accounting step and a local hour of day, as bounds inside which an interval lies in both
/// with no boundary to split it at: [`HubMeter::account`] then adds it without the divisions
/// that find its step and hour. The bounds stop a microsecond short of each boundary, so a time
/// inside them is one whose step and hour the division gives as the span's (rounding cannot
/// carry it over).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    step: usize,
    /// Simulated seconds: the step's start and end.
    start: f64,
    end: f64,
    /// Local seconds: the hour's start and end, and its hour of day.
    hour_start: f64,
    hour_end: f64,
    hour: usize,
}

/// How far short of a boundary a time must be for [`Span`]'s short cut, s.
const SPAN_MARGIN_S: f64 = 1e-6;

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

impl Span {
    /// The span of accounting step `step`, with the local hour that simulated time `t` (in
    /// that step) falls in.
    fn of(step: usize, clock: &Clock, t: f64) -> Span {
        let local = clock.local_s(t).max(0.0);
        let hour_start = floor_nonneg(local / HOUR_S) * HOUR_S;
        Span {
            step,
            start: step as f64 * STEP_S,
            end: (step + 1) as f64 * STEP_S,
            hour_start,
            hour_end: hour_start + HOUR_S,
            hour: hour_of(local),
        }
    }
}

impl HubMeter {
    /// Accounts the interval since the last change at the current power.
    pub(super) fn account(&mut self, now: Nanos) {
        if now <= self.last {
            return;
        }
        let it_kw = self.idle_kw + self.busy_kw;
        let (mut t0, t1) = (secs(self.last), secs(now));
        if let Some(sp) = self.span
            && t0 >= sp.start
            && t0 < sp.end - SPAN_MARGIN_S
            && t1 <= sp.end
        {
            let clock = &self.supply.clock;
            let (a, b) = (clock.local_s(t0), clock.local_s(t1));
            if a >= sp.hour_start && a < sp.hour_end - SPAN_MARGIN_S && b <= sp.hour_end {
                // The same sums as below, for an interval inside one step and one hour.
                let mut d = Draw::default();
                if b > a {
                    self.supply.draw_in_hour(&mut d, sp.hour, b - a, it_kw);
                }
                let acc = &mut self.steps[sp.step];
                acc.draw.add(&d);
                acc.busy_replica_s += self.busy_replicas * (t1 - t0);
                self.total.add(&d);
                self.last = now;
                return;
            }
        }
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
            self.span = Some(Span::of(step, &self.supply.clock, t0));
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    use crate::engine::ns;
    use crate::world::World;

    /// The short cut inside a step and an hour adds exactly what the step-by-step, hour-by-hour
    /// path adds: the same sums, bit for bit, over intervals of every length (many inside one
    /// hour, some across steps, hours and days) at changing power.
    #[test]
    fn the_span_short_cut_adds_what_the_full_path_adds() {
        let s = tokengrid_core::load("china-east-west").expect("built-in scenario");
        let world = World::new(&s);
        let mut rng = Pcg64Mcg::seed_from_u64(11);
        for m in world.meters() {
            let (mut fast, mut full) = (m.clone(), m.clone());
            let mut t = 0.0;
            for _ in 0..20_000 {
                t += match rng.random_range(0..100) {
                    0 => rng.random_range(0.0..100_000.0),
                    1..10 => rng.random_range(0.0..2_000.0),
                    _ => rng.random_range(0.0..2.0),
                };
                let busy = rng.random_range(0.0..5_000.0);
                for meter in [&mut fast, &mut full] {
                    meter.busy_kw = busy;
                }
                fast.account(ns(t));
                full.span = None;
                full.account(ns(t));
            }
            assert_eq!(fast.total, full.total);
            assert_eq!(fast.steps, full.steps);
            assert!(full.total.it_kwh > 0.0);
        }
    }
}

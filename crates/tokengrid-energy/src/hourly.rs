//! Time on the scenario's local clock, and integrals of hour-of-day profiles over any interval.
//!
//! Simulated time counts seconds from the scenario start; the local clock counts seconds from
//! local midnight of the start day, so hour `h` of a 24-value profile covers local seconds
//! `[3600 h, 3600 (h + 1))` of every day.

use tokengrid_core::{Hourly, Scenario};

/// Seconds in a day.
pub const DAY_S: f64 = 86_400.0;
/// Seconds in an hour.
pub const HOUR_S: f64 = 3_600.0;

/// Maps simulated seconds to local seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Local seconds of day at simulated time 0.
    pub start_second_of_day: f64,
}

impl Clock {
    /// The scenario's clock.
    pub fn of(s: &Scenario) -> Self {
        Clock {
            start_second_of_day: f64::from(s.start_second_of_day()),
        }
    }

    /// Local seconds since midnight of the start day at simulated time `sim_s`.
    #[inline]
    pub fn local_s(&self, sim_s: f64) -> f64 {
        self.start_second_of_day + sim_s
    }

    /// Hour of day (0..24) at simulated time `sim_s`.
    #[inline]
    pub fn hour(&self, sim_s: f64) -> usize {
        hour_of(self.local_s(sim_s))
    }
}

/// `x.floor()` for `x >= 0` (below 2^64): truncation, without the libm call `floor` is on the
/// portable x86-64 target (it has no rounding instruction), on paths run for every event.
#[inline]
pub fn floor_nonneg(x: f64) -> f64 {
    x as u64 as f64
}

/// Hour of day (0..24) of local second `t` (t >= 0).
#[inline]
pub fn hour_of(t: f64) -> usize {
    // Whole hours since local time 0, modulo a day (integer arithmetic: no fmod on hot paths).
    ((t.max(0.0) / HOUR_S) as u64 % 24) as usize
}

/// Seconds from local time `t` (t >= 0) to the next hour boundary, in (0, 3600].
#[inline]
pub fn to_next_hour(t: f64) -> f64 {
    let t = t.max(0.0);
    (floor_nonneg(t / HOUR_S) + 1.0) * HOUR_S - t
}

/// The running integral of an hourly profile, so any interval costs O(1):
/// `integral(a, b) = F(b) - F(a)` with `F(t)` = value x seconds from local time 0 to `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourlyIntegral {
    values: [f64; 24],
    /// `prefix[h]` = value-seconds from midnight to the start of hour `h`.
    prefix: [f64; 25],
}

impl HourlyIntegral {
    /// Precomputes the prefix sums of `h`.
    pub fn new(h: &Hourly) -> Self {
        let mut prefix = [0.0; 25];
        for i in 0..24 {
            prefix[i + 1] = prefix[i] + h.0[i] * HOUR_S;
        }
        HourlyIntegral {
            values: h.0,
            prefix,
        }
    }

    /// `F(t)`: value-seconds from local time 0 to local time `t` (t >= 0).
    pub fn cumulative(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let days = floor_nonneg(t / DAY_S);
        let within = t - days * DAY_S;
        let h = ((within / HOUR_S) as usize).min(23);
        days * self.prefix[24] + self.prefix[h] + self.values[h] * (within - h as f64 * HOUR_S)
    }

    /// Integral of the profile over local times `[a, b]`, value-seconds (0 when b <= a).
    pub fn between(&self, a: f64, b: f64) -> f64 {
        if b <= a {
            0.0
        } else {
            self.cumulative(b) - self.cumulative(a)
        }
    }
}

/// Calls `f(hour, seconds)` for each hour-of-day segment of local interval `[a, b)`, in order.
/// Whole days are folded: `f` sees each hour at most twice plus once per hour for the days in
/// between (its seconds summed), so a long interval costs O(24).
pub fn for_each_hour(a: f64, b: f64, mut f: impl FnMut(usize, f64)) {
    if b <= a {
        return;
    }
    let a = a.max(0.0);
    let len = b - a;
    let full_days = floor_nonneg(len / DAY_S);
    if full_days >= 1.0 {
        for h in 0..24 {
            f(h, full_days * HOUR_S);
        }
    }
    let mut t = a + full_days * DAY_S;
    while t < b {
        let h = hour_of(t);
        let hour_end = floor_nonneg(t / HOUR_S) * HOUR_S + HOUR_S;
        let end = hour_end.min(b);
        f(h, end - t);
        t = end;
    }
}

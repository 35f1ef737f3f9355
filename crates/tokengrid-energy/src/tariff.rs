//! Electricity cost of a power draw under a flat or time-of-use tariff.

use tokengrid_core::Hourly;

use crate::hourly::{HOUR_S, HourlyIntegral};

/// A tariff in currency units per kWh by hour of day, integrable over any interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tariff {
    integral: HourlyIntegral,
}

impl Tariff {
    /// A tariff from 24 hourly prices per kWh.
    pub fn new(per_kwh: &Hourly) -> Self {
        Tariff {
            integral: HourlyIntegral::new(per_kwh),
        }
    }

    /// Cost of drawing `power_kw` constantly over local seconds `[a, b]`:
    /// `power_kw x integral of price over the interval in hours`. Correct across hour and day
    /// boundaries; additive: cost(a, c) = cost(a, b) + cost(b, c).
    pub fn cost(&self, a: f64, b: f64, power_kw: f64) -> f64 {
        power_kw * self.integral.between(a, b) / HOUR_S
    }

    /// Mean price over local seconds `[a, b]`, per kWh (the price at `a` for an empty interval).
    pub fn mean_price(&self, a: f64, b: f64) -> f64 {
        let b = if b > a { b } else { a + 1e-3 };
        self.integral.between(a, b) / (b - a)
    }
}

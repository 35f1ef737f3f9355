//! Power and facility energy.

/// Power of one accelerator at `utilization` (clamped to 0..1), W: `idle + (TDP - idle) x u`.
pub fn accelerator_power_w(tdp_w: f64, idle_w: f64, utilization: f64) -> f64 {
    idle_w + (tdp_w - idle_w) * utilization.clamp(0.0, 1.0)
}

/// Facility energy from IT energy: `IT x PUE` (any energy unit).
pub fn facility(it_energy: f64, pue: f64) -> f64 {
    it_energy * pue
}

/// Joules in one kilowatt-hour.
pub const JOULES_PER_KWH: f64 = 3.6e6;

//! Tariff integration across hour and day boundaries.

use tokengrid_core::Hourly;
use tokengrid_energy::Tariff;
use tokengrid_energy::hourly::{Clock, hour_of};

use crate::close;

/// 0.3 per kWh from 00:00 to 08:00, 0.9 from 08:00 to 24:00.
fn two_rate() -> Tariff {
    let mut h = [0.9; 24];
    h[..8].fill(0.3);
    Tariff::new(&Hourly(h))
}

#[test]
fn flat_tariff_is_power_times_hours_times_price() {
    let t = Tariff::new(&Hourly::flat(0.4));
    // 1,000 kW for 90 minutes at 0.4 = 1,500 kWh x 0.4 = 600
    close(t.cost(0.0, 5400.0, 1000.0), 600.0, 1e-12);
}

#[test]
fn across_an_hour_boundary() {
    // 10 kW from 07:30 to 08:30: 5 kWh at 0.3 + 5 kWh at 0.9 = 6.0
    close(
        two_rate().cost(7.5 * 3600.0, 8.5 * 3600.0, 10.0),
        6.0,
        1e-12,
    );
}

#[test]
fn across_midnight() {
    // 10 kW from 23:30 to 00:30 the next day: 5 kWh at 0.9 + 5 kWh at 0.3 = 6.0
    close(
        two_rate().cost(23.5 * 3600.0, 24.5 * 3600.0, 10.0),
        6.0,
        1e-12,
    );
}

#[test]
fn over_several_days() {
    // 1 kW for 3 days and 2 hours from midnight: 3 x (8 x 0.3 + 16 x 0.9) + 2 x 0.3 = 51.0
    close(
        two_rate().cost(0.0, (72.0 + 2.0) * 3600.0, 1.0),
        3.0 * 16.8 + 0.6,
        1e-12,
    );
}

#[test]
fn mean_price_of_a_day_is_the_mean_of_the_hours() {
    close(
        two_rate().mean_price(0.0, 86_400.0),
        (8.0 * 0.3 + 16.0 * 0.9) / 24.0,
        1e-12,
    );
}

#[test]
fn clock_starts_at_the_scenario_local_time() {
    // A scenario starting at 06:00 local: simulated 3 h is local 09:00, hour 9.
    let c = Clock {
        start_second_of_day: 6.0 * 3600.0,
    };
    assert_eq!(c.hour(3.0 * 3600.0), 9);
    assert_eq!(c.hour(20.0 * 3600.0), 2); // 26:00 -> 02:00 next day
    assert_eq!(hour_of(86_399.0), 23);
}

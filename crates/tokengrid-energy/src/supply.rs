//! A hub's supply side: green first, then the grid; cost at the hour's tariff, carbon from the
//! grid share only.

use tokengrid_core::{GreenProfile, GreenSupply, Hourly, Hub, Scenario};

use crate::hourly::{Clock, HOUR_S, for_each_hour};
use crate::solar;
use crate::tariff::Tariff;

/// Energy, cost and carbon of a power draw over an interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Draw {
    /// IT energy, kWh.
    pub it_kwh: f64,
    /// Facility energy (IT x PUE), kWh.
    pub facility_kwh: f64,
    /// Part of the facility energy met by local green supply, kWh.
    pub green_kwh: f64,
    /// Part bought from the grid, kWh.
    pub grid_kwh: f64,
    /// Cost of the grid energy at the tariff of each hour, currency units. Local green supply
    /// has no marginal cost.
    pub cost: f64,
    /// CO2 of the grid energy at each hour's intensity, kg.
    pub carbon_kg: f64,
}

impl Draw {
    /// Adds another draw to this one.
    pub fn add(&mut self, o: &Draw) {
        self.it_kwh += o.it_kwh;
        self.facility_kwh += o.facility_kwh;
        self.green_kwh += o.green_kwh;
        self.grid_kwh += o.grid_kwh;
        self.cost += o.cost;
        self.carbon_kg += o.carbon_kg;
    }
}

/// The supply side of one hub: PUE, tariff, green MW and grid carbon by local hour.
#[derive(Debug, Clone, PartialEq)]
pub struct HubSupply {
    /// Power usage effectiveness.
    pub pue: f64,
    /// Tariff by hour.
    pub tariff: Tariff,
    /// Tariff values by hour, per kWh.
    pub tariff_per_kwh: Hourly,
    /// Green supply available by hour, MW.
    pub green_mw: Hourly,
    /// Grid carbon intensity by hour, g/kWh.
    pub carbon_g_per_kwh: Hourly,
    /// The scenario clock.
    pub clock: Clock,
}

impl HubSupply {
    /// The supply side of `hub` in scenario `s`. A solar profile is the clear-sky output on the
    /// start day, repeated every day (the sun's path changes by under 1% a week).
    pub fn new(s: &Scenario, hub: &Hub) -> Self {
        HubSupply {
            pue: hub.pue,
            tariff: Tariff::new(&hub.tariff_yuan_per_kwh),
            tariff_per_kwh: hub.tariff_yuan_per_kwh,
            green_mw: green_mw(s, hub),
            carbon_g_per_kwh: hub.grid_carbon_g_per_kwh,
            clock: Clock::of(s),
        }
    }

    /// Energy, cost and carbon of drawing `it_kw` of IT power over simulated seconds `[t0, t1]`.
    /// Facility power is `it_kw x PUE`; in each hour green supply covers up to its MW, the grid
    /// the rest.
    pub fn draw(&self, t0: f64, t1: f64, it_kw: f64) -> Draw {
        let mut d = Draw::default();
        let (a, b) = (self.clock.local_s(t0), self.clock.local_s(t1));
        for_each_hour(a, b, |h, secs| self.draw_in_hour(&mut d, h, secs, it_kw));
        d
    }

    /// Adds to `d` the draw of `it_kw` of IT power for `secs` seconds within local hour of day
    /// `h` (0..24): what [`HubSupply::draw`] adds for each hour an interval touches.
    #[inline]
    pub fn draw_in_hour(&self, d: &mut Draw, h: usize, secs: f64, it_kw: f64) {
        let facility_kw = it_kw * self.pue;
        let hours = secs / HOUR_S;
        let green_kw = (self.green_mw.0[h] * 1000.0).min(facility_kw);
        let grid_kw = facility_kw - green_kw;
        d.it_kwh += it_kw * hours;
        d.facility_kwh += facility_kw * hours;
        d.green_kwh += green_kw * hours;
        d.grid_kwh += grid_kw * hours;
        d.cost += grid_kw * hours * self.tariff_per_kwh.0[h];
        d.carbon_kg += grid_kw * hours * self.carbon_g_per_kwh.0[h] / 1000.0;
    }
}

/// Green MW by local hour for a hub (zero where it has none).
pub fn green_mw(s: &Scenario, hub: &Hub) -> Hourly {
    match hub.green {
        None => Hourly::flat(0.0),
        Some(GreenSupply::HourlyMw(h)) => h,
        Some(GreenSupply::Profile {
            profile: GreenProfile::Solar,
            installed_mw,
        }) => {
            let offset_h = f64::from(s.start.offset().whole_seconds()) / 3600.0;
            let cf = solar::hourly_capacity_factor(
                hub.lat,
                hub.lon,
                offset_h,
                f64::from(s.start_day_of_year()),
            );
            Hourly(cf.0.map(|c| c * installed_mw))
        }
    }
}

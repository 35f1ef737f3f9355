//! Green-first accounting, grid cost and carbon.

use tokengrid_core::{Hourly, builtin};
use tokengrid_energy::HubSupply;
use tokengrid_energy::hourly::Clock;

use crate::close;

fn supply(green_mw: f64, tariff: f64, carbon: f64, pue: f64) -> HubSupply {
    HubSupply {
        pue,
        tariff: tokengrid_energy::Tariff::new(&Hourly::flat(tariff)),
        tariff_per_kwh: Hourly::flat(tariff),
        green_mw: Hourly::flat(green_mw),
        carbon_g_per_kwh: Hourly::flat(carbon),
        clock: Clock {
            start_second_of_day: 0.0,
        },
    }
}

#[test]
fn green_is_used_first_and_the_grid_pays_and_emits() {
    // 80 kW IT x PUE 1.25 = 100 kW facility for 2 h = 200 kWh; green 0.05 MW = 50 kW covers
    // 100 kWh; the grid supplies 100 kWh at 0.6 = 60 and 100 kWh x 500 g = 50 kg CO2.
    let d = supply(0.05, 0.6, 500.0, 1.25).draw(0.0, 7200.0, 80.0);
    close(d.it_kwh, 160.0, 1e-12);
    close(d.facility_kwh, 200.0, 1e-12);
    close(d.green_kwh, 100.0, 1e-12);
    close(d.grid_kwh, 100.0, 1e-12);
    close(d.cost, 60.0, 1e-12);
    close(d.carbon_kg, 50.0, 1e-12);
}

#[test]
fn surplus_green_covers_everything_and_emits_nothing() {
    let d = supply(1.0, 0.6, 500.0, 1.2).draw(0.0, 3600.0, 100.0);
    close(d.green_kwh, 120.0, 1e-12);
    assert_eq!(d.grid_kwh, 0.0);
    assert_eq!(d.cost, 0.0);
    assert_eq!(d.carbon_kg, 0.0);
}

#[test]
fn hourly_carbon_and_tariff_follow_the_hour() {
    // No green; carbon 800 g/kWh at night (00-06), 200 g/kWh by day; tariff 0.2 / 1.0.
    let mut carbon = [200.0; 24];
    carbon[..6].fill(800.0);
    let mut price = [1.0; 24];
    price[..6].fill(0.2);
    let s = HubSupply {
        pue: 1.0,
        tariff: tokengrid_energy::Tariff::new(&Hourly(price)),
        tariff_per_kwh: Hourly(price),
        green_mw: Hourly::flat(0.0),
        carbon_g_per_kwh: Hourly(carbon),
        clock: Clock {
            start_second_of_day: 0.0,
        },
    };
    // 10 kW from 05:00 to 07:00: 10 kWh at 800 g + 10 kWh at 200 g = 10 kg; cost 2 + 10 = 12.
    let d = s.draw(5.0 * 3600.0, 7.0 * 3600.0, 10.0);
    close(d.carbon_kg, 10.0, 1e-12);
    close(d.cost, 12.0, 1e-12);
}

#[test]
fn builtin_solar_hub_gets_green_only_by_day() {
    let s = builtin::load("china-east-west").expect("valid");
    let gansu = s.hub(s.hub_id("gansu").expect("gansu"));
    let Some(tokengrid_core::GreenSupply::Profile { installed_mw, .. }) = gansu.green else {
        panic!("gansu has a solar profile")
    };
    let green = tokengrid_energy::supply::green_mw(&s, gansu);
    assert_eq!(green.at(0), 0.0, "no sun at midnight");
    assert_eq!(green.at(23), 0.0);
    // 2 March at 35.7 N: solar noon (12:49 Beijing time) zenith = 35.7 + 7.5 = 43 deg,
    // Haurwitz GHI = 1098 x 0.73 x exp(-0.057 / 0.73) = 741 W/m2: the 13:00 hour gives over half.
    assert!(
        green.at(13) > 0.5 * installed_mw,
        "{} of {installed_mw} MW",
        green.at(13)
    );
    assert!(
        green.0.iter().all(|&mw| mw <= installed_mw + 1e-12),
        "never above installed"
    );
}

//! The clear-sky solar model against hand calculations (Duffie & Beckman; Haurwitz 1945).

use tokengrid_energy::solar::*;

use crate::close;

#[test]
fn declination_at_the_solstices_and_equinox() {
    // Cooper: 23.45 sin(360 (284 + n) / 365); n = 172 (21 June) -> 23.45 x sin(449.75 deg) = 23.4498
    close(
        declination(172.0).to_degrees(),
        23.45 * (449.753_424_66f64).to_radians().sin(),
        1e-9,
    );
    assert!(declination(172.0).to_degrees() > 23.4);
    assert!(declination(355.0).to_degrees() < -23.4);
    assert!(
        declination(81.0).to_degrees().abs() < 0.5,
        "near zero at the March equinox"
    );
}

#[test]
fn equation_of_time_extremes() {
    // About -14.2 minutes in mid-February and +16.4 minutes in early November.
    assert!(
        (equation_of_time_min(42.0) + 14.2).abs() < 0.6,
        "{}",
        equation_of_time_min(42.0)
    );
    assert!(
        (equation_of_time_min(307.0) - 16.4).abs() < 0.6,
        "{}",
        equation_of_time_min(307.0)
    );
}

#[test]
fn haurwitz_clear_sky_irradiance() {
    // Qingyang (35.73 N) at solar noon on the winter solstice: zenith = 35.73 + 23.45 = 59.18 deg,
    // cos z = 0.51215, GHI = 1098 x 0.51215 x exp(-0.057 / 0.51215) = 503.1 W/m2.
    let cz = cos_zenith(35.73, (-23.45f64).to_radians(), 0.0);
    close(cz, (59.18f64).to_radians().cos(), 1e-9);
    close(haurwitz_ghi(cz), 1098.0 * cz * (-0.057 / cz).exp(), 1e-12);
    close(haurwitz_ghi(cz), 503.1, 1e-3);
    assert_eq!(haurwitz_ghi(-0.1), 0.0, "sun below the horizon");
}

#[test]
fn capacity_factor_at_solar_noon_and_midnight() {
    // Longitude on the time zone meridian (120 E at UTC+8): solar time = clock time + EoT.
    let n = 355.0;
    let noon_clock_s = (12.0 - equation_of_time_min(n) / 60.0) * 3600.0;
    let cf = capacity_factor(35.73, 120.0, 8.0, n, noon_clock_s);
    let cz = cos_zenith(35.73, declination(n), 0.0);
    close(cf, haurwitz_ghi(cz) / 1000.0, 1e-9);
    assert_eq!(capacity_factor(35.73, 120.0, 8.0, n, 0.0), 0.0);
    // Midsummer noon: zenith 12.3 deg, GHI above 1000 W/m2, capped at 1.
    let summer_noon = (12.0 - equation_of_time_min(172.0) / 60.0) * 3600.0;
    assert_eq!(capacity_factor(35.73, 120.0, 8.0, 172.0, summer_noon), 1.0);
}

#[test]
fn west_of_the_meridian_the_sun_peaks_later_on_the_clock() {
    // Qingyang (107.63 E) keeps Beijing time (120 E meridian): 4 min x 12.37 deg = 49 min later.
    let h = hourly_capacity_factor(35.73, 107.63, 8.0, 80.0);
    let peak = (0..24)
        .max_by(|&a, &b| h.at(a).total_cmp(&h.at(b)))
        .expect("peak");
    assert_eq!(peak, 12, "the 12:00-13:00 hour holds the 12:49 solar noon");
    assert!(h.at(12) > h.at(11));
}

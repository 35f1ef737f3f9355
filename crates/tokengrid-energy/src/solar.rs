//! Clear-sky photovoltaic output by hour.
//!
//! Sun position from the textbook formulas (Duffie & Beckman, *Solar Engineering of Thermal
//! Processes*, ch. 1): declination by Cooper (1969), `23.45 sin(360 (284 + n) / 365)` degrees; the
//! equation of time; hour angle from local solar time. Global horizontal irradiance under a clear
//! sky by Haurwitz (1945): `GHI = 1098 cos z exp(-0.057 / cos z)` W/m2. A PV plant's capacity factor
//! is `GHI / 1000 W/m2` (standard test conditions), capped at 1.
//!
//! Holds for a clear sky: clouds, soiling, temperature and tracking are not modelled, so the
//! profile is an upper bound of a fixed horizontal plant's output. Measured data (shared/data
//! vessim solcast) show real monthly means well below it.

use std::f64::consts::PI;

use tokengrid_core::Hourly;

/// Solar declination on day of year `n` (1..=366), radians (Cooper 1969).
pub fn declination(day_of_year: f64) -> f64 {
    (23.45f64).to_radians() * (2.0 * PI * (284.0 + day_of_year) / 365.0).sin()
}

/// Equation of time on day `n`, minutes (Spencer's form as given by Duffie & Beckman).
pub fn equation_of_time_min(day_of_year: f64) -> f64 {
    let b = 2.0 * PI * (day_of_year - 1.0) / 365.0;
    229.2
        * (0.000075 + 0.001868 * b.cos()
            - 0.032077 * b.sin()
            - 0.014615 * (2.0 * b).cos()
            - 0.04089 * (2.0 * b).sin())
}

/// Cosine of the solar zenith angle at latitude `lat_deg`, declination `decl`, hour angle `omega`
/// (radians, 0 at solar noon).
pub fn cos_zenith(lat_deg: f64, decl: f64, omega: f64) -> f64 {
    let phi = lat_deg.to_radians();
    phi.sin() * decl.sin() + phi.cos() * decl.cos() * omega.cos()
}

/// Clear-sky GHI (Haurwitz 1945), W/m2, for a zenith cosine; 0 with the sun below the horizon.
pub fn haurwitz_ghi(cos_z: f64) -> f64 {
    if cos_z <= 0.0 {
        0.0
    } else {
        1098.0 * cos_z * (-0.057 / cos_z).exp()
    }
}

/// Clear-sky PV capacity factor (0..1) at local clock second `t` of day `day_of_year`, for a site
/// at `lat_deg`/`lon_deg` whose clock runs at `utc_offset_h` hours from UTC.
pub fn capacity_factor(
    lat_deg: f64,
    lon_deg: f64,
    utc_offset_h: f64,
    day_of_year: f64,
    t: f64,
) -> f64 {
    let clock_h = t / 3600.0;
    let solar_h = clock_h
        + (4.0 * (lon_deg - 15.0 * utc_offset_h) + equation_of_time_min(day_of_year)) / 60.0;
    let omega = (15.0 * (solar_h - 12.0)).to_radians();
    let cz = cos_zenith(lat_deg, declination(day_of_year), omega);
    (haurwitz_ghi(cz) / 1000.0).min(1.0)
}

/// Mean clear-sky capacity factor of each local clock hour of a day (averaged over 60 one-minute
/// samples per hour).
pub fn hourly_capacity_factor(
    lat_deg: f64,
    lon_deg: f64,
    utc_offset_h: f64,
    day_of_year: f64,
) -> Hourly {
    let mut out = [0.0; 24];
    for (h, v) in out.iter_mut().enumerate() {
        let sum: f64 = (0..60)
            .map(|m| {
                let t = h as f64 * 3600.0 + (m as f64 + 0.5) * 60.0;
                capacity_factor(lat_deg, lon_deg, utc_offset_h, day_of_year, t)
            })
            .sum();
        *v = sum / 60.0;
    }
    Hourly(out)
}

//! Distance and propagation delay from geography.
//!
//! Great-circle distance by the haversine formula on a sphere of the mean Earth radius; fiber
//! routes are longer than the great circle by a route factor; light in standard single-mode fiber
//! (refractive index about 1.468) travels at about 204,190 km/s, 4.9 us per km one way
//! (`data/facts/network.md`).

/// Mean Earth radius, km (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Speed of light in fiber, km/s: c / 1.468 (`data/facts/network.md`).
pub const FIBER_KM_PER_S: f64 = 204_190.0;

/// Round-trip time added by the equipment on a derived link (switching, routing, serialization),
/// ms.
///
/// assumption: a few tens of microseconds per router or switch, some ten of them each way on a
/// long-haul path; small next to propagation over hundreds of kilometres.
pub const DEFAULT_EQUIPMENT_RTT_MS: f64 = 0.5;

/// Great-circle distance between two points given in degrees, km (haversine).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Round-trip propagation time over `route_km` of fiber, ms: `2 x km / 204,190 km/s`.
pub fn propagation_rtt_ms(route_km: f64) -> f64 {
    2.0 * route_km / FIBER_KM_PER_S * 1e3
}

/// Fiber km equivalent to a measured RTT, after the equipment share.
pub fn km_for_rtt_ms(rtt_ms: f64) -> f64 {
    (rtt_ms - DEFAULT_EQUIPMENT_RTT_MS).max(0.0) / 2.0 * FIBER_KM_PER_S / 1e3
}

/// A fiber route derived from geography, where no link is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DerivedRoute {
    /// Route length: great-circle km x route factor.
    pub route_km: f64,
    /// Round-trip time: propagation over the route plus [`DEFAULT_EQUIPMENT_RTT_MS`], ms.
    pub rtt_ms: f64,
}

/// The derived route between two points given as (latitude, longitude) in degrees. The one
/// formula behind every derived link and every point-to-hub round trip.
pub fn derived_route(a: (f64, f64), b: (f64, f64), route_factor: f64) -> DerivedRoute {
    let route_km = great_circle_km(a.0, a.1, b.0, b.1) * route_factor;
    DerivedRoute {
        route_km,
        rtt_ms: propagation_rtt_ms(route_km) + DEFAULT_EQUIPMENT_RTT_MS,
    }
}

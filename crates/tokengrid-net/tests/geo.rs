//! Geography, RTT and the site graph.

use tokengrid_core::{Site, builtin};
use tokengrid_net::Topology;
use tokengrid_net::geo::*;

use crate::{close, line};

#[test]
fn haversine_by_hand() {
    // One degree of longitude on the equator: 2 pi R / 360 = 111.195 km.
    close(
        great_circle_km(0.0, 0.0, 0.0, 1.0),
        2.0 * std::f64::consts::PI * 6371.0088 / 360.0,
        1e-12,
    );
    // Quarter of a meridian, pole to equator: pi R / 2 = 10,007.5 km.
    close(
        great_circle_km(0.0, 0.0, 90.0, 0.0),
        std::f64::consts::PI * 6371.0088 / 2.0,
        1e-12,
    );
    // Beijing (39.90, 116.41) to Shanghai (31.23, 121.47): haversine by hand
    // a = sin^2(-4.335 deg) + cos(39.90) cos(31.23) sin^2(2.53 deg) = 0.0057128 + 0.65613 x 0.0019478
    //   = 0.0069908 -> d = 2 R asin(sqrt(a)) = 1,067.4 km
    close(great_circle_km(39.90, 116.41, 31.23, 121.47), 1067.4, 1e-3);
}

#[test]
fn rtt_is_twice_the_fiber_time() {
    // 1,000 km of fiber: 2 x 1,000 / 204,190 s = 9.795 ms (about 10 ms per 1,000 km, network.md).
    close(propagation_rtt_ms(1000.0), 2000.0 / 204_190.0 * 1e3, 1e-12);
}

#[test]
fn explicit_links_override_derived_ones() {
    let s = line();
    let t = Topology::new(&s);
    let (a, b, c) = (
        Site::Hub(tokengrid_core::HubId(0)),
        Site::Hub(tokengrid_core::HubId(1)),
        Site::Hub(tokengrid_core::HubId(2)),
    );
    // a-b given as 1,000 km: 9.795 ms + 0.5 ms equipment.
    let ab = t.shortest_path(a, b).expect("path");
    close(
        ab.rtt_ms,
        propagation_rtt_ms(1000.0) + DEFAULT_EQUIPMENT_RTT_MS,
        1e-12,
    );
    assert_eq!(ab.links.len(), 1);
    // b-c given as a measured 12 ms RTT.
    close(t.rtt_ms(b, c), 12.0, 1e-12);
    // a-c has no explicit link: derived from geography, never slower than going through b.
    let ac = t.shortest_path(a, c).expect("path");
    assert!(ac.rtt_ms <= t.rtt_ms(a, b) + t.rtt_ms(b, c) + 1e-9);
    close(t.rtt_ms(a, c), ac.rtt_ms, 1e-12);
    assert_eq!(ac.sites.first(), Some(&a));
    assert_eq!(ac.sites.last(), Some(&c));
}

#[test]
fn builtin_rtts_respect_the_physical_floor() {
    for name in builtin::NAMES {
        let s = builtin::load(name).expect("valid");
        let t = Topology::new(&s);
        let sites: Vec<Site> = (0..s.hubs.len())
            .map(|i| Site::Hub(tokengrid_core::HubId(i as u32)))
            .chain((0..s.regions.len()).map(|i| Site::Region(tokengrid_core::RegionId(i as u32))))
            .collect();
        for &x in &sites {
            for &y in &sites {
                let (la, lo) = s.site_lat_lon(x);
                let (lb, lob) = s.site_lat_lon(y);
                let floor = 2.0 * great_circle_km(la, lo, lb, lob) / 204_000.0 * 1e3;
                let rtt = t.rtt_ms(x, y);
                assert!(
                    rtt >= floor,
                    "{name}: {} -> {}: {rtt} ms below the floor {floor} ms",
                    s.site_name(x),
                    s.site_name(y)
                );
                assert!(rtt.is_finite());
            }
        }
    }
}

#[test]
fn builtin_shanghai_to_gansu_is_tens_of_milliseconds() {
    let s = builtin::load("china-east-west").expect("valid");
    let t = Topology::new(&s);
    let sh = s.site("shanghai").expect("shanghai");
    let gs = s.site("gansu").expect("gansu");
    // Shanghai (31.23, 121.47) to Qingyang (35.73, 107.63): about 1,370 km great circle,
    // x 1.4 = 1,918 km of fiber -> 18.8 ms + 0.5 ms; the deterministic link via the Yangtze River
    // Delta hub (1,890 km) is no shorter once the city-to-hub hop is added.
    let rtt = t.rtt_ms(sh, gs);
    assert!((15.0..25.0).contains(&rtt), "{rtt} ms");
}

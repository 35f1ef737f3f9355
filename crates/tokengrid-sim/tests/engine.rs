//! The engine's time conversions against the standard library's rounding.

use proptest::prelude::*;
use tokengrid_sim::engine::{ns, secs};

proptest! {
    /// `ns` rounds up exactly as `f64::ceil` does, over delays from a nanosecond to a year.
    #[test]
    fn ns_is_the_ceiling_of_nanoseconds(s in 1e-10f64..3.2e7) {
        prop_assert_eq!(ns(s), (s * 1e9).ceil() as u64);
    }

    /// Converting back loses at most a nanosecond (and one unit in the last place).
    #[test]
    fn secs_inverts_ns(s in 0.0f64..3.2e7) {
        let back = secs(ns(s));
        prop_assert!(back >= s * (1.0 - 1e-15) && back - s <= 1e-9 + s * 1e-15);
    }
}

#[test]
fn ns_edges() {
    assert_eq!(ns(0.0), 0);
    assert_eq!(ns(-1.0), 0);
    assert_eq!(ns(1.0), 1_000_000_000);
    assert_eq!(ns(1.5e-9), 2);
    assert_eq!(ns(f64::INFINITY), u64::MAX);
    assert_eq!(ns(1e30), u64::MAX);
}

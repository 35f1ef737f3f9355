//! Terminal formatting.

use tokengrid_report::text::duration;

#[test]
fn durations_read_at_a_glance() {
    assert_eq!(duration(0.0), "-");
    assert_eq!(duration(850.4), "850 ms");
    assert_eq!(duration(9_999.0), "9999 ms");
    assert_eq!(duration(10_000.0), "10.0 s");
    assert_eq!(duration(599_000.0), "599.0 s");
    assert_eq!(duration(600_000.0), "10.0 min");
    // 28,487,713 ms = 7.913 h (a deferred batch job's time to first token)
    assert_eq!(duration(28_487_713.0), "7.9 h");
    assert_eq!(duration(f64::NAN), "-");
}

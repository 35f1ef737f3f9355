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

/// The accounting window is in the table, the page and the JSON, the same for both policies.
#[test]
fn the_accounting_window_is_shown_everywhere() {
    let (s, runs) = crate::runs();
    assert_eq!(runs[0].simulated_s, runs[1].simulated_s, "one window");
    let hours = format!("{:.1} h", runs[0].simulated_s / 3600.0);
    let table = tokengrid_report::text::compare(&runs, &s.currency);
    assert!(
        table.contains(&format!(
            "3.0 h of arrivals; every policy accounted over the same {hours}"
        )),
        "{table}"
    );
    let page = tokengrid_report::html(&s, &runs);
    assert!(page.contains(&format!(
        "accounted over {hours}, the same window for every policy"
    )));
    let json = serde_json::to_value(&runs[0]).expect("json");
    assert_eq!(json["arrivals_s"], 3.0 * 3600.0);
    assert_eq!(json["simulated_s"], runs[0].simulated_s);
    let one = tokengrid_report::text::summary(&runs[0], &s.currency);
    assert!(
        one.contains(&format!("3.0 h of arrivals, accounted over {hours}")),
        "{one}"
    );
}

//! `tokengrid plan`: DESIGN.md keys, shares that add up, and the LP as a lower bound.

use std::collections::BTreeMap;

use crate::{stderr, stdout, tokengrid};

#[test]
fn plan_json_on_the_default_scenario() {
    let out = tokengrid(&["plan", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["scenario"], "china-east-west");
    let hours = v["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    let mut total = 0.0;
    for h in hours {
        total += h["cost"].as_f64().expect("cost");
        // Every (region, class) flow's shares add up to 1 minus what is unserved.
        let mut flows: BTreeMap<(String, String), f64> = BTreeMap::new();
        for a in h["assignments"].as_array().expect("assignments") {
            for key in ["region", "class", "hub", "share"] {
                assert!(!a[key].is_null(), "DESIGN.md key {key}");
            }
            *flows
                .entry((a["region"].to_string(), a["class"].to_string()))
                .or_default() += a["share"].as_f64().expect("share");
        }
        assert_eq!(flows.len(), 9, "3 regions x 3 region classes");
        // The default scenario has room for all its demand; shares under 0.1% are not listed.
        assert_eq!(h["unserved_share"].as_f64(), Some(0.0));
        for (flow, sum) in flows {
            assert!(
                (0.99..=1.0 + 1e-6).contains(&sum),
                "hour {}: {flow:?} {sum}",
                h["hour"]
            );
        }
    }
    let reported = v["total_cost"].as_f64().expect("total");
    assert!((reported - total).abs() < 1e-6 * total);
    for h in v["heuristics"].as_array().expect("heuristics") {
        assert!(
            reported <= h["total_cost"].as_f64().expect("cost") + 1e-6,
            "LP is a lower bound: {h}"
        );
    }
    let hubs = v["hubs"].as_array().expect("hubs");
    assert_eq!(hubs.len(), 8);
    assert!(
        hubs.iter()
            .all(|h| (0.0..=1.0).contains(&h["mean_utilization"].as_f64().expect("util")))
    );
}

#[test]
fn plan_table_names_every_hour() {
    let out = tokengrid(&["plan", "--scenario", "two-hubs"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("LP plan for \"two-hubs\""));
    assert!(text.lines().any(|l| l.trim_start().starts_with("23 ")));
}

//! Every built-in scenario parses, re-serializes and parses to an equal value.

use tokengrid_core::{builtin, load_str, parse_raw};

use crate::MINIMAL;

fn round_trip(name: &str, text: &str) {
    let raw = parse_raw(text, name).expect("parses");
    let scenario = load_str(text, name, None).expect("validates");
    let written = toml::to_string(&raw).expect("serializes");
    let raw_again =
        parse_raw(&written, name).unwrap_or_else(|e| panic!("re-parse of {name}: {e}\n{written}"));
    assert_eq!(raw, raw_again, "{name}: raw form changed through TOML");
    let scenario_again = load_str(&written, name, None).expect("re-validates");
    assert_eq!(
        scenario, scenario_again,
        "{name}: validated scenario changed through TOML"
    );
}

#[test]
fn builtin_scenarios_round_trip() {
    for name in builtin::NAMES {
        round_trip(name, builtin::text(name).expect("built-in text"));
    }
}

#[test]
fn minimal_round_trips() {
    round_trip("minimal", MINIMAL);
}

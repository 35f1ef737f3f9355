//! Built-in scenarios, compiled into the binary (the files live in `scenarios/` at the repository
//! root, where `tokengrid scenario show NAME` prints them from).

use crate::{LoadError, Scenario, load_str};

/// Names of the built-in scenarios; the first is the default.
pub const NAMES: &[&str] = &["china-east-west", "two-hubs", "china-national"];

/// The default scenario of `simulate`, `plan` and the other commands.
pub const DEFAULT: &str = "china-east-west";

/// The TOML text of a built-in scenario.
pub fn text(name: &str) -> Option<&'static str> {
    match name {
        "china-east-west" => Some(include_str!("../../../scenarios/china-east-west.toml")),
        "two-hubs" => Some(include_str!("../../../scenarios/two-hubs.toml")),
        "china-national" => Some(include_str!("../../../scenarios/china-national.toml")),
        _ => None,
    }
}

/// One-line description of a built-in scenario.
pub fn describe(name: &str) -> &'static str {
    match name {
        "china-east-west" => {
            "the eight national hubs of East Data, West Computing and the three big eastern demand regions (default)"
        }
        "two-hubs" => {
            "tutorial: one eastern and one western hub serving Shanghai (DESIGN.md's example)"
        }
        "china-national" => {
            "China's 140-trillion-token day: 31 provinces and 3 export regions on the eight hubs (run with --mode fluid)"
        }
        _ => "",
    }
}

/// Loads and validates a built-in scenario.
pub fn load(name: &str) -> Result<Scenario, LoadError> {
    let text = text(name).ok_or_else(|| LoadError::NotFound {
        name: name.to_owned(),
    })?;
    load_str(text, &format!("<builtin:{name}>"), None)
}

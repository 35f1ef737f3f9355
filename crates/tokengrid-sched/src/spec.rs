//! Policies as written: plugin names and weights, and the built-in ones.

use crate::estimate::Objective;

/// A policy as written: plugin names and score weights.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    /// Policy name.
    pub name: String,
    /// Filter plugin names, applied in order.
    pub filters: Vec<String>,
    /// Score plugin names and weights.
    pub scores: Vec<(String, f64)>,
    /// What deferrable work's start time minimises.
    pub objective: Objective,
}

/// Names of the built-in policies (core's one list of them); `cost-slo` is the default.
pub use tokengrid_core::{BUILTIN_POLICIES as POLICY_NAMES, DEFAULT_POLICY};

/// Filters every policy applies: no policy may break a legal or physical constraint.
const HARD: &[&str] = tokengrid_core::HARD_FILTERS;

fn spec(name: &str, extra: &[&str], scores: &[(&str, f64)], objective: Objective) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        filters: HARD.iter().chain(extra).map(|s| (*s).to_owned()).collect(),
        scores: scores.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect(),
        objective,
    }
}

/// The specification of a built-in policy.
pub fn builtin_spec(name: &str) -> Option<PolicySpec> {
    Some(match name {
        // Today's practice: the lowest-latency hub serving the model, no SLO filter.
        "nearest" => spec(name, &[], &[("latency", 1.0)], Objective::Cost),
        // The lowest energy price, blind to SLOs: what SLO-blind routing costs.
        "cheapest" => spec(name, &[], &[("energy-cost", 1.0)], Objective::Cost),
        // The lowest cost among hubs that meet the SLO (latency breaks ties).
        "cost-slo" => spec(
            name,
            &["slo", "power"],
            &[("energy-cost", 1.0), ("latency", 0.001)],
            Objective::Cost,
        ),
        // The lowest carbon among hubs that meet the SLO (cost breaks ties).
        "green" => spec(
            name,
            &["slo", "power"],
            &[("carbon", 1.0), ("energy-cost", 0.001)],
            Objective::Carbon,
        ),
        // Follows the hourly LP plan among SLO-feasible hubs (cost-slo where the plan is silent).
        "plan" => spec(
            name,
            &["slo", "power"],
            &[("energy-cost", 1.0), ("latency", 0.001)],
            Objective::Cost,
        ),
        _ => return None,
    })
}

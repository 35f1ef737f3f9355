//! Scheduling policies as scenario data: the names the scheduler builds in, the filters every
//! policy applies, and the policies a scenario defines for itself. The scheduler
//! (tokengrid-sched) turns these names into plugins; this is the one list of them.

/// Names of the policies built into the scheduler, in the order `--help` lists them. A
/// scenario's own `[[policy]]` may not reuse one.
pub const BUILTIN_POLICIES: &[&str] = &["nearest", "cheapest", "cost-slo", "green", "plan"];

/// The policy used when none is named.
pub const DEFAULT_POLICY: &str = "cost-slo";

/// Filters every policy applies first: no policy may break a legal or physical constraint.
pub const HARD_FILTERS: &[&str] = &["model", "up", "residency", "capacity"];

/// A scheduling policy defined in a scenario (plugin names are checked by the scheduler).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDef {
    /// Name, used with `--policy`.
    pub name: String,
    /// Filters: the hard filters, then the ones the scenario lists.
    pub filters: Vec<String>,
    /// Score plugins and weights.
    pub scores: Vec<(String, f64)>,
    /// Whether deferrable work is shifted toward low carbon (else low cost).
    pub carbon_objective: bool,
}

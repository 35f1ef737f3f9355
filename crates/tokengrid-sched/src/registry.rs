//! Named plugins, and the policies built from them.
//!
//! A policy is a [`PolicySpec`] resolved against a [`Registry`]: each filter and score name
//! becomes a plugin, weights are checked, and the `plan` policy gets its LP plan.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokengrid_core::Scenario;

use crate::estimate::Objective;
use crate::plan::Plan;
use crate::plugin::*;
use crate::spec::{PolicySpec, builtin_spec};

/// Errors building a policy (the user's to fix).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A plugin name the registry does not know.
    #[error("policy \"{policy}\": unknown {kind} plugin \"{name}\" (known: {known})")]
    UnknownPlugin {
        /// Policy name.
        policy: String,
        /// "filter" or "score".
        kind: &'static str,
        /// The unknown name.
        name: String,
        /// Known names.
        known: String,
    },
    /// A plugin listed twice.
    #[error("policy \"{policy}\": plugin \"{name}\" is listed twice")]
    Duplicate {
        /// Policy name.
        policy: String,
        /// The plugin.
        name: String,
    },
    /// A weight that is negative or not finite, or no score at all.
    #[error("policy \"{policy}\": {why}")]
    Weights {
        /// Policy name.
        policy: String,
        /// What is wrong.
        why: String,
    },
    /// A policy name that is neither built in nor defined by the scenario.
    #[error(
        "unknown policy \"{0}\" (built in: nearest, cheapest, cost-slo, green, plan; or a [[policy]] of the scenario)"
    )]
    UnknownPolicy(String),
    /// A registry entry registered twice.
    #[error("plugin \"{0}\" is already registered")]
    AlreadyRegistered(String),
    /// The plan policy without a plan.
    #[error("the plan policy needs a plan (tokengrid plan)")]
    NoPlan,
}

type FilterCtor = fn() -> Box<dyn FilterPlugin>;
type ScoreCtor = fn() -> Box<dyn ScorePlugin>;

/// Named plugins. Registering a name twice is an error.
#[derive(Debug, Clone)]
pub struct Registry {
    filters: BTreeMap<&'static str, FilterCtor>,
    scores: BTreeMap<&'static str, ScoreCtor>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            filters: BTreeMap::new(),
            scores: BTreeMap::new(),
        }
    }

    /// The built-in plugins.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        let filters: [(&'static str, FilterCtor); 6] = [
            ("model", || Box::new(ModelServed)),
            ("up", || Box::new(HubUp)),
            ("residency", || Box::new(Residency)),
            ("capacity", || Box::new(Capacity)),
            ("slo", || Box::new(Slo)),
            ("power", || Box::new(PowerCap)),
        ];
        for (name, ctor) in filters {
            // Names are distinct by construction.
            let _ = r.register_filter(name, ctor);
        }
        let scores: [(&'static str, ScoreCtor); 5] = [
            ("energy-cost", || Box::new(EnergyCost)),
            ("carbon", || Box::new(Carbon)),
            ("latency", || Box::new(Latency)),
            ("response-time", || Box::new(ResponseTime)),
            ("load", || Box::new(LoadBalance)),
        ];
        for (name, ctor) in scores {
            let _ = r.register_score(name, ctor);
        }
        r
    }

    /// Adds a filter plugin under `name`.
    pub fn register_filter(
        &mut self,
        name: &'static str,
        ctor: FilterCtor,
    ) -> Result<(), PolicyError> {
        if self.filters.contains_key(name) || self.scores.contains_key(name) {
            return Err(PolicyError::AlreadyRegistered(name.to_owned()));
        }
        self.filters.insert(name, ctor);
        Ok(())
    }

    /// Adds a score plugin under `name`.
    pub fn register_score(
        &mut self,
        name: &'static str,
        ctor: ScoreCtor,
    ) -> Result<(), PolicyError> {
        if self.filters.contains_key(name) || self.scores.contains_key(name) {
            return Err(PolicyError::AlreadyRegistered(name.to_owned()));
        }
        self.scores.insert(name, ctor);
        Ok(())
    }

    /// Builds a policy from its specification.
    pub fn build(&self, spec: &PolicySpec) -> Result<Policy, PolicyError> {
        let mut seen = Vec::new();
        let mut dup = |name: &str| {
            if seen.contains(&name.to_owned()) {
                Err(PolicyError::Duplicate {
                    policy: spec.name.clone(),
                    name: name.to_owned(),
                })
            } else {
                seen.push(name.to_owned());
                Ok(())
            }
        };
        let mut filters = Vec::new();
        for name in &spec.filters {
            dup(name)?;
            let ctor =
                self.filters
                    .get(name.as_str())
                    .ok_or_else(|| PolicyError::UnknownPlugin {
                        policy: spec.name.clone(),
                        kind: "filter",
                        name: name.clone(),
                        known: self.filters.keys().copied().collect::<Vec<_>>().join(", "),
                    })?;
            filters.push(ctor());
        }
        let mut scores = Vec::new();
        for (name, weight) in &spec.scores {
            dup(name)?;
            let ctor =
                self.scores
                    .get(name.as_str())
                    .ok_or_else(|| PolicyError::UnknownPlugin {
                        policy: spec.name.clone(),
                        kind: "score",
                        name: name.clone(),
                        known: self.scores.keys().copied().collect::<Vec<_>>().join(", "),
                    })?;
            if !(weight.is_finite() && *weight >= 0.0) {
                return Err(PolicyError::Weights {
                    policy: spec.name.clone(),
                    why: format!("weight of \"{name}\" must be >= 0, got {weight}"),
                });
            }
            scores.push((ctor(), *weight));
        }
        if scores.is_empty() {
            return Err(PolicyError::Weights {
                policy: spec.name.clone(),
                why: "a policy needs at least one score plugin".into(),
            });
        }
        Ok(Policy {
            name: spec.name.clone(),
            filters,
            scores,
            objective: spec.objective,
            plan: None,
        })
    }
}

/// A policy ready to decide.
#[derive(Debug)]
pub struct Policy {
    /// Its name.
    pub name: String,
    pub(crate) filters: Vec<Box<dyn FilterPlugin>>,
    pub(crate) scores: Vec<(Box<dyn ScorePlugin>, f64)>,
    pub(crate) objective: Objective,
    pub(crate) plan: Option<Arc<Plan>>,
}

impl Policy {
    /// A built-in policy by name. The `plan` policy needs [`Policy::with_plan`].
    pub fn named(name: &str) -> Result<Policy, PolicyError> {
        let spec = builtin_spec(name).ok_or_else(|| PolicyError::UnknownPolicy(name.to_owned()))?;
        Registry::builtin().build(&spec)
    }

    /// The `plan` policy following `plan`.
    pub fn with_plan(plan: Arc<Plan>) -> Result<Policy, PolicyError> {
        let mut p = Policy::named("plan")?;
        p.plan = Some(plan);
        Ok(p)
    }

    /// Builds the named policy for scenario `s`: one of the scenario's own `[[policy]]` tables,
    /// or a built-in (`plan` solves the scenario's LP first).
    pub fn for_scenario(name: &str, s: &Scenario) -> Result<Policy, PolicyError> {
        if let Some(def) = s.policies.iter().find(|p| p.name == name) {
            let spec = PolicySpec {
                name: def.name.clone(),
                filters: def.filters.clone(),
                scores: def.scores.clone(),
                objective: if def.carbon_objective {
                    Objective::Carbon
                } else {
                    Objective::Cost
                },
            };
            return Registry::builtin().build(&spec);
        }
        if name == "plan" {
            let plan = crate::plan::plan(s).map_err(|_| PolicyError::NoPlan)?;
            return Policy::with_plan(Arc::new(plan));
        }
        Policy::named(name)
    }

    /// Filter plugin names.
    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filters.iter().map(|f| f.name()).collect()
    }

    /// Score plugin names and weights.
    pub fn score_names(&self) -> Vec<(&'static str, f64)> {
        self.scores.iter().map(|(s, w)| (s.name(), *w)).collect()
    }
}

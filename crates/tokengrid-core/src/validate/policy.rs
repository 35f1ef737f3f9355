//! Policies a scenario defines for itself.

use super::{At, Validator};
use crate::diag::KeyPath;
use crate::policy::{BUILTIN_POLICIES, HARD_FILTERS, PolicyDef};
use crate::raw::*;

impl Validator {
    pub(super) fn policies(&mut self, raw: &[RawPolicy]) -> Vec<PolicyDef> {
        let names: Vec<&str> = raw.iter().map(|p| p.name.as_str()).collect();
        self.duplicates("policy", &names, |n| format!("policy \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, p)| self.policy(i, p))
            .collect()
    }

    fn policy(&mut self, i: usize, p: &RawPolicy) -> PolicyDef {
        let ctx = format!("policy \"{}\"", p.name);
        let at = At::new(KeyPath::root().key("policy").index(i), &ctx);
        if BUILTIN_POLICIES.contains(&p.name.as_str()) {
            self.problem(
                &at,
                at.table.key("name"),
                format!("name \"{}\" is a built-in policy", p.name),
                Some("give the scenario's policy a name of its own".into()),
            );
        }
        if p.scores.is_empty() {
            self.problem(
                &at,
                at.table.key("scores"),
                "scores is empty".into(),
                Some("give at least one score plugin and its weight, e.g. scores = { energy-cost = 1.0 }".into()),
            );
        }
        let inner = At::new(at.table.key("scores"), &ctx);
        for (name, w) in &p.scores {
            self.check(&inner, name, *w, |v| v >= 0.0, ">= 0", "a weight");
        }
        let mut filters: Vec<String> = HARD_FILTERS.iter().map(|f| (*f).to_owned()).collect();
        for (j, f) in p.filters.iter().enumerate() {
            if filters.contains(f) {
                if !HARD_FILTERS.contains(&f.as_str()) {
                    self.problem(
                        &at,
                        at.table.key("filters").index(j),
                        format!("filters lists \"{f}\" twice"),
                        None,
                    );
                }
                continue;
            }
            filters.push(f.clone());
        }
        let carbon_objective = match p.objective.as_deref() {
            None | Some("cost") => false,
            Some("carbon") => true,
            Some(other) => {
                self.problem(
                    &at,
                    at.table.key("objective"),
                    format!("objective = \"{other}\" is not an objective"),
                    Some("use \"cost\" or \"carbon\"".into()),
                );
                false
            }
        };
        PolicyDef {
            name: p.name.clone(),
            filters,
            scores: p.scores.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            carbon_objective,
        }
    }
}

//! Rules across entities that need the resolved scenario: every region can be served, every
//! training class fits somewhere.

use super::{At, Validator};
use crate::diag::KeyPath;
use crate::scenario::*;

impl Validator {
    pub(super) fn feasibility(&mut self, s: &Scenario) {
        for (ri, r) in s.regions.iter().enumerate() {
            let ctx = format!("region \"{}\"", r.name);
            let at = At::new(KeyPath::root().key("region").index(ri), &ctx);
            let mut classes: Vec<(ClassId, KeyPath)> = r
                .mix
                .iter()
                .map(|(c, _)| (*c, at.table.key("mix").key(&s.class(*c).name)))
                .collect();
            if let Some(t) = &r.trace {
                classes.push((t.class, at.table.key("trace").key("class")));
            }
            for (c, key) in classes {
                let class = s.class(c);
                let Some(model) = class.model() else { continue };
                let feasible = (0..s.hubs.len()).any(|h| {
                    let h = HubId(h as u32);
                    s.hub(h).serves(model) && r.may_use(h) && s.replicas_at(h, model) > 0
                });
                if !feasible {
                    let model_name = &s.model(model).name;
                    let servers: Vec<&str> = s
                        .hubs
                        .iter()
                        .filter(|h| h.serves(model))
                        .map(|h| h.name.as_str())
                        .collect();
                    let help = if servers.is_empty() {
                        format!("add \"{model_name}\" to the models of a hub")
                    } else {
                        format!(
                            "hubs serving \"{model_name}\": {}; allow one of them in residency",
                            servers.join(", ")
                        )
                    };
                    self.problem(
                        &at,
                        key,
                        format!(
                            "no hub can serve class \"{}\" (model \"{model_name}\") for this region",
                            class.name
                        ),
                        Some(help),
                    );
                }
            }
        }
        for (ci, c) in s.classes.iter().enumerate() {
            let ClassKind::Training(t) = &c.kind else {
                continue;
            };
            let free_at = |hi: usize| -> u32 {
                s.hubs[hi]
                    .accelerators
                    .iter()
                    .filter(|(a, _)| t.accelerator.is_none_or(|want| want == *a))
                    .map(|(a, _)| s.training_accelerators_at(HubId(hi as u32), *a))
                    .sum()
            };
            let biggest = (0..s.hubs.len()).map(free_at).max().unwrap_or(0);
            let total: u32 = (0..s.hubs.len()).map(free_at).sum();
            let room = if t.splittable { total } else { biggest };
            if room < t.accelerators {
                let ctx = format!("class \"{}\"", c.name);
                let at = At::new(KeyPath::root().key("class").index(ci), &ctx);
                self.problem(
                    &at,
                    at.table.key("accelerators"),
                    format!(
                        "accelerators = {} but the {} has only {room} not held by serving replicas",
                        t.accelerators,
                        if t.splittable {
                            "whole scenario"
                        } else {
                            "largest hub"
                        }
                    ),
                    Some(if t.splittable {
                        "lower accelerators or add hubs".into()
                    } else {
                        "lower accelerators, add capacity, or set splittable = true".into()
                    }),
                );
            }
        }
    }
}

//! Workload classes: inference, batch and training, and their token-length distributions.

use std::time::Duration;

use super::{At, Names, Validator, suggest};
use crate::diag::KeyPath;
use crate::raw::*;
use crate::scenario::*;

impl Validator {
    fn dist(&mut self, at: &At<'_>, key: &str, d: &RawDist) -> Option<TokenDist> {
        let inner = At::new(at.table.key(key), at.context);
        let allowed: &[&str] = match d.dist.as_str() {
            "fixed" => &["value"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "sigma"],
            other => {
                self.problem(
                    at,
                    inner.table.key("dist"),
                    format!("{key}.dist = \"{other}\" is not a distribution"),
                    Some(suggest(
                        other,
                        &["fixed", "exponential", "lognormal"],
                        "distributions",
                    )),
                );
                return None;
            }
        };
        let given = [
            ("value", d.value),
            ("mean", d.mean),
            ("median", d.median),
            ("sigma", d.sigma),
        ];
        let mut good = true;
        for (name, v) in given {
            match (allowed.contains(&name), v) {
                (true, None) => {
                    self.problem(
                        at,
                        inner.table.clone(),
                        format!("{key} with dist = \"{}\" needs `{name}`", d.dist),
                        Some(format!(
                            "a {} distribution takes: {}",
                            d.dist,
                            allowed.join(", ")
                        )),
                    );
                    good = false;
                }
                (false, Some(_)) => {
                    self.problem(
                        at,
                        inner.table.key(name),
                        format!("{key}.{name} does not apply to dist = \"{}\"", d.dist),
                        Some(format!(
                            "a {} distribution takes: {}",
                            d.dist,
                            allowed.join(", ")
                        )),
                    );
                    good = false;
                }
                (true, Some(x)) => {
                    let ok = if name == "sigma" {
                        self.check(&inner, name, x, |v| v >= 0.0, ">= 0", "")
                    } else {
                        self.positive(&inner, name, x, "a token count")
                    };
                    good &= ok;
                }
                (false, None) => {}
            }
        }
        if !good {
            return None;
        }
        Some(match d.dist.as_str() {
            "fixed" => TokenDist::Fixed {
                value: d.value.unwrap_or(0.0),
            },
            "exponential" => TokenDist::Exponential {
                mean: d.mean.unwrap_or(0.0),
            },
            _ => TokenDist::Lognormal {
                median: d.median.unwrap_or(0.0),
                sigma: d.sigma.unwrap_or(0.0),
            },
        })
    }

    pub(super) fn classes(&mut self, raw: &[RawClass], names: &Names<'_>) -> Vec<Class> {
        self.duplicates("class", &names.classes, |n| format!("class \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, c)| {
                let ctx = format!("class \"{}\"", c.name);
                let at = At::new(KeyPath::root().key("class").index(i), &ctx);
                let kind = self.class_kind(&at, c, names);
                Class {
                    name: c.name.clone(),
                    kind,
                }
            })
            .collect()
    }

    fn class_kind(&mut self, at: &At<'_>, c: &RawClass, names: &Names<'_>) -> ClassKind {
        let Some((required, optional)) = kind_keys(&c.kind) else {
            self.problem(
                at,
                at.table.key("kind"),
                format!("kind = \"{}\" is not a class kind", c.kind),
                Some(suggest(
                    &c.kind,
                    &["inference", "batch", "training"],
                    "kinds",
                )),
            );
            return ClassKind::Inference(placeholder_inference());
        };
        self.class_keys(at, c, required, optional);
        match c.kind.as_str() {
            "inference" => {
                let (model, prompt_tokens, output_tokens) = self.requests(at, c, names);
                for (key, slo) in [("ttft_slo_ms", c.ttft_slo_ms), ("e2e_slo_ms", c.e2e_slo_ms)] {
                    if let Some(x) = slo {
                        self.positive(at, key, x, "");
                    }
                }
                ClassKind::Inference(Inference {
                    model,
                    prompt_tokens,
                    output_tokens,
                    ttft_slo_ms: c.ttft_slo_ms,
                    e2e_slo_ms: c.e2e_slo_ms,
                })
            }
            "batch" => {
                let (model, prompt_tokens, output_tokens) = self.requests(at, c, names);
                ClassKind::Batch(Batch {
                    model,
                    prompt_tokens,
                    output_tokens,
                    deadline: self.deadline(at, c),
                })
            }
            _ => ClassKind::Training(self.training(at, c, names)),
        }
    }

    /// Reports keys given that the class's kind does not take, and required keys missing.
    fn class_keys(&mut self, at: &At<'_>, c: &RawClass, required: &[&str], optional: &[&str]) {
        let present: [(&str, bool); 13] = [
            ("model", c.model.is_some()),
            ("prompt_tokens", c.prompt_tokens.is_some()),
            ("output_tokens", c.output_tokens.is_some()),
            ("ttft_slo_ms", c.ttft_slo_ms.is_some()),
            ("e2e_slo_ms", c.e2e_slo_ms.is_some()),
            ("deadline", c.deadline.is_some()),
            ("accelerators", c.accelerators.is_some()),
            ("accelerator", c.accelerator.is_some()),
            ("compute_hours", c.compute_hours.is_some()),
            ("gradient_gb_per_step", c.gradient_gb_per_step.is_some()),
            ("step_compute_s", c.step_compute_s.is_some()),
            ("splittable", c.splittable.is_some()),
            ("jobs_per_day", c.jobs_per_day.is_some()),
        ];
        for (key, given) in present {
            let allowed = required.contains(&key) || optional.contains(&key);
            if given && !allowed {
                let takes: Vec<&str> = required.iter().chain(optional).copied().collect();
                self.problem(
                    at,
                    at.table.key(key),
                    format!("{key} does not apply to kind = \"{}\"", c.kind),
                    Some(format!("a {} class takes: {}", c.kind, takes.join(", "))),
                );
            }
            if !given && required.contains(&key) {
                self.problem(
                    at,
                    at.table.clone(),
                    format!("missing `{key}`, which a {} class needs", c.kind),
                    None,
                );
            }
        }
    }

    /// The model and token lengths of an inference or batch class (placeholders where invalid:
    /// the problem is already reported).
    fn requests(
        &mut self,
        at: &At<'_>,
        c: &RawClass,
        names: &Names<'_>,
    ) -> (ModelId, TokenDist, TokenDist) {
        let model = c.model.as_ref().and_then(|m| {
            self.reference(
                at,
                at.table.key("model"),
                "model",
                m,
                &names.models,
                "model",
            )
        });
        let fallback = TokenDist::Fixed { value: 1.0 };
        let mut dist = |key: &str, d: &Option<RawDist>| {
            d.as_ref()
                .and_then(|d| self.dist(at, key, d))
                .unwrap_or(fallback)
        };
        let prompt = dist("prompt_tokens", &c.prompt_tokens);
        let output = dist("output_tokens", &c.output_tokens);
        (ModelId(model.unwrap_or(0)), prompt, output)
    }

    fn deadline(&mut self, at: &At<'_>, c: &RawClass) -> Duration {
        c.deadline
            .as_ref()
            .and_then(|d| self.duration(at, at.table.key("deadline"), "deadline", d))
            .unwrap_or_default()
    }

    fn training(&mut self, at: &At<'_>, c: &RawClass, names: &Names<'_>) -> Training {
        if let Some(n) = c.accelerators {
            self.positive_int(at, "accelerators", n, "");
        }
        for (key, v) in [
            ("compute_hours", c.compute_hours),
            ("gradient_gb_per_step", c.gradient_gb_per_step),
            ("step_compute_s", c.step_compute_s),
            ("jobs_per_day", c.jobs_per_day),
        ] {
            if let Some(x) = v {
                self.positive(at, key, x, "");
            }
        }
        let accelerator = c.accelerator.as_ref().and_then(|a| {
            let key = at.table.key("accelerator");
            self.reference(
                at,
                key,
                "accelerator",
                a,
                &names.accelerators,
                "accelerator",
            )
        });
        Training {
            accelerators: c.accelerators.unwrap_or(1),
            accelerator: accelerator.map(AcceleratorId),
            compute_hours: c.compute_hours.unwrap_or(0.0),
            gradient_gb_per_step: c.gradient_gb_per_step.unwrap_or(0.0),
            step_compute_s: c.step_compute_s.unwrap_or(0.0),
            deadline: self.deadline(at, c),
            splittable: c.splittable.unwrap_or(false),
            jobs_per_day: c.jobs_per_day.unwrap_or(0.0),
        }
    }
}

/// The keys a class of `kind` requires and may have, or `None` for an unknown kind.
fn kind_keys(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        "inference" => (
            &["model", "prompt_tokens", "output_tokens"],
            &["ttft_slo_ms", "e2e_slo_ms"],
        ),
        "batch" => (
            &["model", "prompt_tokens", "output_tokens", "deadline"],
            &[],
        ),
        "training" => (
            &[
                "accelerators",
                "compute_hours",
                "gradient_gb_per_step",
                "step_compute_s",
                "deadline",
                "jobs_per_day",
            ],
            &["accelerator", "splittable"],
        ),
        _ => return None,
    })
}

fn placeholder_inference() -> Inference {
    Inference {
        model: ModelId(0),
        prompt_tokens: TokenDist::Fixed { value: 1.0 },
        output_tokens: TokenDist::Fixed { value: 1.0 },
        ttft_slo_ms: None,
        e2e_slo_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::kind_keys;

    /// Every kind the format defines (DESIGN.md: inference, batch, training) has its key lists,
    /// a key is never both required and optional, and anything else is no kind.
    #[test]
    fn kind_keys_cover_the_three_kinds_without_overlap() {
        for kind in ["inference", "batch", "training"] {
            let (required, optional) = kind_keys(kind).expect("a known kind");
            assert!(!required.is_empty(), "{kind} requires something");
            assert!(
                required.iter().all(|k| !optional.contains(k)),
                "{kind} overlaps"
            );
        }
        assert_eq!(kind_keys("Inference"), None);
        assert_eq!(kind_keys(""), None);
        // Deadlines belong to deferrable work only; SLOs to interactive work only.
        assert!(
            !kind_keys("inference")
                .expect("kind")
                .0
                .contains(&"deadline")
        );
        assert!(kind_keys("batch").expect("kind").0.contains(&"deadline"));
        assert!(
            !kind_keys("training")
                .expect("kind")
                .1
                .contains(&"ttft_slo_ms")
        );
    }
}

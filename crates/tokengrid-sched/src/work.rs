//! Units of work a policy places.

use tokengrid_core::{AcceleratorId, ClassId, HubId, ModelId};

use crate::view::Origin;

/// A set of hubs as a bitset (data residency).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HubSet(Vec<u64>);

impl HubSet {
    /// The set of `hubs`.
    pub fn of(hubs: &[HubId]) -> Self {
        let mut s = HubSet::default();
        for h in hubs {
            s.insert(*h);
        }
        s
    }
    /// Adds a hub.
    pub fn insert(&mut self, h: HubId) {
        let (w, b) = (h.index() / 64, h.index() % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }
    /// Whether the set holds `h`.
    #[inline]
    pub fn contains(&self, h: HubId) -> bool {
        let (w, b) = (h.index() / 64, h.index() % 64);
        self.0.get(w).is_some_and(|x| x & (1 << b) != 0)
    }
}

/// An interactive inference request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InferenceRequest<'a> {
    /// Model asked for.
    pub model: ModelId,
    /// Class, when known (the plan policy follows per-class shares).
    pub class: Option<ClassId>,
    /// Where it comes from.
    pub origin: Origin,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Output tokens (expected).
    pub output_tokens: u32,
    /// Time-to-first-token SLO, ms.
    pub ttft_slo_ms: Option<f64>,
    /// End-to-end SLO, ms.
    pub e2e_slo_ms: Option<f64>,
    /// Hubs the data may go to; `None` is any.
    pub residency: Option<&'a HubSet>,
    /// A uniform random number in [0, 1) drawn by the caller (the plan policy picks by shares
    /// with it, so decisions stay deterministic).
    pub draw: f64,
}

/// A deferrable batch job: one long request with a deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchJob<'a> {
    /// Model.
    pub model: ModelId,
    /// Where it comes from.
    pub origin: Origin,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Latest finish, s since the scenario start.
    pub deadline_s: f64,
    /// Hubs the data may go to.
    pub residency: Option<&'a HubSet>,
}

/// A training job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingJob {
    /// Accelerators it needs.
    pub accelerators: u32,
    /// Accelerator type; `None` is any.
    pub accelerator: Option<AcceleratorId>,
    /// Hours on `accelerators` at single-data-center efficiency.
    pub compute_hours: f64,
    /// Gradient bytes per step, GB.
    pub gradient_gb_per_step: f64,
    /// Compute time of a step, s.
    pub step_compute_s: f64,
    /// Latest finish, s since the scenario start.
    pub deadline_s: f64,
    /// Whether it may be split across two hubs.
    pub splittable: bool,
    /// Busy power of one of its accelerators, W (for cost estimates).
    pub accelerator_w: f64,
}

/// A unit of work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Work<'a> {
    /// Interactive inference.
    Inference(InferenceRequest<'a>),
    /// Deferrable batch inference.
    Batch(BatchJob<'a>),
    /// Training.
    Training(TrainingJob),
}

//! # tokengrid-sched
//!
//! The heart of tokengrid: for each unit of work (an inference request, a batch job, a training
//! job), pick the hub (and for deferrable work, the start time) that turns electricity into tokens
//! most cheaply and cleanly while keeping its latency promise.
//!
//! Modelled on the Kubernetes scheduling framework:
//!
//! 1. **Filter** plugins drop infeasible hubs with a stable [`Reason`]: model served, hub up,
//!    data residency, capacity (queue bound, or free accelerators for the whole run), SLO
//!    feasibility (RTT + expected wait + service time within the TTFT and end-to-end SLOs; the
//!    deadline for deferrable work), power cap. Model, up, residency and capacity are hard
//!    filters in every policy. The SLO filter keeps a margin ([`plugin::SLO_HEADROOM`]); when
//!    no hub meets the SLO, interactive work goes to the hub expected to answer first instead of
//!    being refused.
//! 2. **Score** plugins rank the rest (marginal energy cost, carbon, latency, load), each
//!    normalised to 0..100 and weighted; ties go to the lowest hub id.
//! 3. **Reserve**: the decision names the hub, the start time (time shifting toward cheap or
//!    green hours for batch and training work) and, for a training job split across two hubs, the
//!    network reservation. The scheduler never mutates state: it returns a [`Decision`] and
//!    the simulator or the service applies it to its own world.
//!
//! Policies see hubs only through [`ClusterView`], which the simulator and the live dispatcher
//! each implement. Every decision can explain itself ([`Scheduler::explain`]).
//!
//! [`plan`] solves the hourly LP (pure-Rust simplex by default) that the `plan` policy follows.

#![warn(missing_docs)]

mod decision;
pub mod estimate;
pub mod facts;
pub mod plan;
pub mod plugin;
mod registry;
mod scheduler;
mod spec;
pub mod static_view;
mod training;
pub mod view;
pub mod work;

pub use decision::{Decision, Explanation, HubLine, Placement, Split};
pub use estimate::Objective;
pub use plan::{Plan, plan};
pub use plugin::{Candidate, FilterPlugin, Reason, ScorePlugin};
pub use registry::{Policy, PolicyError, Registry};
pub use scheduler::Scheduler;
pub use spec::{DEFAULT_POLICY, POLICY_NAMES, PolicySpec, builtin_spec};
pub use static_view::StaticView;
pub use view::{ClusterView, Forecast, HubSnapshot, LinkSnapshot, ModelSnapshot, Origin};
pub use work::{BatchJob, HubSet, InferenceRequest, TrainingJob, Work};

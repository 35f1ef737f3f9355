//! # tokengrid-sim
//!
//! A deterministic discrete-event simulator of a network of hubs: what a policy costs in yuan,
//! kWh, CO2, SLO misses and utilization.
//!
//! - [`engine`]: integer nanosecond time, `(time, sequence)` event order; it knows nothing of the
//!   domain.
//! - [`workload`]: Poisson arrivals per region and class following the diurnal profile, trace
//!   replay (Azure LLM inference CSV, Mooncake JSONL), training jobs; one seeded random stream
//!   per source.
//! - [`world`]: pools of replicas per (hub, model) with continuous batching (the engine schedules
//!   events at joins and completions, never at every decode step), queues, training bookings,
//!   energy per hub per time step. The world is the [`tokengrid_sched::ClusterView`] the policy
//!   decides on: the same policy code as the live dispatcher.
//! - [`sim`]: the run; [`report`]: the DESIGN.md JSON and the time series.
//!
//! The same scenario, policy and seed give a byte-identical report (wall-clock fields aside).
//! A run admits arrivals until the end of its duration, then drains: admitted work runs to
//! completion, so nothing is in flight when the report is written.

#![warn(missing_docs)]

pub mod engine;
mod quad;
pub mod replicate;
pub mod report;
pub mod sim;
mod stats;
pub mod workload;
pub mod world;

pub use replicate::{Estimate, Summary};
pub use report::{Report, SCHEMA_VERSION};
pub use sim::{Options, Progress, SharedWindow, SimError, run};

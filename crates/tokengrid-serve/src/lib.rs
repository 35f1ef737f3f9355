//! # tokengrid-serve
//!
//! The live dispatcher: the same policies the simulator evaluates, deciding for real hubs.
//!
//! - [`store`]: the durable ledger (SQLite by default, PostgreSQL for several replicas);
//! - [`view`]: the registry of hubs and their telemetry as the scheduler's `ClusterView`;
//! - [`api`]: the HTTP API (hub registration and telemetry, dispatch decisions with their
//!   explanation, jobs acknowledged only once written to the ledger, metrics, health, a status
//!   page). `app(state)` builds the router without a socket.
//!
//! - [`jobs`]: the background loop that takes queued jobs from the ledger (each job by exactly one
//!   replica) and schedules them with the policy, possibly deferred to a cheaper hour.
//!
//! Not yet built (issue 8 continues): the OpenAI-compatible proxy with streaming and failover,
//! re-dispatch of a silent hub's jobs, handing due jobs to hubs.

#![warn(missing_docs)]

pub mod api;
pub mod jobs;
pub mod store;
pub mod view;

pub use api::{AppState, app};

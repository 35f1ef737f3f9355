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
//! Not yet built (issue 8 continues): the OpenAI-compatible proxy with streaming and failover,
//! re-dispatch of a silent hub's jobs, handing due jobs to hubs.

#![warn(missing_docs)]

pub mod api;
pub mod store;
pub mod view;

pub use api::{AppState, app};

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
//! - [`proxy`]: the OpenAI-compatible front door (`/v1/chat/completions`, `/v1/completions`):
//!   decided by the policy, forwarded to the chosen hub with failover to the next-ranked one
//!   before the first byte, streamed back untouched, accounted in the ledger from the response's
//!   usage;
//! - [`jobs`]: the background loop that takes queued jobs from the ledger (each job by exactly one
//!   replica), schedules them with the policy (possibly deferred to a cheaper hour) and puts a
//!   silent hub's unfinished jobs back in the queue; hubs take their due jobs with
//!   `POST /v1/hubs/{name}/jobs/take`;
//! - [`metrics`]: counters and latency histograms for `GET /metrics`.

#![warn(missing_docs)]

pub mod api;
pub mod jobs;
pub mod metrics;
pub mod proxy;
pub mod store;
pub mod view;

pub use api::{AppState, Config, app};

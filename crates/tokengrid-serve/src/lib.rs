//! # tokengrid-serve
//!
//! The live dispatcher: the same policies the simulator evaluates, deciding for real hubs.
//!
//! Its rooms, each depending only on those above it in this list:
//!
//! - [`wire`]: the request and response bodies of the HTTP API (a contract), job states;
//! - [`store`]: the durable ledger (SQLite by default, PostgreSQL for several replicas);
//! - `error`, `clock`, `auth`: the API's error table, wall-clock time, bearer tokens;
//! - [`secrets`]: hub API keys sealed in the ledger, never printed; `clients`: client API keys,
//!   their grants and rate buckets;
//! - [`view`]: the registry of hubs and their telemetry as the scheduler's `ClusterView`;
//! - [`metrics`]: counters and latency histograms for `GET /metrics`;
//! - `upstream`: the pooled HTTP client that talks to hubs;
//! - `state`: one replica's shared state ([`AppState`]) and its [`Config`];
//! - [`proxy`]: the OpenAI-compatible front door (`/v1/chat/completions`, `/v1/completions`):
//!   decided by the policy, forwarded to the chosen hub with failover to the next-ranked one
//!   before the first byte, streamed back untouched, accounted in the ledger from the response's
//!   usage;
//! - [`jobs`]: scheduling queued jobs (each by exactly one replica), possibly deferred to a
//!   cheaper hour, and putting a silent hub's unfinished jobs back in the queue;
//! - `routes`: the HTTP routes, one module per group; [`app`] builds the router without a
//!   socket, so tests call it directly;
//! - [`config_file`]: hubs declared in a TOML file (`serve --config`);
//! - [`server`]: the HTTP server's connection limits and timeouts;
//! - [`maintenance`]: the background loop and [`run`], which serves until shutdown.

#![warn(missing_docs)]

mod auth;
mod clients;
mod clock;
pub mod config_file;
mod cooling;
mod error;
pub mod jobs;
pub mod maintenance;
mod memory;
pub mod metrics;
pub mod proxy;
/// Secrets kept out of logs.
pub mod redact;
mod routes;
pub mod secrets;
mod served;
pub mod server;
mod state;
pub mod store;
mod upstream;
pub mod view;
pub mod wire;

pub use clock::Clock;
pub use error::{ApiError, BODY_LIMIT, OpenAiError, PROXY_BODY_LIMIT, RETRY_AFTER_S};
pub use maintenance::run;
pub use routes::app;
pub use served::WriterStats;
pub use state::{AppState, Config, DEFAULT_ORIGIN};
pub use wire::JobState;

//! # tokengrid-net
//!
//! Whether moving work west pays depends on the network. This crate models it from physics and
//! published transport models, as pure functions of scenario data:
//!
//! - [`geo`]: great-circle distance, fiber route length, propagation round-trip time;
//! - [`topology`]: the site graph (explicit links and links derived from geography) and
//!   latency-shortest paths;
//! - [`goodput`]: throughput under random loss for TCP (Mathis; Padhye), RDMA go-back-N and
//!   selective repeat;
//! - [`training`]: data-parallel ring all-reduce across hubs and the efficiency of a job relative
//!   to the same job inside one data center;
//! - [`reserve`]: bandwidth reservations on deterministic links, admitted only when every link of
//!   a path has the capacity for the whole window, with explainable refusals.
//!
//! The two claims of the source article are reproduced as documented cases in [`claims`].

#![warn(missing_docs)]

pub mod claims;
pub mod geo;
pub mod goodput;
pub mod reserve;
pub mod topology;
pub mod training;

pub use goodput::Transport;
pub use topology::{NetLink, Path, Topology};

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
//!
//! ```
//! use tokengrid_net::goodput::{PathParams, Transport, goodput_gbps};
//! // One TCP flow across 1,900 km (19 ms) at 0.01% loss: Mathis caps it near 75 Mb/s,
//! // while RDMA with selective repeat keeps 99.99% of a 400 Gb/s link.
//! let path = PathParams::new(400.0, 19.0, 1e-4);
//! assert!(goodput_gbps(Transport::Tcp, &path) < 0.1);
//! assert!(goodput_gbps(Transport::RdmaSr, &path) > 399.9);
//! ```

#![warn(missing_docs)]

pub mod answers;
pub mod claims;
pub mod geo;
pub mod goodput;
pub mod reserve;
pub mod topology;
pub mod training;

pub use goodput::Transport;
pub use topology::{NetLink, Path, Topology};

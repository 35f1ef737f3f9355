//! # tokengrid-serve
//!
//! The live dispatcher (work in progress): the durable ledger ([`store`]) for now; the HTTP API
//! follows.

#![warn(missing_docs)]

pub mod store;

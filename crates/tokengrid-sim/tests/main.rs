//! Integration tests of tokengrid-sim (debug-fast); the long statistical checks are in
//! `release.rs`, run with `cargo test --release -p tokengrid-sim --test release`.

mod common;
mod conservation;
mod determinism;
mod engine;
mod faults;
mod fluid;
mod ownership;
mod traces;

//! Data-parallel training split across hubs: ring all-reduce of the gradients every step.
//!
//! A ring all-reduce over `N` participants moves `2 (N - 1) / N` of the gradient bytes through
//! every participant's link and takes `2 (N - 1)` latency-bound hops (Patarasuk and Yuan, "Bandwidth
//! optimal all-reduce algorithms for clusters of workstations", JPDC 2009):
//! `comm = 2 (N - 1) / N x bytes / goodput + 2 (N - 1) x one-way latency`.
//! Gradients are reduced bucket by bucket during the backward pass, so communication hides behind
//! up to `overlap x compute` seconds; only the rest is exposed:
//! `step = compute + max(0, comm - overlap x compute)`.
//! Efficiency is the step time of the same job inside one data center over its step time across
//! hubs.

use serde::Serialize;

use crate::goodput::{PathParams, Transport, goodput_gbps};

/// Fraction of a step's compute time that gradient communication can hide behind.
///
/// assumption: the backward pass is about two thirds of a step's FLOPs (forward : backward = 1 : 2)
/// and bucketed all-reduce runs during it; the last buckets cannot overlap, so half the step is
/// taken as the window.
pub const DEFAULT_OVERLAP: f64 = 0.5;

/// Bandwidth between two participants inside one data center, Gbit/s.
///
/// assumption: a participant is at least one 8-accelerator node with a 400 Gb/s NIC per
/// accelerator (8 x 400 Gb/s), the rail-optimized fabric of current GPU clusters.
pub const SINGLE_DC_GBPS: f64 = 3200.0;

/// Round-trip time inside one data center, ms.
///
/// assumption: about 10 us across a two- or three-tier RoCE fabric.
pub const SINGLE_DC_RTT_MS: f64 = 0.01;

/// A data-parallel training job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingJob {
    /// Gradient bytes all-reduced per step, GB (1e9 bytes).
    pub gradient_gb: f64,
    /// Compute time of one step, s.
    pub step_compute_s: f64,
    /// Participants in the ring (data-parallel groups, e.g. one per hub).
    pub participants: u32,
    /// Fraction of compute time communication can hide behind.
    pub overlap: f64,
    /// Bandwidth between participants in the single-data-center reference, Gbit/s
    /// (default [`SINGLE_DC_GBPS`]).
    pub single_dc_gbps: f64,
}

/// Step times and efficiency of a job on a path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainingResult {
    /// Step time across hubs, s.
    pub step_s: f64,
    /// Step time inside one data center, s.
    pub single_dc_step_s: f64,
    /// `single_dc_step_s / step_s`, at most 1 (a split job never beats one data center).
    pub efficiency: f64,
    /// All-reduce time across hubs, s.
    pub comm_s: f64,
    /// Of which not hidden by compute, s.
    pub exposed_s: f64,
}

/// Ring all-reduce time, s, for `bytes` over `n` participants at `goodput_gbps`, with one-way
/// latency `one_way_ms`.
pub fn ring_allreduce_s(bytes: f64, n: u32, goodput_gbps: f64, one_way_ms: f64) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n_f = f64::from(n);
    let transfer = if goodput_gbps > 0.0 {
        2.0 * (n_f - 1.0) / n_f * bytes * 8.0 / (goodput_gbps * 1e9)
    } else {
        f64::INFINITY
    };
    transfer + 2.0 * (n_f - 1.0) * one_way_ms * 1e-3
}

impl TrainingJob {
    /// Step time with gradients exchanged at `goodput_gbps` over one-way latency `one_way_ms`.
    pub fn step_s(&self, goodput_gbps: f64, one_way_ms: f64) -> (f64, f64, f64) {
        let comm = ring_allreduce_s(
            self.gradient_gb * 1e9,
            self.participants,
            goodput_gbps,
            one_way_ms,
        );
        let exposed = (comm - self.overlap.clamp(0.0, 1.0) * self.step_compute_s).max(0.0);
        (self.step_compute_s + exposed, comm, exposed)
    }

    /// The job's step inside one data center: `single_dc_gbps`, [`SINGLE_DC_RTT_MS`], no loss.
    pub fn single_dc_step_s(&self) -> f64 {
        self.step_s(self.single_dc_gbps, SINGLE_DC_RTT_MS / 2.0).0
    }

    /// Step time and efficiency of the job across a path with `transport`.
    pub fn across(&self, transport: Transport, path: &PathParams) -> TrainingResult {
        let g = goodput_gbps(transport, path);
        let (step, comm, exposed) = self.step_s(g, path.rtt_ms / 2.0);
        let single = self.single_dc_step_s();
        TrainingResult {
            step_s: step,
            single_dc_step_s: single,
            efficiency: if step.is_finite() {
                (single / step).min(1.0)
            } else {
                0.0
            },
            comm_s: comm,
            exposed_s: exposed,
        }
    }
}

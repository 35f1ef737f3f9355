//! The source article's two network claims as reproducible cases.
//!
//! ## "0.1% packet loss can cut compute efficiency by 50%"
//!
//! True for RDMA with go-back-N retransmission (RoCEv2 as shipped) when a window holds about a
//! thousand packets: at 400 Gb/s, RoCE's common 1,024-byte MTU and a 20 us round trip inside a data
//! center, `400e9 x 20e-6 / (8 x 1024) = 977` packets are in flight; at loss `p = 0.001` the link
//! delivers `(1 - p) / (1 + 976 p) = 0.51` of its bandwidth. A training step that is mostly
//! communication (8 participants all-reducing 14 GB of gradients after 0.1 s of compute, nothing
//! overlapped) then runs at 0.55 of its loss-free speed. It stops holding when the transport
//! retransmits selectively (IRN: 99.9% of the link at the same loss), when the window is small
//! (4,096-byte MTU: 244 packets, 80%), or when communication hides behind compute.
//!
//! ## "Deterministic paths reach 98% of the efficiency of one data center"
//!
//! True for the built-in `finetune` job (14 GB of gradients per step, 4 s of compute per step)
//! split between the Yangtze River Delta and Gansu hubs over their deterministic link (1,890 km of
//! fiber, 19 ms round trip, 400 Gb/s reserved, no congestion loss): the two-party ring all-reduce
//! takes `112 Gb / 400 Gb/s + 2 x 9.5 ms = 0.30 s`, which hides behind the backward pass (half of
//! the 4 s step), so the step takes as long as in one data center. It stops holding without overlap
//! (94%: 4.30 s against 4.04 s) and on the best-effort path: one TCP flow at 0.001% loss over the
//! same 19 ms gets 0.24 Gb/s, a 470 s all-reduce.

use crate::goodput::{PathParams, Transport};
use crate::training::{TrainingJob, TrainingResult};

/// The loss case: RDMA go-back-N at 400 Gb/s, MTU 1,024 B, RTT 20 us.
pub fn loss_path(loss: f64) -> PathParams {
    PathParams {
        mtu_bytes: 1024.0,
        ..PathParams::new(400.0, 0.02, loss)
    }
}

/// The loss case's communication-bound job: 14 GB of gradients, 0.1 s of compute, 8
/// participants, no overlap, on a 400 Gb/s data-center fabric.
pub const LOSS_JOB: TrainingJob = TrainingJob {
    gradient_gb: 14.0,
    step_compute_s: 0.1,
    participants: 8,
    overlap: 0.0,
    // The case is inside one data center: its reference is the same 400 Gb/s fabric, loss-free.
    single_dc_gbps: 400.0,
};

/// Efficiency of the loss case's job at `loss` relative to the same path without loss.
pub fn loss_case_efficiency(loss: f64) -> f64 {
    let lossy = LOSS_JOB.across(Transport::RdmaGbn, &loss_path(loss));
    let clean = LOSS_JOB.across(Transport::RdmaGbn, &loss_path(0.0));
    clean.step_s / lossy.step_s
}

/// The deterministic case: the `finetune` job of the built-in scenario (14 GB, 4 s, two hubs,
/// default overlap) on the Yangtze River Delta - Gansu deterministic link, 400 Gb/s reserved.
pub fn deterministic_case(rtt_ms: f64) -> TrainingResult {
    let job = TrainingJob {
        gradient_gb: 14.0,
        step_compute_s: 4.0,
        participants: 2,
        overlap: crate::training::DEFAULT_OVERLAP,
        single_dc_gbps: crate::training::SINGLE_DC_GBPS,
    };
    job.across(Transport::RdmaSr, &PathParams::new(400.0, rtt_ms, 0.0))
}

//! Ring all-reduce and cross-hub training efficiency by hand.

use tokengrid_net::goodput::{PathParams, Transport};
use tokengrid_net::training::*;

use crate::close;

#[test]
fn ring_allreduce_by_hand() {
    // 4 participants, 10 GB at 100 Gb/s, 5 ms one way:
    // 2 x 3/4 x 80e9 bits / 100e9 + 6 x 0.005 = 1.2 + 0.03 = 1.23 s
    close(ring_allreduce_s(10e9, 4, 100.0, 5.0), 1.23, 1e-12);
    assert_eq!(
        ring_allreduce_s(10e9, 1, 100.0, 5.0),
        0.0,
        "one participant exchanges nothing"
    );
}

#[test]
fn overlap_hides_communication() {
    let job = TrainingJob {
        gradient_gb: 10.0,
        step_compute_s: 2.0,
        participants: 4,
        overlap: 0.5,
        single_dc_gbps: tokengrid_net::training::SINGLE_DC_GBPS,
    };
    // comm 1.23 s, window 1.0 s -> exposed 0.23 s, step 2.23 s
    let (step, comm, exposed) = job.step_s(100.0, 5.0);
    close(comm, 1.23, 1e-12);
    close(exposed, 0.23, 1e-9);
    close(step, 2.23, 1e-9);
    // single data center: 2 x 3/4 x 80e9 / 3,200e9 + 6 x 5e-6 = 0.03753 s, hidden -> 2.0 s
    close(job.single_dc_step_s(), 2.0, 1e-12);
    let r = job.across(Transport::RdmaSr, &PathParams::new(100.0, 10.0, 0.0));
    close(r.efficiency, 2.0 / 2.23, 1e-9);
}

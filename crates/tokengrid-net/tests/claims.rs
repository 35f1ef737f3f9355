//! The source article's two claims, reproduced (see `tokengrid_net::claims` for the assumptions).

use tokengrid_core::builtin;
use tokengrid_net::Topology;
use tokengrid_net::claims::*;
use tokengrid_net::goodput::{PathParams, Transport, goodput_gbps};

use crate::close;

#[test]
fn a_tenth_of_a_percent_loss_halves_a_go_back_n_link_and_a_communication_bound_job() {
    // Window: 400e9 x 20e-6 / (8 x 1,024) = 976.56 packets;
    // efficiency (1 - 0.001) / (1 + 975.56 x 0.001) = 0.999 / 1.97556 = 0.5057.
    let g = goodput_gbps(Transport::RdmaGbn, &loss_path(0.001));
    let w = 400e9 * 20e-6 / 8192.0;
    close(g / 400.0, 0.999 / (1.0 + (w - 1.0) * 0.001), 1e-12);
    // The job: clean comm 2 x 7/8 x 112e9 / 400e9 + 14 x 10 us = 0.49014 s, step 0.59014 s;
    // lossy comm 0.49 / 0.5056 + 0.00014 = 0.96928 s, step 1.06928 s -> 0.5519.
    let e = loss_case_efficiency(0.001);
    close(
        e,
        (0.1 + 0.49 + 0.00014) / (0.1 + 0.49 / (0.999 / (1.0 + (w - 1.0) * 0.001)) + 0.00014),
        1e-9,
    );
    assert!((0.45..0.6).contains(&e), "about half: {e}");
    // Selective repeat keeps 99.9% of the link at the same loss.
    close(
        goodput_gbps(Transport::RdmaSr, &loss_path(0.001)) / 400.0,
        0.999,
        1e-12,
    );
}

#[test]
fn finetune_across_the_deterministic_link_keeps_98_percent() {
    let s = builtin::load("china-east-west").expect("valid");
    let t = Topology::new(&s);
    let (a, b) = (
        s.site("yangtze-river-delta").expect("hub"),
        s.site("gansu").expect("hub"),
    );
    let path = t
        .path_where(a, b, |(_, l)| l.deterministic)
        .expect("deterministic path");
    // 1,890 km: 2 x 1,890 / 204,190 = 18.51 ms + 0.5 ms.
    close(path.rtt_ms, 2.0 * 1890.0 / 204_190.0 * 1e3 + 0.5, 1e-12);
    let class = s.class(s.class_id("finetune").expect("class"));
    let tokengrid_core::ClassKind::Training(job) = &class.kind else {
        panic!("training class")
    };
    assert_eq!(
        (job.gradient_gb_per_step, job.step_compute_s),
        (14.0, 4.0),
        "the case's job"
    );
    let r = deterministic_case(path.rtt_ms);
    // comm = 112e9 / 400e9 + 2 x 9.505 ms = 0.29901 s, hidden behind 2 s of backward compute.
    close(r.comm_s, 0.28 + path.rtt_ms * 1e-3, 1e-9);
    assert!(r.efficiency >= 0.98, "{r:?}");
    // Without overlap: 4.299 / 4.035 -> 93.9%.
    let bare = tokengrid_net::training::TrainingJob {
        gradient_gb: 14.0,
        step_compute_s: 4.0,
        participants: 2,
        overlap: 0.0,
        single_dc_gbps: tokengrid_net::training::SINGLE_DC_GBPS,
    }
    .across(Transport::RdmaSr, &PathParams::new(400.0, path.rtt_ms, 0.0));
    close(
        bare.efficiency,
        (4.0 + 112.0 / 3200.0 + 1e-5) / (4.0 + 0.28 + path.rtt_ms * 1e-3),
        1e-9,
    );
    assert!(bare.efficiency < 0.98);
}

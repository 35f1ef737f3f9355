//! Invariants over random inputs.

use proptest::prelude::*;
use tokengrid_core::{HubId, Site};
use tokengrid_net::Topology;
use tokengrid_net::goodput::{PathParams, Transport, goodput_gbps};
use tokengrid_net::reserve::{Request, ReservationBook};
use tokengrid_net::training::TrainingJob;

use crate::line;

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Tcp),
        Just(Transport::TcpPadhye),
        Just(Transport::RdmaGbn),
        Just(Transport::RdmaSr)
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        from: u32,
        to: u32,
        gbps: u32,
        start: u32,
        len: u32,
    },
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u32..3, 0u32..3, 1u32..60, 0u32..90, 1u32..30).prop_map(|(from, to, gbps, start, len)| Op::Reserve { from, to, gbps, start, len }),
        1 => (0usize..50).prop_map(Op::Release),
    ]
}

proptest! {
    #[test]
    fn more_loss_never_raises_goodput(t in transport(), gbps in 1.0..800.0f64, rtt in 0.001..200.0f64, p in 0.0..0.2f64, more in 0.0..0.2f64) {
        let lo = goodput_gbps(t, &PathParams::new(gbps, rtt, p));
        let hi = goodput_gbps(t, &PathParams::new(gbps, rtt, p + more));
        prop_assert!(hi <= lo * (1.0 + 1e-12), "{t:?}: loss {p} -> {lo}, {} -> {hi}", p + more);
        prop_assert!(lo <= gbps && lo >= 0.0);
    }

    #[test]
    fn more_bandwidth_never_lowers_efficiency(t in transport(), gbps in 1.0..800.0f64, extra in 0.0..800.0f64, rtt in 0.001..100.0f64, p in 0.0..0.01f64,
                                             grad in 0.1..100.0f64, compute in 0.01..20.0f64, n in 2u32..64, overlap in 0.0..1.0f64) {
        let job = TrainingJob { gradient_gb: grad, step_compute_s: compute, participants: n, overlap, single_dc_gbps: 3200.0 };
        let lo = job.across(t, &PathParams::new(gbps, rtt, p)).efficiency;
        let hi = job.across(t, &PathParams::new(gbps + extra, rtt, p)).efficiency;
        // Go-back-N's window grows with bandwidth; its goodput still never falls (see goodput.rs).
        prop_assert!(hi >= lo * (1.0 - 1e-12), "{t:?}: {gbps} -> {lo}, {} -> {hi}", gbps + extra);
        prop_assert!((0.0..=1.0).contains(&lo));
    }

    #[test]
    fn reservations_never_oversubscribe(ops in prop::collection::vec(op(), 1..60)) {
        let s = line();
        let t = Topology::new(&s);
        let mut book = ReservationBook::new(&t);
        let mut admitted: Vec<u64> = Vec::new();
        for o in ops {
            match o {
                Op::Reserve { from, to, gbps, start, len } => {
                    if let Ok(r) = book.reserve(&t, &Request { from: Site::Hub(HubId(from)), to: Site::Hub(HubId(to)), gbps: f64::from(gbps), start_s: f64::from(start), end_s: f64::from(start + len) }) {
                        admitted.push(r.id);
                    }
                }
                Op::Release(i) => {
                    if let Some(&id) = admitted.get(i) {
                        book.release(id);
                    }
                }
            }
            // Brute-force timeline: windows have whole-second ends, so the middle of every second
            // sees every level the reservations take.
            for (li, link) in t.links.iter().enumerate() {
                for sec in 0..130 {
                    let at = f64::from(sec) + 0.5;
                    let total: f64 = book.active().filter(|r| r.links.contains(&li) && r.start_s <= at && at < r.end_s).map(|r| r.gbps).sum();
                    let cap = if link.deterministic { link.reservable_gbps } else { 0.0 };
                    prop_assert!(total <= cap + 1e-9, "link {li} at {at}: {total} > {cap}");
                    prop_assert!((book.reserved_at(li, at) - total).abs() < 1e-9);
                }
            }
        }
    }
}

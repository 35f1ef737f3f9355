//! Training jobs that no single hub can take: split across the best pair of hubs.
//!
//! The job runs data-parallel across two hubs; its efficiency comes from the network model's
//! ring all-reduce over the link between them (tokengrid-net), on a reserved deterministic path
//! where the link has one (no congestion loss) and best effort otherwise.

use tokengrid_core::HubId;

use crate::decision::{Placement, Split};
use crate::estimate::{Objective, window_cost};
use crate::view::ClusterView;
use crate::work::TrainingJob;

/// Splits a training job that no single hub can take across the cheapest feasible pair.
pub(crate) fn split_across_hubs<V: ClusterView + ?Sized>(
    view: &V,
    t: &TrainingJob,
    objective: Objective,
) -> Option<Placement> {
    let n = view.hub_count();
    let now = view.now_s();
    let mut best: Option<Placement> = None;
    for a in 0..n {
        for b in (a + 1)..n {
            let (ha, hb) = (HubId(a as u32), HubId(b as u32));
            let (sa, sb) = (view.hub(ha), view.hub(hb));
            if !(sa.up && sb.up) {
                continue;
            }
            let link = view.link(ha, hb);
            let transport = if link.deterministic {
                tokengrid_net::Transport::RdmaSr
            } else {
                tokengrid_net::Transport::Tcp
            };
            let loss = if link.deterministic { 0.0 } else { link.loss };
            let job = tokengrid_net::training::TrainingJob {
                gradient_gb: t.gradient_gb_per_step,
                step_compute_s: t.step_compute_s,
                participants: 2,
                overlap: tokengrid_net::training::DEFAULT_OVERLAP,
                single_dc_gbps: tokengrid_net::training::SINGLE_DC_GBPS,
            };
            let eff = job
                .across(
                    transport,
                    &tokengrid_net::goodput::PathParams::new(link.gbps, link.rtt_ms, loss),
                )
                .efficiency;
            if eff <= 0.0 {
                continue;
            }
            let duration = t.compute_hours * 3600.0 / eff;
            let end = now + duration;
            if end > t.deadline_s {
                continue;
            }
            if link.deterministic && !view.can_reserve(ha, hb, link.gbps, now, end) {
                continue;
            }
            let fa = view.free_accelerators(ha, t.accelerator, now, end);
            let fb = view.free_accelerators(hb, t.accelerator, now, end);
            // As many as fit at the first hub, the rest at the second.
            let first = fa.min(t.accelerators);
            let second = t.accelerators - first;
            if second == 0 || second > fb {
                continue;
            }
            let w = |k: u32| f64::from(k) * t.accelerator_w / 1000.0;
            let (ca, xa) = window_cost(view, ha, w(first) * sa.pue, now, end);
            let (cb, xb) = window_cost(view, hb, w(second) * sb.pue, now, end);
            let key = match objective {
                Objective::Cost => ca + cb,
                Objective::Carbon => xa + xb,
            };
            let better = best.is_none_or(|p| {
                key < match objective {
                    Objective::Cost => p.cost,
                    Objective::Carbon => p.carbon_kg,
                }
            });
            if better {
                best = Some(Placement {
                    hub: ha,
                    start_s: now,
                    end_s: end,
                    cost: ca + cb,
                    carbon_kg: xa + xb,
                    split: Some(Split {
                        hub: hb,
                        first_accelerators: first,
                        second_accelerators: second,
                        reserve_gbps: if link.deterministic { link.gbps } else { 0.0 },
                        efficiency: eff,
                    }),
                });
            }
        }
    }
    best
}

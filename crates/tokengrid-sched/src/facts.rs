//! Load-independent figures that every view built on a scenario shares: serving figures per
//! (hub, model), the link a policy sees between two hubs, and the round trip from an origin.
//! [`crate::StaticView`] and the simulator's world both build on these, so the two never
//! disagree about a hub they describe alike.

use tokengrid_core::{Hub, HubId, ModelId, Scenario, Site};
use tokengrid_energy::summary::default_context;
use tokengrid_energy::{Replica, ServingFigures};
use tokengrid_net::Topology;

use crate::view::{LinkSnapshot, Origin};

/// Serving figures of one model at one hub, independent of load: its replicas and each
/// replica's [`ServingFigures`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelFacts {
    /// Replicas.
    pub replicas: u32,
    /// One replica at its full batch (the KV limit at the model's mean context).
    pub replica: ServingFigures,
}

/// The serving figures of one replica of `m` as scenario `s` deploys it, at the model's mean
/// context: the one place the simulator's world, the static view and the planner get them.
pub fn replica_figures(s: &Scenario, m: ModelId) -> (Replica, ServingFigures, f64) {
    let model = s.model(m);
    let r = Replica::new(model, s.accelerator(model.accelerator));
    let ctx = default_context(s, m);
    let f = r.figures(r.kv_batch_limit(ctx).max(1), ctx);
    (r, f, ctx)
}

/// IT power of a hub with every accelerator idle and its hosts on, kW.
pub fn hub_idle_kw(s: &Scenario, h: &Hub) -> f64 {
    h.accelerators
        .iter()
        .map(|(a, n)| {
            let acc = s.accelerator(*a);
            f64::from(*n) * (acc.idle_w + acc.host_w)
        })
        .sum::<f64>()
        / 1000.0
}

/// Load-independent serving figures of every (hub, model) pair of a scenario.
pub fn model_facts(s: &Scenario) -> Vec<Option<ModelFacts>> {
    let mut out = vec![None; s.hubs.len() * s.models.len()];
    for (hi, h) in s.hubs.iter().enumerate() {
        for &m in &h.models {
            out[hi * s.models.len() + m.index()] = Some(ModelFacts {
                replicas: s.replicas_at(HubId(hi as u32), m),
                replica: replica_figures(s, m).1,
            });
        }
    }
    out
}

/// The link a policy sees between two hubs: the best deterministic path (bottleneck reservable
/// bandwidth, no congestion loss) where one exists, else the latency-shortest best-effort path.
/// Shared by every view built on a [`Topology`].
pub fn link_snapshot(topo: &Topology, a: HubId, b: HubId) -> LinkSnapshot {
    let (sa, sb) = (Site::Hub(a), Site::Hub(b));
    if let Some(p) = topo.path_where(sa, sb, |(_, l)| l.deterministic) {
        let gbps = p
            .links
            .iter()
            .map(|&i| topo.links[i].reservable_gbps)
            .fold(f64::INFINITY, f64::min);
        return LinkSnapshot {
            rtt_ms: p.rtt_ms,
            gbps,
            loss: 0.0,
            deterministic: true,
        };
    }
    match topo.shortest_path(sa, sb) {
        Some(p) => LinkSnapshot {
            rtt_ms: p.rtt_ms,
            gbps: p.gbps,
            loss: p.loss,
            deterministic: false,
        },
        None => LinkSnapshot {
            rtt_ms: f64::INFINITY,
            gbps: 0.0,
            loss: 1.0,
            deterministic: false,
        },
    }
}

/// Round trip from an origin to hub `h` at `hub_site` (lat, lon): the site graph's for a region,
/// derived from geography for a point. Shared by every view built on a [`Topology`].
#[inline]
pub fn rtt_from(topo: &Topology, hub_site: (f64, f64), from: Origin, h: HubId) -> f64 {
    match from {
        Origin::Region(r) => topo.rtt_ms(Site::Region(r), Site::Hub(h)),
        Origin::Point { lat, lon } => point_rtt(topo, (lat, lon), hub_site),
    }
}

/// The derived round trip from a point, out of line: inlined into a decision's loop over hubs,
/// its cosine of the origin's latitude was hoisted out of the loop and computed on every
/// decision, for regions too (measured: one `cos` call per decision in the simulator).
#[inline(never)]
fn point_rtt(topo: &Topology, point: (f64, f64), hub_site: (f64, f64)) -> f64 {
    tokengrid_net::geo::derived_route(point, hub_site, topo.route_factor).rtt_ms
}

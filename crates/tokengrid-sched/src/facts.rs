//! Load-independent figures that every view built on a scenario shares: serving figures per
//! (hub, model), the link a policy sees between two hubs, and the round trip from an origin.
//! [`crate::StaticView`] and the simulator's world both build on these, so the two never
//! disagree about a hub they describe alike.

use tokengrid_core::{HubId, Scenario, Site};
use tokengrid_energy::Replica;
use tokengrid_energy::summary::default_context;
use tokengrid_net::Topology;

use crate::view::{LinkSnapshot, Origin};

/// Serving figures of one model at one hub, independent of load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelFacts {
    /// Replicas.
    pub replicas: u32,
    /// Sequences a replica serves at once (the KV limit at the model's mean context).
    pub batch: u32,
    /// Prefill tokens/s of a replica.
    pub prefill_tokens_per_s: f64,
    /// Decode step time at full batch, s (the time per output token a sequence sees).
    pub decode_step_s: f64,
    /// IT J per prompt token.
    pub joules_per_prompt_token: f64,
    /// IT J per output token at full batch.
    pub joules_per_output_token: f64,
    /// Extra IT kW when one replica turns busy.
    pub marginal_kw: f64,
}

/// Load-independent serving figures of every (hub, model) pair of a scenario.
pub fn model_facts(s: &Scenario) -> Vec<Option<ModelFacts>> {
    let mut out = vec![None; s.hubs.len() * s.models.len()];
    for (hi, h) in s.hubs.iter().enumerate() {
        for &m in &h.models {
            let model = s.model(m);
            let acc = s.accelerator(model.accelerator);
            let r = Replica::new(model, acc);
            let ctx = default_context(s, m);
            let batch = r.kv_batch_limit(ctx).max(1);
            out[hi * s.models.len() + m.index()] = Some(ModelFacts {
                replicas: s.replicas_at(HubId(hi as u32), m),
                batch,
                prefill_tokens_per_s: r.prefill_tokens_per_s(),
                decode_step_s: r.decode_step_s(batch, ctx),
                joules_per_prompt_token: r.joules_per_prompt_token(),
                joules_per_output_token: r.joules_per_output_token(batch, ctx),
                marginal_kw: f64::from(r.accelerators) * (acc.tdp_w - acc.idle_w) / 1000.0,
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
        Origin::Point { lat, lon } => {
            tokengrid_net::geo::derived_route((lat, lon), hub_site, topo.route_factor).rtt_ms
        }
    }
}

//! The answers of the `tokengrid net` calculators, as the JSON contract shapes them
//! (DESIGN.md): a round trip between two sites, a transport's efficiency on a path (with a
//! training job's step), a loss sweep, and a batch of reservation requests.

use serde::Serialize;
use tokengrid_core::{Scenario, Site};

use crate::geo;
use crate::goodput::{PathParams, Transport, goodput_gbps};
use crate::reserve::{Request, ReservationBook};
use crate::topology::Topology;
use crate::training::{TrainingJob, TrainingResult};

/// `net rtt`: the latency-shortest path between two sites.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RttReport {
    /// From site, as named.
    pub from: String,
    /// To site, as named.
    pub to: String,
    /// Great-circle distance, km.
    pub great_circle_km: f64,
    /// Fiber route length of the path, km.
    pub route_km: f64,
    /// Round-trip time of the path, ms.
    pub rtt_ms: f64,
    /// Sites along the path.
    pub path: Vec<String>,
    /// Smallest link bandwidth on the path, Gbit/s.
    pub bottleneck_gbps: f64,
    /// Loss probability over the path.
    pub loss: f64,
    /// Links of the path (indices into the topology), for tables.
    #[serde(skip)]
    pub links: Vec<usize>,
}

impl RttReport {
    /// The path between `from` and `to`; `None` only when the graph has none.
    pub fn between(s: &Scenario, topo: &Topology, from: Site, to: Site) -> Option<RttReport> {
        let p = topo.shortest_path(from, to)?;
        let (la, lo) = s.site_lat_lon(from);
        let (lb, lob) = s.site_lat_lon(to);
        Some(RttReport {
            from: s.site_name(from).to_owned(),
            to: s.site_name(to).to_owned(),
            great_circle_km: geo::great_circle_km(la, lo, lb, lob),
            route_km: p.route_km,
            rtt_ms: p.rtt_ms,
            path: p.sites.iter().map(|&x| s.site_name(x).to_owned()).collect(),
            bottleneck_gbps: if p.gbps.is_finite() { p.gbps } else { 0.0 },
            loss: p.loss,
            links: p.links,
        })
    }
}

/// `net efficiency`: one transport on one path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfficiencyReport {
    /// Transport name.
    pub transport: &'static str,
    /// Loss probability.
    pub loss: f64,
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Link bandwidth, Gbit/s.
    pub gbps: f64,
    /// Goodput, Gbit/s.
    pub goodput_gbps: f64,
    /// Goodput over bandwidth.
    pub link_efficiency: f64,
    /// The training job's step on this path (when a job is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingResult>,
    /// Step time on the same path without loss over the step time with it (training only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_lossless: Option<f64>,
}

impl EfficiencyReport {
    /// Transport `t` on `path`, and `job`'s step across it when given.
    pub fn evaluate(t: Transport, path: &PathParams, job: Option<TrainingJob>) -> Self {
        let g = goodput_gbps(t, path);
        let lossless = PathParams { loss: 0.0, ..*path };
        EfficiencyReport {
            vs_lossless: job.map(|j| j.across(t, &lossless).step_s / j.across(t, path).step_s),
            transport: t.name(),
            loss: path.loss,
            rtt_ms: path.rtt_ms,
            gbps: path.gbps,
            goodput_gbps: g,
            link_efficiency: g / path.gbps,
            training: job.map(|j| j.across(t, path)),
        }
    }
}

/// Loss rates of a sweep: 0 to 1%.
pub const SWEEP_LOSSES: [f64; 10] = [0.0, 1e-6, 1e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2];

/// Transports of a sweep, in column order.
pub const SWEEP_TRANSPORTS: [Transport; 4] = [
    Transport::Tcp,
    Transport::TcpPadhye,
    Transport::RdmaGbn,
    Transport::RdmaSr,
];

/// `net efficiency --sweep`: every transport at every loss of [`SWEEP_LOSSES`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Link bandwidth, Gbit/s.
    pub gbps: f64,
    /// Loss-major rows: for each loss, one row per transport of [`SWEEP_TRANSPORTS`].
    pub rows: Vec<EfficiencyReport>,
}

impl SweepReport {
    /// The sweep over `path` (its loss is replaced by each of [`SWEEP_LOSSES`]).
    pub fn over(path: &PathParams, job: Option<TrainingJob>) -> Self {
        let rows = SWEEP_LOSSES
            .iter()
            .flat_map(|&loss| SWEEP_TRANSPORTS.iter().map(move |&t| (t, loss)))
            .map(|(t, loss)| EfficiencyReport::evaluate(t, &PathParams { loss, ..*path }, job))
            .collect();
        SweepReport {
            rtt_ms: path.rtt_ms,
            gbps: path.gbps,
            rows,
        }
    }
}

/// `net reserve`: one request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReserveRow {
    /// The request as written.
    pub request: String,
    /// Whether it was admitted.
    pub admitted: bool,
    /// Reservation id, when admitted.
    pub id: Option<u64>,
    /// Sites along the reserved path.
    pub path: Vec<String>,
    /// Round trip of the reserved path, ms.
    pub rtt_ms: Option<f64>,
    /// Why it was refused.
    pub refusal: Option<String>,
}

impl ReserveRow {
    /// Tries `req` (written as `text`) against `book`.
    pub fn try_reserve(
        s: &Scenario,
        topo: &Topology,
        book: &mut ReservationBook,
        text: &str,
        req: &Request,
    ) -> Self {
        match book.reserve(topo, req) {
            Ok(r) => ReserveRow {
                request: text.to_owned(),
                admitted: true,
                id: Some(r.id),
                path: path_names(s, topo, r.from, &r.links),
                rtt_ms: Some(r.rtt_ms),
                refusal: None,
            },
            Err(e) => ReserveRow {
                request: text.to_owned(),
                admitted: false,
                id: None,
                path: Vec::new(),
                rtt_ms: None,
                refusal: Some(e.to_string()),
            },
        }
    }
}

/// Site names along `links` starting at `from`.
fn path_names(s: &Scenario, topo: &Topology, from: Site, links: &[usize]) -> Vec<String> {
    let mut at = from;
    let mut names = vec![s.site_name(at).to_owned()];
    for &li in links {
        let l = &topo.links[li];
        at = if l.a == at { l.b } else { l.a };
        names.push(s.site_name(at).to_owned());
    }
    names
}

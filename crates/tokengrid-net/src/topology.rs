//! The site graph: every hub and region, the scenario's explicit links, and a link derived from
//! geography for every other pair. Latency-shortest paths come from Dijkstra (petgraph).

use petgraph::algo::{astar, dijkstra};
use petgraph::graph::{NodeIndex, UnGraph};
use tokengrid_core::{HubId, LinkLength, RegionId, Scenario, Site};

use crate::geo::{DEFAULT_EQUIPMENT_RTT_MS, derived_route, km_for_rtt_ms, propagation_rtt_ms};

/// Bandwidth of a link derived from geography, Gbit/s.
///
/// assumption: a 100 Gb/s best-effort wavelength between any two sites without an explicit link.
pub const DERIVED_GBPS: f64 = 100.0;

/// Random loss of a link derived from geography.
///
/// assumption: a healthy best-effort backbone path, 0.001% random loss.
pub const DERIVED_LOSS: f64 = 1e-5;

/// One link of the site graph.
#[derive(Debug, Clone, PartialEq)]
pub struct NetLink {
    /// One end.
    pub a: Site,
    /// The other end.
    pub b: Site,
    /// Fiber route length, km (equivalent km for a link given by measured RTT).
    pub route_km: f64,
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Bandwidth, Gbit/s.
    pub gbps: f64,
    /// Random loss probability.
    pub loss: f64,
    /// Part of a deterministic network.
    pub deterministic: bool,
    /// Reservable bandwidth, Gbit/s.
    pub reservable_gbps: f64,
    /// Whether the scenario gave it (else derived from geography).
    pub explicit: bool,
}

/// A path between two sites.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Sites from source to destination.
    pub sites: Vec<Site>,
    /// Links in order (indices into [`Topology::links`]).
    pub links: Vec<usize>,
    /// Round-trip time, ms: the sum over its links.
    pub rtt_ms: f64,
    /// Fiber km along it.
    pub route_km: f64,
    /// Bottleneck bandwidth, Gbit/s.
    pub gbps: f64,
    /// Probability a packet is lost somewhere on it: `1 - prod(1 - loss)`.
    pub loss: f64,
}

/// Every site and link of a scenario.
#[derive(Debug, Clone)]
pub struct Topology {
    graph: UnGraph<Site, usize>,
    nodes: Vec<(Site, NodeIndex)>,
    /// All links, explicit first.
    pub links: Vec<NetLink>,
    /// Route factor applied to derived links.
    pub route_factor: f64,
    rtt_cache: Vec<f64>,
    names: Vec<String>,
    hubs: usize,
    regions: usize,
}

impl Topology {
    /// Builds the site graph of `s`.
    pub fn new(s: &Scenario) -> Self {
        let sites: Vec<Site> = (0..s.hubs.len())
            .map(|i| Site::Hub(HubId(i as u32)))
            .chain((0..s.regions.len()).map(|i| Site::Region(RegionId(i as u32))))
            .collect();
        let mut graph = UnGraph::with_capacity(sites.len(), sites.len() * sites.len() / 2);
        let nodes: Vec<(Site, NodeIndex)> =
            sites.iter().map(|&st| (st, graph.add_node(st))).collect();
        let mut links = Vec::new();
        let mut joined = std::collections::BTreeSet::new();
        for l in &s.links {
            let (route_km, rtt_ms) = match l.length {
                LinkLength::Km(km) => (km, propagation_rtt_ms(km) + DEFAULT_EQUIPMENT_RTT_MS),
                LinkLength::RttMs(rtt) => (km_for_rtt_ms(rtt), rtt),
            };
            joined.insert(ordered(l.a, l.b));
            links.push(NetLink {
                a: l.a,
                b: l.b,
                route_km,
                rtt_ms,
                gbps: l.gbps,
                loss: l.loss,
                deterministic: l.deterministic,
                reservable_gbps: l.reservable_gbps,
                explicit: true,
            });
        }
        for (i, &a) in sites.iter().enumerate() {
            for &b in &sites[i + 1..] {
                if joined.contains(&ordered(a, b)) {
                    continue;
                }
                let route = derived_route(s.site_lat_lon(a), s.site_lat_lon(b), s.route_factor);
                links.push(NetLink {
                    a,
                    b,
                    route_km: route.route_km,
                    rtt_ms: route.rtt_ms,
                    gbps: DERIVED_GBPS,
                    loss: DERIVED_LOSS,
                    deterministic: false,
                    reservable_gbps: 0.0,
                    explicit: false,
                });
            }
        }
        let node = |st: Site| nodes.iter().find(|(x, _)| *x == st).map(|(_, n)| *n);
        for (i, l) in links.iter().enumerate() {
            if let (Some(a), Some(b)) = (node(l.a), node(l.b)) {
                graph.add_edge(a, b, i);
            }
        }
        let mut t = Topology {
            graph,
            nodes,
            links,
            route_factor: s.route_factor,
            rtt_cache: Vec::new(),
            names: sites.iter().map(|&st| s.site_name(st).to_owned()).collect(),
            hubs: s.hubs.len(),
            regions: s.regions.len(),
        };
        t.rtt_cache = t.all_pairs_rtt();
        t
    }

    /// The name of a site.
    pub fn site_name(&self, s: Site) -> &str {
        self.names.get(self.dense(s)).map_or("?", String::as_str)
    }

    /// Changes link `i`'s round trip and loss (a fault starting or ending) and recomputes the
    /// shortest round trips.
    pub fn set_link(&mut self, i: usize, rtt_ms: f64, loss: f64) {
        if let Some(l) = self.links.get_mut(i) {
            l.rtt_ms = rtt_ms;
            l.loss = loss;
            self.rtt_cache = self.all_pairs_rtt();
        }
    }

    fn node(&self, s: Site) -> Option<NodeIndex> {
        self.nodes.iter().find(|(x, _)| *x == s).map(|(_, n)| *n)
    }

    fn dense(&self, s: Site) -> usize {
        match s {
            Site::Hub(h) => h.index(),
            Site::Region(r) => self.hubs + r.index(),
        }
    }

    fn all_pairs_rtt(&self) -> Vec<f64> {
        let n = self.hubs + self.regions;
        let mut out = vec![f64::INFINITY; n * n];
        for &(s, idx) in &self.nodes {
            let dist = dijkstra(&self.graph, idx, None, |e| self.links[*e.weight()].rtt_ms);
            for (&(t, tidx), _) in self.nodes.iter().zip(0..) {
                if let Some(d) = dist.get(&tidx) {
                    out[self.dense(s) * n + self.dense(t)] = *d;
                }
            }
        }
        out
    }

    /// Latency-shortest RTT between two sites, ms (0 from a site to itself). O(1): precomputed.
    #[inline]
    pub fn rtt_ms(&self, a: Site, b: Site) -> f64 {
        let n = self.hubs + self.regions;
        self.rtt_cache[self.dense(a) * n + self.dense(b)]
    }

    /// Latency-shortest path between two sites over all links.
    pub fn shortest_path(&self, from: Site, to: Site) -> Option<Path> {
        self.path_where(from, to, |_| true)
    }

    /// Latency-shortest path using only links for which `usable(index, link)` holds.
    pub fn path_where(
        &self,
        from: Site,
        to: Site,
        usable: impl Fn(&(usize, &NetLink)) -> bool,
    ) -> Option<Path> {
        let (src, dst) = (self.node(from)?, self.node(to)?);
        if src == dst {
            return Some(Path {
                sites: vec![from],
                links: Vec::new(),
                rtt_ms: 0.0,
                route_km: 0.0,
                gbps: f64::INFINITY,
                loss: 0.0,
            });
        }
        // A* with a zero heuristic is Dijkstra; an unusable link costs infinity.
        let cost = |e: petgraph::graph::EdgeReference<'_, usize>| {
            let li = *e.weight();
            if usable(&(li, &self.links[li])) {
                self.links[li].rtt_ms
            } else {
                f64::INFINITY
            }
        };
        let (total, nodes) = astar(&self.graph, src, |n| n == dst, cost, |_| 0.0)?;
        if !total.is_finite() {
            return None;
        }
        let sites: Vec<Site> = nodes.iter().map(|&n| self.graph[n]).collect();
        let links: Vec<usize> = nodes
            .windows(2)
            .map(|w| self.graph.find_edge(w[0], w[1]).map(|e| self.graph[e]))
            .collect::<Option<_>>()?;
        let route_km = links.iter().map(|&i| self.links[i].route_km).sum();
        let rtt_ms = links.iter().map(|&i| self.links[i].rtt_ms).sum();
        let gbps = links
            .iter()
            .map(|&i| self.links[i].gbps)
            .fold(f64::INFINITY, f64::min);
        let delivered: f64 = links.iter().map(|&i| 1.0 - self.links[i].loss).product();
        Some(Path {
            sites,
            links,
            rtt_ms,
            route_km,
            gbps,
            loss: 1.0 - delivered,
        })
    }
}

fn ordered(a: Site, b: Site) -> (Site, Site) {
    if a <= b { (a, b) } else { (b, a) }
}

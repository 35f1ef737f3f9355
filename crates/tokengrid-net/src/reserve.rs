//! Bandwidth reservations on deterministic links.
//!
//! A reservation asks for `gbps` between two sites over a time window `[start, end)`. It is
//! admitted only if one path made of deterministic links has, on every link, that much
//! unreserved capacity for the whole window; it then holds that bandwidth on each of those links
//! until it is released. Admitted traffic sees no congestion loss. A refusal names the link and
//! the interval that is full.

use std::collections::BTreeMap;
use std::fmt;

use tokengrid_core::Site;

use crate::topology::Topology;

/// Reservations may exceed a link's capacity by this much (rounding), Gbit/s.
const EPS_GBPS: f64 = 1e-9;

/// An admitted reservation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// Its id, for release.
    pub id: u64,
    /// Source site.
    pub from: Site,
    /// Destination site.
    pub to: Site,
    /// Reserved bandwidth, Gbit/s.
    pub gbps: f64,
    /// Window start, s.
    pub start_s: f64,
    /// Window end (exclusive), s.
    pub end_s: f64,
    /// Links held (indices into [`Topology::links`]), in path order.
    pub links: Vec<usize>,
    /// Round-trip time of the path, ms.
    pub rtt_ms: f64,
}

/// A request for bandwidth between two sites over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Source site.
    pub from: Site,
    /// Destination site.
    pub to: Site,
    /// Bandwidth, Gbit/s.
    pub gbps: f64,
    /// Window start, s.
    pub start_s: f64,
    /// Window end (exclusive), s.
    pub end_s: f64,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Refusal {
    /// The request itself is malformed.
    Invalid(String),
    /// No path of deterministic links joins the two sites.
    NoDeterministicPath,
    /// The best deterministic path has a link without room during part of the window.
    Full {
        /// The full link (index into [`Topology::links`]).
        link: usize,
        /// Names of its ends.
        ends: (String, String),
        /// Start of the interval where it is fullest, s.
        from_s: f64,
        /// End of that interval, s.
        to_s: f64,
        /// Bandwidth already reserved then, Gbit/s.
        reserved_gbps: f64,
        /// The link's reservable bandwidth, Gbit/s.
        capacity_gbps: f64,
        /// Bandwidth asked for, Gbit/s.
        requested_gbps: f64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(why) => f.write_str(why),
            Refusal::NoDeterministicPath => f.write_str(
                "no path of deterministic links joins the two sites (mark links `deterministic = true` with reservable_gbps)",
            ),
            Refusal::Full {
                ends,
                from_s,
                to_s,
                reserved_gbps,
                capacity_gbps,
                requested_gbps,
                ..
            } => write!(
                f,
                "link {} - {} is full from {from_s} s to {to_s} s: {reserved_gbps} of {capacity_gbps} Gb/s reserved, {requested_gbps} Gb/s more asked",
                ends.0, ends.1
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Hold {
    start: f64,
    end: f64,
    gbps: f64,
    id: u64,
}

/// The reservation book of one topology.
#[derive(Debug, Clone)]
pub struct ReservationBook {
    capacity: Vec<f64>,
    holds: Vec<Vec<Hold>>,
    active: BTreeMap<u64, Reservation>,
    next_id: u64,
}

impl ReservationBook {
    /// An empty book for the links of `topo`.
    pub fn new(topo: &Topology) -> Self {
        ReservationBook {
            capacity: topo
                .links
                .iter()
                .map(|l| {
                    if l.deterministic {
                        l.reservable_gbps
                    } else {
                        0.0
                    }
                })
                .collect(),
            holds: vec![Vec::new(); topo.links.len()],
            active: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// Bandwidth reserved on `link` at time `t`, Gbit/s.
    pub fn reserved_at(&self, link: usize, t: f64) -> f64 {
        self.holds
            .get(link)
            .map(|hs| {
                hs.iter()
                    .filter(|h| h.start <= t && t < h.end)
                    .map(|h| h.gbps)
                    .sum()
            })
            .unwrap_or(0.0)
    }

    /// The most bandwidth reserved on `link` at any time in `[start, end)`, with the interval
    /// where that peak holds first.
    pub fn peak(&self, link: usize, start: f64, end: f64) -> (f64, f64, f64) {
        let mut events: Vec<(f64, f64)> = Vec::new();
        for h in self.holds.get(link).into_iter().flatten() {
            let (s, e) = (h.start.max(start), h.end.min(end));
            if s < e {
                events.push((s, h.gbps));
                events.push((e, -h.gbps));
            }
        }
        // Half-open intervals: at equal times, ends come before starts.
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let (mut level, mut best, mut at, mut until) = (0.0, 0.0, start, end);
        for (i, &(t, d)) in events.iter().enumerate() {
            level += d;
            let next = events.get(i + 1).map_or(end, |e| e.0);
            if level > best + EPS_GBPS && next > t {
                best = level;
                at = t;
                until = next;
            }
        }
        (best, at, until)
    }

    /// Admitted reservations, by id.
    pub fn active(&self) -> impl Iterator<Item = &Reservation> {
        self.active.values()
    }

    /// Asks for `req.gbps` from `req.from` to `req.to` over `[req.start_s, req.end_s)`.
    pub fn reserve(&mut self, topo: &Topology, req: &Request) -> Result<Reservation, Refusal> {
        let Request {
            from,
            to,
            gbps,
            start_s,
            end_s,
        } = *req;
        if !(gbps.is_finite() && gbps > 0.0) {
            return Err(Refusal::Invalid(format!(
                "bandwidth {gbps} Gb/s must be > 0"
            )));
        }
        if !(start_s.is_finite() && end_s.is_finite() && start_s >= 0.0 && end_s > start_s) {
            return Err(Refusal::Invalid(format!(
                "window [{start_s}, {end_s}) s must start at or after 0 and end after it starts"
            )));
        }
        if from == to {
            return Err(Refusal::Invalid(
                "source and destination are the same site".into(),
            ));
        }
        let fits =
            |li: usize| self.peak(li, start_s, end_s).0 + gbps <= self.capacity[li] + EPS_GBPS;
        let path = topo.path_where(from, to, |(li, l)| l.deterministic && fits(*li));
        let Some(path) = path else {
            // Explain with the latency-shortest deterministic path, ignoring what is reserved.
            let Some(best) = topo.path_where(from, to, |(_, l)| l.deterministic) else {
                return Err(Refusal::NoDeterministicPath);
            };
            let li = best
                .links
                .iter()
                .copied()
                .find(|&li| !fits(li))
                .unwrap_or(best.links[0]);
            let (reserved, a, b) = self.peak(li, start_s, end_s);
            let l = &topo.links[li];
            return Err(Refusal::Full {
                link: li,
                ends: (
                    topo.site_name(l.a).to_owned(),
                    topo.site_name(l.b).to_owned(),
                ),
                from_s: a,
                to_s: b,
                reserved_gbps: reserved,
                capacity_gbps: self.capacity[li],
                requested_gbps: gbps,
            });
        };
        let id = self.next_id;
        self.next_id += 1;
        for &li in &path.links {
            self.holds[li].push(Hold {
                start: start_s,
                end: end_s,
                gbps,
                id,
            });
        }
        let r = Reservation {
            id,
            from,
            to,
            gbps,
            start_s,
            end_s,
            links: path.links.clone(),
            rtt_ms: path.rtt_ms,
        };
        self.active.insert(id, r.clone());
        Ok(r)
    }

    /// Releases reservation `id`; releasing an unknown or released id does nothing (idempotent).
    /// Returns whether it was held.
    pub fn release(&mut self, id: u64) -> bool {
        let Some(r) = self.active.remove(&id) else {
            return false;
        };
        for li in r.links {
            self.holds[li].retain(|h| h.id != id);
        }
        true
    }
}

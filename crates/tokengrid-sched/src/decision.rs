//! What the scheduler answers: a placement or a rejection, and its explanation.

use serde::Serialize;
use tokengrid_core::HubId;

use crate::plugin::{Candidate, Reason};

/// A split training job's second hub and network reservation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Split {
    /// The second hub.
    pub hub: HubId,
    /// Accelerators at the first hub.
    pub first_accelerators: u32,
    /// Accelerators at the second hub.
    pub second_accelerators: u32,
    /// Reserved bandwidth between the hubs, Gbit/s (0 when best effort).
    pub reserve_gbps: f64,
    /// Efficiency relative to one data center.
    pub efficiency: f64,
}

/// Where (and when) a unit of work goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    /// The hub.
    pub hub: HubId,
    /// Start time, s since the scenario start (now, or later for deferred work).
    pub start_s: f64,
    /// Expected end, s.
    pub end_s: f64,
    /// Expected electricity cost.
    pub cost: f64,
    /// Expected CO2, kg.
    pub carbon_kg: f64,
    /// For a training job split across two hubs.
    pub split: Option<Split>,
}

impl Placement {
    /// The placement an estimate describes (whole, at one hub).
    pub(crate) fn at(c: &Candidate) -> Self {
        Placement {
            hub: c.hub,
            start_s: c.start_s,
            end_s: c.end_s,
            cost: c.cost,
            carbon_kg: c.carbon_kg,
            split: None,
        }
    }
}

/// The outcome of a decision: a placement, or a rejection with every hub's reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it here.
    Place(Placement),
    /// No hub can take it: each hub's reason.
    Reject(Vec<(HubId, Reason)>),
}

impl Decision {
    /// The chosen hub, if placed.
    pub fn hub(&self) -> Option<HubId> {
        match self {
            Decision::Place(p) => Some(p.hub),
            Decision::Reject(_) => None,
        }
    }
}

/// One hub's line in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubLine {
    /// The hub.
    pub hub: HubId,
    /// `None` when it passed every filter, else the first filter's reason.
    pub rejected: Option<Reason>,
    /// Per score plugin: name, raw cost, normalised score (0..100), weight.
    pub scores: Vec<(&'static str, f64, f64, f64)>,
    /// Weighted total (feasible hubs only).
    pub total: f64,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Policy name.
    pub policy: String,
    /// The chosen hub.
    pub chosen: Option<HubId>,
    /// Every hub.
    pub hubs: Vec<HubLine>,
}

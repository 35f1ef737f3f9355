//! Filter and score plugins, and the per-hub estimates they read.
//!
//! As in the Kubernetes scheduling framework, a filter drops infeasible hubs with a stable
//! reason, a score ranks the rest; plugins read a [`Candidate`] (the hub as seen for this unit of
//! work) and never change anything.

use serde::Serialize;
use tokengrid_core::HubId;

use crate::view::{HubSnapshot, ModelSnapshot};
use crate::work::Work;

/// Why a hub cannot take a unit of work. Stable codes (`code()`), shown in explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The hub does not serve the model.
    ModelNotServed,
    /// The hub is down or out of rotation.
    HubDown,
    /// The work's data may not go to this hub.
    Residency,
    /// The hub's queue for the model is at its bound.
    QueueFull,
    /// Expected time to first token exceeds the SLO.
    TtftSlo,
    /// Expected end-to-end latency exceeds the SLO.
    E2eSlo,
    /// The extra power would exceed the hub's grid cap.
    PowerCap,
    /// Not enough free accelerators or slots for the whole run.
    NoCapacity,
    /// The work cannot finish before its deadline.
    Deadline,
    /// A split job's network reservation is not possible.
    NoNetworkReservation,
    /// A reservation failed when it was committed.
    ReserveFailed,
}

impl Reason {
    /// How far work got at a hub before this reason stopped it, in the filters' order (model,
    /// up, residency, capacity, SLO, power, network): the larger, the closer to being served.
    pub fn stage(self) -> u8 {
        match self {
            Reason::ModelNotServed => 0,
            Reason::HubDown => 1,
            Reason::Residency => 2,
            Reason::QueueFull | Reason::NoCapacity => 3,
            Reason::TtftSlo | Reason::E2eSlo | Reason::Deadline => 4,
            Reason::PowerCap => 5,
            Reason::NoNetworkReservation | Reason::ReserveFailed => 6,
        }
    }

    /// Why work no hub took was refused: the reason at the hub that came closest to taking it
    /// (the first such hub on a tie); `None` when no hub was considered.
    pub fn of_rejection(rejections: &[(tokengrid_core::HubId, Reason)]) -> Option<Reason> {
        Reason::closest(rejections).map(|(_, r)| r)
    }

    /// The hub that came closest to taking refused work, and its reason (the first such hub on
    /// a tie); `None` when no hub was considered.
    pub fn closest(
        rejections: &[(tokengrid_core::HubId, Reason)],
    ) -> Option<(tokengrid_core::HubId, Reason)> {
        rejections.iter().copied().reduce(|best, r| {
            if r.1.stage() > best.1.stage() {
                r
            } else {
                best
            }
        })
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ModelNotServed => "model_not_served",
            Reason::HubDown => "hub_down",
            Reason::Residency => "residency",
            Reason::QueueFull => "queue_full",
            Reason::TtftSlo => "ttft_slo",
            Reason::E2eSlo => "e2e_slo",
            Reason::PowerCap => "power_cap",
            Reason::NoCapacity => "no_capacity",
            Reason::Deadline => "deadline",
            Reason::NoNetworkReservation => "no_network_reservation",
            Reason::ReserveFailed => "reserve_failed",
        }
    }
}

/// A hub as estimated for one unit of work: what the plugins read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The hub.
    pub hub: HubId,
    /// The hub now.
    pub snap: HubSnapshot,
    /// The model's serving at the hub (inference and batch); `None` when not served.
    pub model: Option<ModelSnapshot>,
    /// Whether the work's residency allows the hub.
    pub allowed: bool,
    /// Round-trip time from the work's origin, ms.
    pub rtt_ms: f64,
    /// Expected time to first token, ms (inference).
    pub ttft_ms: f64,
    /// Expected end-to-end latency, ms (inference).
    pub e2e_ms: f64,
    /// Facility energy of the work, kWh.
    pub energy_kwh: f64,
    /// Expected electricity cost of the work at its start time, currency units.
    pub cost: f64,
    /// Expected CO2 of the work, kg.
    pub carbon_kg: f64,
    /// Extra facility power the work may need, kW.
    pub extra_kw: f64,
    /// When the work would start, s since the scenario start.
    pub start_s: f64,
    /// When it would end, s.
    pub end_s: f64,
    /// Whether enough capacity is free for the whole run (batch and training).
    pub capacity_ok: bool,
    /// Whether it finishes by its deadline (batch and training).
    pub deadline_ok: bool,
}

/// Drops infeasible hubs.
pub trait FilterPlugin: Send + Sync + std::fmt::Debug {
    /// Registry name.
    fn name(&self) -> &'static str;
    /// `Err(reason)` when the hub cannot take the work.
    fn filter(&self, work: &Work<'_>, c: &Candidate) -> Result<(), Reason>;
    /// Which built-in filter this is, so the scheduler runs it without a virtual call (the
    /// same code: a built-in's `filter` is [`BuiltinFilter::filter`]). Others keep `None`.
    fn builtin(&self) -> Option<BuiltinFilter> {
        None
    }
}

/// Ranks feasible hubs: a cost, lower is better (normalised to 0..100 by the framework).
pub trait ScorePlugin: Send + Sync + std::fmt::Debug {
    /// Registry name.
    fn name(&self) -> &'static str;
    /// The hub's raw cost for the work.
    fn cost(&self, work: &Work<'_>, c: &Candidate) -> f64;
    /// Which built-in score this is (see [`FilterPlugin::builtin`]); others keep `None`.
    fn builtin(&self) -> Option<BuiltinScore> {
        None
    }
}

/// What runs a built-in plugin's code over many hubs ([`BuiltinFilter::visit`]).
pub(crate) trait Each<Out> {
    /// Runs `plugin` as it needs to.
    fn each<P: Fn(&Work<'_>, &Candidate) -> Out>(&mut self, plugin: P);
}

/// Defines the built-in plugins of one kind: an enum of them whose method holds each one's
/// code, and a unit struct per plugin implementing the trait by calling it.
macro_rules! plugins {
    (
        $trait:ident, $method:ident, $out:ty, $(#[$kdoc:meta])* $kind:ident;
        $($(#[$doc:meta])* $ty:ident, $name:literal, |$w:ident, $c:ident| $body:expr;)*
    ) => {
        $(#[$kdoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $kind {
            $($(#[$doc])* $ty,)*
        }

        impl $kind {
            /// The plugin's answer for hub `c` and work `w`.
            #[inline]
            pub fn $method(self, w: &Work<'_>, c: &Candidate) -> $out {
                match self {
                    $($kind::$ty => {
                        let ($w, $c) = (w, c);
                        $body
                    })*
                }
            }

            /// Hands `e` this plugin's code as a function of its own: matched once, so a loop
            /// over hubs inside `e` runs it without matching per hub.
            #[inline]
            pub(crate) fn visit<E: Each<$out>>(self, e: &mut E) {
                match self {
                    $($kind::$ty => e.each(|w, c| $kind::$ty.$method(w, c)),)*
                }
            }
        }

        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $ty;
            impl $trait for $ty {
                fn name(&self) -> &'static str {
                    $name
                }
                fn $method(&self, w: &Work<'_>, c: &Candidate) -> $out {
                    $kind::$ty.$method(w, c)
                }
                fn builtin(&self) -> Option<$kind> {
                    Some($kind::$ty)
                }
            }
        )*
    };
}

fn needs_model(w: &Work<'_>) -> bool {
    !matches!(w, Work::Training(_))
}

/// Share of an SLO the expected latency may use: an estimate is a mean, and a hub loaded until
/// its expected latency equals the SLO misses it for about half of its requests, so the filter
/// keeps a fifth of the SLO for the spread around the mean.
pub const SLO_HEADROOM: f64 = 0.8;

plugins!(
    FilterPlugin, filter, Result<(), Reason>,
    /// The built-in filters.
    BuiltinFilter;
    /// The hub serves the work's model (training needs none).
    ModelServed, "model", |w, c| if needs_model(w) && c.model.is_none_or(|m| m.replicas == 0) {
        Err(Reason::ModelNotServed)
    } else {
        Ok(())
    };
    /// The hub is up.
    HubUp, "up", |_w, c| if c.snap.up { Ok(()) } else { Err(Reason::HubDown) };
    /// The work's data may go to the hub.
    Residency, "residency", |_w, c| if c.allowed { Ok(()) } else { Err(Reason::Residency) };
    /// The queue has room (batch and training: capacity for the whole run).
    Capacity, "capacity", |w, c| match w {
        Work::Inference(_) => match c.model {
            Some(m) if m.max_queue.is_some_and(|q| m.free_slots == 0 && m.queue_len >= q) => {
                Err(Reason::QueueFull)
            }
            _ => Ok(()),
        },
        _ => if c.capacity_ok { Ok(()) } else { Err(Reason::NoCapacity) },
    };
    /// Expected latency is within [`SLO_HEADROOM`] of the SLOs (inference); the work ends by its
    /// deadline (batch, training).
    Slo, "slo", |w, c| match w {
        Work::Inference(r) => {
            if r.ttft_slo_ms.is_some_and(|slo| c.ttft_ms > slo * SLO_HEADROOM) {
                Err(Reason::TtftSlo)
            } else if r.e2e_slo_ms.is_some_and(|slo| c.e2e_ms > slo * SLO_HEADROOM) {
                Err(Reason::E2eSlo)
            } else {
                Ok(())
            }
        }
        _ => if c.deadline_ok { Ok(()) } else { Err(Reason::Deadline) },
    };
    /// The extra power fits under the hub's grid cap.
    PowerCap, "power", |_w, c| if c.extra_kw > c.snap.power_headroom_kw { Err(Reason::PowerCap) } else { Ok(()) };
);

plugins!(
    ScorePlugin, cost, f64,
    /// The built-in scores.
    BuiltinScore;
    /// Marginal electricity cost of the work: facility kWh not covered by green surplus, at the
    /// tariff when it runs.
    EnergyCost, "energy-cost", |_w, c| c.cost;
    /// CO2 of the work's grid energy.
    Carbon, "carbon", |_w, c| c.carbon_kg;
    /// Network distance: the round trip from the work's origin (what `nearest` minimises).
    Latency, "latency", |_w, c| c.rtt_ms;
    /// Response time the user can expect: end-to-end for inference (network, queue, prefill,
    /// decode at the current load), round trip otherwise.
    ResponseTime, "response-time", |w, c| match w {
        Work::Inference(_) => c.e2e_ms,
        _ => c.rtt_ms,
    };
    /// How busy the hub's replicas are (spreads load).
    LoadBalance, "load", |_w, c| c.model.map_or(0.0, |m| m.utilization);
);

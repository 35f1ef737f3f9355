//! # tokengrid-energy
//!
//! How much electricity a token takes, what it costs and how much CO2 it emits, from first
//! principles and overridable by measurement. Pure functions of scenario data: nothing here knows
//! about events, requests or time beyond the hour-of-day profiles.
//!
//! - [`roofline`]: the serving model: step time of one model replica (weights and KV over HBM,
//!   attention FLOPs growing with context, tensor- and expert-parallel communication, host
//!   overhead), prefill, and power from the achieved FLOP and bandwidth fractions, with ten global
//!   constants fitted on published measurements.
//! - [`fidelity`]: those measurements (ML.ENERGY v3, MLPerf v4.1, DeepSeek's serving day) and the
//!   model's error on each (`docs/fidelity.md`).
//! - [`power`]: accelerator power between idle and busy; facility energy `IT x PUE`.
//! - [`tariff`] and [`hourly`]: the cost of any power draw under a flat or time-of-use tariff,
//!   correct across hour and day boundaries and additive over intervals.
//! - [`solar`]: a clear-sky PV profile from latitude, longitude and date.
//! - [`supply`]: green supply first, the grid for the rest; cost at each hour's tariff; carbon
//!   from grid energy only.
//! - [`economics`]: tokens per kWh, cost per million tokens, and the value uplift of turning a kWh
//!   into tokens.
//!
//! ## Where "about 22-fold" comes from
//!
//! The source article says converting electricity into tokens raises its value about 22-fold. With
//! DeepSeek-V3 on a 32 x H800 replica at Qingyang (PUE 1.2, 0.40 yuan/kWh), decoding its full
//! batch at DeepSeek's published average context of 4,989 tokens, a busy replica spends about
//! 0.57 J of IT energy (accelerators and their hosts) per output token (the serving model;
//! `tests/economics.rs` computes it). The article's 22x comes out under explicit assumptions:
//! tokens sold at 2 yuan per million (assumption: the order of Chinese list prices after the 2024
//! price cuts) and replicas busy 40% of the day at full batch, idling the rest. The uplift moves
//! linearly with the token price and inversely with PUE, tariff and joules per token:
//!
//! ```
//! use tokengrid_energy::economics::Economics;
//! let article = Economics {
//!     joules_per_token_busy: 0.57,    // busy 32 x H800 replica, full batch (serving model)
//!     busy_fraction: 0.40,            // assumption: busy 40% of the day, idle the rest
//!     idle_power_ratio: 90.0 / 700.0, // H800 idle / TDP
//!     pue: 1.2,                       // western hub target
//!     tariff_per_kwh: 0.40,           // Qingyang
//!     price_per_million_tokens: 2.0,  // assumption: yuan per million output tokens
//! };
//! let uplift = article.value_uplift();
//! assert!((uplift - 22.0).abs() < 1.0, "{uplift}");
//! // Twice the price doubles the uplift; a PUE of 1.5 instead of 1.2 divides it by 1.25;
//! // busy all day at DeepSeek's R1 price, a kWh is worth about two hundred times its price.
//! let dearer = Economics { price_per_million_tokens: 4.0, ..article };
//! assert!((dearer.value_uplift() / uplift - 2.0).abs() < 1e-9);
//! let leaky = Economics { pue: 1.5, ..article };
//! assert!((uplift / leaky.value_uplift() - 1.25).abs() < 1e-9);
//! let busy = Economics { busy_fraction: 1.0, price_per_million_tokens: 15.77, ..article };
//! assert!(busy.value_uplift() > 150.0);
//! ```

#![warn(missing_docs)]

pub mod deploy;
pub mod economics;
pub mod fidelity;
pub mod hourly;
pub mod physics;
pub mod power;
pub mod roofline;
pub mod serving;
pub mod solar;
pub mod summary;
pub mod supply;
pub mod tariff;

pub use economics::Economics;
pub use power::JOULES_PER_KWH;
pub use roofline::{
    Efficiency, Physics, Precision, Replica, ServingFigures, SteadyState, StepCost,
};
pub use supply::{Draw, HubSupply};
pub use tariff::Tariff;

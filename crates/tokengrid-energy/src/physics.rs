//! The serving model's global constants and the efficiencies a deployment reaches
//! ([`crate::roofline`] documents the terms they scale).

use tokengrid_core::Model;

/// The serving model's global constants: a handful, fitted on all calibration rows at once,
/// never per case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Physics {
    /// Achieved fraction of peak HBM bandwidth streaming BF16 weights and the KV cache.
    pub decode_mbu: f64,
    /// Achieved fraction of peak HBM bandwidth streaming FP8 weights: FP8 GEMM kernels at
    /// decode's small M dequantize and scale in blocks and reach less of the bandwidth.
    pub low_precision_mbu: f64,
    /// Achieved fraction of peak FLOPs in prefill.
    pub prefill_mfu: f64,
    /// Achieved fraction of peak FLOPs in decode.
    pub decode_mfu: f64,
    /// Host (CPU) time per scheduled sequence per step, s: the engine's scheduling, sampling and
    /// input preparation, per data-parallel engine.
    pub host_s_per_sequence: f64,
    /// Fixed time per step, s: kernel launches and synchronisation.
    pub step_overhead_s: f64,
    /// Latency of one collective (all-reduce, dispatch, combine), s.
    pub collective_latency_s: f64,
    /// Power floor of a serving accelerator, fraction of TDP (clocks up, memory refreshed).
    pub power_floor: f64,
    /// Power per unit of achieved FLOP fraction, fraction of TDP.
    pub power_per_compute: f64,
    /// Power per unit of achieved HBM bandwidth fraction, fraction of TDP.
    pub power_per_memory: f64,
}

impl Physics {
    /// The fitted constants (`docs/fidelity.md` reports the fit; `examples/fit.rs` reproduces
    /// it).
    pub const FITTED: Physics = Physics {
        decode_mbu: 0.92,
        low_precision_mbu: 0.543,
        prefill_mfu: 0.547,
        decode_mfu: 0.90,
        host_s_per_sequence: 78.8e-6,
        step_overhead_s: 1.76e-3,
        collective_latency_s: 31.7e-6,
        power_floor: 0.737,
        power_per_compute: 0.752,
        power_per_memory: 0.079,
    };
}

impl Default for Physics {
    fn default() -> Self {
        Physics::FITTED
    }
}

/// Default achieved fraction of peak FLOPs in prefill.
pub const DEFAULT_PREFILL_MFU: f64 = Physics::FITTED.prefill_mfu;
/// Default achieved fraction of peak FLOPs in decode.
pub const DEFAULT_DECODE_MFU: f64 = Physics::FITTED.decode_mfu;
/// Default achieved fraction of peak HBM bandwidth in decode.
pub const DEFAULT_DECODE_MBU: f64 = Physics::FITTED.decode_mbu;

/// Achieved efficiencies of a deployment: the fitted constants unless the scenario sets its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    /// Fraction of peak FLOPs reached in prefill.
    pub prefill_mfu: f64,
    /// Fraction of peak FLOPs reached in decode.
    pub decode_mfu: f64,
    /// Fraction of peak HBM bandwidth reached in decode (BF16 weights, KV cache).
    pub decode_mbu: f64,
    /// Fraction of peak HBM bandwidth reached streaming FP8 weights.
    pub low_precision_mbu: f64,
}

impl Default for Efficiency {
    fn default() -> Self {
        Efficiency::from_physics(&Physics::FITTED)
    }
}

impl Efficiency {
    fn from_physics(p: &Physics) -> Self {
        Efficiency {
            prefill_mfu: p.prefill_mfu,
            decode_mfu: p.decode_mfu,
            decode_mbu: p.decode_mbu,
            low_precision_mbu: p.low_precision_mbu,
        }
    }

    /// The model's own efficiencies where the scenario sets them, `p`'s elsewhere. A scenario's
    /// `decode_mbu` sets both bandwidth fractions.
    pub fn of(model: &Model, p: &Physics) -> Self {
        let d = Efficiency::from_physics(p);
        Efficiency {
            prefill_mfu: model.prefill_mfu.unwrap_or(d.prefill_mfu),
            decode_mfu: model.decode_mfu.unwrap_or(d.decode_mfu),
            decode_mbu: model.decode_mbu.unwrap_or(d.decode_mbu),
            low_precision_mbu: model.decode_mbu.unwrap_or(d.low_precision_mbu),
        }
    }
}

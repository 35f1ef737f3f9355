//! Accelerators and models as a validated scenario holds them, and how a replica splits a model.

use crate::AcceleratorId;

/// An accelerator type.
#[derive(Debug, Clone, PartialEq)]
pub struct Accelerator {
    /// Type name.
    pub name: String,
    /// Peak dense BF16 TFLOPS.
    pub bf16_tflops: f64,
    /// Peak dense FP8 TFLOPS, where the type has FP8.
    pub fp8_tflops: Option<f64>,
    /// HBM capacity, GB (1e9 bytes).
    pub hbm_gb: f64,
    /// HBM bandwidth, TB/s (1e12 bytes/s).
    pub hbm_tbps: f64,
    /// Power at full load, W.
    pub tdp_w: f64,
    /// Power when idle, W.
    pub idle_w: f64,
    /// Scale-up (NVLink) bandwidth per accelerator, one direction, GB/s.
    pub scale_up_gbps: f64,
    /// Scale-out (InfiniBand, RoCE) bandwidth per accelerator, one direction, GB/s.
    pub scale_out_gbps: f64,
    /// Accelerators per node (one scale-up domain).
    pub per_node: u32,
    /// Node power beyond the accelerators per accelerator, W.
    pub host_w: f64,
    /// Purchase price of one accelerator with its server share, yuan, where the scenario gives it.
    pub price_yuan: Option<f64>,
    /// Years the purchase is written off over.
    pub lifetime_years: f64,
}

/// Write-off period of an accelerator purchase where the scenario gives none, years.
///
/// assumption: five years, a common straight-line depreciation period for servers.
pub const DEFAULT_LIFETIME_YEARS: f64 = 5.0;

/// Scale-up bandwidth where neither the scenario nor the catalog gives one: NVLink 4's 450 GB/s
/// each way (H100 datasheet).
pub const DEFAULT_SCALE_UP_GBPS: f64 = 450.0;
/// Scale-out bandwidth where neither the scenario nor the catalog gives one: one 400 Gb/s NIC per
/// accelerator (DGX H100).
pub const DEFAULT_SCALE_OUT_GBPS: f64 = 50.0;
/// Accelerators per node where neither the scenario nor the catalog gives it (HGX: 8).
pub const DEFAULT_PER_NODE: u32 = 8;

/// How a replica's accelerators split a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Tensor-parallel degree of attention and dense layers.
    pub tensor: u32,
    /// Data-parallel degree of attention (accelerators / tensor): each group runs attention for
    /// its own share of the batch on its own copy of the attention weights.
    pub data: u32,
    /// Expert-parallel degree of the MoE layers (1 for a dense model).
    pub expert: u32,
}

impl Parallelism {
    /// The default split of `n` accelerators: a dense model runs tensor parallel over all of them;
    /// a MoE model runs its experts expert parallel over all of them and its attention data
    /// parallel, one copy per accelerator (DeepSeek's deployment: day-6 inference overview).
    pub fn default_for(n: u32, moe: bool) -> Self {
        if moe {
            Parallelism {
                tensor: 1,
                data: n,
                expert: n,
            }
        } else {
            Parallelism {
                tensor: n,
                data: 1,
                expert: 1,
            }
        }
    }
}

/// Mixture-of-Experts routing of a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moe {
    /// Routed experts per MoE layer.
    pub experts: u32,
    /// Routed experts each token activates.
    pub experts_per_token: u32,
}

/// A model and how one replica of it is deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Model name.
    pub name: String,
    /// Total parameters, billions.
    pub total_params_b: f64,
    /// Parameters active per token, billions.
    pub active_params_b: f64,
    /// Expert routing; `None` for a dense model.
    pub moe: Option<Moe>,
    /// Bytes per weight.
    pub bytes_per_param: f64,
    /// KV-cache bytes per token of context.
    pub kv_bytes_per_token: f64,
    /// Accelerator type a replica runs on.
    pub accelerator: AcceleratorId,
    /// Accelerators per replica.
    pub accelerators_per_replica: u32,
    /// Concurrent sequences per replica.
    pub max_batch: u32,
    /// Measured prefill throughput per replica, tokens/s.
    pub prefill_tokens_per_s: Option<f64>,
    /// Measured decode throughput per replica, tokens/s.
    pub decode_tokens_per_s: Option<f64>,
    /// Achieved fraction of peak FLOPs in prefill; `None` takes the energy model's default.
    pub prefill_mfu: Option<f64>,
    /// Achieved fraction of peak FLOPs in decode; `None` takes the energy model's default.
    pub decode_mfu: Option<f64>,
    /// Achieved fraction of peak HBM bandwidth in decode; `None` takes the energy model's default.
    pub decode_mbu: Option<f64>,
    /// Architecture from the catalog, where the model names one; the serving model then adds
    /// attention FLOPs and communication to its roofline.
    pub arch: Option<crate::catalog::ModelArch>,
    /// How a replica's accelerators split the model.
    pub parallelism: Parallelism,
}

impl Model {
    /// Weight bytes of the whole model.
    pub fn weight_bytes(&self) -> f64 {
        self.total_params_b * 1e9 * self.bytes_per_param
    }
}

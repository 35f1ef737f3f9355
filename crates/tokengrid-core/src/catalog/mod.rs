//! The built-in catalog: model architectures from their published configs and accelerators from
//! their datasheets, usable by name from any scenario (`catalog = "deepseek-v3"`) and from
//! `tokengrid energy` and `tokengrid catalog`.
//!
//! A model entry is its architecture (layers, hidden size, heads, KV heads or MLA ranks, experts,
//! shared experts, experts per token, precision); parameter counts, KV bytes per token and attention
//! FLOPs are computed from it, never typed in. Each entry names its source; a figure no source gives
//! is marked `assumption:` in the entry's note.

use serde::Serialize;

/// Attention of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attention {
    /// Grouped-query attention: `heads` query heads share `kv_heads` key/value heads.
    Gqa {
        /// Key/value heads.
        kv_heads: u32,
        /// Dimension of one head.
        head_dim: u32,
    },
    /// Multi-head latent attention (DeepSeek-V2/V3): keys and values cached as one compressed
    /// latent of `kv_lora_rank` plus a shared rotary key of `qk_rope_dim`.
    Mla {
        /// Rank of the compressed query (0: no query compression).
        q_lora_rank: u32,
        /// Rank of the compressed key/value latent (what is cached).
        kv_lora_rank: u32,
        /// Per-head query/key dimension without rotary embedding.
        qk_nope_dim: u32,
        /// Per-head rotary query/key dimension (the rotary key is shared and cached).
        qk_rope_dim: u32,
        /// Per-head value dimension.
        v_head_dim: u32,
    },
}

/// Mixture-of-Experts layers of a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MoeArch {
    /// Routed experts per MoE layer.
    pub experts: u32,
    /// Routed experts each token picks.
    pub experts_per_token: u32,
    /// Shared (always active) experts per MoE layer.
    pub shared_experts: u32,
    /// Intermediate size of one expert.
    pub expert_ffn_dim: u32,
}

/// Sparse attention: each query attends to its `top_k` highest-scoring past tokens, picked by a
/// lightweight indexer that scores all of them (DeepSeek Sparse Attention, DeepSeek-V3.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SparseAttention {
    /// Tokens each query attends to.
    pub top_k: u32,
    /// Indexer heads.
    pub index_heads: u32,
    /// Indexer head dimension.
    pub index_head_dim: u32,
}

/// A transformer's architecture as its published config gives it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelArch {
    /// Catalog name.
    pub name: &'static str,
    /// Transformer layers.
    pub layers: u32,
    /// Leading layers with a dense FFN where the others are MoE (all layers for a dense model).
    pub dense_layers: u32,
    /// Hidden size.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// Attention kind and shape.
    pub attention: Attention,
    /// Intermediate size of a dense FFN layer (gated: three matrices).
    pub ffn_dim: u32,
    /// MoE layers, where the model has them.
    pub moe: Option<MoeArch>,
    /// Sparse attention, where the model has it.
    pub sparse: Option<SparseAttention>,
    /// Vocabulary size (input embedding and output head, untied).
    pub vocab: u32,
    /// Bytes per weight as released (1 for FP8, 2 for BF16).
    pub bytes_per_param: f64,
    /// Where the figures come from.
    pub source: &'static str,
    /// Assumptions and remarks.
    pub note: &'static str,
}

impl ModelArch {
    fn attention_params(&self) -> f64 {
        let h = f64::from(self.hidden);
        let heads = f64::from(self.heads);
        match self.attention {
            Attention::Gqa { kv_heads, head_dim } => {
                let hd = f64::from(head_dim);
                // q and o: hidden x heads x head_dim each; k and v: hidden x kv_heads x head_dim.
                2.0 * h * heads * hd + 2.0 * h * f64::from(kv_heads) * hd
            }
            Attention::Mla {
                q_lora_rank,
                kv_lora_rank,
                qk_nope_dim,
                qk_rope_dim,
                v_head_dim,
            } => {
                let qk = f64::from(qk_nope_dim + qk_rope_dim);
                let q = if q_lora_rank == 0 {
                    h * heads * qk
                } else {
                    let r = f64::from(q_lora_rank);
                    h * r + r * heads * qk
                };
                let kv_a = h * f64::from(kv_lora_rank + qk_rope_dim);
                let kv_b = f64::from(kv_lora_rank) * heads * f64::from(qk_nope_dim + v_head_dim);
                let o = heads * f64::from(v_head_dim) * h;
                q + kv_a + kv_b + o
            }
        }
    }

    fn indexer_params(&self) -> f64 {
        self.sparse.map_or(0.0, |s| {
            let h = f64::from(self.hidden);
            let ih = f64::from(s.index_heads);
            // The indexer's queries come from the compressed query (MLA) or the hidden state.
            let q_in = match self.attention {
                Attention::Mla { q_lora_rank, .. } if q_lora_rank > 0 => f64::from(q_lora_rank),
                _ => h,
            };
            // Query projection per head, one shared key, a per-head weight.
            q_in * ih * f64::from(s.index_head_dim) + h * f64::from(s.index_head_dim) + h * ih
        })
    }

    /// Layers whose FFN is a MoE layer.
    pub fn moe_layers(&self) -> u32 {
        if self.moe.is_some() {
            self.layers - self.dense_layers
        } else {
            0
        }
    }

    /// Parameters of one routed expert summed over the MoE layers.
    pub fn expert_params(&self) -> f64 {
        self.moe.map_or(0.0, |m| {
            3.0 * f64::from(self.hidden)
                * f64::from(m.expert_ffn_dim)
                * f64::from(self.moe_layers())
        })
    }

    /// Parameters every token uses whatever the routing: embeddings, attention, dense FFN layers,
    /// shared experts and routers (all parameters of a dense model).
    pub fn shared_params(&self) -> f64 {
        let h = f64::from(self.hidden);
        let per_layer = self.attention_params() + self.indexer_params();
        let dense_ffn = 3.0 * h * f64::from(self.ffn_dim) * f64::from(self.dense_layers);
        let moe_shared = self.moe.map_or(0.0, |m| {
            let shared = 3.0 * h * f64::from(m.expert_ffn_dim) * f64::from(m.shared_experts);
            let router = h * f64::from(m.experts);
            (shared + router) * f64::from(self.moe_layers())
        });
        2.0 * f64::from(self.vocab) * h
            + per_layer * f64::from(self.layers)
            + dense_ffn
            + moe_shared
    }

    /// Total parameters.
    pub fn total_params(&self) -> f64 {
        let experts = self.moe.map_or(0.0, |m| f64::from(m.experts));
        self.shared_params() + experts * self.expert_params()
    }

    /// Parameters one token activates.
    pub fn active_params(&self) -> f64 {
        let k = self.moe.map_or(0.0, |m| f64::from(m.experts_per_token));
        self.shared_params() + k * self.expert_params()
    }

    /// KV-cache values cached per token per layer: `2 x kv_heads x head_dim` for GQA, the latent
    /// plus the rotary key for MLA.
    pub fn kv_values_per_token_per_layer(&self) -> f64 {
        match self.attention {
            Attention::Gqa { kv_heads, head_dim } => 2.0 * f64::from(kv_heads * head_dim),
            Attention::Mla {
                kv_lora_rank,
                qk_rope_dim,
                ..
            } => f64::from(kv_lora_rank + qk_rope_dim),
        }
    }

    /// KV-cache bytes per token of context at `bytes_per_value` (2 for BF16, 1 for FP8), plus the
    /// sparse-attention indexer's FP8 key where the model has one.
    pub fn kv_bytes_per_token(&self, bytes_per_value: f64) -> f64 {
        let index = self.sparse.map_or(0.0, |s| f64::from(s.index_head_dim));
        (self.kv_values_per_token_per_layer() * bytes_per_value + index) * f64::from(self.layers)
    }

    /// Whether the KV cache is a latent shared by all heads (then tensor parallelism cannot split
    /// it: every rank holds the whole latent).
    pub fn latent_attention(&self) -> bool {
        matches!(self.attention, Attention::Mla { .. })
    }

    /// Attention FLOPs (score and value products, all layers) to decode one token against
    /// `context` cached tokens. GQA: `4 x heads x head_dim x context` per layer. MLA in its
    /// absorbed decode form attends over the latent: `2 x heads x (kv_lora + rope) x context` for
    /// scores and `2 x heads x kv_lora x context` for values. Sparse attention attends to at most
    /// `top_k` tokens and adds its indexer, `2 x index_heads x index_head_dim x context`.
    pub fn decode_attention_flops(&self, context: f64) -> f64 {
        let heads = f64::from(self.heads);
        let (attended, index) = match self.sparse {
            Some(s) => (
                context.min(f64::from(s.top_k)),
                2.0 * f64::from(s.index_heads * s.index_head_dim) * context,
            ),
            None => (context, 0.0),
        };
        let per_ctx = match self.attention {
            Attention::Gqa { head_dim, .. } => 4.0 * heads * f64::from(head_dim),
            Attention::Mla {
                kv_lora_rank,
                qk_rope_dim,
                ..
            } => 2.0 * heads * f64::from(2 * kv_lora_rank + qk_rope_dim),
        };
        (per_ctx * attended + index) * f64::from(self.layers)
    }

    /// Attention FLOPs per prompt token of a prompt of `prompt` tokens, causal: each token attends
    /// to the tokens before it, `prompt / 2` on average. MLA prefill runs un-absorbed, as
    /// multi-head attention with `qk_nope + rope` key and `v_head` value dimensions.
    pub fn prefill_attention_flops_per_token(&self, prompt: f64) -> f64 {
        let heads = f64::from(self.heads);
        let mean_ctx = prompt / 2.0;
        let (attended, index) = match self.sparse {
            Some(s) => (
                mean_ctx.min(f64::from(s.top_k)),
                2.0 * f64::from(s.index_heads * s.index_head_dim) * mean_ctx,
            ),
            None => (mean_ctx, 0.0),
        };
        let per_ctx = match self.attention {
            Attention::Gqa { head_dim, .. } => 4.0 * heads * f64::from(head_dim),
            Attention::Mla {
                qk_nope_dim,
                qk_rope_dim,
                v_head_dim,
                ..
            } => 2.0 * heads * f64::from(qk_nope_dim + qk_rope_dim + v_head_dim),
        };
        (per_ctx * attended + index) * f64::from(self.layers)
    }
}

/// An accelerator type as its datasheet gives it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AcceleratorSpec {
    /// Catalog name.
    pub name: &'static str,
    /// Peak dense BF16 TFLOPS.
    pub bf16_tflops: f64,
    /// Peak dense FP8 TFLOPS, where the type has FP8.
    pub fp8_tflops: Option<f64>,
    /// HBM capacity, GB (1e9 bytes): the vendor's "80 GB" is 80 GiB, 85.9e9 bytes.
    pub hbm_gb: f64,
    /// HBM bandwidth, TB/s.
    pub hbm_tbps: f64,
    /// Board power at full load, W.
    pub tdp_w: f64,
    /// Board power idle, W.
    pub idle_w: f64,
    /// Scale-up (NVLink, HCCS) bandwidth per accelerator, one direction, GB/s.
    pub scale_up_gbps: f64,
    /// Scale-out (InfiniBand, RoCE) bandwidth per accelerator, one direction, GB/s.
    pub scale_out_gbps: f64,
    /// Accelerators per node (one scale-up domain).
    pub per_node: u32,
    /// Power of the node beyond its accelerators (CPUs, NICs, fans, storage) per accelerator, W.
    pub host_w: f64,
    /// Where the figures come from.
    pub source: &'static str,
    /// Assumptions and remarks.
    pub note: &'static str,
}

mod accelerators;
mod models;

pub use accelerators::{ACCELERATORS, GIB, HGX_HOST_W};
pub use models::MODELS;

/// The catalog model named `name` (case-insensitive).
pub fn model(name: &str) -> Option<&'static ModelArch> {
    MODELS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

impl From<&AcceleratorSpec> for crate::Accelerator {
    fn from(a: &AcceleratorSpec) -> Self {
        crate::Accelerator {
            name: a.name.into(),
            bf16_tflops: a.bf16_tflops,
            fp8_tflops: a.fp8_tflops,
            hbm_gb: a.hbm_gb,
            hbm_tbps: a.hbm_tbps,
            tdp_w: a.tdp_w,
            idle_w: a.idle_w,
            scale_up_gbps: a.scale_up_gbps,
            scale_out_gbps: a.scale_out_gbps,
            per_node: a.per_node,
            host_w: a.host_w,
            price_yuan: None,
            lifetime_years: crate::DEFAULT_LIFETIME_YEARS,
        }
    }
}

/// The catalog accelerator named `name` (case-insensitive).
pub fn accelerator(name: &str) -> Option<&'static AcceleratorSpec> {
    ACCELERATORS
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Names of the catalog's models.
pub fn model_names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// Names of the catalog's accelerators.
pub fn accelerator_names() -> Vec<&'static str> {
    ACCELERATORS.iter().map(|a| a.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(got: f64, want: f64, tol: f64) -> bool {
        (got / want - 1.0).abs() <= tol
    }

    /// Total and active parameters computed from the architecture against the model cards
    /// (facts/models.csv and each config's README): totals within 3%.
    #[test]
    fn parameter_counts_match_the_model_cards() {
        for (name, total_b, active_b) in [
            ("deepseek-v3", 671.0, 37.0),
            ("deepseek-v3.2", 671.0, 37.0),
            ("kimi-k2", 1000.0, 32.0),
            ("glm-4.5", 355.0, 32.0),
            ("glm-5", 744.0, 40.0),
            ("minimax-m2", 230.0, 10.0),
            ("qwen3-235b-a22b", 235.0, 22.0),
            ("llama-3.1-8b", 8.03, 8.03),
            ("llama-3.1-70b", 70.6, 70.6),
            ("llama-3.1-405b", 405.0, 405.0),
            ("llama-2-70b", 69.0, 69.0),
        ] {
            let m = model(name).expect("catalog model");
            let (t, a) = (m.total_params() / 1e9, m.active_params() / 1e9);
            assert!(
                within(t, total_b, 0.03),
                "{name}: total {t:.1}B vs {total_b}B"
            );
            // Cards round the active count and some leave the embeddings out of it (MiniMax-M2:
            // 10B quoted, 11.0B with its 1.2B of embeddings).
            assert!(
                within(a, active_b, 0.12),
                "{name}: active {a:.1}B vs {active_b}B"
            );
        }
    }

    /// DeepSeek-V3's MLA cache: (512 + 64) x 61 layers x 2 bytes = 70,272 bytes per token; Llama
    /// 3.1 70B's GQA cache: 2 x 8 x 128 x 80 x 2 = 327,680.
    #[test]
    fn kv_bytes_per_token_by_hand() {
        assert_eq!(
            model("deepseek-v3")
                .expect("in catalog")
                .kv_bytes_per_token(2.0),
            70_272.0
        );
        assert_eq!(
            model("llama-3.1-70b")
                .expect("in catalog")
                .kv_bytes_per_token(2.0),
            327_680.0
        );
    }

    #[test]
    fn names_are_unique_and_found_case_insensitively() {
        let mut m = model_names();
        m.sort_unstable();
        m.dedup();
        assert_eq!(m.len(), MODELS.len());
        assert!(accelerator("h100-sxm").is_some());
        assert!(model("nope").is_none());
    }
}

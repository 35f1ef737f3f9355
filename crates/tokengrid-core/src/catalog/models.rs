//! The model catalog's entries, from the published configs.

use super::{Attention, ModelArch, MoeArch, SparseAttention};

const MLA_V3: Attention = Attention::Mla {
    q_lora_rank: 1536,
    kv_lora_rank: 512,
    qk_nope_dim: 128,
    qk_rope_dim: 64,
    v_head_dim: 128,
};

const fn gqa(kv_heads: u32, head_dim: u32) -> Attention {
    Attention::Gqa { kv_heads, head_dim }
}

const fn moe(experts: u32, k: u32, shared: u32, ffn: u32) -> Option<MoeArch> {
    Some(MoeArch {
        experts,
        experts_per_token: k,
        shared_experts: shared,
        expert_ffn_dim: ffn,
    })
}

/// A dense Llama-style model: `[layers, hidden, heads, kv_heads, ffn_dim, vocab]`.
const fn dense(name: &'static str, shape: [u32; 6], source: &'static str) -> ModelArch {
    let [layers, hidden, heads, kv_heads, ffn_dim, vocab] = shape;
    ModelArch {
        name,
        layers,
        dense_layers: layers,
        hidden,
        heads,
        attention: gqa(kv_heads, hidden / heads),
        ffn_dim,
        moe: None,
        sparse: None,
        vocab,
        bytes_per_param: 2.0,
        source,
        note: "released in BF16",
    }
}

/// DeepSeek-V3, on which V3.2 builds.
const DEEPSEEK_V3: ModelArch = ModelArch {
    name: "deepseek-v3",
    layers: 61,
    dense_layers: 3,
    hidden: 7168,
    heads: 128,
    attention: MLA_V3,
    ffn_dim: 18432,
    moe: moe(256, 8, 1, 2048),
    sparse: None,
    vocab: 129_280,
    bytes_per_param: 1.0,
    source: "deepseek-ai/DeepSeek-V3 config.json (hidden_size, num_hidden_layers, first_k_dense_replace, MLA ranks, n_routed_experts, num_experts_per_tok, moe_intermediate_size)",
    note: "FP8 weights as released; the multi-token-prediction module (14B) is not counted",
};

/// The model catalog.
pub const MODELS: &[ModelArch] = &[
    DEEPSEEK_V3,
    ModelArch {
        name: "deepseek-v3.2",
        sparse: Some(SparseAttention {
            top_k: 2048,
            index_heads: 64,
            index_head_dim: 128,
        }),
        source: "deepseek-ai/DeepSeek-V3.2-Exp config.json (V3 plus index_n_heads 64, index_head_dim 128, index_topk 2048)",
        note: "DeepSeek Sparse Attention: each query attends to 2,048 tokens picked by an FP8 indexer",
        ..DEEPSEEK_V3
    },
    ModelArch {
        name: "kimi-k2",
        layers: 61,
        dense_layers: 1,
        hidden: 7168,
        heads: 64,
        attention: MLA_V3,
        ffn_dim: 18432,
        moe: moe(384, 8, 1, 2048),
        sparse: None,
        vocab: 163_840,
        bytes_per_param: 1.0,
        source: "moonshotai/Kimi-K2-Instruct config.json (DeepSeek-V3 architecture, 384 experts, 64 heads, first_k_dense_replace 1)",
        note: "block-FP8 weights as released",
    },
    ModelArch {
        name: "glm-4.5",
        layers: 92,
        dense_layers: 3,
        hidden: 5120,
        heads: 96,
        attention: gqa(8, 128),
        ffn_dim: 12288,
        moe: moe(160, 8, 1, 1536),
        sparse: None,
        vocab: 151_552,
        bytes_per_param: 2.0,
        source: "zai-org/GLM-4.5 config.json (num_hidden_layers 92, first_k_dense_replace 3, n_routed_experts 160, moe_intermediate_size 1536)",
        note: "BF16 as released; the multi-token-prediction layer is not counted",
    },
    ModelArch {
        name: "glm-5",
        layers: 78,
        dense_layers: 3,
        hidden: 6144,
        heads: 96,
        attention: MLA_V3,
        ffn_dim: 12288,
        moe: moe(256, 8, 1, 2048),
        sparse: Some(SparseAttention {
            top_k: 2048,
            index_heads: 32,
            index_head_dim: 128,
        }),
        vocab: 154_880,
        bytes_per_param: 2.0,
        source: "zai-org/GLM-5 README: 744B total, 40B active, DeepSeek Sparse Attention",
        note: "assumption: layer shapes are not in facts/models.csv; chosen to match the README's 744B total and 40B active with a DeepSeek-V3-style MLA and DSA",
    },
    ModelArch {
        name: "minimax-m2",
        layers: 62,
        dense_layers: 0,
        hidden: 3072,
        heads: 48,
        attention: gqa(8, 128),
        ffn_dim: 0,
        moe: moe(256, 8, 0, 1536),
        sparse: None,
        vocab: 200_064,
        bytes_per_param: 1.0,
        source: "MiniMaxAI/MiniMax-M2 config.json (62 layers, hidden 3072, 48 heads, 8 KV heads, 256 experts, top-8, intermediate 1536)",
        note: "FP8 weights as released",
    },
    ModelArch {
        name: "qwen3-235b-a22b",
        layers: 94,
        dense_layers: 0,
        hidden: 4096,
        heads: 64,
        attention: gqa(4, 128),
        ffn_dim: 0,
        moe: moe(128, 8, 0, 1536),
        sparse: None,
        vocab: 151_936,
        bytes_per_param: 2.0,
        source: "Qwen/Qwen3-235B-A22B config.json (94 layers, hidden 4096, 64 heads, 4 KV heads, 128 experts, top-8, moe_intermediate_size 1536)",
        note: "BF16 as released (an FP8 release exists)",
    },
    dense(
        "llama-3.1-8b",
        [32, 4096, 32, 8, 14336, 128_256],
        "meta-llama/Llama-3.1-8B config.json",
    ),
    dense(
        "llama-3.1-70b",
        [80, 8192, 64, 8, 28672, 128_256],
        "meta-llama/Llama-3.1-70B config.json; facts/models.csv (dim 8192, 64 heads, 8 KV heads)",
    ),
    dense(
        "llama-3.1-405b",
        [126, 16384, 128, 8, 53248, 128_256],
        "meta-llama/Llama-3.1-405B config.json; facts/models.csv (dim 16384, 128 heads, 8 KV heads)",
    ),
    dense(
        "llama-2-70b",
        [80, 8192, 64, 8, 28672, 32_000],
        "meta-llama/Llama-2-70b-hf config.json",
    ),
];

//! Accelerator types and models, and whether a model's weights fit in its replica.

use super::{At, Names, Validator, fmt_num, suggest};
use crate::diag::KeyPath;
use crate::hardware::*;
use crate::raw::*;
use crate::scenario::*;

impl Validator {
    pub(super) fn accelerators(&mut self, raw: &[RawAccelerator]) -> Vec<Accelerator> {
        let names: Vec<&str> = raw.iter().map(|a| a.name.as_str()).collect();
        self.duplicates("accelerator", &names, |n| format!("accelerator \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, a)| {
                let ctx = format!("accelerator \"{}\"", a.name);
                let at = At::new(KeyPath::root().key("accelerator").index(i), &ctx);
                let spec = self.catalog_entry(
                    &at,
                    a.catalog.as_deref(),
                    crate::catalog::accelerator,
                    &crate::catalog::accelerator_names(),
                );
                let from =
                    "a catalog entry (catalog = \"H100-SXM\"; `tokengrid catalog accelerators`)";
                let bf16_tflops = self.required(
                    &at,
                    "bf16_tflops",
                    a.bf16_tflops.or(spec.map(|s| s.bf16_tflops)),
                    from,
                );
                let fp8_tflops = a.fp8_tflops.or(spec.and_then(|s| s.fp8_tflops));
                let hbm_gb =
                    self.required(&at, "hbm_gb", a.hbm_gb.or(spec.map(|s| s.hbm_gb)), from);
                let hbm_tbps = self.required(
                    &at,
                    "hbm_tbps",
                    a.hbm_tbps.or(spec.map(|s| s.hbm_tbps)),
                    from,
                );
                let tdp_w = self.required(&at, "tdp_w", a.tdp_w.or(spec.map(|s| s.tdp_w)), from);
                let idle_w =
                    self.required(&at, "idle_w", a.idle_w.or(spec.map(|s| s.idle_w)), from);
                let scale_up_gbps = a
                    .scale_up_gbps
                    .or(spec.map(|s| s.scale_up_gbps))
                    .unwrap_or(DEFAULT_SCALE_UP_GBPS);
                let scale_out_gbps = a
                    .scale_out_gbps
                    .or(spec.map(|s| s.scale_out_gbps))
                    .unwrap_or(DEFAULT_SCALE_OUT_GBPS);
                let per_node = a
                    .per_node
                    .or(spec.map(|s| s.per_node))
                    .unwrap_or(DEFAULT_PER_NODE);
                let host_w = a.host_w.or(spec.map(|s| s.host_w)).unwrap_or(0.0);
                for (key, v, help) in [
                    (
                        "bf16_tflops",
                        a.bf16_tflops,
                        "peak dense BF16 TFLOPS from the datasheet",
                    ),
                    (
                        "fp8_tflops",
                        a.fp8_tflops,
                        "omit fp8_tflops where the accelerator has no FP8",
                    ),
                    (
                        "hbm_gb",
                        a.hbm_gb,
                        "HBM capacity in 1e9 bytes (80 GiB = 85.9)",
                    ),
                    ("hbm_tbps", a.hbm_tbps, ""),
                    ("tdp_w", a.tdp_w, ""),
                    (
                        "scale_up_gbps",
                        a.scale_up_gbps,
                        "NVLink bandwidth per accelerator, one direction",
                    ),
                    (
                        "scale_out_gbps",
                        a.scale_out_gbps,
                        "network bandwidth per accelerator, one direction",
                    ),
                ] {
                    if let Some(v) = v {
                        self.positive(&at, key, v, help);
                    }
                }
                if let Some(n) = a.per_node {
                    self.positive_int(&at, "per_node", n, "accelerators per node");
                }
                if let Some(h) = a.host_w {
                    self.check(&at, "host_w", h, |v| v >= 0.0, ">= 0", "");
                }
                if let Some(p) = a.price_yuan {
                    self.check(
                        &at,
                        "price_yuan",
                        p,
                        |v| v >= 0.0,
                        ">= 0",
                        "purchase price with the server share, yuan",
                    );
                }
                if let Some(y) = a.lifetime_years {
                    self.positive(
                        &at,
                        "lifetime_years",
                        y,
                        "years the purchase is written off over",
                    );
                }
                if self.check(&at, "idle_w", idle_w, |v| v >= 0.0, ">= 0", "")
                    && tdp_w.is_finite()
                    && idle_w > tdp_w
                {
                    self.problem(
                        &at,
                        at.table.key("idle_w"),
                        format!(
                            "idle_w = {} must not exceed tdp_w = {}",
                            fmt_num(idle_w),
                            fmt_num(tdp_w)
                        ),
                        None,
                    );
                }
                Accelerator {
                    name: a.name.clone(),
                    bf16_tflops,
                    fp8_tflops,
                    hbm_gb,
                    hbm_tbps,
                    tdp_w,
                    idle_w,
                    scale_up_gbps,
                    scale_out_gbps,
                    per_node,
                    host_w,
                    price_yuan: a.price_yuan,
                    lifetime_years: a.lifetime_years.unwrap_or(DEFAULT_LIFETIME_YEARS),
                }
            })
            .collect()
    }

    /// Looks up a `catalog = "..."` name; an unknown name is a located problem listing the
    /// catalog.
    fn catalog_entry<T: 'static>(
        &mut self,
        at: &At<'_>,
        name: Option<&str>,
        find: impl Fn(&str) -> Option<&'static T>,
        names: &[&str],
    ) -> Option<&'static T> {
        let name = name?;
        let found = find(name);
        if found.is_none() {
            self.problem(
                at,
                at.table.key("catalog"),
                format!("catalog names unknown entry \"{name}\""),
                Some(suggest(name, names, "catalog entries")),
            );
        }
        found
    }

    /// A key the table must give unless its catalog entry does: a located problem when neither
    /// does (NaN stands in; the scenario is rejected).
    fn required(&mut self, at: &At<'_>, key: &str, value: Option<f64>, from: &str) -> f64 {
        value.unwrap_or_else(|| {
            self.problem(
                at,
                at.table.key(key),
                format!("missing key {key}"),
                Some(format!("give {key}, or take it from {from}")),
            );
            f64::NAN
        })
    }

    pub(super) fn models(
        &mut self,
        raw: &[RawModel],
        names: &Names<'_>,
        accelerators: &[Accelerator],
    ) -> Vec<Model> {
        self.duplicates("model", &names.models, |n| format!("model \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, m)| {
                let ctx = format!("model \"{}\"", m.name);
                let at = At::new(KeyPath::root().key("model").index(i), &ctx);
                let arch = self
                    .catalog_entry(
                        &at,
                        m.catalog.as_deref(),
                        crate::catalog::model,
                        &crate::catalog::model_names(),
                    )
                    .copied();
                let from =
                    "a catalog entry (catalog = \"deepseek-v3\"; `tokengrid catalog models`)";
                let total_params_b = self.required(
                    &at,
                    "total_params_b",
                    m.total_params_b.or(arch.map(|a| a.total_params() / 1e9)),
                    from,
                );
                let active_params_b = self.required(
                    &at,
                    "active_params_b",
                    m.active_params_b.or(arch.map(|a| a.active_params() / 1e9)),
                    from,
                );
                let bytes_per_param = self.required(
                    &at,
                    "bytes_per_param",
                    m.bytes_per_param.or(arch.map(|a| a.bytes_per_param)),
                    from,
                );
                // The catalog's KV cache is BF16, as the serving stacks of the calibration data
                // keep it.
                let kv_bytes_per_token = self.required(
                    &at,
                    "kv_bytes_per_token",
                    m.kv_bytes_per_token
                        .or(arch.map(|a| a.kv_bytes_per_token(2.0))),
                    from,
                );
                if let Some(t) = m.total_params_b {
                    self.positive(&at, "total_params_b", t, "");
                }
                if self.positive(&at, "active_params_b", active_params_b, "")
                    && active_params_b > total_params_b
                {
                    self.problem(
                        &at,
                        at.table.key("active_params_b"),
                        format!(
                            "active_params_b = {} exceeds total_params_b = {}",
                            fmt_num(active_params_b),
                            fmt_num(total_params_b)
                        ),
                        Some("a token cannot activate more parameters than the model has".into()),
                    );
                }
                let experts = m.experts.or(arch.and_then(|a| a.moe.map(|x| x.experts)));
                let experts_per_token = m
                    .experts_per_token
                    .or(arch.and_then(|a| a.moe.map(|x| x.experts_per_token)));
                let moe = match (experts, experts_per_token) {
                    (None, None) => None,
                    (Some(e), Some(k)) => {
                        self.positive_int(&at, "experts", e, "");
                        if self.positive_int(&at, "experts_per_token", k, "") && k > e {
                            self.problem(
                                &at,
                                at.table.key("experts_per_token"),
                                format!("experts_per_token = {k} exceeds experts = {e}"),
                                None,
                            );
                        }
                        Some(Moe {
                            experts: e,
                            experts_per_token: k,
                        })
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        let (have, missing) = if experts.is_some() {
                            ("experts", "experts_per_token")
                        } else {
                            ("experts_per_token", "experts")
                        };
                        self.problem(
                            &at,
                            at.table.key(have),
                            format!("{have} is given without {missing}"),
                            Some("a MoE model needs both keys; a dense model omits both".into()),
                        );
                        None
                    }
                };
                self.positive(
                    &at,
                    "bytes_per_param",
                    bytes_per_param,
                    "1.0 for FP8 weights, 2.0 for BF16",
                );
                self.positive(&at, "kv_bytes_per_token", kv_bytes_per_token, "");
                let parallelism = self.parallelism(&at, m, moe.is_some());
                self.positive_int(
                    &at,
                    "accelerators_per_replica",
                    m.accelerators_per_replica,
                    "",
                );
                self.positive_int(
                    &at,
                    "max_batch",
                    m.max_batch,
                    "concurrent sequences per replica",
                );
                if let Some(x) = m.prefill_tokens_per_s {
                    self.positive(&at, "prefill_tokens_per_s", x, "");
                }
                if let Some(x) = m.decode_tokens_per_s {
                    self.positive(&at, "decode_tokens_per_s", x, "");
                }
                for (key, v) in [
                    ("prefill_mfu", m.prefill_mfu),
                    ("decode_mfu", m.decode_mfu),
                    ("decode_mbu", m.decode_mbu),
                ] {
                    if let Some(x) = v {
                        self.check(
                            &at,
                            key,
                            x,
                            |v| v > 0.0 && v <= 1.0,
                            "within 0 < x <= 1",
                            "an achieved fraction of the accelerator's peak",
                        );
                    }
                }
                let acc = self.reference(
                    &at,
                    at.table.key("accelerator"),
                    "accelerator",
                    &m.accelerator,
                    &names.accelerators,
                    "accelerator",
                );
                let model = Model {
                    name: m.name.clone(),
                    total_params_b,
                    active_params_b,
                    moe,
                    bytes_per_param,
                    kv_bytes_per_token,
                    accelerator: AcceleratorId(acc.unwrap_or(0)),
                    accelerators_per_replica: m.accelerators_per_replica,
                    max_batch: m.max_batch,
                    prefill_tokens_per_s: m.prefill_tokens_per_s,
                    decode_tokens_per_s: m.decode_tokens_per_s,
                    prefill_mfu: m.prefill_mfu,
                    decode_mfu: m.decode_mfu,
                    decode_mbu: m.decode_mbu,
                    arch,
                    parallelism,
                };
                if let Some(a) = acc.and_then(|a| accelerators.get(a as usize)) {
                    self.fits(&at, &model, a);
                }
                model
            })
            .collect()
    }

    /// The replica's split: tensor x data parallel = accelerators; expert parallel divides them.
    fn parallelism(&mut self, at: &At<'_>, m: &RawModel, moe: bool) -> Parallelism {
        let n = m.accelerators_per_replica.max(1);
        let default = Parallelism::default_for(n, moe);
        let tensor = m.tensor_parallel.unwrap_or(default.tensor);
        let expert = m.expert_parallel.unwrap_or(default.expert);
        if self.positive_int(at, "tensor_parallel", tensor, "") && !n.is_multiple_of(tensor) {
            self.problem(
                at,
                at.table.key("tensor_parallel"),
                format!("tensor_parallel = {tensor} does not divide accelerators_per_replica = {n}"),
                Some("attention runs data parallel over accelerators / tensor_parallel groups; pick a divisor".into()),
            );
        }
        if self.positive_int(at, "expert_parallel", expert, "")
            && (!n.is_multiple_of(expert) || (!moe && expert > 1))
        {
            self.problem(
                at,
                at.table.key("expert_parallel"),
                format!("expert_parallel = {expert} must divide accelerators_per_replica = {n} (and be 1 for a dense model)"),
                None,
            );
        }
        Parallelism {
            tensor: tensor.max(1),
            data: (n / tensor.max(1)).max(1),
            expert: expert.max(1),
        }
    }

    /// Weights plus a KV-cache reserve must fit in the replica's HBM.
    fn fits(&mut self, at: &At<'_>, m: &Model, a: &Accelerator) {
        let hbm_bytes = a.hbm_gb * 1e9 * f64::from(m.accelerators_per_replica);
        let weights = m.weight_bytes();
        let usable = hbm_bytes * (1.0 - KV_RESERVE_FRACTION);
        if weights.is_finite() && hbm_bytes.is_finite() && hbm_bytes > 0.0 && weights > usable {
            let needed = (weights / (1.0 - KV_RESERVE_FRACTION) / (a.hbm_gb * 1e9)).ceil();
            self.problem(
                at,
                at.table.key("accelerators_per_replica"),
                format!(
                    "weights of {:.0} GB do not fit in a replica of {} x {} ({:.0} GB HBM, {:.0} GB after a {:.0}% KV-cache reserve)",
                    weights / 1e9,
                    m.accelerators_per_replica,
                    a.name,
                    hbm_bytes / 1e9,
                    usable / 1e9,
                    KV_RESERVE_FRACTION * 100.0
                ),
                Some(format!(
                    "raise accelerators_per_replica to at least {needed}, or lower bytes_per_param (quantized weights)"
                )),
            );
        }
    }
}

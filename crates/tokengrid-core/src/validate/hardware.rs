//! Accelerator types and models, and whether a model's weights fit in its replica.

use super::{At, Names, Validator, fmt_num};
use crate::diag::KeyPath;
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
                self.positive(
                    &at,
                    "bf16_tflops",
                    a.bf16_tflops,
                    "peak dense BF16 TFLOPS from the datasheet",
                );
                if let Some(fp8) = a.fp8_tflops {
                    self.positive(
                        &at,
                        "fp8_tflops",
                        fp8,
                        "omit fp8_tflops where the accelerator has no FP8",
                    );
                }
                self.positive(&at, "hbm_gb", a.hbm_gb, "");
                self.positive(&at, "hbm_tbps", a.hbm_tbps, "");
                self.positive(&at, "tdp_w", a.tdp_w, "");
                if self.check(&at, "idle_w", a.idle_w, |v| v >= 0.0, ">= 0", "")
                    && a.tdp_w.is_finite()
                    && a.idle_w > a.tdp_w
                {
                    self.problem(
                        &at,
                        at.table.key("idle_w"),
                        format!(
                            "idle_w = {} must not exceed tdp_w = {}",
                            fmt_num(a.idle_w),
                            fmt_num(a.tdp_w)
                        ),
                        None,
                    );
                }
                Accelerator {
                    name: a.name.clone(),
                    bf16_tflops: a.bf16_tflops,
                    fp8_tflops: a.fp8_tflops,
                    hbm_gb: a.hbm_gb,
                    hbm_tbps: a.hbm_tbps,
                    tdp_w: a.tdp_w,
                    idle_w: a.idle_w,
                }
            })
            .collect()
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
                self.positive(&at, "total_params_b", m.total_params_b, "");
                if self.positive(&at, "active_params_b", m.active_params_b, "")
                    && m.active_params_b > m.total_params_b
                {
                    self.problem(
                        &at,
                        at.table.key("active_params_b"),
                        format!(
                            "active_params_b = {} exceeds total_params_b = {}",
                            fmt_num(m.active_params_b),
                            fmt_num(m.total_params_b)
                        ),
                        Some("a token cannot activate more parameters than the model has".into()),
                    );
                }
                let moe = match (m.experts, m.experts_per_token) {
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
                        let (have, missing) = if m.experts.is_some() {
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
                    m.bytes_per_param,
                    "1.0 for FP8 weights, 2.0 for BF16",
                );
                self.positive(&at, "kv_bytes_per_token", m.kv_bytes_per_token, "");
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
                    total_params_b: m.total_params_b,
                    active_params_b: m.active_params_b,
                    moe,
                    bytes_per_param: m.bytes_per_param,
                    kv_bytes_per_token: m.kv_bytes_per_token,
                    accelerator: AcceleratorId(acc.unwrap_or(0)),
                    accelerators_per_replica: m.accelerators_per_replica,
                    max_batch: m.max_batch,
                    prefill_tokens_per_s: m.prefill_tokens_per_s,
                    decode_tokens_per_s: m.decode_tokens_per_s,
                    prefill_mfu: m.prefill_mfu,
                    decode_mfu: m.decode_mfu,
                    decode_mbu: m.decode_mbu,
                };
                if let Some(a) = acc.and_then(|a| accelerators.get(a as usize)) {
                    self.fits(&at, &model, a);
                }
                model
            })
            .collect()
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

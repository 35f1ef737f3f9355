//! Raw scenario -> validated [`Scenario`], collecting every problem with its key path.
//!
//! Modelled on Kubernetes' config validation: the pass never stops at the first error; each
//! problem names the key, the value, the rule and what to do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::diag::{KeyPath, Problem};
use crate::raw::*;
use crate::scenario::*;

/// Shares of a region's mix must sum to 1 within this tolerance.
const MIX_TOLERANCE: f64 = 1e-6;

pub(crate) fn validate(
    raw: &RawScenario,
    base_dir: Option<&Path>,
) -> Result<Scenario, Vec<Problem>> {
    let mut v = Validator::default();
    let header = v.header(&raw.scenario);
    let accelerators = v.accelerators(&raw.accelerators);
    let acc_names: Vec<&str> = raw.accelerators.iter().map(|a| a.name.as_str()).collect();
    let models = v.models(&raw.models, &acc_names, &accelerators);
    let model_names: Vec<&str> = raw.models.iter().map(|m| m.name.as_str()).collect();
    let hub_names: Vec<&str> = raw.hubs.iter().map(|h| h.name.as_str()).collect();
    let region_names: Vec<&str> = raw.regions.iter().map(|r| r.name.as_str()).collect();
    let class_names: Vec<&str> = raw.classes.iter().map(|c| c.name.as_str()).collect();
    v.site_names(&hub_names, &region_names);
    let hubs = v.hubs(&raw.hubs, &acc_names, &model_names, &models);
    let classes = v.classes(&raw.classes, &model_names, &acc_names);
    let regions = v.regions(&raw.regions, &hub_names, &class_names, &classes, base_dir);
    let links = v.links(&raw.links, &hub_names, &region_names);
    let policies = v.policies(&raw.policies);

    if v.problems.is_empty() {
        let scenario = Scenario {
            name: header.name,
            start: header.start,
            duration: header.duration,
            seed: header.seed,
            currency: header.currency,
            route_factor: header.route_factor,
            accelerators,
            models,
            hubs,
            regions,
            classes,
            links,
            policies,
        };
        v.feasibility(&scenario);
        if v.problems.is_empty() {
            return Ok(scenario);
        }
    }
    Err(v.problems)
}

struct Header {
    name: String,
    start: OffsetDateTime,
    duration: Duration,
    seed: u64,
    currency: String,
    route_factor: f64,
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

/// Where a value sits and how to name it in a message.
#[derive(Clone)]
struct At<'a> {
    table: KeyPath,
    context: &'a str,
}

impl<'a> At<'a> {
    fn new(table: KeyPath, context: &'a str) -> Self {
        At { table, context }
    }
}

fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// "did you mean `x`?" for the closest of `candidates`, or the list of candidates.
pub(crate) fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("did you mean \"{c}\"?"),
        None if candidates.is_empty() => format!("the scenario defines no {what}"),
        None => format!("known {what}: {}", candidates.join(", ")),
    }
}

impl Validator {
    fn problem(&mut self, at: &At<'_>, key: KeyPath, message: String, help: Option<String>) {
        self.problems.push(Problem {
            path: key,
            context: at.context.to_owned(),
            message,
            help,
        });
    }

    /// `key` must be finite and satisfy `ok`; `rule` completes "must be ...".
    fn check(
        &mut self,
        at: &At<'_>,
        key: &str,
        value: f64,
        ok: impl Fn(f64) -> bool,
        rule: &str,
        help: &str,
    ) -> bool {
        if value.is_finite() && ok(value) {
            return true;
        }
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = {} must be {rule}", fmt_num(value)),
            (!help.is_empty()).then(|| help.to_owned()),
        );
        false
    }

    fn positive(&mut self, at: &At<'_>, key: &str, value: f64, help: &str) -> bool {
        self.check(at, key, value, |v| v > 0.0, "> 0", help)
    }

    fn positive_int(&mut self, at: &At<'_>, key: &str, value: u32, help: &str) -> bool {
        if value > 0 {
            return true;
        }
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = 0 must be >= 1"),
            (!help.is_empty()).then(|| help.to_owned()),
        );
        false
    }

    fn lat_lon(&mut self, at: &At<'_>, lat: f64, lon: f64) {
        self.check(
            at,
            "lat",
            lat,
            |v| (-90.0..=90.0).contains(&v),
            "within -90..90 degrees",
            "latitude in decimal degrees, north positive",
        );
        self.check(
            at,
            "lon",
            lon,
            |v| (-180.0..=180.0).contains(&v),
            "within -180..180 degrees",
            "longitude in decimal degrees, east positive",
        );
    }

    fn duration(&mut self, at: &At<'_>, key: KeyPath, name: &str, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(
                    at,
                    key,
                    format!("{name} = \"{text}\" is not a duration: {e}"),
                    Some("write a number with a unit, e.g. \"90m\", \"6h\", \"7d\"".into()),
                );
                None
            }
        }
    }

    /// A list of 24 hourly values, each checked by `ok`.
    fn hourly_list(
        &mut self,
        at: &At<'_>,
        key: &str,
        values: &[f64],
        ok: &dyn Fn(f64) -> bool,
        rule: &str,
    ) -> Option<Hourly> {
        if values.len() != 24 {
            self.problem(
                at,
                at.table.key(key),
                format!("{key} has {} values; an hourly list needs 24", values.len()),
                Some(
                    "give one value per hour of day, hour 0 = local midnight of the scenario start"
                        .into(),
                ),
            );
            return None;
        }
        let mut good = true;
        for (i, &x) in values.iter().enumerate() {
            if !(x.is_finite() && ok(x)) {
                self.problem(
                    at,
                    at.table.key(key).index(i),
                    format!("{key}[{i}] = {} must be {rule}", fmt_num(x)),
                    None,
                );
                good = false;
            }
        }
        let mut out = [0.0; 24];
        out.copy_from_slice(values);
        good.then_some(Hourly(out))
    }

    fn one_or_hourly(
        &mut self,
        at: &At<'_>,
        key: &str,
        value: &OneOrHourly,
        ok: &dyn Fn(f64) -> bool,
        rule: &str,
        help: &str,
    ) -> Option<Hourly> {
        match value {
            OneOrHourly::One(x) => self
                .check(at, key, *x, ok, rule, help)
                .then(|| Hourly::flat(*x)),
            OneOrHourly::Hourly(xs) => self.hourly_list(at, key, xs, ok, rule),
        }
    }

    /// Resolves `name` among `names`, reporting an unknown reference at `key`.
    fn reference(
        &mut self,
        at: &At<'_>,
        key: KeyPath,
        display_key: &str,
        name: &str,
        names: &[&str],
        what: &str,
    ) -> Option<u32> {
        match names.iter().position(|n| *n == name) {
            Some(i) => u32::try_from(i).ok(),
            None => {
                self.problem(
                    at,
                    key,
                    format!("{display_key} names unknown {what} \"{name}\""),
                    Some(suggest(name, names, &format!("{what}s"))),
                );
                None
            }
        }
    }

    fn duplicates(&mut self, kind: &str, names: &[&str], context: impl Fn(&str) -> String) {
        let mut seen = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(first) = seen.insert(*name, i) {
                let ctx = context(name);
                self.problem(
                    &At::new(KeyPath::root(), &ctx),
                    KeyPath::root().key(kind).index(i).key("name"),
                    format!("duplicate name \"{name}\": {kind}[{first}] already has it"),
                    Some("every name must be unique within its kind; rename one of them".into()),
                );
            }
        }
    }

    fn header(&mut self, h: &RawHeader) -> Header {
        let at = At::new(KeyPath::root().key("scenario"), "scenario");
        if h.name.trim().is_empty() {
            self.problem(&at, at.table.key("name"), "name is empty".into(), None);
        }
        let start = match OffsetDateTime::parse(&h.start, &Rfc3339) {
            Ok(t) => t,
            Err(e) => {
                self.problem(
                    &at,
                    at.table.key("start"),
                    format!("start = \"{}\" is not an RFC 3339 time: {e}", h.start),
                    Some(
                        "write e.g. \"2026-03-02T00:00:00+08:00\" (date, time and UTC offset)"
                            .into(),
                    ),
                );
                OffsetDateTime::UNIX_EPOCH
            }
        };
        let duration = self.duration(&at, at.table.key("duration"), "duration", &h.duration);
        if duration.is_some_and(|d| d.is_zero()) {
            self.problem(
                &at,
                at.table.key("duration"),
                format!("duration = \"{}\" must be longer than zero", h.duration),
                None,
            );
        }
        if h.currency.len() != 3 || !h.currency.chars().all(|c| c.is_ascii_uppercase()) {
            self.problem(
                &at,
                at.table.key("currency"),
                format!(
                    "currency = \"{}\" is not a three-letter currency code",
                    h.currency
                ),
                Some("use an ISO 4217 code such as \"CNY\" or \"USD\"".into()),
            );
        }
        let route_factor = h.route_factor.unwrap_or(DEFAULT_ROUTE_FACTOR);
        self.check(
            &at,
            "route_factor",
            route_factor,
            |v| v >= 1.0,
            ">= 1.0",
            "a fiber route is never shorter than the great circle",
        );
        Header {
            name: h.name.clone(),
            start,
            duration: duration.unwrap_or_default(),
            seed: h.seed,
            currency: h.currency.clone(),
            route_factor,
        }
    }

    fn accelerators(&mut self, raw: &[RawAccelerator]) -> Vec<Accelerator> {
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

    fn models(
        &mut self,
        raw: &[RawModel],
        acc_names: &[&str],
        accelerators: &[Accelerator],
    ) -> Vec<Model> {
        let names: Vec<&str> = raw.iter().map(|m| m.name.as_str()).collect();
        self.duplicates("model", &names, |n| format!("model \"{n}\""));
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
                    acc_names,
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

    fn site_names(&mut self, hubs: &[&str], regions: &[&str]) {
        self.duplicates("hub", hubs, |n| format!("hub \"{n}\""));
        self.duplicates("region", regions, |n| format!("region \"{n}\""));
        for (i, r) in regions.iter().enumerate() {
            if hubs.contains(r) {
                let ctx = format!("region \"{r}\"");
                self.problem(
                    &At::new(KeyPath::root(), &ctx),
                    KeyPath::root().key("region").index(i).key("name"),
                    format!("name \"{r}\" is also a hub's name"),
                    Some(
                        "hubs and regions are both link ends (sites), so their names must differ"
                            .into(),
                    ),
                );
            }
        }
    }

    fn hubs(
        &mut self,
        raw: &[RawHub],
        acc_names: &[&str],
        model_names: &[&str],
        models: &[Model],
    ) -> Vec<Hub> {
        raw.iter()
            .enumerate()
            .map(|(i, h)| {
                let ctx = format!("hub \"{}\"", h.name);
                let at = At::new(KeyPath::root().key("hub").index(i), &ctx);
                self.lat_lon(&at, h.lat, h.lon);
                self.check(
                    &at,
                    "pue",
                    h.pue,
                    |v| v >= 1.0,
                    ">= 1.0",
                    "PUE is facility energy over IT energy, so it is at least 1.0 (hub targets are 1.2-1.25)",
                );
                self.positive(&at, "grid_cap_mw", h.grid_cap_mw, "the hub's grid connection in MW");
                let mut accelerators = Vec::new();
                if h.accelerators.is_empty() {
                    self.problem(
                        &at,
                        at.table.key("accelerators"),
                        "accelerators is empty".into(),
                        Some("list the installed accelerators, e.g. accelerators = { H800 = 4096 }".into()),
                    );
                }
                for (name, &count) in &h.accelerators {
                    let key = at.table.key("accelerators").key(name);
                    if count == 0 {
                        self.problem(
                            &at,
                            key.clone(),
                            format!("accelerators.{name} = 0 must be >= 1"),
                            Some("remove the entry instead of giving zero".into()),
                        );
                    }
                    if let Some(id) =
                        self.reference(&at, key, &format!("accelerators.{name}"), name, acc_names, "accelerator")
                    {
                        accelerators.push((AcceleratorId(id), count));
                    }
                }
                accelerators.sort_by_key(|(id, _)| *id);
                let mut served = Vec::new();
                for (j, name) in h.models.iter().enumerate() {
                    let key = at.table.key("models").index(j);
                    let Some(id) = self.reference(&at, key.clone(), &format!("models[{j}]"), name, model_names, "model")
                    else {
                        continue;
                    };
                    if served.contains(&ModelId(id)) {
                        self.problem(&at, key, format!("models lists \"{name}\" twice"), None);
                        continue;
                    }
                    served.push(ModelId(id));
                }
                let replicas = self.replicas(&at, h, &served, &accelerators, acc_names, model_names, models);
                served.sort();
                let tariff = self.one_or_hourly(
                    &at,
                    "tariff_yuan_per_kwh",
                    &h.tariff_yuan_per_kwh,
                    &|v| v >= 0.0,
                    ">= 0",
                    "",
                );
                let carbon = self.one_or_hourly(
                    &at,
                    "grid_carbon_g_per_kwh",
                    &h.grid_carbon_g_per_kwh,
                    &|v| v >= 0.0,
                    ">= 0",
                    "",
                );
                let green = h.green_mw.as_ref().and_then(|g| self.green(&at, g));
                let batching = match h.batching.as_deref() {
                    None | Some("continuous") => Batching::Continuous,
                    Some("none") => Batching::None,
                    Some(other) => {
                        self.problem(
                            &at,
                            at.table.key("batching"),
                            format!("batching = \"{other}\" is not a batching mode"),
                            Some("use \"continuous\" or \"none\"".into()),
                        );
                        Batching::Continuous
                    }
                };
                let mut outages = Vec::new();
                for (j, o) in h.outages.iter().enumerate() {
                    let key = at.table.key("outages").index(j);
                    let start = self.duration(&at, key.key("at"), &format!("outages[{j}].at"), &o.at);
                    let length = self.duration(&at, key.key("for"), &format!("outages[{j}].for"), &o.length);
                    if let (Some(at_), Some(length)) = (start, length) {
                        outages.push(Outage { at: at_, length });
                    }
                }
                Hub {
                    name: h.name.clone(),
                    lat: h.lat,
                    lon: h.lon,
                    pue: h.pue,
                    grid_cap_mw: h.grid_cap_mw,
                    accelerators,
                    models: served,
                    replicas,
                    tariff_yuan_per_kwh: tariff.unwrap_or(Hourly::flat(0.0)),
                    green,
                    grid_carbon_g_per_kwh: carbon.unwrap_or(Hourly::flat(0.0)),
                    batching,
                    max_queue: h.max_queue,
                    outages,
                }
            })
            .collect()
    }

    /// Replicas per served model: the hub's `replicas` table, or each accelerator type shared
    /// evenly among the served models that run on it. Every served model needs a replica, and the
    /// replicas of a type must fit in the hub's accelerators of that type.
    #[allow(clippy::too_many_arguments)]
    fn replicas(
        &mut self,
        at: &At<'_>,
        h: &RawHub,
        served: &[ModelId],
        accelerators: &[(AcceleratorId, u32)],
        acc_names: &[&str],
        model_names: &[&str],
        models: &[Model],
    ) -> Vec<(ModelId, u32)> {
        let have = |a: AcceleratorId| {
            accelerators
                .iter()
                .find(|(x, _)| *x == a)
                .map_or(0, |(_, n)| *n)
        };
        let mut out: Vec<(ModelId, u32)> = Vec::new();
        match &h.replicas {
            Some(table) => {
                for (name, &n) in table {
                    let key = at.table.key("replicas").key(name);
                    let Some(id) = self.reference(
                        at,
                        key.clone(),
                        &format!("replicas.{name}"),
                        name,
                        model_names,
                        "model",
                    ) else {
                        continue;
                    };
                    if !served.contains(&ModelId(id)) {
                        self.problem(
                            at,
                            key,
                            format!("replicas.{name} names a model the hub does not serve"),
                            Some(format!(
                                "add \"{name}\" to the hub's models, or remove it from replicas"
                            )),
                        );
                        continue;
                    }
                    out.push((ModelId(id), n));
                }
                for &m in served {
                    if !out.iter().any(|(x, _)| *x == m) {
                        let name = model_names.get(m.index()).copied().unwrap_or("?");
                        self.problem(
                            at,
                            at.table.key("replicas"),
                            format!("replicas has no entry for served model \"{name}\""),
                            Some(format!("add {name} = N to replicas")),
                        );
                    }
                }
            }
            None => {
                for &m in served {
                    let Some(model) = models.get(m.index()) else {
                        continue;
                    };
                    let sharing = served
                        .iter()
                        .filter(|x| {
                            models
                                .get(x.index())
                                .is_some_and(|o| o.accelerator == model.accelerator)
                        })
                        .count() as u32;
                    let per = model.accelerators_per_replica.max(1);
                    out.push((m, have(model.accelerator) / sharing.max(1) / per));
                }
            }
        }
        out.sort_by_key(|(m, _)| *m);
        // Every served model needs a replica; replicas of a type must fit.
        let mut used: Vec<(AcceleratorId, u32)> = Vec::new();
        for &(m, n) in &out {
            let Some(model) = models.get(m.index()) else {
                continue;
            };
            let name = model_names.get(m.index()).copied().unwrap_or("?");
            let acc = acc_names
                .get(model.accelerator.index())
                .copied()
                .unwrap_or("?");
            if n == 0 {
                let key = match &h.replicas {
                    Some(_) => at.table.key("replicas").key(name),
                    None => match h.models.iter().position(|x| x == name) {
                        Some(j) => at.table.key("models").index(j),
                        None => at.table.key("models"),
                    },
                };
                self.problem(
                    at,
                    key,
                    format!(
                        "serves \"{name}\" with 0 replicas: it has {} {acc} for the models on them, one replica needs {}",
                        have(model.accelerator),
                        model.accelerators_per_replica
                    ),
                    Some(format!("add {acc} accelerators to the hub, give replicas = {{ {name} = N }}, or remove \"{name}\" from its models")),
                );
            }
            match used.iter_mut().find(|(a, _)| *a == model.accelerator) {
                Some(u) => u.1 += n * model.accelerators_per_replica,
                None => used.push((model.accelerator, n * model.accelerators_per_replica)),
            }
        }
        for (a, n) in used {
            if n > have(a) {
                let acc = acc_names.get(a.index()).copied().unwrap_or("?");
                self.problem(
                    at,
                    at.table.key("replicas"),
                    format!("replicas need {n} {acc} but the hub has {}", have(a)),
                    Some("lower the replica counts or add accelerators".into()),
                );
            }
        }
        out
    }

    fn green(&mut self, at: &At<'_>, g: &RawGreen) -> Option<GreenSupply> {
        match g {
            RawGreen::Hourly(xs) => self
                .hourly_list(at, "green_mw", xs, &|v| v >= 0.0, ">= 0")
                .map(GreenSupply::HourlyMw),
            RawGreen::Profile(p) => {
                let inner = At::new(at.table.key("green_mw"), at.context);
                let profile = match p.profile.as_str() {
                    "solar" => Some(GreenProfile::Solar),
                    "wind" => {
                        self.problem(
                            at,
                            inner.table.key("profile"),
                            "green_mw.profile = \"wind\" has no data behind it yet".into(),
                            Some(
                                "no measured wind capacity-factor series ships with tokengrid; \
                                 give 24 hourly MW values instead"
                                    .into(),
                            ),
                        );
                        None
                    }
                    other => {
                        self.problem(
                            at,
                            inner.table.key("profile"),
                            format!("green_mw.profile = \"{other}\" is not a known profile"),
                            Some(format!(
                                "{}; or give 24 hourly MW values",
                                suggest(other, &["solar"], "profiles")
                            )),
                        );
                        None
                    }
                };
                let ok = self.check(
                    &inner,
                    "installed_mw",
                    p.installed_mw,
                    |v| v >= 0.0,
                    ">= 0",
                    "",
                );
                let profile = profile?;
                ok.then_some(GreenSupply::Profile {
                    profile,
                    installed_mw: p.installed_mw,
                })
            }
        }
    }

    fn dist(&mut self, at: &At<'_>, key: &str, d: &RawDist) -> Option<TokenDist> {
        let inner = At::new(at.table.key(key), at.context);
        let allowed: &[&str] = match d.dist.as_str() {
            "fixed" => &["value"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "sigma"],
            other => {
                self.problem(
                    at,
                    inner.table.key("dist"),
                    format!("{key}.dist = \"{other}\" is not a distribution"),
                    Some(suggest(
                        other,
                        &["fixed", "exponential", "lognormal"],
                        "distributions",
                    )),
                );
                return None;
            }
        };
        let given = [
            ("value", d.value),
            ("mean", d.mean),
            ("median", d.median),
            ("sigma", d.sigma),
        ];
        let mut good = true;
        for (name, v) in given {
            match (allowed.contains(&name), v) {
                (true, None) => {
                    self.problem(
                        at,
                        inner.table.clone(),
                        format!("{key} with dist = \"{}\" needs `{name}`", d.dist),
                        Some(format!(
                            "a {} distribution takes: {}",
                            d.dist,
                            allowed.join(", ")
                        )),
                    );
                    good = false;
                }
                (false, Some(_)) => {
                    self.problem(
                        at,
                        inner.table.key(name),
                        format!("{key}.{name} does not apply to dist = \"{}\"", d.dist),
                        Some(format!(
                            "a {} distribution takes: {}",
                            d.dist,
                            allowed.join(", ")
                        )),
                    );
                    good = false;
                }
                (true, Some(x)) => {
                    let ok = if name == "sigma" {
                        self.check(&inner, name, x, |v| v >= 0.0, ">= 0", "")
                    } else {
                        self.positive(&inner, name, x, "a token count")
                    };
                    good &= ok;
                }
                (false, None) => {}
            }
        }
        if !good {
            return None;
        }
        Some(match d.dist.as_str() {
            "fixed" => TokenDist::Fixed {
                value: d.value.unwrap_or(0.0),
            },
            "exponential" => TokenDist::Exponential {
                mean: d.mean.unwrap_or(0.0),
            },
            _ => TokenDist::Lognormal {
                median: d.median.unwrap_or(0.0),
                sigma: d.sigma.unwrap_or(0.0),
            },
        })
    }

    fn classes(
        &mut self,
        raw: &[RawClass],
        model_names: &[&str],
        acc_names: &[&str],
    ) -> Vec<Class> {
        let names: Vec<&str> = raw.iter().map(|c| c.name.as_str()).collect();
        self.duplicates("class", &names, |n| format!("class \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, c)| {
                let ctx = format!("class \"{}\"", c.name);
                let at = At::new(KeyPath::root().key("class").index(i), &ctx);
                let kind = self.class_kind(&at, c, model_names, acc_names);
                Class {
                    name: c.name.clone(),
                    kind,
                }
            })
            .collect()
    }

    fn class_kind(
        &mut self,
        at: &At<'_>,
        c: &RawClass,
        model_names: &[&str],
        acc_names: &[&str],
    ) -> ClassKind {
        let present: [(&str, bool); 13] = [
            ("model", c.model.is_some()),
            ("prompt_tokens", c.prompt_tokens.is_some()),
            ("output_tokens", c.output_tokens.is_some()),
            ("ttft_slo_ms", c.ttft_slo_ms.is_some()),
            ("e2e_slo_ms", c.e2e_slo_ms.is_some()),
            ("deadline", c.deadline.is_some()),
            ("accelerators", c.accelerators.is_some()),
            ("accelerator", c.accelerator.is_some()),
            ("compute_hours", c.compute_hours.is_some()),
            ("gradient_gb_per_step", c.gradient_gb_per_step.is_some()),
            ("step_compute_s", c.step_compute_s.is_some()),
            ("splittable", c.splittable.is_some()),
            ("jobs_per_day", c.jobs_per_day.is_some()),
        ];
        let (required, optional): (&[&str], &[&str]) = match c.kind.as_str() {
            "inference" => (
                &["model", "prompt_tokens", "output_tokens"],
                &["ttft_slo_ms", "e2e_slo_ms"],
            ),
            "batch" => (
                &["model", "prompt_tokens", "output_tokens", "deadline"],
                &[],
            ),
            "training" => (
                &[
                    "accelerators",
                    "compute_hours",
                    "gradient_gb_per_step",
                    "step_compute_s",
                    "deadline",
                    "jobs_per_day",
                ],
                &["accelerator", "splittable"],
            ),
            other => {
                self.problem(
                    at,
                    at.table.key("kind"),
                    format!("kind = \"{other}\" is not a class kind"),
                    Some(suggest(other, &["inference", "batch", "training"], "kinds")),
                );
                return ClassKind::Inference(placeholder_inference());
            }
        };
        for (key, given) in present {
            let allowed = required.contains(&key) || optional.contains(&key);
            if given && !allowed {
                self.problem(
                    at,
                    at.table.key(key),
                    format!("{key} does not apply to kind = \"{}\"", c.kind),
                    Some(format!(
                        "a {} class takes: {}",
                        c.kind,
                        required
                            .iter()
                            .chain(optional)
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
            if !given && required.contains(&key) {
                self.problem(
                    at,
                    at.table.clone(),
                    format!("missing `{key}`, which a {} class needs", c.kind),
                    None,
                );
            }
        }
        let model = c.model.as_ref().and_then(|m| {
            self.reference(at, at.table.key("model"), "model", m, model_names, "model")
        });
        let prompt = c
            .prompt_tokens
            .as_ref()
            .and_then(|d| self.dist(at, "prompt_tokens", d));
        let output = c
            .output_tokens
            .as_ref()
            .and_then(|d| self.dist(at, "output_tokens", d));
        let deadline = c
            .deadline
            .as_ref()
            .and_then(|d| self.duration(at, at.table.key("deadline"), "deadline", d));
        let fallback = TokenDist::Fixed { value: 1.0 };
        match c.kind.as_str() {
            "inference" => {
                if let Some(x) = c.ttft_slo_ms {
                    self.positive(at, "ttft_slo_ms", x, "");
                }
                if let Some(x) = c.e2e_slo_ms {
                    self.positive(at, "e2e_slo_ms", x, "");
                }
                ClassKind::Inference(Inference {
                    model: ModelId(model.unwrap_or(0)),
                    prompt_tokens: prompt.unwrap_or(fallback),
                    output_tokens: output.unwrap_or(fallback),
                    ttft_slo_ms: c.ttft_slo_ms,
                    e2e_slo_ms: c.e2e_slo_ms,
                })
            }
            "batch" => ClassKind::Batch(Batch {
                model: ModelId(model.unwrap_or(0)),
                prompt_tokens: prompt.unwrap_or(fallback),
                output_tokens: output.unwrap_or(fallback),
                deadline: deadline.unwrap_or_default(),
            }),
            _ => {
                if let Some(n) = c.accelerators {
                    self.positive_int(at, "accelerators", n, "");
                }
                for (key, v) in [
                    ("compute_hours", c.compute_hours),
                    ("gradient_gb_per_step", c.gradient_gb_per_step),
                    ("step_compute_s", c.step_compute_s),
                    ("jobs_per_day", c.jobs_per_day),
                ] {
                    if let Some(x) = v {
                        self.positive(at, key, x, "");
                    }
                }
                let accelerator = c.accelerator.as_ref().and_then(|a| {
                    self.reference(
                        at,
                        at.table.key("accelerator"),
                        "accelerator",
                        a,
                        acc_names,
                        "accelerator",
                    )
                });
                ClassKind::Training(Training {
                    accelerators: c.accelerators.unwrap_or(1),
                    accelerator: accelerator.map(AcceleratorId),
                    compute_hours: c.compute_hours.unwrap_or(0.0),
                    gradient_gb_per_step: c.gradient_gb_per_step.unwrap_or(0.0),
                    step_compute_s: c.step_compute_s.unwrap_or(0.0),
                    deadline: deadline.unwrap_or_default(),
                    splittable: c.splittable.unwrap_or(false),
                    jobs_per_day: c.jobs_per_day.unwrap_or(0.0),
                })
            }
        }
    }

    fn regions(
        &mut self,
        raw: &[RawRegion],
        hub_names: &[&str],
        class_names: &[&str],
        classes: &[Class],
        base_dir: Option<&Path>,
    ) -> Vec<Region> {
        raw.iter()
            .enumerate()
            .map(|(i, r)| {
                let ctx = format!("region \"{}\"", r.name);
                let at = At::new(KeyPath::root().key("region").index(i), &ctx);
                self.lat_lon(&at, r.lat, r.lon);
                let trace = r.trace.as_ref().and_then(|t| self.trace(&at, t, class_names, classes, base_dir));
                if r.trace.is_none() {
                    for (key, given) in [
                        ("peak_rps", r.peak_rps.is_some()),
                        ("diurnal", r.diurnal.is_some()),
                        ("mix", r.mix.is_some()),
                    ] {
                        if !given {
                            self.problem(
                                &at,
                                at.table.clone(),
                                format!("missing `{key}`"),
                                Some("a region needs peak_rps, diurnal and mix, unless it replays a trace".into()),
                            );
                        }
                    }
                }
                let peak_rps = r.peak_rps.unwrap_or(0.0);
                if r.peak_rps.is_some() {
                    self.check(&at, "peak_rps", peak_rps, |v| v >= 0.0, ">= 0", "requests per second at diurnal factor 1.0");
                }
                let diurnal = match &r.diurnal {
                    Some(d) => self.hourly_list(&at, "diurnal", d, &|v| v >= 0.0, ">= 0"),
                    None => Some(Hourly::flat(0.0)),
                };
                let mut mix = Vec::new();
                if let Some(m) = &r.mix {
                    let mut sum = 0.0;
                    let mut good = true;
                    for (name, &share) in m {
                        let key = at.table.key("mix").key(name);
                        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
                            self.problem(&at, key.clone(), format!("mix.{name} = {} must be within 0..1", fmt_num(share)), None);
                            good = false;
                        }
                        sum += share;
                        let Some(id) = self.reference(&at, key.clone(), &format!("mix.{name}"), name, class_names, "class") else {
                            good = false;
                            continue;
                        };
                        if let Some(ClassKind::Training(_)) = classes.get(id as usize).map(|c| &c.kind) {
                            self.problem(
                                &at,
                                key,
                                format!("mix.{name} names a training class"),
                                Some("training jobs arrive by their class's jobs_per_day, not from a region mix".into()),
                            );
                            good = false;
                        }
                        mix.push((ClassId(id), share));
                    }
                    if good && (sum - 1.0).abs() > MIX_TOLERANCE {
                        self.problem(
                            &at,
                            at.table.key("mix"),
                            format!("mix shares sum to {sum}, not 1"),
                            Some("shares are fractions of the region's requests; make them add up to 1".into()),
                        );
                    }
                    if m.is_empty() {
                        self.problem(&at, at.table.key("mix"), "mix is empty".into(), None);
                    }
                }
                mix.sort_by_key(|(c, _)| *c);
                let residency = r.residency.as_ref().map(|hubs| {
                    let mut ids = Vec::new();
                    for (j, h) in hubs.iter().enumerate() {
                        if let Some(id) =
                            self.reference(&at, at.table.key("residency").index(j), &format!("residency[{j}]"), h, hub_names, "hub")
                        {
                            ids.push(HubId(id));
                        }
                    }
                    if hubs.is_empty() {
                        self.problem(
                            &at,
                            at.table.key("residency"),
                            "residency is empty, so no hub may take this region's data".into(),
                            Some("list the hubs the data may go to, or remove residency".into()),
                        );
                    }
                    ids.sort();
                    ids.dedup();
                    ids
                });
                Region {
                    name: r.name.clone(),
                    lat: r.lat,
                    lon: r.lon,
                    peak_rps,
                    diurnal: diurnal.unwrap_or(Hourly::flat(0.0)),
                    mix,
                    residency,
                    trace,
                }
            })
            .collect()
    }

    fn trace(
        &mut self,
        at: &At<'_>,
        t: &RawTrace,
        class_names: &[&str],
        classes: &[Class],
        base_dir: Option<&Path>,
    ) -> Option<Trace> {
        let inner = At::new(at.table.key("trace"), at.context);
        let format = match t.format.as_str() {
            "azure-csv" => Some(TraceFormat::AzureCsv),
            "mooncake-jsonl" => Some(TraceFormat::MooncakeJsonl),
            other => {
                self.problem(
                    at,
                    inner.table.key("format"),
                    format!("trace.format = \"{other}\" is not a trace format"),
                    Some(suggest(other, &["azure-csv", "mooncake-jsonl"], "formats")),
                );
                None
            }
        };
        let class = self.reference(
            at,
            inner.table.key("class"),
            "trace.class",
            &t.class,
            class_names,
            "class",
        );
        if let Some(c) = class.and_then(|c| classes.get(c as usize))
            && matches!(c.kind, ClassKind::Training(_))
        {
            self.problem(
                at,
                inner.table.key("class"),
                format!("trace.class names training class \"{}\"", c.name),
                Some("a trace replays inference or batch requests".into()),
            );
        }
        let time_scale = t.time_scale.unwrap_or(1.0);
        let ok = self.positive(
            &inner,
            "time_scale",
            time_scale,
            "2.0 replays the trace twice as fast",
        );
        if t.file.trim().is_empty() {
            self.problem(
                at,
                inner.table.key("file"),
                "trace.file is empty".into(),
                None,
            );
        }
        let file = match base_dir {
            Some(dir) => dir.join(&t.file),
            None => t.file.clone().into(),
        };
        Some(Trace {
            file,
            format: format?,
            class: ClassId(class?),
            time_scale: if ok { time_scale } else { 1.0 },
        })
    }

    fn links(&mut self, raw: &[RawLink], hubs: &[&str], regions: &[&str]) -> Vec<Link> {
        let mut seen = BTreeSet::new();
        raw.iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let ctx = format!("link {} - {}", l.a, l.b);
                let at = At::new(KeyPath::root().key("link").index(i), &ctx);
                let a = self.site(&at, "a", &l.a, hubs, regions);
                let b = self.site(&at, "b", &l.b, hubs, regions);
                if l.a == l.b {
                    self.problem(&at, at.table.key("b"), format!("link joins \"{}\" to itself", l.a), None);
                }
                let pair = if l.a <= l.b { (l.a.clone(), l.b.clone()) } else { (l.b.clone(), l.a.clone()) };
                if !seen.insert(pair) {
                    self.problem(
                        &at,
                        at.table.key("a"),
                        format!("a link between \"{}\" and \"{}\" is already defined", l.a, l.b),
                        Some("give each site pair one [[link]]".into()),
                    );
                }
                let length = match (l.km, l.rtt_ms) {
                    (Some(km), None) => self.positive(&at, "km", km, "fiber route length").then_some(LinkLength::Km(km)),
                    (None, Some(rtt)) => self.positive(&at, "rtt_ms", rtt, "measured round-trip time").then_some(LinkLength::RttMs(rtt)),
                    (Some(_), Some(_)) => {
                        self.problem(
                            &at,
                            at.table.key("rtt_ms"),
                            "give km or rtt_ms, not both".into(),
                            Some("km derives the RTT from the speed of light in fiber; rtt_ms is a measurement".into()),
                        );
                        None
                    }
                    (None, None) => {
                        self.problem(
                            &at,
                            at.table.clone(),
                            "missing `km` or `rtt_ms`".into(),
                            Some("a link needs its fiber length (km) or a measured round-trip time (rtt_ms); omit the link to derive it from geography".into()),
                        );
                        None
                    }
                };
                self.positive(&at, "gbps", l.gbps, "link bandwidth in Gbit/s");
                let loss = l.loss.unwrap_or(0.0);
                self.check(&at, "loss", loss, |v| (0.0..1.0).contains(&v), "within 0 <= loss < 1", "a probability: 0.001 is 0.1% packet loss");
                let deterministic = l.deterministic.unwrap_or(false);
                let reservable = match l.reservable_gbps {
                    Some(r) if !deterministic => {
                        self.problem(
                            &at,
                            at.table.key("reservable_gbps"),
                            format!("reservable_gbps = {} on a link that is not deterministic", fmt_num(r)),
                            Some("set deterministic = true, or remove reservable_gbps".into()),
                        );
                        0.0
                    }
                    Some(r) => {
                        if self.check(&at, "reservable_gbps", r, |v| v >= 0.0, ">= 0", "") && r > l.gbps {
                            self.problem(
                                &at,
                                at.table.key("reservable_gbps"),
                                format!("reservable_gbps = {} exceeds gbps = {}", fmt_num(r), fmt_num(l.gbps)),
                                None,
                            );
                        }
                        r
                    }
                    None if deterministic => l.gbps,
                    None => 0.0,
                };
                let mut degradations = Vec::new();
                for (j, d) in l.degradations.iter().enumerate() {
                    let key = at.table.key("degradations").index(j);
                    let inner = At::new(key.clone(), &ctx);
                    let start = self.duration(&at, key.key("at"), &format!("degradations[{j}].at"), &d.at);
                    let len = self.duration(&at, key.key("for"), &format!("degradations[{j}].for"), &d.length);
                    let extra = d.extra_rtt_ms.unwrap_or(0.0);
                    let ok_extra = self.check(&inner, "extra_rtt_ms", extra, |v| v >= 0.0, ">= 0", "round-trip time added by the fault");
                    let dloss = d.loss.unwrap_or(loss);
                    let ok_loss = self.check(&inner, "loss", dloss, |v| (0.0..1.0).contains(&v), "within 0 <= loss < 1", "");
                    if d.extra_rtt_ms.is_none() && d.loss.is_none() {
                        self.problem(
                            &at,
                            key.clone(),
                            format!("degradations[{j}] changes nothing"),
                            Some("give extra_rtt_ms, loss, or both".into()),
                        );
                    }
                    if let (Some(s_), Some(l_), true, true) = (start, len, ok_extra, ok_loss) {
                        degradations.push(Degradation { at: s_, length: l_, extra_rtt_ms: extra, loss: dloss });
                    }
                }
                Some(Link {
                    a: a?,
                    b: b?,
                    length: length?,
                    gbps: l.gbps,
                    loss,
                    deterministic,
                    reservable_gbps: reservable,
                    degradations,
                })
            })
            .collect()
    }

    fn policies(&mut self, raw: &[RawPolicy]) -> Vec<PolicyDef> {
        let names: Vec<&str> = raw.iter().map(|p| p.name.as_str()).collect();
        self.duplicates("policy", &names, |n| format!("policy \"{n}\""));
        raw.iter()
            .enumerate()
            .map(|(i, p)| {
                let ctx = format!("policy \"{}\"", p.name);
                let at = At::new(KeyPath::root().key("policy").index(i), &ctx);
                if ["nearest", "cheapest", "cost-slo", "green", "plan"].contains(&p.name.as_str()) {
                    self.problem(
                        &at,
                        at.table.key("name"),
                        format!("name \"{}\" is a built-in policy", p.name),
                        Some("give the scenario's policy a name of its own".into()),
                    );
                }
                if p.scores.is_empty() {
                    self.problem(
                        &at,
                        at.table.key("scores"),
                        "scores is empty".into(),
                        Some("give at least one score plugin and its weight, e.g. scores = { energy-cost = 1.0 }".into()),
                    );
                }
                let inner = At::new(at.table.key("scores"), &ctx);
                for (name, w) in &p.scores {
                    self.check(&inner, name, *w, |v| v >= 0.0, ">= 0", "a weight");
                }
                let mut filters: Vec<String> = HARD_FILTERS.iter().map(|f| (*f).to_owned()).collect();
                for (j, f) in p.filters.iter().enumerate() {
                    if filters.contains(f) {
                        if !HARD_FILTERS.contains(&f.as_str()) {
                            self.problem(&at, at.table.key("filters").index(j), format!("filters lists \"{f}\" twice"), None);
                        }
                        continue;
                    }
                    filters.push(f.clone());
                }
                let carbon_objective = match p.objective.as_deref() {
                    None | Some("cost") => false,
                    Some("carbon") => true,
                    Some(other) => {
                        self.problem(
                            &at,
                            at.table.key("objective"),
                            format!("objective = \"{other}\" is not an objective"),
                            Some("use \"cost\" or \"carbon\"".into()),
                        );
                        false
                    }
                };
                PolicyDef {
                    name: p.name.clone(),
                    filters,
                    scores: p.scores.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    carbon_objective,
                }
            })
            .collect()
    }

    fn site(
        &mut self,
        at: &At<'_>,
        key: &str,
        name: &str,
        hubs: &[&str],
        regions: &[&str],
    ) -> Option<Site> {
        if let Some(i) = hubs.iter().position(|h| *h == name) {
            return u32::try_from(i).ok().map(|i| Site::Hub(HubId(i)));
        }
        if let Some(i) = regions.iter().position(|r| *r == name) {
            return u32::try_from(i).ok().map(|i| Site::Region(RegionId(i)));
        }
        let sites: Vec<&str> = hubs.iter().chain(regions).copied().collect();
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = \"{name}\" is neither a hub nor a region"),
            Some(suggest(name, &sites, "sites")),
        );
        None
    }

    /// Cross-entity rules that need the resolved scenario: every region can be served.
    fn feasibility(&mut self, s: &Scenario) {
        for (ri, r) in s.regions.iter().enumerate() {
            let ctx = format!("region \"{}\"", r.name);
            let at = At::new(KeyPath::root().key("region").index(ri), &ctx);
            let mut classes: Vec<(ClassId, KeyPath)> = r
                .mix
                .iter()
                .map(|(c, _)| (*c, at.table.key("mix").key(&s.class(*c).name)))
                .collect();
            if let Some(t) = &r.trace {
                classes.push((t.class, at.table.key("trace").key("class")));
            }
            for (c, key) in classes {
                let class = s.class(c);
                let Some(model) = class.model() else { continue };
                let feasible = (0..s.hubs.len()).any(|h| {
                    let h = HubId(h as u32);
                    s.hub(h).serves(model) && r.may_use(h) && s.replicas_at(h, model) > 0
                });
                if !feasible {
                    let model_name = &s.model(model).name;
                    let servers: Vec<&str> = s
                        .hubs
                        .iter()
                        .filter(|h| h.serves(model))
                        .map(|h| h.name.as_str())
                        .collect();
                    let help = if servers.is_empty() {
                        format!("add \"{model_name}\" to the models of a hub")
                    } else {
                        format!(
                            "hubs serving \"{model_name}\": {}; allow one of them in residency",
                            servers.join(", ")
                        )
                    };
                    self.problem(
                        &at,
                        key,
                        format!(
                            "no hub can serve class \"{}\" (model \"{model_name}\") for this region",
                            class.name
                        ),
                        Some(help),
                    );
                }
            }
        }
        for (ci, c) in s.classes.iter().enumerate() {
            let ClassKind::Training(t) = &c.kind else {
                continue;
            };
            let free_at = |hi: usize| -> u32 {
                s.hubs[hi]
                    .accelerators
                    .iter()
                    .filter(|(a, _)| t.accelerator.is_none_or(|want| want == *a))
                    .map(|(a, _)| s.training_accelerators_at(HubId(hi as u32), *a))
                    .sum()
            };
            let biggest = (0..s.hubs.len()).map(free_at).max().unwrap_or(0);
            let total: u32 = (0..s.hubs.len()).map(free_at).sum();
            let room = if t.splittable { total } else { biggest };
            if room < t.accelerators {
                let ctx = format!("class \"{}\"", c.name);
                let at = At::new(KeyPath::root().key("class").index(ci), &ctx);
                self.problem(
                    &at,
                    at.table.key("accelerators"),
                    format!(
                        "accelerators = {} but the {} has only {room} not held by serving replicas",
                        t.accelerators,
                        if t.splittable {
                            "whole scenario"
                        } else {
                            "largest hub"
                        }
                    ),
                    Some(if t.splittable {
                        "lower accelerators or add hubs".into()
                    } else {
                        "lower accelerators, add capacity, or set splittable = true".into()
                    }),
                );
            }
        }
    }
}

fn placeholder_inference() -> Inference {
    Inference {
        model: ModelId(0),
        prompt_tokens: TokenDist::Fixed { value: 1.0 },
        output_tokens: TokenDist::Fixed { value: 1.0 },
        ttft_slo_ms: None,
        e2e_slo_ms: None,
    }
}

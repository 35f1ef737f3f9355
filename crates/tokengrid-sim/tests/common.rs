//! Scenario text builders shared by the tests.

use tokengrid_core::Scenario;

/// `n` servers serving one sequence at a time (`batching = "none"`) at `rate` output tokens/s,
/// fed by Poisson arrivals at `rps` of requests whose output is exponential with mean
/// `mean_tokens` (prefill is instant): an M/M/n queue with service rate rate / mean_tokens.
pub(crate) fn mmn(
    n: u32,
    rps: f64,
    rate: f64,
    mean_tokens: f64,
    duration: &str,
    seed: u64,
) -> String {
    let diurnal = vec!["1.0"; 24].join(", ");
    format!(
        r#"[scenario]
name = "mmn"
start = "2026-03-02T00:00:00+08:00"
duration = "{duration}"
seed = {seed}
currency = "CNY"

[[accelerator]]
name = "X"
bf16_tflops = 100.0
hbm_gb = 80.0
hbm_tbps = 2.0
tdp_w = 400.0
idle_w = 50.0

[[model]]
name = "m"
total_params_b = 1.0
active_params_b = 1.0
bytes_per_param = 2.0
kv_bytes_per_token = 1000
accelerator = "X"
accelerators_per_replica = 1
max_batch = 1
prefill_tokens_per_s = 1e12
decode_tokens_per_s = {rate}

[[hub]]
name = "h"
lat = 30.0
lon = 120.0
pue = 1.0
grid_cap_mw = 10.0
accelerators = {{ X = {n} }}
models = ["m"]
tariff_yuan_per_kwh = 0.5
grid_carbon_g_per_kwh = 500.0
batching = "none"

[[region]]
name = "r"
lat = 30.0
lon = 120.0
peak_rps = {rps}
diurnal = [{diurnal}]
mix = {{ c = 1.0 }}

[[class]]
name = "c"
kind = "inference"
model = "m"
prompt_tokens = {{ dist = "fixed", value = 1 }}
output_tokens = {{ dist = "exponential", mean = {mean_tokens} }}
"#
    )
}

pub(crate) fn load(text: &str) -> Scenario {
    tokengrid_core::load_str(text, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn opts(policy: &str, duration_s: Option<f64>) -> tokengrid_sim::Options {
    tokengrid_sim::Options {
        policy: policy.into(),
        duration_s,
        seed: None,
        progress: None,
        fluid_step_s: None,
        horizon_s: None,
        window: None,
    }
}

#[allow(dead_code)] // used by the release tests
/// Erlang C: probability that an arrival waits in an M/M/n queue with offered load `a`
/// (= lambda / mu, a < n).
pub(crate) fn erlang_c(n: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..n {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(n) * f64::from(n) / (f64::from(n) - a);
    last / (sum + last)
}

//! Integration tests of tokengrid-core: one module per behaviour.

mod builtin;
mod mutation;
mod roundtrip;
mod validation;

/// A small valid scenario that the validation tests break one key at a time.
pub const MINIMAL: &str = r#"[scenario]
name = "mini"
start = "2026-03-02T00:00:00+08:00"
duration = "6h"
seed = 1
currency = "CNY"

[[accelerator]]
name = "H800"
bf16_tflops = 989.0
fp8_tflops = 1979.0
hbm_gb = 80.0
hbm_tbps = 3.35
tdp_w = 700.0
idle_w = 90.0

[[model]]
name = "dense"
total_params_b = 70.0
active_params_b = 70.0
bytes_per_param = 2.0
kv_bytes_per_token = 327680
accelerator = "H800"
accelerators_per_replica = 4
max_batch = 64

[[model]]
name = "moe"
total_params_b = 671.0
active_params_b = 37.0
experts = 256
experts_per_token = 8
bytes_per_param = 1.0
kv_bytes_per_token = 70272
accelerator = "H800"
accelerators_per_replica = 16
max_batch = 512

[[hub]]
name = "east"
lat = 31.15
lon = 121.12
pue = 1.25
grid_cap_mw = 1.0
accelerators = { H800 = 32 }
models = ["dense", "moe"]
tariff_yuan_per_kwh = 0.6
grid_carbon_g_per_kwh = 561.7

[[hub]]
name = "west"
lat = 35.73
lon = 107.63
pue = 1.2
grid_cap_mw = 1.0
accelerators = { H800 = 64 }
models = ["moe"]
replicas = { moe = 2 }
tariff_yuan_per_kwh = [0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4,
                       0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
green_mw = { profile = "solar", installed_mw = 0.2 }
grid_carbon_g_per_kwh = 585.7

[[region]]
name = "shanghai"
lat = 31.23
lon = 121.47
peak_rps = 10.0
diurnal = [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0,
           0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8, 0.7, 0.5, 0.4]
mix = { chat = 0.8, summarize = 0.2 }

[[class]]
name = "chat"
kind = "inference"
model = "moe"
prompt_tokens = { dist = "lognormal", median = 1020, sigma = 0.6 }
output_tokens = { dist = "exponential", mean = 211 }
ttft_slo_ms = 2000
e2e_slo_ms = 60000

[[class]]
name = "summarize"
kind = "batch"
model = "dense"
prompt_tokens = { dist = "fixed", value = 6000 }
output_tokens = { dist = "fixed", value = 500 }
deadline = "8h"

[[class]]
name = "train"
kind = "training"
accelerators = 32
compute_hours = 6.0
gradient_gb_per_step = 14.0
step_compute_s = 4.0
deadline = "48h"
splittable = false
jobs_per_day = 2.0

[[link]]
a = "shanghai"
b = "west"
km = 1900.0
gbps = 400.0
loss = 0.0001
"#;

/// 1-based line and column (in characters) of byte offset `at` of `text`, computed by counting
/// lines directly (independently of the crate's locator).
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in text.char_indices() {
        if i == at {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Byte offset of `point` at or after the unique occurrence of `anchor` in `text`.
pub fn offset(text: &str, anchor: &str, point: &str) -> usize {
    let found: Vec<usize> = text.match_indices(anchor).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "anchor {anchor:?} must occur exactly once");
    let a = found[0];
    a + text[a..].find(point).expect("point after anchor")
}

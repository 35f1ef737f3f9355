//! Integration tests of tokengrid-net: one module per behaviour, each formula against a hand
//! calculation with its source named.

mod claims;
mod geo;
mod goodput;
mod properties;
mod reserve;
mod training;

/// `|got - want| <= tol x |want|`.
#[track_caller]
pub fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "got {got}, want {want} (relative tolerance {tol})"
    );
}

/// Three hubs in a line joined by deterministic links (a-b 100 Gb/s reservable, b-c 50), plus a
/// region near a.
pub const LINE: &str = r#"
[scenario]
name = "line"
start = "2026-03-02T00:00:00+08:00"
duration = "1h"
seed = 1
currency = "CNY"

[[accelerator]]
name = "X"
bf16_tflops = 100.0
hbm_gb = 80.0
hbm_tbps = 2.0
tdp_w = 400.0
idle_w = 50.0

[[hub]]
name = "a"
lat = 30.0
lon = 120.0
pue = 1.2
grid_cap_mw = 1.0
accelerators = { X = 8 }
models = []
tariff_yuan_per_kwh = 0.5
grid_carbon_g_per_kwh = 500.0

[[hub]]
name = "b"
lat = 32.0
lon = 112.0
pue = 1.2
grid_cap_mw = 1.0
accelerators = { X = 8 }
models = []
tariff_yuan_per_kwh = 0.5
grid_carbon_g_per_kwh = 500.0

[[hub]]
name = "c"
lat = 36.0
lon = 104.0
pue = 1.2
grid_cap_mw = 1.0
accelerators = { X = 8 }
models = []
tariff_yuan_per_kwh = 0.5
grid_carbon_g_per_kwh = 500.0

[[link]]
a = "a"
b = "b"
km = 1000.0
gbps = 200.0
deterministic = true
reservable_gbps = 100.0

[[link]]
a = "b"
b = "c"
rtt_ms = 12.0
gbps = 100.0
deterministic = true
reservable_gbps = 50.0
"#;

pub fn line() -> tokengrid_core::Scenario {
    tokengrid_core::load_str(LINE, "line.toml", None).expect("valid")
}

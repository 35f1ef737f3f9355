//! Invariants over random inputs.

use proptest::prelude::*;
use tokengrid_core::Hourly;
use tokengrid_energy::hourly::Clock;
use tokengrid_energy::{Economics, HubSupply, Replica, Tariff};

use crate::{deepseek_v3, dense_70b, h100};

fn hourly(max: f64) -> impl Strategy<Value = Hourly> {
    prop::array::uniform24(0.0..max).prop_map(Hourly)
}

fn supply() -> impl Strategy<Value = HubSupply> {
    (
        1.0..2.0f64,
        hourly(2.0),
        hourly(1.0),
        hourly(900.0),
        0.0..86_400.0f64,
    )
        .prop_map(|(pue, tariff, green, carbon, start)| HubSupply {
            pue,
            tariff: Tariff::new(&tariff),
            tariff_per_kwh: tariff,
            green_mw: green,
            carbon_g_per_kwh: carbon,
            clock: Clock {
                start_second_of_day: start,
            },
        })
}

proptest! {
    #[test]
    fn energy_cost_and_carbon_are_never_negative(s in supply(), t0 in 0.0..1e6f64, len in 0.0..3e5f64, kw in 0.0..5e3f64) {
        let d = s.draw(t0, t0 + len, kw);
        for v in [d.it_kwh, d.facility_kwh, d.green_kwh, d.grid_kwh, d.cost, d.carbon_kg] {
            prop_assert!(v >= 0.0, "{d:?}");
        }
        prop_assert!((d.green_kwh + d.grid_kwh - d.facility_kwh).abs() <= 1e-9 * d.facility_kwh.max(1.0));
    }

    #[test]
    fn tariff_cost_is_additive_over_intervals(h in hourly(3.0), a in 0.0..1e6f64, ab in 0.0..2e5f64, bc in 0.0..2e5f64, kw in 0.0..1e4f64) {
        let t = Tariff::new(&h);
        let (b, c) = (a + ab, a + ab + bc);
        let whole = t.cost(a, c, kw);
        let parts = t.cost(a, b, kw) + t.cost(b, c, kw);
        prop_assert!((whole - parts).abs() <= 1e-9 * whole.abs().max(1.0), "{whole} vs {parts}");
    }

    #[test]
    fn supply_draw_is_additive_over_intervals(s in supply(), a in 0.0..1e6f64, ab in 0.0..2e5f64, bc in 0.0..2e5f64, kw in 0.0..3e3f64) {
        let (b, c) = (a + ab, a + ab + bc);
        let whole = s.draw(a, c, kw);
        let mut parts = s.draw(a, b, kw);
        parts.add(&s.draw(b, c, kw));
        for (w, p) in [(whole.cost, parts.cost), (whole.carbon_kg, parts.carbon_kg), (whole.green_kwh, parts.green_kwh), (whole.grid_kwh, parts.grid_kwh)] {
            prop_assert!((w - p).abs() <= 1e-9 * w.abs().max(1.0), "{w} vs {p}");
        }
    }

    #[test]
    fn more_active_params_never_cheaper_per_token(a1 in 5.0..600.0f64, extra in 0.0..60.0f64, batch in 1u32..4096, ctx in 0.0..32_000.0f64, moe in any::<bool>()) {
        let make = |active: f64| {
            let mut m = if moe { deepseek_v3(32) } else { dense_70b(32) };
            m.total_params_b = 671.0;
            m.active_params_b = active.min(671.0);
            if !moe { m.total_params_b = m.active_params_b; }
            Replica::new(&m, &h100())
        };
        let (lo, hi) = (make(a1), make(a1 + extra));
        prop_assert!(lo.joules_per_output_token(batch, ctx) <= hi.joules_per_output_token(batch, ctx) * (1.0 + 1e-12));
        prop_assert!(lo.joules_per_prompt_token() <= hi.joules_per_prompt_token() * (1.0 + 1e-12));
    }

    #[test]
    fn higher_pue_never_cheaper(j in 0.01..10.0f64, u in 0.01..1.0f64, pue in 1.0..3.0f64, more in 0.0..1.0f64, tariff in 0.0..2.0f64) {
        let e = Economics { joules_per_token_busy: j, busy_fraction: u, idle_power_ratio: 0.13, pue, tariff_per_kwh: tariff, price_per_million_tokens: 2.0 };
        let worse = Economics { pue: pue + more, ..e };
        prop_assert!(e.cost_per_million_tokens() <= worse.cost_per_million_tokens() * (1.0 + 1e-12));
    }
}

//! Token economics, and the worked "about 22-fold" case of the crate docs from the roofline.

use tokengrid_core::builtin;
use tokengrid_energy::{Economics, Replica};

use crate::close;

#[test]
fn uplift_by_hand() {
    // 0.5 J/token busy all the time, PUE 1.25: 0.625 J per token -> 3.6e6 / 0.625 = 5.76e6 tokens
    // per kWh; at 0.5 per kWh a million tokens cost 0.5 / 5.76 = 0.086806; sold at 3 per million
    // the uplift is 3 / 0.086806 = 34.56.
    let e = Economics {
        joules_per_token_busy: 0.5,
        busy_fraction: 1.0,
        idle_power_ratio: 0.1,
        pue: 1.25,
        tariff_per_kwh: 0.5,
        price_per_million_tokens: 3.0,
    };
    close(e.tokens_per_kwh(), 5.76e6, 1e-12);
    close(e.cost_per_million_tokens(), 0.5 / 5.76, 1e-12);
    close(e.value_uplift(), 34.56, 1e-12);
    // Busy half the time with idle at a tenth of busy power: (0.5 + 0.5 x 0.1) / 0.5 = 1.1 x the
    // energy per token.
    let half = Economics {
        busy_fraction: 0.5,
        ..e
    };
    close(half.joules_per_token_it(), 0.55, 1e-12);
}

#[test]
fn the_article_22x_case_from_the_roofline() {
    // DeepSeek-V3 on the built-in 32 x H800 replica at its full batch and DeepSeek's average
    // context (4,989 tokens, data/facts/deepseek_serving_day.json).
    let s = builtin::load("china-east-west").expect("valid");
    let m = s.model(s.model_id("deepseek-v3").expect("model"));
    let acc = s.accelerator(m.accelerator);
    let r = Replica::new(m, acc);
    let batch = r.kv_batch_limit(4989.0);
    assert_eq!(batch, 2816, "max_batch binds");
    let j = r.joules_per_output_token(batch, 4989.0);
    // IT power of the busy replica (accelerators and hosts) over its decode rate.
    let cost = r.decode_cost(batch, 4989.0);
    close(
        j,
        r.busy_it_power_w(&cost) / r.decode_tokens_per_s(batch, 4989.0),
        1e-12,
    );
    assert!((0.15..0.8).contains(&j), "{j}");
    let gansu = s.hub(s.hub_id("gansu").expect("gansu"));
    let e = Economics {
        joules_per_token_busy: j,
        busy_fraction: 0.12,
        idle_power_ratio: acc.idle_w / acc.tdp_w,
        pue: gansu.pue,
        tariff_per_kwh: gansu.tariff_yuan_per_kwh.mean(),
        price_per_million_tokens: 2.0,
    };
    // Hand: J_it = j x (0.12 + 0.88 x 90/700) / 0.12, x PUE 1.2; tokens/kWh = 3.6e6 / that;
    // cost per million = 0.40 / (tokens/kWh / 1e6); uplift = 2.0 / cost.
    let uplift = e.value_uplift();
    close(
        uplift,
        2.0 / (0.40 * 1.2 * j * (0.12 + 0.88 * 90.0 / 700.0) / 0.12 / 3.6),
        1e-9,
    );
    // The article's "about 22-fold" within a factor of two under these explicit assumptions.
    assert!((11.0..44.0).contains(&uplift), "{uplift:.2}");
}

//! Cost of ownership next to energy, by hand.

use crate::common::opts;

#[test]
fn ownership_adds_other_opex_and_written_off_accelerators() {
    // two-hubs: 32 H800 at yangtze, 64 at gansu. Give the H800 a price of 250,000 yuan over the
    // default 5 years, and each hub 1,000 yuan a day of other operating cost.
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("text")
        .replacen(
            "idle_w = 90.0",
            "idle_w = 90.0\nprice_yuan = 250000.0  # test\n",
            1,
        )
        .replace(
            "batching = \"continuous\"",
            "batching = \"continuous\"\nother_opex_yuan_per_day = 1000.0  # test",
        );
    let s = tokengrid_core::load_str(&text, "t.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let r = tokengrid_sim::run(&s, &opts("cost-slo", Some(3600.0))).expect("run");
    let o = &r.ownership;
    let t = r.simulated_s;
    let capital = 96.0 * 250_000.0 / (5.0 * 365.0 * 86_400.0) * t;
    let other = 2.0 * 1000.0 * t / 86_400.0;
    assert!(
        (o.capital - capital).abs() < 1e-6 * capital,
        "{} vs {capital}",
        o.capital
    );
    assert!((o.other_operating - other).abs() < 1e-9 * other);
    assert_eq!(o.electricity, r.energy.cost);
    let e = r.energy.cost;
    assert!((o.power_share_of_operating - e / (e + other)).abs() < 1e-12);
    assert!((o.power_share_of_total - e / (e + other + capital)).abs() < 1e-12);
    assert_eq!(o.unpriced_accelerators, 0);
    // Without prices or other costs, power is the whole of it.
    let plain = tokengrid_sim::run(
        &tokengrid_core::builtin::load("two-hubs").expect("built-in"),
        &opts("cost-slo", Some(3600.0)),
    )
    .expect("run");
    assert_eq!(plain.ownership.power_share_of_total, 1.0);
    assert_eq!(plain.ownership.unpriced_accelerators, 96);
}

#[test]
fn a_negative_price_is_located() {
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("text")
        .replacen("idle_w = 90.0", "idle_w = 90.0\nprice_yuan = -1.0", 1);
    let err = tokengrid_core::load_str(&text, "t.toml", None).expect_err("rejected");
    assert!(err.to_string().contains("price_yuan = -1"), "{err}");
}

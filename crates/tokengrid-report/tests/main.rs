//! Tests of the HTML report: it parses, holds every chart with data, fetches nothing, and
//! renders in a real headless browser.

mod browser;
mod html;
mod text;

use tokengrid_sim::Report;

/// Two short runs of the tutorial scenario (in daytime, so work goes both ways).
pub(crate) fn runs() -> (tokengrid_core::Scenario, Vec<Report>) {
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("built-in")
        .replace("2026-03-02T00:00:00+08:00", "2026-03-02T09:00:00+08:00");
    let s = tokengrid_core::load_str(&text, "two-hubs.toml", None).expect("valid");
    // As `compare` runs them: in parallel, over one accounting window.
    let window = tokengrid_sim::SharedWindow::new(2);
    let runs = std::thread::scope(|sc| {
        let handles: Vec<_> = ["nearest", "cost-slo"]
            .iter()
            .map(|p| {
                let o = tokengrid_sim::Options {
                    policy: (*p).into(),
                    duration_s: Some(3.0 * 3600.0),
                    seed: None,
                    progress: None,
                    fluid_step_s: None,
                    horizon_s: None,
                    window: Some(window.clone()),
                };
                let s = &s;
                sc.spawn(move || tokengrid_sim::run(s, &o).expect("run"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("run"))
            .collect::<Vec<_>>()
    });
    (s, runs)
}

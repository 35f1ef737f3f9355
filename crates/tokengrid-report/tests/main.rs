//! Tests of the HTML report: it parses, holds every chart with data, fetches nothing, and
//! renders in a real headless browser.

mod browser;
mod html;
mod text;

use tokengrid_sim::Report;

/// Two short runs of the tutorial scenario (in daytime, so work goes both ways).
pub(crate) fn runs() -> (tokengrid_core::Scenario, Vec<Report>) {
    let runs: Vec<_> = ["nearest", "cost-slo"].iter().map(|p| (*p, None)).collect();
    run_all(&runs, 3.0)
}

/// `policies` x `seeds` runs of `hours` of the tutorial scenario, policy by policy, as
/// `compare --replications` runs them.
pub(crate) fn replicated(
    policies: &[&'static str],
    seeds: u64,
) -> (tokengrid_core::Scenario, Vec<Report>) {
    let runs: Vec<_> = policies
        .iter()
        .flat_map(|p| (1..=seeds).map(move |seed| (*p, Some(seed))))
        .collect();
    run_all(&runs, 1.0)
}

/// The runs `(policy, seed)` of `hours` of the tutorial scenario, in daytime.
fn run_all(
    runs: &[(&'static str, Option<u64>)],
    hours: f64,
) -> (tokengrid_core::Scenario, Vec<Report>) {
    let text = tokengrid_core::builtin::text("two-hubs")
        .expect("built-in")
        .replace("2026-03-02T00:00:00+08:00", "2026-03-02T09:00:00+08:00");
    let s = tokengrid_core::load_str(&text, "two-hubs.toml", None).expect("valid");
    // As `compare` runs them: in parallel, over one accounting window.
    let window = tokengrid_sim::SharedWindow::new(runs.len());
    let runs = std::thread::scope(|sc| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&(p, seed)| {
                let o = tokengrid_sim::Options {
                    policy: p.into(),
                    duration_s: Some(hours * 3600.0),
                    seed,
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

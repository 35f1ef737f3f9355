//! `tokengrid simulate` and `tokengrid compare`.

use std::io::Write;
use std::path::Path;

use tokengrid_sim::{Options, Report};

use crate::{CompareArgs, Failure, Format, Mode, SimulateArgs, print_json};

/// What a run of `simulate` or `compare` needs, for `policy` and `seed`.
struct RunSpec {
    duration: Option<std::time::Duration>,
    horizon: Option<std::time::Duration>,
    mode: Mode,
    step: std::time::Duration,
}

impl RunSpec {
    fn options(&self, policy: &str, seed: Option<u64>) -> Options {
        Options {
            fluid_step_s: (self.mode == Mode::Fluid).then_some(self.step.as_secs_f64()),
            policy: policy.to_owned(),
            duration_s: self.duration.map(|d| d.as_secs_f64()),
            seed,
            progress: None,
            horizon_s: self.horizon.map(|h| h.as_secs_f64()),
            window: None,
        }
    }

    /// Options accounted over `window` with the other runs sharing it.
    fn in_window(
        &self,
        policy: &str,
        seed: Option<u64>,
        window: &std::sync::Arc<tokengrid_sim::SharedWindow>,
    ) -> Options {
        Options {
            window: Some(window.clone()),
            ..self.options(policy, seed)
        }
    }
}

fn spec_of_simulate(a: &SimulateArgs) -> RunSpec {
    RunSpec {
        duration: a.duration,
        horizon: a.horizon,
        mode: a.mode,
        step: a.step,
    }
}

fn spec_of_compare(a: &CompareArgs) -> RunSpec {
    RunSpec {
        duration: a.duration,
        horizon: a.horizon,
        mode: a.mode,
        step: a.step,
    }
}

/// Writes `json` to DIR/report.json.
fn write_json(dir: &Path, json: &impl serde::Serialize) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::Input(format!(
            "error: cannot create output folder {}: {e}",
            dir.display()
        ))
    })?;
    let text = serde_json::to_string_pretty(json).map_err(|e| Failure::Internal(e.into()))?;
    let path = dir.join("report.json");
    std::fs::write(&path, text)
        .map_err(|e| Failure::Input(format!("error: cannot write {}: {e}", path.display())))
}

/// A progress bar on stderr for a run of `total_s` simulated seconds: only when stderr is a
/// terminal, and only shown once the run has lasted about a second.
fn progress_bar(
    multi: &indicatif::MultiProgress,
    policy: &str,
    total_s: f64,
) -> Option<tokengrid_sim::Progress> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = multi.add(indicatif::ProgressBar::hidden());
    bar.set_length(total_s.max(1.0) as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>10} [{bar:30}] {percent:>3}% of simulated time, {msg}, ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(policy.to_owned());
    let started = std::time::Instant::now();
    Some(tokengrid_sim::Progress(std::sync::Arc::new(
        move |sim_s, events| {
            let wall = started.elapsed().as_secs_f64();
            if wall < 1.0 {
                return;
            }
            if bar.is_hidden() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            bar.set_position(sim_s.min(total_s) as u64);
            bar.set_message(format!("{:.1} M events/s", events as f64 / wall / 1e6));
        },
    )))
}

fn run_one(s: &tokengrid_core::Scenario, o: &Options) -> Result<Report, Failure> {
    tokengrid_sim::run(s, o).map_err(|e| Failure::Input(format!("error: {e}")))
}

/// Runs every set of options at once (the cores take turns), reports in the same order; the
/// first failure is the answer.
fn run_all(s: &tokengrid_core::Scenario, all: Vec<Options>) -> Result<Vec<Report>, Failure> {
    let results: Vec<Result<Report, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .into_iter()
            .map(|o| scope.spawn(move || run_one(s, &o)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Failure::Internal(anyhow::anyhow!(
                        "a simulation thread panicked"
                    )))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

pub(crate) fn simulate(out: &mut impl Write, a: SimulateArgs) -> Result<(), Failure> {
    let s = crate::load_scaled(&a.scenario, &a.set, a.demand_scale)?;
    if a.replications == 0 {
        return Err(Failure::Input(
            "error: --replications must be at least 1".into(),
        ));
    }
    if a.replications > 1 {
        return replicate(out, &s, &a);
    }
    let mut o = spec_of_simulate(&a).options(&a.policy, a.seed);
    let multi = indicatif::MultiProgress::new();
    let total = a
        .duration
        .map_or(s.duration.as_secs_f64(), |d| d.as_secs_f64());
    o.progress = progress_bar(&multi, &a.policy, total);
    let r = run_one(&s, &o)?;
    let _ = multi.clear();
    if let Some(dir) = &a.out {
        let one = std::slice::from_ref(&r);
        write_out(dir, &s, one, &r, &tokengrid_report::html(&s, one))?;
    }
    match a.format {
        Format::Json => print_json(out, &r),
        Format::Table => {
            out.write_all(tokengrid_report::text::summary(&r, &s.currency).as_bytes())?;
            if let Some(dir) = &a.out {
                writeln!(
                    out,
                    "wrote {0}/report.json, {0}/report.html and {0}/timeseries.csv",
                    dir.display()
                )?;
            }
            Ok(())
        }
    }
}

/// The most replications run at once (each holds a whole simulation in memory).
const MAX_REPLICATIONS: usize = 64;

/// `simulate --replications N`: N seeds on every core over one window, summarized with 95%
/// intervals.
fn replicate(
    out: &mut impl Write,
    s: &tokengrid_core::Scenario,
    a: &SimulateArgs,
) -> Result<(), Failure> {
    let base = a.seed.unwrap_or(s.seed);
    let seeds: Vec<u64> = (0..u64::from(a.replications))
        .map(|i| base.wrapping_add(i))
        .collect();
    if seeds.len() > MAX_REPLICATIONS {
        return Err(Failure::Input(format!(
            "error: --replications {} is more than {MAX_REPLICATIONS}: every replication runs at once, so all are accounted over one window",
            seeds.len()
        )));
    }
    // Every replication at once (the cores take turns), over one window: each seed's run is
    // costed to the latest end of any, so the interval measures the policy, not how late a
    // seed's last batch job happened to finish.
    let window = tokengrid_sim::SharedWindow::new(seeds.len());
    let spec = spec_of_simulate(a);
    let all = seeds
        .iter()
        .map(|&seed| spec.in_window(&a.policy, Some(seed), &window))
        .collect();
    let runs = run_all(s, all)?;
    let summary = tokengrid_sim::Summary::of(&runs);
    let json = serde_json::json!({
        "schema_version": tokengrid_sim::SCHEMA_VERSION,
        "summary": summary,
        "runs": runs,
    });
    if let Some(dir) = &a.out {
        let rows = tokengrid_report::text::PolicySummary::of_runs(&runs, runs.len());
        let html = tokengrid_report::html_replicated(s, &rows, &runs);
        write_out(dir, s, &runs[..1], &json, &html)?;
    }
    match a.format {
        Format::Json => print_json(out, &json),
        Format::Table => {
            out.write_all(
                tokengrid_report::text::replications(&summary, &runs[0], &s.currency).as_bytes(),
            )?;
            if let Some(dir) = &a.out {
                writeln!(
                    out,
                    "wrote {}/report.json (summary and every run), report.html and timeseries.csv (seed {})",
                    dir.display(),
                    runs[0].seed
                )?;
            }
            Ok(())
        }
    }
}

pub(crate) fn compare(out: &mut impl Write, a: CompareArgs) -> Result<(), Failure> {
    let s = crate::load_scaled(&a.scenario, &a.set, a.demand_scale)?;
    if a.policies.is_empty() {
        return Err(Failure::Input(
            "error: --policies needs at least one policy".into(),
        ));
    }
    // Check every policy before spending time on any run.
    for p in &a.policies {
        tokengrid_sched::Policy::for_scenario(p, &s)
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    if a.replications == 0 {
        return Err(Failure::Input(
            "error: --replications must be at least 1".into(),
        ));
    }
    if a.replications > 1 {
        return compare_replicated(out, &s, &a);
    }
    let multi = indicatif::MultiProgress::new();
    let total = a
        .duration
        .map_or(s.duration.as_secs_f64(), |d| d.as_secs_f64());
    // Every policy is accounted over the same window: the latest end of any of them.
    let window = tokengrid_sim::SharedWindow::new(a.policies.len());
    let spec = spec_of_compare(&a);
    let all = a
        .policies
        .iter()
        .map(|p| {
            let mut o = spec.in_window(p, a.seed, &window);
            o.progress = progress_bar(&multi, p, total);
            o
        })
        .collect();
    let runs = run_all(&s, all);
    let _ = multi.clear();
    let runs = runs?;
    let json = serde_json::json!({ "schema_version": tokengrid_sim::SCHEMA_VERSION, "runs": runs });
    if let Some(dir) = &a.out {
        write_out(dir, &s, &runs, &json, &tokengrid_report::html(&s, &runs))?;
    }
    match a.format {
        Format::Json => print_json(out, &json),
        Format::Table => {
            out.write_all(tokengrid_report::text::compare(&runs, &s.currency).as_bytes())?;
            Ok(())
        }
    }
}

/// `compare --replications N`: every policy on the same N seeds, all at once over one window;
/// each policy's figures with 95% intervals, and its cost against the first policy's paired by
/// seed (both saw the same arrivals, so the difference is known far more closely than either).
fn compare_replicated(
    out: &mut impl Write,
    s: &tokengrid_core::Scenario,
    a: &CompareArgs,
) -> Result<(), Failure> {
    let n = a.replications as usize;
    let total = n * a.policies.len();
    if total > MAX_REPLICATIONS {
        return Err(Failure::Input(format!(
            "error: {} policies x {n} replications is {total} runs, more than {MAX_REPLICATIONS}: every run goes at once, so all are accounted over one window\n  help: fewer --replications or --policies",
            a.policies.len()
        )));
    }
    let base = a.seed.unwrap_or(s.seed);
    let seeds: Vec<u64> = (0..n as u64).map(|i| base.wrapping_add(i)).collect();
    let window = tokengrid_sim::SharedWindow::new(total);
    let spec = spec_of_compare(a);
    let all = a
        .policies
        .iter()
        .flat_map(|p| seeds.iter().map(move |&seed| (p, seed)))
        .map(|(p, seed)| spec.in_window(p, Some(seed), &window))
        .collect();
    let runs = run_all(s, all)?;
    let rows = tokengrid_report::text::PolicySummary::of_runs(&runs, n);
    let json = serde_json::json!({
        "schema_version": tokengrid_sim::SCHEMA_VERSION,
        "policies": rows,
        "runs": runs,
    });
    if let Some(dir) = &a.out {
        // Every run in report.json; the time series of the first seed.
        let first: Vec<Report> = runs.chunks(n).map(|rs| rs[0].clone()).collect();
        let html = tokengrid_report::html_replicated(s, &rows, &runs);
        write_out(dir, s, &first, &json, &html)?;
    }
    match a.format {
        Format::Json => print_json(out, &json),
        Format::Table => {
            out.write_all(
                tokengrid_report::text::compare_replications(&rows, &s.name, &s.currency)
                    .as_bytes(),
            )?;
            Ok(())
        }
    }
}

/// What `--out` DIR gets: report.json (`json`), report.html (`html`) and the time series of
/// `runs` (timeseries.csv of one, timeseries-POLICY.csv of each of several).
fn write_out(
    dir: &Path,
    s: &tokengrid_core::Scenario,
    runs: &[Report],
    json: &impl serde::Serialize,
    html: &str,
) -> Result<(), Failure> {
    write_json(dir, json)?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| {
            Failure::Input(format!(
                "error: cannot write {}: {e}",
                dir.join(name).display()
            ))
        })
    };
    write("report.html", html)?;
    if let [one] = runs {
        write("timeseries.csv", &one.timeseries_csv(&s.currency))?;
    } else {
        for r in runs {
            write(
                &format!("timeseries-{}.csv", r.policy),
                &r.timeseries_csv(&s.currency),
            )?;
        }
    }
    Ok(())
}

//! `tokengrid sweep`: a grid of scenario values x policies x seeds, run on every core, as one
//! table (and CSV, JSON and an HTML page). Each point's policies are accounted over one window,
//! as `compare` does: a run that ended before the latest of its point and seed is run again to
//! that end (only idle power is added).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokengrid_core::{Override, Scenario};
use tokengrid_sim::{Estimate, Options, Report};

use crate::{Failure, Format, Mode, parse_duration, print_json};

/// Arguments of `tokengrid sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct SweepArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = tokengrid_core::builtin::DEFAULT)]
    scenario: String,
    /// A value to vary: PATH=V1,V2,... (repeatable: every combination is run), e.g.
    /// --vary hub.gansu.tariff_yuan_per_kwh=0.3,0.35,0.4.
    #[arg(long, value_name = "PATH=V1,V2,...", required = true)]
    vary: Vec<String>,
    /// Fixed changes, as for simulate.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::parse)]
    set: Vec<Override>,
    /// Policies, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "nearest,cost-slo")]
    policies: Vec<String>,
    /// Seeds per point (SEED, SEED+1, ...): more than one gives 95% intervals.
    #[arg(long, default_value_t = 1)]
    seeds: u32,
    /// First seed [default: the scenario's].
    #[arg(long)]
    seed: Option<u64>,
    /// How long arrivals are admitted [default: the scenario's].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Simulation mode.
    #[arg(long, value_enum, default_value_t = Mode::Discrete)]
    mode: Mode,
    /// Fluid mode's time step.
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    step: std::time::Duration,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write sweep.csv, sweep.json and sweep.html to this folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One row of the result: a point of the grid under a policy.
#[derive(Debug, serde::Serialize)]
struct Row {
    /// The varied values, as `PATH=VALUE`.
    point: Vec<String>,
    policy: String,
    seeds: Vec<u64>,
    window_h: f64,
    cost: Estimate,
    cost_per_million_tokens: Estimate,
    facility_kwh: Estimate,
    carbon_kg: Estimate,
    slo_met_fraction: Estimate,
}

/// Every combination of the varied values, as overrides.
fn grid(vary: &[String]) -> Result<Vec<Vec<String>>, Failure> {
    let mut points: Vec<Vec<String>> = vec![Vec::new()];
    for v in vary {
        let Some((path, values)) = v.split_once('=') else {
            return Err(Failure::Input(format!(
                "error: --vary {v}: expected PATH=V1,V2,..., e.g. --vary hub.gansu.tariff_yuan_per_kwh=0.3,0.4"
            )));
        };
        let values: Vec<&str> = values.split(',').map(str::trim).collect();
        if values.iter().any(|x| x.is_empty()) {
            return Err(Failure::Input(format!(
                "error: --vary {v}: a value is empty"
            )));
        }
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |x| {
                    let mut q = p.clone();
                    q.push(format!("{}={x}", path.trim()));
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

pub(crate) fn sweep(out: &mut impl Write, a: SweepArgs) -> Result<(), Failure> {
    if a.policies.is_empty() || a.seeds == 0 {
        return Err(Failure::Input(
            "error: sweep needs at least one policy and one seed".into(),
        ));
    }
    let points = grid(&a.vary)?;
    // Every point's scenario is loaded and checked before any run starts.
    let mut scenarios: Vec<Scenario> = Vec::new();
    for p in &points {
        let mut set = a.set.clone();
        for o in p {
            set.push(Override::parse(o).map_err(|e| Failure::Input(format!("error: {e}")))?);
        }
        scenarios.push(tokengrid_core::load_with(&a.scenario, &set)?);
    }
    for p in &a.policies {
        tokengrid_sched::Policy::for_scenario(p, &scenarios[0])
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    let base = a.seed.unwrap_or(scenarios[0].seed);
    // (point, policy, seed) in that order.
    let mut jobs: Vec<(usize, usize, u64)> = Vec::new();
    for pi in 0..points.len() {
        for po in 0..a.policies.len() {
            for si in 0..u64::from(a.seeds) {
                jobs.push((pi, po, base.wrapping_add(si)));
            }
        }
    }
    let options = |policy: &str, seed: u64, horizon_s: Option<f64>| Options {
        policy: policy.to_owned(),
        duration_s: a.duration.map(|d| d.as_secs_f64()),
        seed: Some(seed),
        progress: None,
        fluid_step_s: (a.mode == Mode::Fluid).then_some(a.step.as_secs_f64()),
        horizon_s,
        window: None,
    };
    let first: Vec<(usize, Options)> = jobs
        .iter()
        .map(|&(pi, po, seed)| (pi, options(&a.policies[po], seed, None)))
        .collect();
    let mut reports = run_parallel(&scenarios, &first)?;
    // One window per (point, seed): runs that ended earlier are run again to its end.
    let mut again = Vec::new();
    for (i, &(pi, _, seed)) in jobs.iter().enumerate() {
        let end = jobs
            .iter()
            .zip(&reports)
            .filter(|((p, _, s), _)| *p == pi && *s == seed)
            .map(|(_, r)| r.simulated_s)
            .fold(0.0, f64::max);
        if reports[i].simulated_s < end {
            again.push((i, end));
        }
    }
    if !again.is_empty() {
        let todo: Vec<(usize, Options)> = again
            .iter()
            .map(|&(i, end)| {
                let (pi, po, seed) = jobs[i];
                (pi, options(&a.policies[po], seed, Some(end)))
            })
            .collect();
        for ((i, _), r) in again.iter().zip(run_parallel(&scenarios, &todo)?) {
            reports[*i] = r;
        }
    }
    let mut rows = Vec::new();
    for (pi, point) in points.iter().enumerate() {
        for (po, policy) in a.policies.iter().enumerate() {
            let runs: Vec<&Report> = jobs
                .iter()
                .zip(&reports)
                .filter(|((p, q, _), _)| *p == pi && *q == po)
                .map(|(_, r)| r)
                .collect();
            let est = |f: &dyn Fn(&Report) -> f64| {
                Estimate::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            rows.push(Row {
                point: point.clone(),
                policy: policy.clone(),
                seeds: runs.iter().map(|r| r.seed).collect(),
                window_h: runs.iter().map(|r| r.simulated_s).fold(0.0, f64::max) / 3600.0,
                cost: est(&|r| r.energy.cost),
                cost_per_million_tokens: est(&|r| r.cost_per_million_tokens),
                facility_kwh: est(&|r| r.energy.facility_kwh),
                carbon_kg: est(&|r| r.energy.carbon_kg),
                slo_met_fraction: est(&|r| r.requests.slo_met_fraction),
            });
        }
    }
    let currency = scenarios[0].currency.clone();
    if let Some(dir) = &a.out {
        write_out(dir, &scenarios[0].name, &currency, &rows)?;
    }
    match a.format {
        Format::Json => print_json(
            out,
            &serde_json::json!({ "schema_version": tokengrid_sim::SCHEMA_VERSION, "scenario": scenarios[0].name, "rows": rows }),
        ),
        Format::Table => {
            out.write_all(table(&scenarios[0].name, &currency, &rows).as_bytes())?;
            if let Some(dir) = &a.out {
                writeln!(
                    out,
                    "wrote {0}/sweep.csv, {0}/sweep.json and {0}/sweep.html",
                    dir.display()
                )?;
            }
            Ok(())
        }
    }
}

/// Runs each (scenario index, options) of `todo` on every core; the reports in `todo`'s order.
fn run_parallel(scenarios: &[Scenario], todo: &[(usize, Options)]) -> Result<Vec<Report>, Failure> {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(todo.len().max(1));
    let mut done: Vec<(usize, Result<Report, Failure>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((pi, o)) = todo.get(i) else { break };
                        let r = tokengrid_sim::run(&scenarios[*pi], o)
                            .map_err(|e| Failure::Input(format!("error: {e}")));
                        mine.push((i, r));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(Failure::Internal(anyhow::anyhow!(
                            "a simulation thread panicked"
                        ))),
                    )]
                })
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

fn cell(e: &Estimate, digits: usize, scale: f64) -> String {
    if e.ci95 > 0.0 {
        format!("{:.digits$} +- {:.digits$}", e.mean * scale, e.ci95 * scale)
    } else {
        format!("{:.digits$}", e.mean * scale)
    }
}

fn table(scenario: &str, currency: &str, rows: &[Row]) -> String {
    let mut out = format!("{scenario}: sweep, each point's policies over one window\n");
    let width = rows
        .iter()
        .map(|r| r.point.join(" ").len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:<width$}  {:<10} {:>20} {:>14} {:>14} {:>10} {:>9}\n",
        "point",
        "policy",
        format!("cost ({currency})"),
        "facility kWh",
        "kg CO2",
        "SLO met",
        "window"
    ));
    for r in rows {
        out.push_str(&format!(
            "{:<width$}  {:<10} {:>20} {:>14} {:>14} {:>9.2}% {:>7.1} h\n",
            r.point.join(" "),
            r.policy,
            cell(&r.cost, 2, 1.0),
            cell(&r.facility_kwh, 1, 1.0),
            cell(&r.carbon_kg, 1, 1.0),
            r.slo_met_fraction.mean * 100.0,
            r.window_h
        ));
    }
    out
}

fn write_out(dir: &PathBuf, scenario: &str, currency: &str, rows: &[Row]) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::Input(format!(
            "error: cannot create output folder {}: {e}",
            dir.display()
        ))
    })?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).map_err(|e| {
            Failure::Input(format!(
                "error: cannot write {}: {e}",
                dir.join(name).display()
            ))
        })
    };
    let cur = currency.to_ascii_lowercase();
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "point".to_owned(),
        "policy".to_owned(),
        "seeds".to_owned(),
        "window_h".to_owned(),
        format!("cost_{cur}"),
        format!("cost_{cur}_ci95"),
        format!("{cur}_per_million_tokens"),
        "facility_kwh".to_owned(),
        "carbon_kg".to_owned(),
        "slo_met_fraction".to_owned(),
    ];
    w.write_record(&header)
        .map_err(|e| Failure::Internal(e.into()))?;
    for r in rows {
        w.write_record([
            r.point.join(" "),
            r.policy.clone(),
            r.seeds.len().to_string(),
            format!("{:.4}", r.window_h),
            format!("{:.6}", r.cost.mean),
            format!("{:.6}", r.cost.ci95),
            format!("{:.6}", r.cost_per_million_tokens.mean),
            format!("{:.4}", r.facility_kwh.mean),
            format!("{:.4}", r.carbon_kg.mean),
            format!("{:.6}", r.slo_met_fraction.mean),
        ])
        .map_err(|e| Failure::Internal(e.into()))?;
    }
    let csv = w
        .into_inner()
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    write("sweep.csv", &csv)?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": tokengrid_sim::SCHEMA_VERSION, "scenario": scenario, "rows": rows,
    }))
    .map_err(|e| Failure::Internal(e.into()))?;
    write("sweep.json", json.as_bytes())?;
    let esc = tokengrid_core::markup::esc;
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/><title>tokengrid sweep: {0}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:16px}}table{{border-collapse:collapse;font-size:13px}}\
         td,th{{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}}td:first-child,th:first-child,td:nth-child(2){{text-align:left}}</style>\
         </head><body><h1>tokengrid sweep: {0}</h1><p>Each point's policies are accounted over one window; \
         a &plusmn; is the 95% confidence interval over seeds.</p><table><tr><th>point</th><th>policy</th>\
         <th>cost ({1})</th><th>{1} per M tokens</th><th>facility kWh</th><th>kg CO2</th><th>SLO met</th><th>window</th></tr>",
        esc(scenario),
        esc(currency)
    );
    for r in rows {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{:.1} h</td></tr>",
            esc(&r.point.join(" ")),
            esc(&r.policy),
            esc(&cell(&r.cost, 2, 1.0)).replace("+-", "&plusmn;"),
            r.cost_per_million_tokens.mean,
            cell(&r.facility_kwh, 1, 1.0).replace("+-", "&plusmn;"),
            cell(&r.carbon_kg, 1, 1.0).replace("+-", "&plusmn;"),
            r.slo_met_fraction.mean * 100.0,
            r.window_h
        ));
    }
    html.push_str("</table></body></html>\n");
    write("sweep.html", html.as_bytes())
}

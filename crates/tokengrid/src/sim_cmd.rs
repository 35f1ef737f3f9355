//! `tokengrid simulate` and `tokengrid compare`.

use std::io::Write;
use std::path::Path;

use tokengrid_sim::{Options, Report};

use crate::{CompareArgs, Failure, Format, SimulateArgs, print_json};

fn options(policy: &str, duration: Option<std::time::Duration>, seed: Option<u64>) -> Options {
    Options {
        policy: policy.to_owned(),
        duration_s: duration.map(|d| d.as_secs_f64()),
        seed,
    }
}

fn run_one(s: &tokengrid_core::Scenario, o: &Options) -> Result<Report, Failure> {
    tokengrid_sim::run(s, o).map_err(|e| Failure::Input(format!("error: {e}")))
}

pub(crate) fn simulate(out: &mut impl Write, a: SimulateArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load(&a.scenario)?;
    let r = run_one(&s, &options(&a.policy, a.duration, a.seed))?;
    if let Some(dir) = &a.out {
        write_out(dir, std::slice::from_ref(&r), false)?;
    }
    match a.format {
        Format::Json => print_json(out, &r),
        Format::Table => {
            summary(out, &r, &s.currency)?;
            if let Some(dir) = &a.out {
                writeln!(
                    out,
                    "wrote {}/report.json and {}/timeseries.csv",
                    dir.display(),
                    dir.display()
                )?;
            }
            Ok(())
        }
    }
}

pub(crate) fn compare(out: &mut impl Write, a: CompareArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load(&a.scenario)?;
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
    let runs: Vec<Result<Report, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = a
            .policies
            .iter()
            .map(|p| {
                let o = options(p, a.duration, a.seed);
                let s = &s;
                scope.spawn(move || run_one(s, &o))
            })
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
    let runs: Vec<Report> = runs.into_iter().collect::<Result<_, _>>()?;
    if let Some(dir) = &a.out {
        write_out(dir, &runs, true)?;
    }
    match a.format {
        Format::Json => print_json(out, &serde_json::json!({ "runs": runs })),
        Format::Table => compare_table(out, &runs, &s.currency),
    }
}

fn write_out(dir: &Path, runs: &[Report], compare: bool) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::Input(format!(
            "error: cannot create output folder {}: {e}",
            dir.display()
        ))
    })?;
    let json = if compare {
        serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))
    } else {
        serde_json::to_string_pretty(&runs[0])
    }
    .map_err(|e| Failure::Internal(e.into()))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| {
            Failure::Input(format!(
                "error: cannot write {}: {e}",
                dir.join(name).display()
            ))
        })
    };
    write("report.json", &json)?;
    if compare {
        for r in runs {
            write(&format!("timeseries-{}.csv", r.policy), &r.timeseries_csv())?;
        }
    } else {
        write("timeseries.csv", &runs[0].timeseries_csv())?;
    }
    Ok(())
}

fn summary(out: &mut impl Write, r: &Report, currency: &str) -> Result<(), Failure> {
    let q = &r.requests;
    writeln!(
        out,
        "{} under {} (seed {}), {:.1} h simulated",
        r.scenario,
        r.policy,
        r.seed,
        r.simulated_s / 3600.0
    )?;
    writeln!(
        out,
        "  requests   {} total, {} completed, {} rejected, {} failed; SLO met {:.2}%",
        q.total,
        q.completed,
        q.rejected,
        q.failed,
        q.slo_met_fraction * 100.0
    )?;
    writeln!(
        out,
        "  latency    TTFT p50 {:.0} ms, p99 {:.0} ms; end-to-end p50 {:.0} ms, p99 {:.0} ms",
        q.ttft_ms.p50, q.ttft_ms.p99, q.e2e_ms.p50, q.e2e_ms.p99
    )?;
    let e = &r.energy;
    writeln!(
        out,
        "  energy     {:.1} kWh facility ({:.1} IT), {:.1}% green; cost {:.2} {currency}; {:.1} kg CO2",
        e.facility_kwh,
        e.it_kwh,
        if e.facility_kwh > 0.0 {
            e.green_kwh / e.facility_kwh * 100.0
        } else {
            0.0
        },
        e.cost,
        e.carbon_kg
    )?;
    writeln!(
        out,
        "  tokens     {} prompt, {} output; {:.4} {currency} per million tokens",
        r.tokens.prompt, r.tokens.output, r.cost_per_million_tokens
    )?;
    if r.jobs.arrived > 0 {
        writeln!(
            out,
            "  training   {} jobs: {} placed ({} split across hubs), {} rejected, {} failed, {} completed",
            r.jobs.arrived,
            r.jobs.placed,
            r.jobs.split,
            r.jobs.rejected,
            r.jobs.failed,
            r.jobs.completed
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>9} {:>6} {:>10} {:>9} {:>9} {:>10}",
        "hub", "requests", "util", "kWh", "cost", "kg CO2", "wait ms"
    )?;
    for h in &r.hubs {
        writeln!(
            out,
            "{:<24} {:>9} {:>5.1}% {:>10.1} {:>9.2} {:>9.1} {:>10.1}",
            h.name,
            h.requests,
            h.utilization * 100.0,
            h.energy_kwh,
            h.cost,
            h.carbon_kg,
            h.mean_wait_ms
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<12} {:>9} {:>8} {:>10} {:>10} {:>10}",
        "class", "requests", "SLO met", "TTFT p99", "E2E p50", "E2E p99"
    )?;
    for c in &r.classes {
        writeln!(
            out,
            "{:<12} {:>9} {:>7.2}% {:>8.0}ms {:>8.0}ms {:>8.0}ms",
            c.name,
            c.requests,
            c.slo_met_fraction * 100.0,
            c.ttft_ms.p99,
            c.e2e_ms.p50,
            c.e2e_ms.p99
        )?;
    }
    writeln!(
        out,
        "engine: {} events in {:.2} s ({:.2} M events/s)",
        r.engine.events,
        r.engine.wall_seconds,
        r.engine.events_per_second / 1e6
    )?;
    Ok(())
}

fn compare_table(out: &mut impl Write, runs: &[Report], currency: &str) -> Result<(), Failure> {
    writeln!(
        out,
        "{} (seed {}): policies side by side",
        runs[0].scenario, runs[0].seed
    )?;
    write!(out, "{:<26}", "")?;
    for r in runs {
        write!(out, " {:>12}", r.policy)?;
    }
    writeln!(out)?;
    let row =
        |out: &mut dyn Write, label: &str, f: &dyn Fn(&Report) -> String| -> std::io::Result<()> {
            write!(out, "{label:<26}")?;
            for r in runs {
                write!(out, " {:>12}", f(r))?;
            }
            writeln!(out)
        };
    let west = ["inner-mongolia", "guizhou", "gansu", "ningxia"];
    let util = |r: &Report, west_side: bool| {
        let hubs: Vec<&tokengrid_sim::report::HubReport> = r
            .hubs
            .iter()
            .filter(|h| west.contains(&h.name.as_str()) == west_side)
            .collect();
        if hubs.is_empty() {
            return "-".to_owned();
        }
        format!(
            "{:.1}%",
            hubs.iter().map(|h| h.utilization).sum::<f64>() / hubs.len() as f64 * 100.0
        )
    };
    row(out, &format!("cost ({currency})"), &|r| {
        format!("{:.2}", r.energy.cost)
    })?;
    row(out, &format!("{currency} per M tokens"), &|r| {
        format!("{:.4}", r.cost_per_million_tokens)
    })?;
    row(out, "facility kWh", &|r| {
        format!("{:.1}", r.energy.facility_kwh)
    })?;
    row(out, "green share", &|r| {
        format!(
            "{:.1}%",
            if r.energy.facility_kwh > 0.0 {
                r.energy.green_kwh / r.energy.facility_kwh * 100.0
            } else {
                0.0
            }
        )
    })?;
    row(out, "kg CO2", &|r| format!("{:.1}", r.energy.carbon_kg))?;
    row(out, "SLO met (all)", &|r| {
        format!("{:.2}%", r.requests.slo_met_fraction * 100.0)
    })?;
    for (i, c) in runs[0].classes.iter().enumerate() {
        row(out, &format!("SLO met {}", c.name), &|r| {
            format!("{:.2}%", r.classes[i].slo_met_fraction * 100.0)
        })?;
    }
    row(out, "TTFT p99 (ms)", &|r| {
        format!("{:.0}", r.requests.ttft_ms.p99)
    })?;
    row(out, "rejected", &|r| r.requests.rejected.to_string())?;
    row(out, "utilization east", &|r| util(r, false))?;
    row(out, "utilization west", &|r| util(r, true))?;
    Ok(())
}

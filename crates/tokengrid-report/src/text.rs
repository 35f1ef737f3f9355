//! Terminal tables: a compact summary of one run, and policies side by side with deltas
//! against the first. Plain text (no colour), so pipes and files stay clean.

use std::fmt::Write;

use tokengrid_sim::Report;
use tokengrid_sim::report::HubReport;

/// The western hubs of the East Data, West Computing plan (for the east/west utilization rows).
pub const WEST: [&str; 4] = ["inner-mongolia", "guizhou", "gansu", "ningxia"];

/// A duration given in ms, in the unit a reader takes in at a glance: "850 ms", "12.5 s",
/// "4.2 min", "7.9 h"; "-" for none (0, e.g. training, which has no latency).
pub fn duration(ms: f64) -> String {
    if ms.is_nan() || ms <= 0.0 {
        "-".to_owned()
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 600_000.0 {
        format!("{:.1} s", ms / 1e3)
    } else if ms < 7_200_000.0 {
        format!("{:.1} min", ms / 60e3)
    } else {
        format!("{:.1} h", ms / 3_600e3)
    }
}

/// A compact summary of one run.
pub fn summary(r: &Report, currency: &str) -> String {
    let mut out = String::new();
    let q = &r.requests;
    let _ = writeln!(
        out,
        "{} under {} (seed {}), {:.1} h of arrivals, accounted over {:.1} h",
        r.scenario,
        r.policy,
        r.seed,
        r.arrivals_s / 3600.0,
        r.simulated_s / 3600.0
    );
    let _ = writeln!(
        out,
        "  requests   {} total, {} completed, {} rejected, {} failed; SLO met {:.2}%",
        q.total,
        q.completed,
        q.rejected,
        q.failed,
        q.slo_met_fraction * 100.0
    );
    let u = &r.unserved;
    if !(u.rejected.is_empty() && u.failed.is_empty() && u.jobs_rejected.is_empty()) {
        let list = |m: &std::collections::BTreeMap<String, u64>| {
            let mut v: Vec<(&String, &u64)> = m.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            v.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        for (what, m) in [
            ("rejected", &u.rejected),
            ("failed", &u.failed),
            ("training jobs rejected", &u.jobs_rejected),
        ] {
            if !m.is_empty() {
                parts.push(format!("{what}: {}", list(m)));
            }
        }
        let _ = writeln!(out, "  unserved   {}", parts.join("; "));
    }
    let _ = writeln!(
        out,
        "  latency    TTFT p50 {}, p99 {}; end-to-end p50 {}, p99 {} (interactive classes)",
        duration(q.ttft_ms.p50),
        duration(q.ttft_ms.p99),
        duration(q.e2e_ms.p50),
        duration(q.e2e_ms.p99)
    );
    let e = &r.energy;
    let _ = writeln!(
        out,
        "  energy     {:.1} kWh facility ({:.1} IT), {:.1}% green; cost {:.2} {currency}; {:.1} kg CO2",
        e.facility_kwh,
        e.it_kwh,
        share(e.green_kwh, e.facility_kwh) * 100.0,
        e.cost,
        e.carbon_kg
    );
    let o = &r.ownership;
    if o.other_operating > 0.0 || o.capital > 0.0 {
        let _ = writeln!(
            out,
            "  ownership  electricity {:.2}, other operating {:.2}, accelerators written off {:.2} {currency}: power is {:.1}% of operating cost, {:.1}% of total{}",
            o.electricity,
            o.other_operating,
            o.capital,
            o.power_share_of_operating * 100.0,
            o.power_share_of_total * 100.0,
            if o.unpriced_accelerators > 0 {
                format!(
                    " ({} accelerators without a price left out)",
                    o.unpriced_accelerators
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "  tokens     {} prompt, {} output; {:.4} {currency} per million tokens",
        r.tokens.prompt, r.tokens.output, r.cost_per_million_tokens
    );
    if r.jobs.arrived > 0 {
        let j = &r.jobs;
        let _ = writeln!(
            out,
            "  training   {} jobs: {} placed ({} split across hubs), {} rejected, {} failed, {} completed",
            j.arrived, j.placed, j.split, j.rejected, j.failed, j.completed
        );
    }
    if r.faults.hub_outages + r.faults.link_degradations > 0 {
        let _ = writeln!(
            out,
            "  faults     {} hub outages, {} link degradations; {} requests re-dispatched",
            r.faults.hub_outages, r.faults.link_degradations, q.redispatched
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>6} {:>10} {:>9} {:>9} {:>10}",
        "hub", "requests", "util", "kWh", "cost", "kg CO2", "mean wait"
    );
    for h in &r.hubs {
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>5.1}% {:>10.1} {:>9.2} {:>9.1} {:>10}",
            h.name,
            h.requests,
            h.utilization * 100.0,
            h.energy_kwh,
            h.cost,
            h.carbon_kg,
            if h.requests == 0 {
                "-".to_owned()
            } else if h.mean_wait_ms < 1.0 {
                format!("{:.2} ms", h.mean_wait_ms)
            } else {
                duration(h.mean_wait_ms)
            }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:>9} {:>8} {:>10} {:>10} {:>10}",
        "class", "requests", "SLO met", "TTFT p99", "E2E p50", "E2E p99"
    );
    for c in &r.classes {
        let _ = writeln!(
            out,
            "{:<12} {:>9} {:>7.2}% {:>10} {:>10} {:>10}",
            c.name,
            c.requests,
            c.slo_met_fraction * 100.0,
            duration(c.ttft_ms.p99),
            duration(c.e2e_ms.p50),
            duration(c.e2e_ms.p99)
        );
    }
    if r.mode == "fluid" {
        let _ = writeln!(
            out,
            "engine: fluid, {} steps in {:.2} s",
            r.engine.steps, r.engine.wall_seconds
        );
    } else {
        let _ = writeln!(
            out,
            "engine: {} events in {:.2} s ({:.2} M events/s)",
            r.engine.events,
            r.engine.wall_seconds,
            r.engine.events_per_second / 1e6
        );
    }
    out
}

fn share(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Mean utilization of the eastern (`west = false`) or western hubs; `None` when there are none.
pub fn side_utilization(r: &Report, west: bool) -> Option<f64> {
    let hubs: Vec<&HubReport> = r
        .hubs
        .iter()
        .filter(|h| WEST.contains(&h.name.as_str()) == west)
        .collect();
    (!hubs.is_empty()).then(|| hubs.iter().map(|h| h.utilization).sum::<f64>() / hubs.len() as f64)
}

/// How a row shows its change against the first policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delta {
    /// Amounts: percent change.
    Relative,
    /// Shares: percentage points.
    Points,
    /// Counts: plain difference.
    Count,
}

fn cell(
    v: Option<f64>,
    base: Option<f64>,
    first: bool,
    fmt: &dyn Fn(f64) -> String,
    delta: Delta,
) -> String {
    match (v, base) {
        (None, _) => "-".to_owned(),
        (Some(v), _) if first => fmt(v),
        (Some(v), Some(b)) => match delta {
            Delta::Relative if b != 0.0 => format!("{} ({:+.1}%)", fmt(v), (v / b - 1.0) * 100.0),
            Delta::Relative => fmt(v),
            Delta::Points => format!("{} ({:+.1})", fmt(v), (v - b) * 100.0),
            Delta::Count => format!("{} ({:+})", fmt(v), v - b),
        },
        (Some(v), None) => fmt(v),
    }
}

/// Policies side by side; every column after the first also shows its change against the first
/// (percent for amounts, percentage points for shares, plain differences for counts).
pub fn compare(runs: &[Report], currency: &str) -> String {
    let mut out = String::new();
    let Some(first) = runs.first() else {
        return out;
    };
    let _ = writeln!(
        out,
        "{} (seed {}): policies side by side, change against {}",
        first.scenario, first.seed, first.policy
    );
    let window = runs.iter().map(|r| r.simulated_s).fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "{:.1} h of arrivals; every policy accounted over the same {:.1} h (idle power included)",
        first.arrivals_s / 3600.0,
        window / 3600.0
    );
    let _ = write!(out, "{:<22}", "");
    for r in runs {
        let _ = write!(out, " {:>20}", r.policy);
    }
    let _ = writeln!(out);
    let mut row = |label: &str,
                   f: &dyn Fn(&Report) -> Option<f64>,
                   fmt: &dyn Fn(f64) -> String,
                   delta: Delta| {
        let _ = write!(out, "{label:<22}");
        let base = f(first);
        for (i, r) in runs.iter().enumerate() {
            let _ = write!(out, " {:>20}", cell(f(r), base, i == 0, fmt, delta));
        }
        let _ = writeln!(out);
    };
    let money = |v: f64| format!("{v:.2}");
    let one = |v: f64| format!("{v:.1}");
    let whole = |v: f64| format!("{v:.0}");
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    row(
        &format!("cost ({currency})"),
        &|r| Some(r.energy.cost),
        &money,
        Delta::Relative,
    );
    row(
        &format!("{currency} per M tokens"),
        &|r| Some(r.cost_per_million_tokens),
        &|v| format!("{v:.4}"),
        Delta::Relative,
    );
    row(
        "facility kWh",
        &|r| Some(r.energy.facility_kwh),
        &one,
        Delta::Relative,
    );
    row(
        "green share",
        &|r| Some(share(r.energy.green_kwh, r.energy.facility_kwh)),
        &pct,
        Delta::Points,
    );
    row(
        "kg CO2",
        &|r| Some(r.energy.carbon_kg),
        &one,
        Delta::Relative,
    );
    if first.ownership.other_operating > 0.0 || first.ownership.capital > 0.0 {
        row(
            "power share of opex",
            &|r| Some(r.ownership.power_share_of_operating),
            &pct,
            Delta::Points,
        );
        row(
            "power share of total",
            &|r| Some(r.ownership.power_share_of_total),
            &pct,
            Delta::Points,
        );
    }
    row(
        "SLO met (all)",
        &|r| Some(r.requests.slo_met_fraction),
        &pct,
        Delta::Points,
    );
    for (i, c) in first.classes.iter().enumerate() {
        row(
            &format!("SLO met {}", c.name),
            &|r| r.classes.get(i).map(|c| c.slo_met_fraction),
            &pct,
            Delta::Points,
        );
    }
    row(
        "TTFT p99 (ms)",
        &|r| Some(r.requests.ttft_ms.p99),
        &whole,
        Delta::Relative,
    );
    row(
        "rejected + failed",
        &|r| Some((r.requests.rejected + r.requests.failed) as f64),
        &whole,
        Delta::Count,
    );
    row(
        "utilization east",
        &|r| side_utilization(r, false),
        &pct,
        Delta::Points,
    );
    row(
        "utilization west",
        &|r| side_utilization(r, true),
        &pct,
        Delta::Points,
    );
    out
}

/// Replicated runs: each headline figure as mean +- its 95% confidence half-width.
pub fn replications(sum: &tokengrid_sim::Summary, first: &Report, currency: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} under {}: {} replications (seeds {}..={}), mean and 95% confidence interval",
        first.scenario,
        first.policy,
        sum.replications,
        sum.seeds.first().copied().unwrap_or(0),
        sum.seeds.last().copied().unwrap_or(0)
    );
    let line =
        |out: &mut String, label: &str, e: &tokengrid_sim::Estimate, digits: usize, scale: f64| {
            let rel = if e.mean != 0.0 {
                e.ci95 / e.mean.abs() * 100.0
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "  {label:<24} {:>14.digits$} +- {:<10.digits$} ({rel:.2}% of the mean)",
                e.mean * scale,
                e.ci95 * scale
            );
        };
    line(&mut out, &format!("cost ({currency})"), &sum.cost, 2, 1.0);
    line(
        &mut out,
        &format!("{currency} per M tokens"),
        &sum.cost_per_million_tokens,
        4,
        1.0,
    );
    line(&mut out, "facility kWh", &sum.facility_kwh, 1, 1.0);
    line(&mut out, "kg CO2", &sum.carbon_kg, 1, 1.0);
    line(&mut out, "SLO met (%)", &sum.slo_met_fraction, 2, 100.0);
    line(&mut out, "requests", &sum.requests, 0, 1.0);
    out
}

/// One policy of `compare --replications`: its summary, and its cost against the first
/// policy's on the same seeds, percent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicySummary {
    /// The policy.
    pub policy: String,
    /// Its figures over the seeds.
    pub summary: tokengrid_sim::Summary,
    /// (its cost / the first policy's cost - 1) x 100 per seed, summarized.
    pub cost_vs_first_percent: tokengrid_sim::Estimate,
}

impl PolicySummary {
    /// Of `runs` taken policy by policy, `n` seeds each (the same seeds in the same order for
    /// every policy): each policy's summary, and its cost against the first policy's paired by
    /// seed (both saw the same arrivals, so the difference is known far more closely than
    /// either cost).
    pub fn of_runs(runs: &[Report], n: usize) -> Vec<PolicySummary> {
        let by_policy: Vec<&[Report]> = runs.chunks(n.max(1)).collect();
        by_policy
            .iter()
            .map(|rs| {
                let vs_first: Vec<f64> = by_policy[0]
                    .iter()
                    .zip(rs.iter())
                    .map(|(f, r)| (r.energy.cost / f.energy.cost - 1.0) * 100.0)
                    .collect();
                PolicySummary {
                    policy: rs[0].policy.clone(),
                    summary: tokengrid_sim::Summary::of(rs),
                    cost_vs_first_percent: tokengrid_sim::Estimate::of(&vs_first),
                }
            })
            .collect()
    }
}

/// The table of `compare --replications`.
pub fn compare_replications(rows: &[PolicySummary], scenario: &str, currency: &str) -> String {
    let mut out = String::new();
    let Some(first) = rows.first() else {
        return out;
    };
    let sum = &first.summary;
    let _ = writeln!(
        out,
        "{scenario}: {} policies x {} replications (seeds {}..={}), mean +- 95% confidence interval; cost differences paired by seed against {}",
        rows.len(),
        sum.replications,
        sum.seeds.first().copied().unwrap_or(0),
        sum.seeds.last().copied().unwrap_or(0),
        first.policy
    );
    let pm = |e: &tokengrid_sim::Estimate, digits: usize, scale: f64| {
        format!("{:.digits$} +- {:.digits$}", e.mean * scale, e.ci95 * scale)
    };
    let _ = writeln!(
        out,
        "{:<12} {:>22} {:>20} {:>20} {:>18}",
        "policy",
        format!("cost ({currency})"),
        format!("vs {} (%)", first.policy),
        "kg CO2",
        "SLO met (%)"
    );
    for (i, r) in rows.iter().enumerate() {
        let vs = if i == 0 {
            "-".to_owned()
        } else {
            pm(&r.cost_vs_first_percent, 2, 1.0)
        };
        let _ = writeln!(
            out,
            "{:<12} {:>22} {:>20} {:>20} {:>18}",
            r.policy,
            pm(&r.summary.cost, 2, 1.0),
            vs,
            pm(&r.summary.carbon_kg, 1, 1.0),
            pm(&r.summary.slo_met_fraction, 2, 100.0)
        );
    }
    out
}

//! The replications section of the page: each policy's headline figures over its seeds as a
//! mean with a 95% confidence interval (table, and bars with whiskers), and the fleet's
//! facility power over time as a mean line inside its interval band.

use std::collections::BTreeMap;
use std::fmt::Write;

use tokengrid_sim::world::STEP_S;
use tokengrid_sim::{Estimate, Report};

use crate::svg::{Chart, Scale, esc, palette};
use crate::text::PolicySummary;

/// Chart ids of the replications section: the headline figures, and fleet power over time.
pub const REPLICATION_CHARTS: [&str; 2] = ["replications", "replications-power"];

/// A headline figure: its name with unit, and how to read it off a summary, scaled for show.
struct Figure<'a> {
    name: &'a str,
    pick: fn(&PolicySummary) -> Estimate,
    scale: f64,
}

pub(crate) fn section(out: &mut String, rows: &[PolicySummary], runs: &[Report], currency: &str) {
    let Some(first) = rows.first() else {
        return;
    };
    let sum = &first.summary;
    let _ = write!(
        out,
        "<h2>Replications: {} seeds per policy</h2><p>Every policy ran on seeds {}..={} over one accounting window. Figures are means with the half-width of their 95% confidence interval (Student's t over seeds); the cost against {} is paired by seed, so it is known more closely than either cost.</p>",
        sum.replications,
        sum.seeds.first().copied().unwrap_or(0),
        sum.seeds.last().copied().unwrap_or(0),
        esc(&first.policy)
    );
    table(out, rows, currency);
    let cost = format!("cost ({currency})");
    let vs = format!("cost vs {} (%)", first.policy);
    let mut figures = vec![Figure {
        name: &cost,
        pick: |r| r.summary.cost,
        scale: 1.0,
    }];
    if rows.len() > 1 {
        figures.push(Figure {
            name: &vs,
            pick: |r| r.cost_vs_first_percent,
            scale: 1.0,
        });
    }
    figures.extend([
        Figure {
            name: "facility energy (kWh)",
            pick: |r| r.summary.facility_kwh,
            scale: 1.0,
        },
        Figure {
            name: "CO2 (kg)",
            pick: |r| r.summary.carbon_kg,
            scale: 1.0,
        },
        Figure {
            name: "SLO met (%)",
            pick: |r| r.summary.slo_met_fraction,
            scale: 100.0,
        },
    ]);
    let _ = write!(
        out,
        r#"<figure id="{}"><div class="grid">"#,
        REPLICATION_CHARTS[0]
    );
    for f in &figures {
        out.push_str(&bars(rows, f));
    }
    out.push_str("</div><figcaption>Bars: means over seeds; whiskers: 95% confidence intervals.</figcaption></figure>");
    power_band(out, rows, runs);
}

fn table(out: &mut String, rows: &[PolicySummary], currency: &str) {
    let pm = |e: Estimate, digits: usize, scale: f64| {
        format!(
            "{:.digits$} &plusmn; {:.digits$}",
            e.mean * scale,
            e.ci95 * scale
        )
    };
    let _ = write!(
        out,
        "<table><tr><th>policy</th><th>cost ({})</th><th>vs {} (%)</th><th>per M tokens</th><th>facility kWh</th><th>kg CO2</th><th>SLO met (%)</th></tr>",
        esc(currency),
        esc(&rows[0].policy)
    );
    for (i, r) in rows.iter().enumerate() {
        let s = &r.summary;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.policy),
            pm(s.cost, 2, 1.0),
            if i == 0 {
                "-".to_owned()
            } else {
                pm(r.cost_vs_first_percent, 2, 1.0)
            },
            pm(s.cost_per_million_tokens, 4, 1.0),
            pm(s.facility_kwh, 1, 1.0),
            pm(s.carbon_kg, 1, 1.0),
            pm(s.slo_met_fraction, 2, 100.0)
        );
    }
    out.push_str("</table>");
}

/// One bar per policy at its mean, a whisker over its interval.
fn bars(rows: &[PolicySummary], f: &Figure<'_>) -> String {
    let values: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| {
            let e = (f.pick)(r);
            ((e.mean - e.ci95) * f.scale, (e.mean + e.ci95) * f.scale)
        })
        .collect();
    let lo = values.iter().map(|v| v.0).fold(0.0, f64::min);
    let hi = values.iter().map(|v| v.1).fold(0.0, f64::max);
    // A share never needs room above 100%.
    let hi = if f.name.ends_with("(%)") && f.scale == 100.0 {
        hi.min(100.0)
    } else {
        hi
    };
    let mut c = Chart::new(280, 220, (0.0, rows.len() as f64), (lo, hi.max(lo + 1e-9)));
    c.axes("", f.name);
    for (i, r) in rows.iter().enumerate() {
        let e = (f.pick)(r);
        let x = i as f64;
        c.bar(x + 0.15, 0.7, e.mean * f.scale, palette(i));
        if e.ci95 > 0.0 {
            c.whisker(x + 0.5, values[i].0, values[i].1);
        }
        c.label_x(x + 0.5, &r.policy);
    }
    c.finish()
}

/// The fleet's facility power per step (the sum over hubs) for every seed of every policy.
fn power_band(out: &mut String, rows: &[PolicySummary], runs: &[Report]) {
    let n = rows[0].summary.replications.max(1);
    let t_max = runs
        .iter()
        .flat_map(|r| r.timeseries.iter().map(|x| x.t_s + STEP_S))
        .fold(3600.0, f64::max)
        / 3600.0;
    let bands: Vec<Vec<(f64, Estimate)>> = runs.chunks(n).map(fleet_power).collect();
    let p_max = bands
        .iter()
        .flatten()
        .map(|(_, e)| e.mean + e.ci95)
        .fold(0.0, f64::max)
        .max(1e-6);
    let (unit, per_mw) = crate::power_unit(p_max);
    let mut c = Chart::new(1150, 300, (0.0, t_max), (0.0, p_max * per_mw * 1.05))
        .with_x(Scale::hours(0.0, t_max))
        .right_margin(180.0);
    c.axes(
        "hours since start",
        &format!("fleet facility power ({unit})"),
    );
    for (k, (band, r)) in bands.iter().zip(rows).enumerate() {
        // The band as steps from each step's start; the mean line through their middles.
        let at = |f: fn(&Estimate) -> f64, shift_s: f64| -> Vec<(f64, f64)> {
            band.iter()
                .map(|(t, e)| ((t + shift_s) / 3600.0, f(e) * per_mw))
                .collect()
        };
        c.band(
            &at(|e| (e.mean - e.ci95).max(0.0), 0.0),
            &at(|e| e.mean + e.ci95, 0.0),
            palette(k),
        );
        c.line(&at(|e| e.mean, STEP_S / 2.0), palette(k));
        c.legend(k, &r.policy, palette(k));
    }
    let _ = write!(
        out,
        r#"<figure id="{}">{}<figcaption>Facility power of all hubs per 15-minute step: the line is the mean over seeds, the band its 95% confidence interval.</figcaption></figure>"#,
        REPLICATION_CHARTS[1],
        c.finish()
    );
}

/// Per step start (s): the fleet's facility power (MW) over the seeds of one policy.
fn fleet_power(runs: &[Report]) -> Vec<(f64, Estimate)> {
    // Step starts are whole seconds of the shared window; keyed in ms to be exact.
    let mut per_step: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for r in runs {
        let mut fleet: BTreeMap<i64, f64> = BTreeMap::new();
        for x in &r.timeseries {
            *fleet.entry((x.t_s * 1000.0).round() as i64).or_default() += x.power_mw;
        }
        for (t, mw) in fleet {
            per_step.entry(t).or_default().push(mw);
        }
    }
    per_step
        .into_iter()
        .map(|(t, xs)| (t as f64 / 1000.0, Estimate::of(&xs)))
        .collect()
}

//! `tokengrid simulate` and `compare`: the DESIGN.md JSON contract, files, and bad input.

use crate::{stderr, stdout, tokengrid};

fn json(args: &[&str]) -> serde_json::Value {
    let out = tokengrid(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("pure JSON on stdout")
}

/// Every key DESIGN.md promises in a simulate object.
fn check_keys(v: &serde_json::Value) {
    assert_eq!(v["schema_version"], tokengrid_sim::SCHEMA_VERSION);
    assert!(v["arrivals_s"].as_f64().is_some_and(|a| a > 0.0));
    for key in [
        "scenario",
        "policy",
        "seed",
        "mode",
        "requests",
        "tokens",
        "energy",
        "cost_per_million_tokens",
        "hubs",
        "classes",
        "engine",
    ] {
        assert!(!v[key].is_null(), "key {key}");
    }
    for key in [
        "total",
        "completed",
        "rejected",
        "failed",
        "slo_met_fraction",
        "ttft_ms",
        "e2e_ms",
    ] {
        assert!(!v["requests"][key].is_null(), "requests.{key}");
    }
    for key in ["p50", "p99"] {
        assert!(
            v["requests"]["ttft_ms"][key].is_number() && v["requests"]["e2e_ms"][key].is_number()
        );
    }
    for key in ["prompt", "output"] {
        assert!(v["tokens"][key].is_number(), "tokens.{key}");
    }
    for key in [
        "it_kwh",
        "facility_kwh",
        "grid_kwh",
        "green_kwh",
        "cost",
        "carbon_kg",
    ] {
        assert!(v["energy"][key].is_number(), "energy.{key}");
    }
    for h in v["hubs"].as_array().expect("hubs") {
        for key in [
            "name",
            "requests",
            "tokens",
            "utilization",
            "energy_kwh",
            "cost",
            "carbon_kg",
            "mean_wait_ms",
        ] {
            assert!(!h[key].is_null(), "hubs[].{key}");
        }
    }
    for c in v["classes"].as_array().expect("classes") {
        for key in [
            "name",
            "requests",
            "slo_met_fraction",
            "mean_wait_ms",
            "e2e_ms",
        ] {
            assert!(!c[key].is_null(), "classes[].{key}");
        }
    }
    for key in ["events", "wall_seconds", "events_per_second"] {
        assert!(v["engine"][key].is_number(), "engine.{key}");
    }
}

#[test]
fn simulate_json_has_the_design_keys() {
    let v = json(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--duration",
        "10m",
        "--format",
        "json",
    ]);
    check_keys(&v);
    assert_eq!(v["scenario"], "two-hubs");
    assert_eq!(v["policy"], "cost-slo");
    assert_eq!(v["mode"], "discrete");
    assert_eq!(v["seed"], 7);
    let q = &v["requests"];
    let total = q["total"].as_u64().expect("total");
    assert!(total > 0);
    assert_eq!(
        total,
        q["completed"].as_u64().unwrap_or(0)
            + q["rejected"].as_u64().unwrap_or(0)
            + q["failed"].as_u64().unwrap_or(0)
    );
}

#[test]
fn simulate_out_writes_report_and_timeseries() {
    let dir = std::env::temp_dir().join(format!("tokengrid-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().expect("utf-8");
    let out = tokengrid(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--duration",
        "10m",
        "--seed",
        "3",
        "--out",
        d,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("json");
    check_keys(&report);
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).expect("timeseries.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "t_s,hub,power_mw,green_mw,grid_mw,tariff_cny_per_kwh,cost_cny,carbon_kg,utilization,queue_requests,green_available_mw"
        )
    );
    let cost: f64 = lines
        .map(|l| {
            l.split(',')
                .nth(6)
                .expect("cost")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    let total = report["energy"]["cost"].as_f64().expect("cost");
    assert!(
        (cost - total).abs() < 1e-6 * total.max(1.0),
        "{cost} vs {total}"
    );
}

#[test]
fn compare_runs_every_policy() {
    let v = json(&[
        "compare",
        "--scenario",
        "two-hubs",
        "--duration",
        "10m",
        "--policies",
        "nearest,cost-slo,green",
        "--format",
        "json",
    ]);
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    for (r, p) in runs.iter().zip(["nearest", "cost-slo", "green"]) {
        check_keys(r);
        assert_eq!(r["policy"], p);
    }
    // Same scenario and seed: the same arrivals under every policy.
    assert_eq!(runs[0]["requests"]["total"], runs[1]["requests"]["total"]);
    let out = tokengrid(&[
        "compare",
        "--scenario",
        "two-hubs",
        "--duration",
        "10m",
        "--policies",
        "nearest,cost-slo",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("SLO met chat"));
}

#[test]
fn bad_input_exits_2() {
    for args in [
        vec!["simulate", "--policy", "fastest", "--scenario", "two-hubs"],
        vec!["simulate", "--duration", "soon", "--scenario", "two-hubs"],
        vec!["simulate", "--scenario", "nowhere.toml"],
        vec![
            "compare",
            "--policies",
            "nearest,fastest",
            "--scenario",
            "two-hubs",
        ],
        vec![
            "simulate",
            "--mode",
            "fluid",
            "--step",
            "2h",
            "--scenario",
            "two-hubs",
        ],
        vec!["simulate", "--mode", "bubbles", "--scenario", "two-hubs"],
    ] {
        let out = tokengrid(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
}

#[test]
fn fluid_mode_reports_its_steps() {
    let out = tokengrid(&[
        "simulate",
        "--mode",
        "fluid",
        "--scenario",
        "two-hubs",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["mode"], "fluid");
    // Six hours admitted in one-minute steps, then the drain.
    assert!(
        v["engine"]["steps"].as_u64().is_some_and(|n| n >= 360),
        "{}",
        v["engine"]
    );
    assert!(v["requests"]["completed"].as_u64().is_some_and(|n| n > 0));
}

/// `--replications`: one run per seed from the scenario's, each headline figure as the mean and
/// the half-width of its 95% interval (t with n - 1 = 2 degrees of freedom: 4.303).
#[test]
fn replications_give_means_with_95_percent_intervals() {
    let v = json(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--duration",
        "20m",
        "--replications",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(v["schema_version"], tokengrid_sim::SCHEMA_VERSION);
    let runs = v["runs"].as_array().expect("runs");
    let seeds: Vec<u64> = runs
        .iter()
        .map(|r| r["seed"].as_u64().expect("seed"))
        .collect();
    // scenarios/two-hubs.toml: seed = 7.
    assert_eq!(seeds, [7, 8, 9]);
    let costs: Vec<f64> = runs
        .iter()
        .map(|r| r["energy"]["cost"].as_f64().expect("cost"))
        .collect();
    let mean = costs.iter().sum::<f64>() / 3.0;
    let var = costs.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / 2.0;
    let half = 4.303 * (var / 3.0).sqrt();
    let s = &v["summary"]["cost"];
    assert!(
        (s["mean"].as_f64().expect("mean") - mean).abs() < 1e-9 * mean,
        "{s}"
    );
    assert!(
        (s["ci95"].as_f64().expect("ci95") - half).abs() < 1e-9 * mean.max(1.0),
        "{s}"
    );
    assert!(
        runs[0]["requests"]["total"] != runs[1]["requests"]["total"],
        "seeds differ"
    );
    // One window for every seed.
    assert!(
        runs.iter()
            .all(|r| r["simulated_s"] == runs[0]["simulated_s"])
    );
    let dir = std::env::temp_dir().join(format!("tokengrid-replications-{}", std::process::id()));
    let table = crate::stdout(&crate::tokengrid(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--duration",
        "20m",
        "--replications",
        "3",
        "--out",
        dir.to_str().expect("utf-8 temp dir"),
    ]));
    assert!(table.contains("3 replications (seeds 7..=9)"), "{table}");
    assert!(table.contains("% of the mean)"), "{table}");
    // --out: every run in report.json, the intervals drawn in report.html, seed 7's time series.
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    for id in tokengrid_report::REPLICATION_CHARTS {
        assert!(page.contains(&format!(r#"<figure id="{id}">"#)), "{id}");
    }
    assert!(page.contains("class=\"ci\""), "whiskers");
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("json");
    assert_eq!(written["runs"].as_array().map(Vec::len), Some(3));
    assert!(dir.join("timeseries.csv").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--set` changes one value without editing the file: under `nearest` (which ignores prices)
/// Gansu draws the same energy, so at 0.3 instead of 0.4 yuan/kWh (scenarios/two-hubs.toml)
/// its cost is exactly three quarters; a bad override exits 2 naming it.
#[test]
fn set_overrides_a_scenario_value() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--scenario",
            "two-hubs",
            "--policy",
            "nearest",
            "--duration",
            "20m",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        json(&args)
    };
    let gansu = |v: &serde_json::Value| {
        v["hubs"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["name"] == "gansu"))
            .cloned()
            .expect("gansu")
    };
    let (plain, cheap) = (
        gansu(&run(&[])),
        gansu(&run(&["--set", "hub.gansu.tariff_yuan_per_kwh=0.3"])),
    );
    assert_eq!(plain["energy_kwh"], cheap["energy_kwh"]);
    let ratio = cheap["cost"].as_f64().expect("cost") / plain["cost"].as_f64().expect("cost");
    assert!((ratio - 0.75).abs() < 1e-9, "{ratio}");

    let out = tokengrid(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--set",
        "hub.gansu.pue=0.5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--set:1:1: hub.gansu.pue=0.5:"),
        "{}",
        stderr(&out)
    );
}

/// `sweep`: three Gansu tariffs x two policies, one row each, each point's policies over one
/// window. Under `nearest` (which ignores prices) only Gansu's bill moves, linearly: the step
/// from 0.30 to 0.35 yuan/kWh costs what the step from 0.35 to 0.40 does.
#[test]
fn sweep_runs_a_grid_of_values_and_policies() {
    let dir = std::env::temp_dir().join(format!("tokengrid-sweep-{}", std::process::id()));
    let out = tokengrid(&[
        "sweep",
        "--scenario",
        "two-hubs",
        "--duration",
        "20m",
        "--vary",
        "hub.gansu.tariff_yuan_per_kwh=0.3,0.35,0.4",
        "--policies",
        "nearest,cost-slo",
        "--format",
        "json",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 6);
    let nearest: Vec<f64> = rows
        .iter()
        .filter(|r| r["policy"] == "nearest")
        .map(|r| r["cost"]["mean"].as_f64().expect("cost"))
        .collect();
    let (d1, d2) = (nearest[1] - nearest[0], nearest[2] - nearest[1]);
    assert!(
        d1 > 0.0 && (d1 - d2).abs() < 1e-6 * nearest[0],
        "{nearest:?}"
    );
    for pair in rows.chunks(2) {
        assert_eq!(pair[0]["point"], pair[1]["point"]);
        assert_eq!(
            pair[0]["window_h"], pair[1]["window_h"],
            "one window per point"
        );
    }
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).expect("sweep.csv");
    assert_eq!(csv.lines().count(), 7);
    assert!(
        csv.starts_with("point,policy,seeds,window_h,cost_cny,"),
        "{csv}"
    );
    let html = std::fs::read_to_string(dir.join("sweep.html")).expect("sweep.html");
    assert_eq!(html.matches("<tr><td>").count(), 6);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_replications_pair_each_policy_with_the_first_by_seed() {
    let args = [
        "compare",
        "--scenario",
        "two-hubs",
        "--duration",
        "20m",
        "--policies",
        "nearest,cost-slo",
        "--replications",
        "3",
    ];
    let v = json(&[&args[..], &["--format", "json"]].concat());
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 6, "2 policies x 3 seeds");
    let cost = |r: &serde_json::Value| r["energy"]["cost"].as_f64().expect("cost");
    // Runs in policy order, seeds 7, 8, 9 (scenarios/two-hubs.toml: seed = 7) for each.
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r["policy"], ["nearest", "cost-slo"][i / 3]);
        assert_eq!(r["seed"].as_u64(), Some(7 + (i % 3) as u64));
        assert_eq!(r["simulated_s"], runs[0]["simulated_s"], "one window");
    }
    // cost-slo against nearest, seed by seed, by hand: mean and Student-t half-width (t = 4.303
    // for 2 degrees of freedom).
    let d: Vec<f64> = (0..3)
        .map(|k| (cost(&runs[3 + k]) / cost(&runs[k]) - 1.0) * 100.0)
        .collect();
    let mean = d.iter().sum::<f64>() / 3.0;
    let half = 4.303 * (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0 / 3.0).sqrt();
    let p = v["policies"].as_array().expect("policies");
    assert_eq!(p[0]["policy"], "nearest");
    assert_eq!(p[0]["cost_vs_first_percent"]["mean"].as_f64(), Some(0.0));
    let vs = &p[1]["cost_vs_first_percent"];
    assert!(
        (vs["mean"].as_f64().expect("mean") - mean).abs() < 1e-9,
        "{vs}"
    );
    assert!(
        (vs["ci95"].as_f64().expect("ci95") - half).abs() < 1e-9,
        "{vs}"
    );
    assert_eq!(p[1]["summary"]["replications"], 3);
    let table = crate::stdout(&crate::tokengrid(&args));
    assert!(table.contains("paired by seed against nearest"), "{table}");
    assert!(
        table.contains(&format!("{mean:.2} +- {half:.2}")),
        "{table}"
    );
}

#[test]
fn hourly_flows_add_up_to_the_flows_and_follow_the_clock() {
    let v = json(&[
        "simulate",
        "--scenario",
        "two-hubs",
        "--duration",
        "150m",
        "--format",
        "json",
    ]);
    let hourly = v["hourly_flows"].as_array().expect("hourly_flows");
    for f in v["flows"].as_array().expect("flows") {
        let sum: u64 = hourly
            .iter()
            .filter(|h| h["region"] == f["region"] && h["hub"] == f["hub"])
            .map(|h| h["requests"].as_u64().expect("requests"))
            .sum();
        assert_eq!(Some(sum), f["requests"].as_u64(), "{f}");
    }
    // 2.5 h of arrivals: hours 0, 1 and 2 have work, and nothing is served past the window.
    let hours: std::collections::BTreeSet<u64> = hourly
        .iter()
        .map(|h| h["hour"].as_u64().expect("hour"))
        .collect();
    assert!(
        hours.contains(&0) && hours.contains(&1) && hours.contains(&2),
        "{hours:?}"
    );
    let last = v["simulated_s"].as_f64().expect("simulated_s") / 3600.0;
    assert!(
        hours.iter().all(|&h| (h as f64) < last.ceil()),
        "{hours:?} vs {last}"
    );
}

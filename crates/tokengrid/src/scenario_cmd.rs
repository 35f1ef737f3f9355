//! `tokengrid scenario list | show | validate`.

use std::io::Write;
use std::path::Path;

use tokengrid_core::{LoadError, Scenario, builtin};

use crate::{Failure, Format, ScenarioCmd, print_json};

pub(crate) fn run(out: &mut impl Write, cmd: ScenarioCmd) -> Result<(), Failure> {
    match cmd {
        ScenarioCmd::List { format } => {
            let mut listed = Vec::new();
            for name in builtin::NAMES {
                let s = builtin::load(name).map_err(|e| Failure::Internal(e.into()))?;
                match format {
                    Format::Table => {
                        writeln!(out, "{name:<18} {}", builtin::describe(name))?;
                        writeln!(out, "{:<18} {}", "", summary(&s))?;
                    }
                    Format::Json => listed.push(serde_json::json!({
                        "name": name,
                        "description": builtin::describe(name),
                        "scenario": scenario_json(&s),
                    })),
                }
            }
            if format == Format::Json {
                print_json(
                    &mut *out,
                    &serde_json::json!({ "schema_version": tokengrid_sim::SCHEMA_VERSION, "scenarios": listed }),
                )?;
            }
        }
        ScenarioCmd::Show { name } => {
            let text = match builtin::text(&name) {
                Some(text) => text.to_owned(),
                None => {
                    // A file: print it only if it is a valid scenario, so `show` never hands on a
                    // broken file without saying so.
                    tokengrid_core::load(&name)?;
                    std::fs::read_to_string(Path::new(&name))?
                }
            };
            out.write_all(text.as_bytes())?;
        }
        ScenarioCmd::Validate { file, format } => {
            match format {
                Format::Table => {
                    let s = tokengrid_core::load(&file)?;
                    writeln!(out, "ok: {file}: {}", summary(&s))?;
                }
                Format::Json => match tokengrid_core::load(&file) {
                    Ok(s) => print_json(
                        &mut *out,
                        &serde_json::json!({ "schema_version": tokengrid_sim::SCHEMA_VERSION, "ok": true, "file": file, "scenario": scenario_json(&s) }),
                    )?,
                    Err(LoadError::Invalid(d)) => {
                        let problems: Vec<serde_json::Value> = d.0.iter().map(|p| serde_json::json!({
                        "file": p.file, "line": p.line, "column": p.column, "key": p.key,
                        "context": p.context, "message": p.message, "help": p.help,
                    })).collect();
                        print_json(
                            &mut *out,
                            &serde_json::json!({ "schema_version": tokengrid_sim::SCHEMA_VERSION, "ok": false, "file": file, "problems": problems }),
                        )?;
                        out.flush()?;
                        return Err(Failure::Silent);
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
    }
    Ok(())
}

/// "24h", "90m", "45s": the form scenario files use.
fn short_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if d.subsec_nanos() == 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// One line that says what a scenario holds.
/// A scenario's outline as JSON (what `summary` says in words).
fn scenario_json(s: &Scenario) -> serde_json::Value {
    let accelerators: u32 = s
        .hubs
        .iter()
        .flat_map(|h| h.accelerators.iter().map(|(_, n)| *n))
        .sum();
    serde_json::json!({
        "name": s.name,
        "hubs": s.hubs.len(),
        "accelerators": accelerators,
        "regions": s.regions.len(),
        "classes": s.classes.len(),
        "models": s.models.len(),
        "links": s.links.len(),
        "duration_s": s.duration.as_secs_f64(),
        "start": s.start.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}

fn summary(s: &Scenario) -> String {
    let accelerators: u32 = s
        .hubs
        .iter()
        .flat_map(|h| h.accelerators.iter().map(|(_, n)| *n))
        .sum();
    format!(
        "\"{}\": {} hubs ({} accelerators), {} regions, {} classes, {} models, {} explicit links, {} from {}",
        s.name,
        s.hubs.len(),
        accelerators,
        s.regions.len(),
        s.classes.len(),
        s.models.len(),
        s.links.len(),
        short_duration(s.duration),
        s.start
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    )
}

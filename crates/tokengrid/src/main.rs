//! The `tokengrid` command line: wiring only. Each subcommand parses its flags, calls the library
//! crates, and prints. Exit codes: 0 success, 2 bad input (message on stderr), 1 internal error.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokengrid_core::{LoadError, Scenario, builtin};

/// tokengrid decides where and when AI workloads run across data-center hubs, so cheap, green
/// electricity becomes tokens without breaking latency promises.
///
/// A scenario (a TOML file, or a built-in name) describes the hubs, their accelerators, tariffs,
/// green supply and carbon, the demand regions and their workloads, and the links between sites.
#[derive(Debug, Parser)]
#[command(
    name = "tokengrid",
    version,
    about,
    long_about,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, print and check scenarios.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
}

#[derive(Debug, Subcommand)]
enum ScenarioCmd {
    /// List the built-in scenarios.
    List,
    /// Print a scenario's TOML (a built-in by name, default china-east-west, or a file).
    ///
    /// Save it, change it, and pass the file to any command with --scenario FILE:
    ///   tokengrid scenario show > my.toml
    Show {
        /// Built-in scenario name or path of a .toml file.
        #[arg(default_value = builtin::DEFAULT)]
        name: String,
    },
    /// Check a scenario file: exit 0 with a one-line summary, or exit 2 with every problem found,
    /// each with file:line:column, the key and what to do.
    Validate {
        /// Path of a .toml scenario file, or a built-in scenario name.
        file: String,
    },
}

/// An error that is the user's to fix (exit 2) or ours (exit 1).
enum Failure {
    Input(String),
    Internal(anyhow::Error),
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        Failure::Input(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Internal(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(e)) => {
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("internal error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Scenario(ScenarioCmd::List) => {
            for name in builtin::NAMES {
                let s = builtin::load(name).map_err(|e| Failure::Internal(e.into()))?;
                writeln!(out, "{name:<18} {}", builtin::describe(name))?;
                writeln!(out, "{:<18} {}", "", summary(&s))?;
            }
        }
        Command::Scenario(ScenarioCmd::Show { name }) => {
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
        Command::Scenario(ScenarioCmd::Validate { file }) => {
            let s = tokengrid_core::load(&file)?;
            writeln!(out, "ok: {file}: {}", summary(&s))?;
        }
    }
    out.flush()?;
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

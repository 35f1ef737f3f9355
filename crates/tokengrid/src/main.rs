//! The `tokengrid` command line: wiring only. Each subcommand parses its flags, calls the library
//! crates, and prints. Exit codes: 0 success, 2 bad input (message on stderr), 1 internal error.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod net_cmd;
mod scenario_cmd;
mod serve_cmd;
mod sim_cmd;
mod sweep_cmd;
use tokengrid_core::{LoadError, Scenario, builtin};
use tokengrid_energy::summary;

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
    /// Simulate a scenario under a policy: cost, energy, carbon, SLO attainment, utilization.
    ///
    /// With no flags: the built-in china-east-west scenario under the default policy (cost-slo).
    /// Example: tokengrid simulate --policy nearest --duration 6h --out out/
    Simulate(SimulateArgs),
    /// Simulate several policies on the same scenario and seed, side by side (in parallel).
    ///
    /// Example: tokengrid compare --policies nearest,cost-slo,cheapest,green
    Compare(CompareArgs),
    /// A grid of scenario values x policies x seeds, run on every core: one table, and CSV, JSON
    /// and an HTML page with --out.
    ///
    /// Example: tokengrid sweep --vary hub.gansu.tariff_yuan_per_kwh=0.3,0.35,0.4 --policies nearest,cost-slo
    Sweep(sweep_cmd::SweepArgs),
    /// Shell completions: source the output (bash: tokengrid completions bash >
    /// ~/.local/share/bash-completion/completions/tokengrid).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The manual page (roff): tokengrid man > tokengrid.1 && man ./tokengrid.1
    Man,
    /// List, print and check scenarios.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
    /// Per-token time, energy, cost and value uplift of a model on an accelerator, at every hub
    /// of a scenario.
    ///
    /// Prefill is compute-bound, decode reads the weights a step touches (for a MoE model, only
    /// the experts its batch activates) and the batch's KV cache. Costs use each hub's mean tariff
    /// and PUE; the value uplift is token revenue over electricity cost.
    ///
    /// Example: tokengrid energy --model deepseek-v3 --accelerator H800-SXM
    Energy(EnergyArgs),
    /// The hourly LP plan: where each region's demand should go to minimise electricity cost
    /// within capacity, power caps and latency SLOs.
    ///
    /// Example: tokengrid plan --scenario two-hubs
    Plan(PlanArgs),
    /// Run the live dispatcher: hub registry, telemetry, dispatch decisions, durable job ledger.
    ///
    /// Example: TOKENGRID_ADMIN_TOKEN=$(openssl rand -hex 16) tokengrid serve --db sqlite://tokengrid.db
    Serve(ServeArgs),
    /// The built-in catalog of model architectures and accelerators, with sources. A scenario
    /// uses an entry by name: `catalog = "deepseek-v3"` in a [[model]] table.
    ///
    /// Example: tokengrid catalog models --format json
    Catalog(CatalogArgs),
    /// Network calculators: RTT between sites, goodput and training efficiency under loss,
    /// deterministic path reservations.
    #[command(subcommand)]
    Net(net_cmd::NetCmd),
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table for people.
    Table,
    /// One JSON object on stdout.
    Json,
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Change one scenario value, e.g. --set hub.gansu.tariff_yuan_per_kwh=0.3 or
    /// --set hub.*.pue=1.1 (repeatable; checked as the file is).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = tokengrid_core::Override::parse)]
    set: Vec<tokengrid_core::Override>,
    /// Policy: nearest, cheapest, cost-slo, green, plan, or one of the scenario's own.
    #[arg(long, default_value = tokengrid_sched::DEFAULT_POLICY)]
    policy: String,
    /// How long arrivals are admitted (humantime: 90m, 6h, 2d) [default: the scenario's].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Account energy, cost and carbon (idle power included) until at least this time from the
    /// start, e.g. 24h [default: until the last work ends].
    #[arg(long, value_parser = parse_duration)]
    horizon: Option<std::time::Duration>,
    /// Seed of every random stream [default: the scenario's].
    #[arg(long)]
    seed: Option<u64>,
    /// Simulation mode: every request an event, or time-stepped flows (national scale).
    #[arg(long, value_enum, default_value_t = Mode::Discrete)]
    mode: Mode,
    /// Fluid mode's time step (humantime: 1m, 30s).
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    step: std::time::Duration,
    /// Multiply every region's request rate (e.g. 0.000714 for 2024's 100 billion tokens a day
    /// on china-national).
    #[arg(long, default_value_t = 1.0)]
    demand_scale: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write report.json and timeseries.csv to this folder.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Independent runs with seeds SEED, SEED+1, ... (at most 64) in parallel across cores,
    /// accounted over one window: every headline figure as a mean with its 95% confidence
    /// interval.
    #[arg(long, default_value_t = 1)]
    replications: u32,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Change one scenario value, e.g. --set hub.gansu.tariff_yuan_per_kwh=0.3 or
    /// --set hub.*.pue=1.1 (repeatable; checked as the file is).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = tokengrid_core::Override::parse)]
    set: Vec<tokengrid_core::Override>,
    /// Policies, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "nearest,cost-slo,cheapest,green"
    )]
    policies: Vec<String>,
    /// How long arrivals are admitted [default: the scenario's].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Account every policy until at least this time from the start, e.g. 24h [default: until
    /// the last work of any policy ends; every policy is accounted over the same window].
    #[arg(long, value_parser = parse_duration)]
    horizon: Option<std::time::Duration>,
    /// Seed [default: the scenario's].
    #[arg(long)]
    seed: Option<u64>,
    /// Simulation mode.
    #[arg(long, value_enum, default_value_t = Mode::Discrete)]
    mode: Mode,
    /// Fluid mode's time step.
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    step: std::time::Duration,
    /// Multiply every region's request rate (e.g. 0.000714 for 2024's 100 billion tokens a day
    /// on china-national).
    #[arg(long, default_value_t = 1.0)]
    demand_scale: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write report.json (all runs) and one timeseries CSV per policy to this folder.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Run every policy on this many seeds (from --seed up), all at once over one window:
    /// means with 95% intervals, and each policy's cost against the first's paired by seed.
    #[arg(long, default_value_t = 1)]
    replications: u32,
}

/// Simulation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Mode {
    /// Every request is an event.
    Discrete,
    /// Time-stepped flows: each (region, class) demand a rate, decided by the same policy code.
    Fluid,
}

pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 90m, 6h, 2d)"))
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOKENGRID_LISTEN", default_value = "127.0.0.1:8040")]
    listen: String,
    /// Ledger: sqlite://FILE (created if absent) or postgres://... (shared by several replicas).
    #[arg(long, env = "TOKENGRID_DB", default_value = "sqlite://tokengrid.db")]
    db: String,
    /// Bearer token that may register hubs (at least 16 characters).
    #[arg(long, env = "TOKENGRID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Policy for dispatch decisions and jobs.
    #[arg(long, env = "TOKENGRID_POLICY", default_value = tokengrid_sched::DEFAULT_POLICY)]
    policy: String,
    /// A hub silent for longer leaves rotation.
    #[arg(long, env = "TOKENGRID_HEARTBEAT_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    heartbeat_timeout: std::time::Duration,
    /// A hub that has not begun its answer within this is passed over for the next-ranked one.
    #[arg(long, env = "TOKENGRID_FIRST_BYTE_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    first_byte_timeout: std::time::Duration,
    /// A hub silent mid-answer for longer ends the client's stream there (recorded incomplete).
    #[arg(long, env = "TOKENGRID_STREAM_IDLE_TIMEOUT", value_parser = parse_duration, default_value = "60s")]
    stream_idle_timeout: std::time::Duration,
    /// Where clients are when a request carries no x-tokengrid-origin header: "LAT,LON"
    /// [default: Shanghai, 31.23,121.47].
    #[arg(long, env = "TOKENGRID_ORIGIN", value_parser = tokengrid_serve::proxy::parse_lat_lon)]
    origin: Option<(f64, f64)>,
    /// Extra certificate authorities (a PEM file) trusted for https hubs, beside the
    /// platform's (for hubs behind a private CA).
    #[arg(long, env = "TOKENGRID_HUB_CA_FILE")]
    hub_ca_file: Option<std::path::PathBuf>,
    /// The OpenAI routes need a client API key (or the admin token) even before any key is
    /// made (once one is made, they always do).
    #[arg(long, env = "TOKENGRID_REQUIRE_CLIENT_KEYS")]
    require_client_keys: bool,
    /// Hubs declared in a TOML file ([[hub]] tables, secrets named by environment variable),
    /// registered or updated at startup (see docs/serve.md).
    #[arg(long, env = "TOKENGRID_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Connections served at once; the next waits in the kernel's backlog until one closes.
    #[arg(long, env = "TOKENGRID_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Longest wait for a request head, from a connection's opening or its last answer (so
    /// also how long an idle keep-alive connection is kept).
    #[arg(long, env = "TOKENGRID_HEADER_READ_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    header_read_timeout: std::time::Duration,
    /// Billing-grade accounting: an answer's last bytes reach the client only once its ledger
    /// row is committed (no answered request unrecorded, even on kill -9; answers end a commit
    /// later, and wait while the ledger is down).
    #[arg(long, env = "TOKENGRID_BILLING_GRADE")]
    billing_grade: bool,
}

#[derive(Debug, clap::Args)]
struct CatalogArgs {
    /// What to list [default: both].
    #[arg(value_enum)]
    what: Option<CatalogKind>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The two halves of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CatalogKind {
    /// Model architectures.
    Models,
    /// Accelerator types.
    Accelerators,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Change one scenario value, e.g. --set hub.gansu.tariff_yuan_per_kwh=0.3 or
    /// --set hub.*.pue=1.1 (repeatable; checked as the file is).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = tokengrid_core::Override::parse)]
    set: Vec<tokengrid_core::Override>,
    /// Multiply every region's request rate (e.g. 0.000714 for 2024's 100 billion tokens a day
    /// on china-national).
    #[arg(long, default_value_t = 1.0)]
    demand_scale: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct EnergyArgs {
    /// Model name (from the scenario).
    #[arg(long)]
    model: String,
    /// Accelerator type name (from the scenario).
    #[arg(long)]
    accelerator: String,
    /// Sequences decoded together [default: as many as fit in HBM, up to the model's max_batch].
    #[arg(long)]
    batch: Option<u32>,
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Change one scenario value, e.g. --set hub.gansu.tariff_yuan_per_kwh=0.3 or
    /// --set hub.*.pue=1.1 (repeatable; checked as the file is).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = tokengrid_core::Override::parse)]
    set: Vec<tokengrid_core::Override>,
    /// Accelerators per replica [default: the model's deployment, or the fewest that hold it].
    #[arg(long)]
    accelerators_per_replica: Option<u32>,
    /// Mean KV context per sequence, tokens [default: from the scenario's classes of the model].
    #[arg(long)]
    context: Option<f64>,
    /// Fraction of time the replica is busy; idle time still draws idle power.
    #[arg(long, default_value_t = 1.0)]
    busy_fraction: f64,
    /// Prompt tokens per request of the `serving` steady state [default: the scenario's class
    /// mix for the model].
    #[arg(long)]
    prompt_tokens: Option<f64>,
    /// Output tokens per request of the `serving` steady state [default: the class mix].
    #[arg(long)]
    output_tokens: Option<f64>,
    /// Token price for the value uplift, yuan per million output tokens [default: DeepSeek R1's
    /// US$2.19 at 7.2 yuan/US$].
    #[arg(long)]
    price: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum ScenarioCmd {
    /// List the built-in scenarios.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
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
        /// Output format (JSON: {"ok", "scenario"} or {"ok": false, "problems": [...]}; the exit
        /// code is 2 either way when there are problems).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// An error that is the user's to fix (exit 2) or ours (exit 1).
pub(crate) enum Failure {
    Input(String),
    /// The user's to fix, already reported on stdout (JSON output): exit 2, nothing on stderr.
    Silent,
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
        Err(Failure::Silent) => ExitCode::from(2),
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
        Command::Scenario(cmd) => scenario_cmd::run(&mut out, cmd)?,
        Command::Energy(args) => energy(&mut out, args)?,
        Command::Net(cmd) => net_cmd::run(&mut out, cmd)?,
        Command::Catalog(args) => catalog(&mut out, &args)?,
        Command::Plan(args) => plan(&mut out, args)?,
        Command::Simulate(args) => sim_cmd::simulate(&mut out, args)?,
        Command::Serve(args) => serve_cmd::serve(args)?,
        Command::Compare(args) => sim_cmd::compare(&mut out, args)?,
        Command::Sweep(args) => sweep_cmd::sweep(&mut out, args)?,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Into memory first: the generator panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tokengrid", &mut script);
            out.write_all(&script)?;
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn energy(out: &mut impl Write, args: EnergyArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load_with(&args.scenario, &args.set)?;
    let q = summary::Query {
        model: args.model,
        accelerator: args.accelerator,
        accelerators_per_replica: args.accelerators_per_replica,
        batch: args.batch,
        context_tokens: args.context,
        busy_fraction: Some(args.busy_fraction),
        price_per_million_tokens: args.price,
        prompt_tokens: args.prompt_tokens,
        output_tokens: args.output_tokens,
    };
    let e = summary::summarize(&s, &q).map_err(|e| Failure::Input(format!("error: {e}")))?;
    match args.format {
        Format::Json => print_json(out, &e)?,
        Format::Table => write!(out, "{}", tokengrid_report::calc::energy_table(&e))?,
    }
    Ok(())
}

fn catalog(out: &mut impl Write, args: &CatalogArgs) -> Result<(), Failure> {
    use tokengrid_core::catalog;
    let models = args.what != Some(CatalogKind::Accelerators);
    let accelerators = args.what != Some(CatalogKind::Models);
    if args.format == Format::Json {
        // Models carry their derived sizes next to the config figures.
        let model_rows: Vec<serde_json::Value> = catalog::MODELS
            .iter()
            .map(|m| {
                serde_json::json!({
                    "architecture": m,
                    "total_params_b": m.total_params() / 1e9,
                    "active_params_b": m.active_params() / 1e9,
                    "kv_bytes_per_token_bf16": m.kv_bytes_per_token(2.0),
                })
            })
            .collect();
        let mut v = serde_json::Map::new();
        if models {
            v.insert("models".into(), model_rows.into());
        }
        if accelerators {
            v.insert(
                "accelerators".into(),
                serde_json::to_value(catalog::ACCELERATORS)
                    .map_err(|e| Failure::Internal(e.into()))?,
            );
        }
        return print_json(out, &v);
    }
    if models {
        write!(out, "{}", tokengrid_report::calc::catalog_models_table())?;
    }
    if models && accelerators {
        writeln!(out)?;
    }
    if accelerators {
        write!(
            out,
            "{}",
            tokengrid_report::calc::catalog_accelerators_table()
        )?;
    }
    Ok(())
}

fn plan(out: &mut impl Write, args: PlanArgs) -> Result<(), Failure> {
    let s = load_scaled(&args.scenario, &args.set, args.demand_scale)?;
    let p = tokengrid_sched::plan(&s).map_err(|e| Failure::Internal(e.into()))?;
    if args.format == Format::Json {
        return print_json(out, &p);
    }
    write!(out, "{}", tokengrid_report::calc::plan_table(&p, &s))?;
    Ok(())
}

/// Loads a scenario and scales its demand; a bad factor is the user's to fix.
pub(crate) fn load_scaled(
    scenario: &str,
    set: &[tokengrid_core::Override],
    factor: f64,
) -> Result<Scenario, Failure> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(Failure::Input(format!(
            "error: --demand-scale {factor} must be a number > 0 (1 is the scenario's own demand)"
        )));
    }
    let mut s = tokengrid_core::load_with(scenario, set)?;
    s.scale_demand(factor);
    Ok(s)
}

/// Writes `v` as pretty JSON and a newline.
pub(crate) fn print_json(out: &mut impl Write, v: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Failure::Internal(e.into()))?;
    writeln!(out, "{text}")?;
    Ok(())
}

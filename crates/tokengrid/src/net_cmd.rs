//! `tokengrid net rtt | efficiency | reserve`: the network calculators.

use std::io::Write;

use clap::{Args, Subcommand};
use tokengrid_core::{Scenario, Site, builtin};
use tokengrid_net::Topology;
use tokengrid_net::answers::{EfficiencyReport, ReserveRow, RttReport, SweepReport};
use tokengrid_net::goodput::{DEFAULT_MSS_BYTES, DEFAULT_MTU_BYTES, PathParams, Transport};
use tokengrid_net::reserve::{Request, ReservationBook};
use tokengrid_net::training::{DEFAULT_OVERLAP, SINGLE_DC_GBPS, TrainingJob};

use tokengrid_report::calc;

use crate::{Failure, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum NetCmd {
    /// Round-trip time between two sites (hubs or regions) of a scenario, with the path.
    ///
    /// Example: tokengrid net rtt --from shanghai --to gansu
    Rtt(RttArgs),
    /// Goodput of a transport under loss and, given a job shape, cross-hub training efficiency.
    ///
    /// Example: tokengrid net efficiency --transport rdma-gbn --loss 0.001 --rtt-ms 0.02 --gbps 400
    /// --mtu-bytes 1024 --gradient-gb 14 --step-compute-s 0.1 --participants 8 --overlap 0 --sweep
    Efficiency(EfficiencyArgs),
    /// Try bandwidth reservations on the scenario's deterministic links, in order.
    ///
    /// Example: tokengrid net reserve --request yangtze-river-delta,gansu,300,0s,2h
    /// --request yangtze-river-delta,gansu,200,1h,2h
    Reserve(ReserveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RttArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Source site (hub or region name).
    #[arg(long)]
    from: String,
    /// Destination site (hub or region name).
    #[arg(long)]
    to: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct EfficiencyArgs {
    /// Transport: tcp (Mathis), tcp-padhye (with timeouts), rdma-gbn (go-back-N, RoCEv2),
    /// rdma-sr (selective repeat).
    #[arg(long, default_value = "rdma-gbn")]
    transport: String,
    /// Packet loss probability (0.001 = 0.1%) [default: the path's with --from/--to, else 0].
    #[arg(long)]
    loss: Option<f64>,
    /// Round-trip time, ms (or give --from and --to to take it from the scenario).
    #[arg(long)]
    rtt_ms: Option<f64>,
    /// Link bandwidth, Gbit/s [default: the path's bottleneck with --from/--to, else 400].
    #[arg(long)]
    gbps: Option<f64>,
    /// Scenario for --from/--to.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// Source site: take RTT, bandwidth and loss from the scenario's path.
    #[arg(long, requires = "to", conflicts_with = "rtt_ms")]
    from: Option<String>,
    /// Destination site.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// TCP segment payload, bytes.
    #[arg(long, default_value_t = DEFAULT_MSS_BYTES)]
    mss_bytes: f64,
    /// RDMA packet size, bytes.
    #[arg(long, default_value_t = DEFAULT_MTU_BYTES)]
    mtu_bytes: f64,
    /// Parallel TCP flows.
    #[arg(long, default_value_t = 1)]
    streams: u32,
    /// Gradient bytes all-reduced per training step, GB (with --step-compute-s).
    #[arg(long, requires = "step_compute_s")]
    gradient_gb: Option<f64>,
    /// Compute time of one training step, s.
    #[arg(long, requires = "gradient_gb")]
    step_compute_s: Option<f64>,
    /// Participants in the all-reduce ring (e.g. hubs the job is split across).
    #[arg(long, default_value_t = 2)]
    participants: u32,
    /// Fraction of compute time communication can hide behind.
    #[arg(long, default_value_t = DEFAULT_OVERLAP)]
    overlap: f64,
    /// Bandwidth between participants in the single-data-center reference, Gbit/s.
    #[arg(long, default_value_t = SINGLE_DC_GBPS)]
    dc_gbps: f64,
    /// Print a table sweeping loss from 0 to 1% for every transport (the cliff).
    #[arg(long)]
    sweep: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ReserveArgs {
    /// Scenario file or built-in name.
    #[arg(long, default_value = builtin::DEFAULT)]
    scenario: String,
    /// A reservation FROM,TO,GBPS,AT,FOR (AT and FOR as durations: 0s, 30m, 2h); repeat in order.
    #[arg(long = "request", required = true)]
    requests: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub(crate) fn run(out: &mut impl Write, cmd: NetCmd) -> Result<(), Failure> {
    match cmd {
        NetCmd::Rtt(a) => rtt(out, a),
        NetCmd::Efficiency(a) => efficiency(out, a),
        NetCmd::Reserve(a) => reserve(out, a),
    }
}

fn site(s: &Scenario, name: &str) -> Result<Site, Failure> {
    s.site(name).ok_or_else(|| {
        let names: Vec<&str> = s
            .hubs
            .iter()
            .map(|h| h.name.as_str())
            .chain(s.regions.iter().map(|r| r.name.as_str()))
            .collect();
        Failure::Input(format!(
            "error: scenario \"{}\" has no hub or region \"{name}\"\n  help: sites: {}",
            s.name,
            names.join(", ")
        ))
    })
}

fn rtt(out: &mut impl Write, a: RttArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load(&a.scenario)?;
    let (from, to) = (site(&s, &a.from)?, site(&s, &a.to)?);
    let t = Topology::new(&s);
    let r = RttReport::between(&s, &t, from, to)
        .ok_or_else(|| Failure::Internal(anyhow::anyhow!("no path in a complete graph")))?;
    match a.format {
        Format::Json => crate::print_json(out, &r),
        Format::Table => Ok(write!(out, "{}", calc::rtt_table(&r, &s, &t))?),
    }
}

fn efficiency(out: &mut impl Write, a: EfficiencyArgs) -> Result<(), Failure> {
    let transport = Transport::parse(&a.transport).ok_or_else(|| {
        Failure::Input(format!(
            "error: unknown transport \"{}\"\n  help: use tcp, tcp-padhye, rdma-gbn or rdma-sr",
            a.transport
        ))
    })?;
    let (rtt_ms, path_gbps, path_loss) = match (&a.from, &a.to) {
        (Some(f), Some(t)) => {
            let s = tokengrid_core::load(&a.scenario)?;
            let topo = Topology::new(&s);
            let p = topo
                .shortest_path(site(&s, f)?, site(&s, t)?)
                .ok_or_else(|| Failure::Internal(anyhow::anyhow!("no path")))?;
            (p.rtt_ms, Some(p.gbps), Some(p.loss))
        }
        _ => (
            a.rtt_ms.ok_or_else(|| {
                Failure::Input(
                    "error: give --rtt-ms, or --from and --to to take the RTT from a scenario"
                        .into(),
                )
            })?,
            None,
            None,
        ),
    };
    let gbps = a
        .gbps
        .or(path_gbps.filter(|g| g.is_finite()))
        .unwrap_or(400.0);
    let loss = a.loss.or(path_loss).unwrap_or(0.0);
    check(rtt_ms.is_finite() && rtt_ms > 0.0, "--rtt-ms must be > 0")?;
    check(gbps.is_finite() && gbps > 0.0, "--gbps must be > 0")?;
    check(
        (0.0..1.0).contains(&loss),
        "--loss must be within 0 <= loss < 1",
    )?;
    check(
        a.mss_bytes >= 1.0 && a.mtu_bytes >= 1.0,
        "--mss-bytes and --mtu-bytes must be >= 1",
    )?;
    check(a.streams >= 1, "--streams must be >= 1")?;
    check(
        (0.0..=1.0).contains(&a.overlap),
        "--overlap must be within 0..1",
    )?;
    check(a.participants >= 1, "--participants must be >= 1")?;
    check(
        a.dc_gbps.is_finite() && a.dc_gbps > 0.0,
        "--dc-gbps must be > 0",
    )?;
    let job = match (a.gradient_gb, a.step_compute_s) {
        (Some(g), Some(c)) => {
            check(
                g >= 0.0 && c > 0.0,
                "--gradient-gb must be >= 0 and --step-compute-s > 0",
            )?;
            Some(TrainingJob {
                gradient_gb: g,
                step_compute_s: c,
                participants: a.participants,
                overlap: a.overlap,
                single_dc_gbps: a.dc_gbps,
            })
        }
        _ => None,
    };
    let path = PathParams {
        gbps,
        rtt_ms,
        loss,
        mss_bytes: a.mss_bytes,
        mtu_bytes: a.mtu_bytes,
        streams: a.streams,
    };
    if a.sweep {
        let r = SweepReport::over(&path, job);
        return match a.format {
            Format::Json => crate::print_json(out, &r),
            Format::Table => Ok(write!(out, "{}", calc::sweep_table(&r, job.is_some()))?),
        };
    }
    let r = EfficiencyReport::evaluate(transport, &path, job);
    match a.format {
        Format::Json => crate::print_json(out, &r),
        Format::Table => Ok(write!(out, "{}", calc::efficiency_table(&r, a.dc_gbps))?),
    }
}

fn reserve(out: &mut impl Write, a: ReserveArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load(&a.scenario)?;
    let topo = Topology::new(&s);
    let mut book = ReservationBook::new(&topo);
    let mut rows = Vec::new();
    for text in &a.requests {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [from, to, gbps, at, length] = parts.as_slice() else {
            return Err(Failure::Input(format!(
                "error: --request \"{text}\" is not FROM,TO,GBPS,AT,FOR\n  help: e.g. --request yangtze-river-delta,gansu,300,0s,2h"
            )));
        };
        let gbps: f64 = gbps.parse().map_err(|_| {
            Failure::Input(format!(
                "error: --request \"{text}\": GBPS \"{gbps}\" is not a number"
            ))
        })?;
        let dur = |d: &str| {
            humantime::parse_duration(d).map_err(|e| {
                Failure::Input(format!(
                    "error: --request \"{text}\": \"{d}\" is not a duration ({e})\n  help: write e.g. 0s, 30m, 2h"
                ))
            })
        };
        let start = dur(at)?.as_secs_f64();
        let req = Request {
            from: site(&s, from)?,
            to: site(&s, to)?,
            gbps,
            start_s: start,
            end_s: start + dur(length)?.as_secs_f64(),
        };
        rows.push(ReserveRow::try_reserve(&s, &topo, &mut book, text, &req));
    }
    match a.format {
        Format::Json => crate::print_json(out, &rows),
        Format::Table => Ok(write!(out, "{}", calc::reserve_table(&rows))?),
    }
}

fn check(ok: bool, msg: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::Input(format!("error: {msg}")))
    }
}

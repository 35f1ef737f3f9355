//! `tokengrid net rtt | efficiency | reserve`: the network calculators.

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;
use tokengrid_core::{Scenario, Site, builtin};
use tokengrid_net::goodput::{
    DEFAULT_MSS_BYTES, DEFAULT_MTU_BYTES, PathParams, Transport, goodput_gbps,
};
use tokengrid_net::reserve::{Request, ReservationBook};
use tokengrid_net::training::{DEFAULT_OVERLAP, SINGLE_DC_GBPS, TrainingJob, TrainingResult};
use tokengrid_net::{Topology, geo};

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

#[derive(Serialize)]
struct RttReport {
    from: String,
    to: String,
    great_circle_km: f64,
    route_km: f64,
    rtt_ms: f64,
    path: Vec<String>,
    bottleneck_gbps: f64,
    loss: f64,
}

fn rtt(out: &mut impl Write, a: RttArgs) -> Result<(), Failure> {
    let s = tokengrid_core::load(&a.scenario)?;
    let (from, to) = (site(&s, &a.from)?, site(&s, &a.to)?);
    let t = Topology::new(&s);
    let p = t
        .shortest_path(from, to)
        .ok_or_else(|| Failure::Internal(anyhow::anyhow!("no path in a complete graph")))?;
    let (la, lo) = s.site_lat_lon(from);
    let (lb, lob) = s.site_lat_lon(to);
    let r = RttReport {
        from: a.from,
        to: a.to,
        great_circle_km: geo::great_circle_km(la, lo, lb, lob),
        route_km: p.route_km,
        rtt_ms: p.rtt_ms,
        path: p.sites.iter().map(|&x| s.site_name(x).to_owned()).collect(),
        bottleneck_gbps: if p.gbps.is_finite() { p.gbps } else { 0.0 },
        loss: p.loss,
    };
    match a.format {
        Format::Json => crate::print_json(out, &r),
        Format::Table => {
            writeln!(
                out,
                "{} -> {}: {:.2} ms round trip over {:.0} km of fiber ({:.0} km great circle)",
                r.from, r.to, r.rtt_ms, r.route_km, r.great_circle_km
            )?;
            writeln!(out, "  path: {}", r.path.join(" -> "))?;
            for &li in &p.links {
                let l = &t.links[li];
                writeln!(
                    out,
                    "  {} - {}: {:.2} ms, {:.0} Gb/s, loss {}, {}{}",
                    s.site_name(l.a),
                    s.site_name(l.b),
                    l.rtt_ms,
                    l.gbps,
                    l.loss,
                    if l.explicit {
                        "given"
                    } else {
                        "derived from geography"
                    },
                    if l.deterministic {
                        ", deterministic"
                    } else {
                        ""
                    }
                )?;
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct EfficiencyReport {
    transport: &'static str,
    loss: f64,
    rtt_ms: f64,
    gbps: f64,
    goodput_gbps: f64,
    link_efficiency: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    training: Option<TrainingResult>,
    /// Step time on the same path without loss over the step time with it (training only).
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_lossless: Option<f64>,
}

#[derive(Serialize)]
struct SweepReport {
    rtt_ms: f64,
    gbps: f64,
    rows: Vec<EfficiencyReport>,
}

/// Loss rates of the sweep: 0 to 1%.
const SWEEP: [f64; 10] = [0.0, 1e-6, 1e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2];

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
    let eval = |t: Transport, loss: f64| {
        let path = PathParams {
            gbps,
            rtt_ms,
            loss,
            mss_bytes: a.mss_bytes,
            mtu_bytes: a.mtu_bytes,
            streams: a.streams,
        };
        let g = goodput_gbps(t, &path);
        let lossless = PathParams { loss: 0.0, ..path };
        EfficiencyReport {
            vs_lossless: job.map(|j| j.across(t, &lossless).step_s / j.across(t, &path).step_s),
            transport: t.name(),
            loss,
            rtt_ms,
            gbps,
            goodput_gbps: g,
            link_efficiency: g / gbps,
            training: job.map(|j| j.across(t, &path)),
        }
    };
    if a.sweep {
        let transports = [
            Transport::Tcp,
            Transport::TcpPadhye,
            Transport::RdmaGbn,
            Transport::RdmaSr,
        ];
        let rows: Vec<EfficiencyReport> = SWEEP
            .iter()
            .flat_map(|&p| transports.iter().map(move |&t| (t, p)))
            .map(|(t, p)| eval(t, p))
            .collect();
        let r = SweepReport { rtt_ms, gbps, rows };
        return match a.format {
            Format::Json => crate::print_json(out, &r),
            Format::Table => sweep_table(out, &r, &transports, job.is_some()),
        };
    }
    let r = eval(transport, loss);
    match a.format {
        Format::Json => crate::print_json(out, &r),
        Format::Table => {
            writeln!(
                out,
                "{} at {} Gb/s, RTT {:.3} ms, loss {}: goodput {:.3} Gb/s ({:.1}% of the link)",
                r.transport,
                gbps,
                rtt_ms,
                loss,
                r.goodput_gbps,
                r.link_efficiency * 100.0
            )?;
            if let Some(t) = &r.training {
                writeln!(
                    out,
                    "training: step {:.3} s (all-reduce {:.3} s, {:.3} s exposed) vs {:.3} s in one data center ({} Gb/s): {:.1}% efficiency; {:.1}% of the loss-free speed on this path",
                    t.step_s,
                    t.comm_s,
                    t.exposed_s,
                    t.single_dc_step_s,
                    a.dc_gbps,
                    t.efficiency * 100.0,
                    r.vs_lossless.unwrap_or(1.0) * 100.0
                )?;
            }
            Ok(())
        }
    }
}

fn sweep_table(
    out: &mut impl Write,
    r: &SweepReport,
    transports: &[Transport],
    training: bool,
) -> Result<(), Failure> {
    let what = if training {
        "training step speed vs the same path without loss"
    } else {
        "goodput as % of the link"
    };
    writeln!(out, "{what}, {} Gb/s, RTT {:.3} ms", r.gbps, r.rtt_ms)?;
    write!(out, "{:>8}", "loss")?;
    for t in transports {
        write!(out, " {:>11}", t.name())?;
    }
    writeln!(out)?;
    for chunk in r.rows.chunks(transports.len()) {
        write!(out, "{:>7.4}%", chunk[0].loss * 100.0)?;
        for row in chunk {
            let v = match row.vs_lossless {
                Some(v) if training => v,
                _ => row.link_efficiency,
            };
            write!(out, " {:>10.1}%", v * 100.0)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct ReserveRow {
    request: String,
    admitted: bool,
    id: Option<u64>,
    path: Vec<String>,
    rtt_ms: Option<f64>,
    refusal: Option<String>,
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
        rows.push(match book.reserve(&topo, &req) {
            Ok(r) => ReserveRow {
                request: text.clone(),
                admitted: true,
                id: Some(r.id),
                path: path_names(&s, &topo, r.from, &r.links),
                rtt_ms: Some(r.rtt_ms),
                refusal: None,
            },
            Err(e) => ReserveRow {
                request: text.clone(),
                admitted: false,
                id: None,
                path: Vec::new(),
                rtt_ms: None,
                refusal: Some(e.to_string()),
            },
        });
    }
    match a.format {
        Format::Json => crate::print_json(out, &rows),
        Format::Table => {
            for r in &rows {
                if r.admitted {
                    writeln!(
                        out,
                        "admitted  {}  via {} ({:.2} ms)",
                        r.request,
                        r.path.join(" -> "),
                        r.rtt_ms.unwrap_or(0.0)
                    )?;
                } else {
                    writeln!(
                        out,
                        "refused   {}  {}",
                        r.request,
                        r.refusal.as_deref().unwrap_or("")
                    )?;
                }
            }
            Ok(())
        }
    }
}

fn path_names(s: &Scenario, topo: &Topology, from: Site, links: &[usize]) -> Vec<String> {
    let mut at = from;
    let mut names = vec![s.site_name(at).to_owned()];
    for &li in links {
        let l = &topo.links[li];
        at = if l.a == at { l.b } else { l.a };
        names.push(s.site_name(at).to_owned());
    }
    names
}

fn check(ok: bool, msg: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::Input(format!("error: {msg}")))
    }
}

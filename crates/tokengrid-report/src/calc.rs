//! Tables of the calculators and the planner: `tokengrid energy`, `tokengrid plan` and
//! `tokengrid net`. The numbers come from the crates that compute them; this only lays them out.

use std::fmt::{Result, Write};

use tokengrid_core::Scenario;
use tokengrid_energy::summary::EnergySummary;
use tokengrid_net::Topology;
use tokengrid_net::answers::{
    EfficiencyReport, ReserveRow, RttReport, SWEEP_TRANSPORTS, SweepReport,
};
use tokengrid_sched::Plan;

/// Runs a writer into a new string (writing to a `String` cannot fail).
fn text(f: impl FnOnce(&mut String) -> Result) -> String {
    let mut out = String::new();
    let _ = f(&mut out);
    out
}

/// `tokengrid energy`: serving figures of one model on one accelerator, and each hub's cost.
pub fn energy_table(e: &EnergySummary) -> String {
    text(|out| energy(out, e))
}

fn energy(out: &mut String, e: &EnergySummary) -> Result {
    writeln!(
        out,
        "{} on {} x {} ({}), batch {}, mean context {:.0} tokens, busy {:.0}% (scenario {})",
        e.model,
        e.accelerators_per_replica,
        e.accelerator,
        e.precision.to_uppercase(),
        e.batch,
        e.context_tokens,
        e.busy_fraction * 100.0,
        e.scenario
    )?;
    writeln!(
        out,
        "  prefill  {:>10.0} tokens/s per replica  {:>8.4} ms per token  {:>7.4} J per prompt token",
        e.prefill_tokens_per_s_per_replica, e.prefill_ms_per_token, e.joules_per_prompt_token
    )?;
    writeln!(
        out,
        "  decode   {:>10.0} tokens/s per replica  {:>8.2} ms per step   {:>7.4} J per output token  ({:.1} tokens/s per sequence)",
        e.decode_tokens_per_s_per_replica,
        e.decode_step_ms,
        e.joules_per_output_token,
        e.decode_tokens_per_s_per_sequence
    )?;
    writeln!(
        out,
        "  {:.2} million output tokens per kWh of IT energy",
        e.output_tokens_per_kwh / 1e6
    )?;
    let sv = &e.serving;
    writeln!(
        out,
        "  serving {:.0}+{:.0}-token requests at batch {}: {:.0} output tokens/s ({:.2} requests/s) per replica, step {:.1} ms, TTFT {:.0} ms, {:.0} W IT ({:.0} W accelerators), {:.4} J IT per output token with prefill",
        sv.prompt_tokens,
        sv.output_tokens,
        sv.batch,
        sv.output_tokens_per_s_per_replica,
        sv.requests_per_s_per_replica,
        sv.decode_step_ms,
        sv.ttft_ms,
        sv.it_power_w,
        sv.accelerator_power_w,
        sv.it_joules_per_output_token
    )?;
    match &e.dense_equivalent {
        Some(d) => writeln!(
            out,
            "  MoE: {:.1} of {:.1} B parameters active per token; as a dense {:.1} B model the same replica would spend {:.4} J per output token ({:.1}x)",
            e.active_params_b,
            e.total_params_b,
            e.total_params_b,
            d.joules_per_output_token,
            d.joules_per_output_token / e.joules_per_output_token,
        )?,
        None => writeln!(
            out,
            "  dense: all {:.1} B parameters active per token",
            e.total_params_b
        )?,
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>12} {:>5} {:>22} {:>13}",
        "hub", "yuan/kWh", "PUE", "yuan per M out tokens", "value uplift"
    )?;
    for h in &e.hubs {
        writeln!(
            out,
            "{:<24} {:>12.3} {:>5.2} {:>22.4} {:>12.1}x",
            h.name, h.tariff_yuan_per_kwh, h.pue, h.cost_per_million_output_tokens, h.value_uplift
        )?;
    }
    writeln!(
        out,
        "tariff: mean over the day; uplift: token revenue at {:.2} yuan per million output tokens over electricity cost",
        e.price_per_million_output_tokens
    )
}

/// `tokengrid plan`: the LP plan's cost, each hour's shares per hub, planned utilization.
pub fn plan_table(p: &Plan, s: &Scenario) -> String {
    text(|out| plan(out, p, s))
}

fn plan(out: &mut String, p: &Plan, s: &Scenario) -> Result {
    writeln!(
        out,
        "LP plan for \"{}\": electricity cost {:.2} {} over the day",
        p.scenario, p.total_cost, s.currency
    )?;
    for h in &p.heuristics {
        writeln!(
            out,
            "  same demand planned by {:<9} {:.2} {} ({:+.1}%), {:.1}% unserved",
            h.policy,
            h.total_cost,
            s.currency,
            (h.total_cost / p.total_cost - 1.0) * 100.0,
            h.unserved_share * 100.0
        )?;
    }
    writeln!(out)?;
    let names: Vec<&str> = s.hubs.iter().map(|h| h.name.as_str()).collect();
    write!(out, "hour {:>9} {:>7} {:>6}", "cost", "req/s", "unsrv")?;
    for n in &names {
        write!(out, " {:>8}", abbreviate(n))?;
    }
    writeln!(out)?;
    for h in &p.hours {
        write!(
            out,
            "{:>4} {:>9.2} {:>7.1} {:>5.1}%",
            h.hour,
            h.cost,
            h.requests_per_s,
            h.unserved_share * 100.0
        )?;
        for n in &names {
            let rps: f64 = h
                .assignments
                .iter()
                .filter(|a| a.hub == *n)
                .map(|a| a.rps)
                .sum();
            let share = if h.requests_per_s > 0.0 {
                rps / h.requests_per_s
            } else {
                0.0
            };
            if share > 0.0005 {
                write!(out, " {:>7.1}%", share * 100.0)?;
            } else {
                write!(out, " {:>8}", "-")?;
            }
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    writeln!(out, "mean planned utilization of each hub's replicas:")?;
    for h in &p.hubs {
        writeln!(out, "  {:<24} {:>5.1}%", h.name, h.mean_utilization * 100.0)?;
    }
    writeln!(
        out,
        "columns: share of the hour's requests each hub serves; the plan policy (--policy plan) follows these shares"
    )?;
    Ok(())
}

/// A short column label for a hub name: its first word, at most 8 characters.
fn abbreviate(name: &str) -> String {
    name.split('-')
        .next()
        .unwrap_or(name)
        .chars()
        .take(8)
        .collect()
}

/// `tokengrid net rtt`: the path, and each of its links.
pub fn rtt_table(r: &RttReport, s: &Scenario, t: &Topology) -> String {
    text(|out| rtt(out, r, s, t))
}

fn rtt(out: &mut String, r: &RttReport, s: &Scenario, t: &Topology) -> Result {
    writeln!(
        out,
        "{} -> {}: {:.2} ms round trip over {:.0} km of fiber ({:.0} km great circle)",
        r.from, r.to, r.rtt_ms, r.route_km, r.great_circle_km
    )?;
    writeln!(out, "  path: {}", r.path.join(" -> "))?;
    for &li in &r.links {
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

/// `tokengrid net efficiency`: goodput, and the training step when a job was given
/// (`dc_gbps`: the single data center's bandwidth it is compared with).
pub fn efficiency_table(r: &EfficiencyReport, dc_gbps: f64) -> String {
    text(|out| efficiency(out, r, dc_gbps))
}

fn efficiency(out: &mut String, r: &EfficiencyReport, dc_gbps: f64) -> Result {
    writeln!(
        out,
        "{} at {} Gb/s, RTT {:.3} ms, loss {}: goodput {:.3} Gb/s ({:.1}% of the link)",
        r.transport,
        r.gbps,
        r.rtt_ms,
        r.loss,
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
            dc_gbps,
            t.efficiency * 100.0,
            r.vs_lossless.unwrap_or(1.0) * 100.0
        )?;
    }
    Ok(())
}

/// `tokengrid net efficiency --sweep`: one row per loss rate, one column per transport
/// (training speed vs loss-free when `training`, else goodput share of the link).
pub fn sweep_table(r: &SweepReport, training: bool) -> String {
    text(|out| sweep(out, r, training))
}

fn sweep(out: &mut String, r: &SweepReport, training: bool) -> Result {
    let transports = SWEEP_TRANSPORTS;
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

/// `tokengrid net reserve`: each request admitted (with its path) or refused (with why).
pub fn reserve_table(rows: &[ReserveRow]) -> String {
    text(|out| reserve(out, rows))
}

fn reserve(out: &mut String, rows: &[ReserveRow]) -> Result {
    for r in rows {
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

/// `tokengrid catalog models`: the built-in model architectures with derived sizes.
pub fn catalog_models_table() -> String {
    use tokengrid_core::catalog::{Attention, MODELS};
    text(|out| {
        writeln!(
            out,
            "{:<16} {:>8} {:>8} {:>12} {:>6} {:>10} {:>9} {:>5}",
            "model", "total B", "active B", "experts", "layers", "attention", "KV B/tok", "bytes"
        )?;
        for m in MODELS {
            let experts = m.moe.map_or("dense".to_owned(), |e| {
                format!(
                    "{}+{} k{}",
                    e.experts, e.shared_experts, e.experts_per_token
                )
            });
            let attention = match (m.attention, m.sparse) {
                (Attention::Mla { .. }, Some(_)) => "MLA+DSA".to_owned(),
                (Attention::Mla { .. }, None) => "MLA".to_owned(),
                (Attention::Gqa { kv_heads, .. }, _) => format!("GQA {}/{}", m.heads, kv_heads),
            };
            writeln!(
                out,
                "{:<16} {:>8.1} {:>8.1} {:>12} {:>6} {:>10} {:>9.0} {:>5}",
                m.name,
                m.total_params() / 1e9,
                m.active_params() / 1e9,
                experts,
                m.layers,
                attention,
                m.kv_bytes_per_token(2.0),
                m.bytes_per_param,
            )?;
        }
        writeln!(out, "\nsources:")?;
        for m in MODELS {
            writeln!(out, "  {}: {}; {}", m.name, m.source, m.note)?;
        }
        writeln!(
            out,
            "\nuse one in a scenario: [[model]] name = \"...\" catalog = \"deepseek-v3\" (keys given override it)"
        )
    })
}

/// `tokengrid catalog accelerators`: the built-in accelerator types.
pub fn catalog_accelerators_table() -> String {
    use tokengrid_core::catalog::ACCELERATORS;
    text(|out| {
        writeln!(
            out,
            "{:<14} {:>7} {:>6} {:>7} {:>5} {:>6} {:>9} {:>10} {:>6}",
            "accelerator",
            "BF16 TF",
            "FP8 TF",
            "HBM GB",
            "TB/s",
            "TDP W",
            "up GB/s",
            "out GB/s",
            "host W"
        )?;
        for a in ACCELERATORS {
            writeln!(
                out,
                "{:<14} {:>7.0} {:>6} {:>7.1} {:>5.2} {:>6.0} {:>9.0} {:>10.0} {:>6.0}",
                a.name,
                a.bf16_tflops,
                a.fp8_tflops.map_or("-".to_owned(), |f| format!("{f:.0}")),
                a.hbm_gb,
                a.hbm_tbps,
                a.tdp_w,
                a.scale_up_gbps,
                a.scale_out_gbps,
                a.host_w,
            )?;
        }
        writeln!(out, "\nsources:")?;
        for a in ACCELERATORS {
            writeln!(out, "  {}: {}; {}", a.name, a.source, a.note)?;
        }
        writeln!(
            out,
            "\nuse one in a scenario: [[accelerator]] name = \"...\" catalog = \"H100-SXM\" (keys given override it)"
        )
    })
}

//! Where work comes from: Poisson arrivals per region and class following the diurnal profile,
//! trace replay (Azure LLM inference CSV, Mooncake JSONL), and training jobs per class.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, StandardNormal};
use rand_pcg::Pcg64Mcg;
use tokengrid_core::{ClassId, ClassKind, RegionId, Scenario, TokenDist, TraceFormat};
use tokengrid_energy::hourly::Clock;

use crate::engine::{Nanos, ns, stream_seed};

/// Why a trace file could not be used (the user's to fix).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be read.
    #[error("cannot read trace file {}: {source}\n  help: the path in a region's trace is relative to the scenario file", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A row that does not parse.
    #[error("{}:{line}: {reason}\n  help: {help}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
        /// The expected format.
        help: &'static str,
    },
    /// A file with no requests.
    #[error("trace file {} has no requests", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// One replayed request: arrival offset from the trace's first row, and token counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRow {
    /// Seconds after the trace's first request.
    pub offset_s: f64,
    /// Prompt tokens.
    pub prompt: u32,
    /// Output tokens.
    pub output: u32,
}

const AZURE_HELP: &str = "Azure LLM inference trace CSV: TIMESTAMP,ContextTokens,GeneratedTokens with \
                          TIMESTAMP like 2023-11-16 18:15:46.6805900";
const MOONCAKE_HELP: &str =
    "Mooncake JSON Lines: {\"timestamp\": ms, \"input_length\": n, \"output_length\": n, ...}";

/// Reads a trace file.
pub fn read_trace(path: &Path, format: TraceFormat) -> Result<Vec<TraceRow>, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })?;
    let rows = match format {
        TraceFormat::AzureCsv => parse_azure(&text, path)?,
        TraceFormat::MooncakeJsonl => parse_mooncake(&text, path)?,
    };
    if rows.is_empty() {
        return Err(TraceError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(rows)
}

fn row_err(path: &Path, line: usize, reason: String, help: &'static str) -> TraceError {
    TraceError::Row {
        path: path.to_owned(),
        line,
        reason,
        help,
    }
}

/// Seconds since 1970 of "YYYY-MM-DD HH:MM:SS[.fraction]".
fn azure_timestamp(s: &str) -> Option<f64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (h, mi, sec) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h >= 24.0 || mi >= 60.0 || sec >= 61.0
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + mi * 60.0 + sec)
}

fn tokens(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

fn parse_azure(text: &str, path: &Path) -> Result<Vec<TraceRow>, TraceError> {
    let mut rows = Vec::new();
    let mut first: Option<f64> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || (i == 0 && line.starts_with("TIMESTAMP")) {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 3 {
            return Err(row_err(
                path,
                n,
                format!("expected 3 fields, found {}", f.len()),
                AZURE_HELP,
            ));
        }
        let t = azure_timestamp(f[0]).ok_or_else(|| {
            row_err(
                path,
                n,
                format!("\"{}\" is not a timestamp", f[0]),
                AZURE_HELP,
            )
        })?;
        let prompt = tokens(f[1]).ok_or_else(|| {
            row_err(
                path,
                n,
                format!("ContextTokens \"{}\" is not a count", f[1]),
                AZURE_HELP,
            )
        })?;
        let output = tokens(f[2]).ok_or_else(|| {
            row_err(
                path,
                n,
                format!("GeneratedTokens \"{}\" is not a count", f[2]),
                AZURE_HELP,
            )
        })?;
        let t0 = *first.get_or_insert(t);
        rows.push(TraceRow {
            offset_s: (t - t0).max(0.0),
            prompt: prompt.max(1),
            output: output.max(1),
        });
    }
    rows.sort_by(|a, b| a.offset_s.total_cmp(&b.offset_s));
    Ok(rows)
}

#[derive(serde::Deserialize)]
struct MooncakeRow {
    timestamp: f64,
    input_length: u32,
    output_length: u32,
}

fn parse_mooncake(text: &str, path: &Path) -> Result<Vec<TraceRow>, TraceError> {
    let mut rows = Vec::new();
    let mut first: Option<f64> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: MooncakeRow = serde_json::from_str(line)
            .map_err(|e| row_err(path, i + 1, e.to_string(), MOONCAKE_HELP))?;
        if !r.timestamp.is_finite() {
            return Err(row_err(
                path,
                i + 1,
                "timestamp is not a number".into(),
                MOONCAKE_HELP,
            ));
        }
        let t = r.timestamp / 1e3;
        let t0 = *first.get_or_insert(t);
        rows.push(TraceRow {
            offset_s: (t - t0).max(0.0),
            prompt: r.input_length.max(1),
            output: r.output_length.max(1),
        });
    }
    rows.sort_by(|a, b| a.offset_s.total_cmp(&b.offset_s));
    Ok(rows)
}

/// Draws a token count (at least 1) from a distribution.
pub fn sample_tokens(d: &TokenDist, rng: &mut Pcg64Mcg) -> u32 {
    let x = match *d {
        TokenDist::Fixed { value } => value,
        TokenDist::Exponential { mean } => Exp::new(1.0 / mean).map_or(mean, |e| e.sample(rng)),
        TokenDist::Lognormal { median, sigma } => {
            let z: f64 = StandardNormal.sample(rng);
            median * (sigma * z).exp()
        }
    };
    x.round().clamp(1.0, u32::MAX as f64) as u32
}

/// What a source emits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// When.
    pub at: Nanos,
    /// Region it comes from (`None` for training jobs).
    pub region: Option<RegionId>,
    /// Class.
    pub class: ClassId,
    /// Prompt tokens (0 for training).
    pub prompt: u32,
    /// Output tokens (0 for training).
    pub output: u32,
}

/// A source of arrivals with its own random stream.
#[derive(Debug, Clone)]
pub enum Source {
    /// Poisson arrivals of one region's class at `peak_rps x diurnal[hour] x share`.
    Poisson {
        /// Region.
        region: RegionId,
        /// Class.
        class: ClassId,
        /// Requests per second at diurnal factor 1 times the class share.
        peak_rps: f64,
        /// Diurnal factors.
        diurnal: [f64; 24],
        /// Random stream.
        rng: Pcg64Mcg,
        /// Time of the last arrival, s.
        t: f64,
    },
    /// A replayed trace.
    Trace {
        /// Region.
        region: RegionId,
        /// Class.
        class: ClassId,
        /// Rows.
        rows: std::sync::Arc<Vec<TraceRow>>,
        /// Next row.
        next: usize,
        /// Trace seconds per simulated second.
        time_scale: f64,
    },
    /// Poisson training jobs of one class.
    Training {
        /// Class.
        class: ClassId,
        /// Jobs per second.
        rate: f64,
        /// Random stream.
        rng: Pcg64Mcg,
        /// Time of the last arrival, s.
        t: f64,
    },
}

/// All sources of a scenario, each seeded from the run seed and its index.
pub fn sources(
    s: &Scenario,
    seed: u64,
    traces: &[(RegionId, std::sync::Arc<Vec<TraceRow>>)],
) -> Vec<Source> {
    let mut out = Vec::new();
    let mut stream = 0u64;
    let mut next_rng = || {
        stream += 1;
        Pcg64Mcg::seed_from_u64(stream_seed(seed, stream))
    };
    for (ri, r) in s.regions.iter().enumerate() {
        let region = RegionId(ri as u32);
        if let (Some(t), Some((_, rows))) = (&r.trace, traces.iter().find(|(x, _)| *x == region)) {
            out.push(Source::Trace {
                region,
                class: t.class,
                rows: rows.clone(),
                next: 0,
                time_scale: t.time_scale,
            });
            continue;
        }
        for &(class, share) in &r.mix {
            out.push(Source::Poisson {
                region,
                class,
                peak_rps: r.peak_rps * share,
                diurnal: r.diurnal.0,
                rng: next_rng(),
                t: 0.0,
            });
        }
    }
    for (ci, c) in s.classes.iter().enumerate() {
        if let ClassKind::Training(t) = &c.kind {
            out.push(Source::Training {
                class: ClassId(ci as u32),
                rate: t.jobs_per_day / 86_400.0,
                rng: next_rng(),
                t: 0.0,
            });
        }
    }
    out
}

impl Source {
    /// The next arrival before `end_s` (simulated seconds), if any. Token counts of Poisson
    /// arrivals are drawn by the caller from the class's distributions with `tokens`.
    pub fn next(&mut self, clock: &Clock, end_s: f64, s: &Scenario) -> Option<Arrival> {
        match self {
            Source::Poisson {
                region,
                class,
                peak_rps,
                diurnal,
                rng,
                t,
            } => {
                // Piecewise-constant rate by local hour: draw at the current hour's rate; if the
                // draw crosses the hour's end, restart from the boundary (memoryless).
                loop {
                    if *t >= end_s {
                        return None;
                    }
                    let local = clock.local_s(*t);
                    let hour_end = *t + tokengrid_energy::hourly::to_next_hour(local);
                    let rate = *peak_rps * diurnal[clock.hour(*t)];
                    if rate <= 0.0 {
                        *t = hour_end;
                        continue;
                    }
                    let u: f64 = rng.random::<f64>();
                    let dt = -(1.0 - u).ln() / rate;
                    if *t + dt >= hour_end {
                        *t = hour_end;
                        continue;
                    }
                    *t += dt;
                    if *t >= end_s {
                        return None;
                    }
                    let (prompt, output) = class_tokens(s, *class, rng);
                    return Some(Arrival {
                        at: ns(*t),
                        region: Some(*region),
                        class: *class,
                        prompt,
                        output,
                    });
                }
            }
            Source::Trace {
                region,
                class,
                rows,
                next,
                time_scale,
            } => {
                let row = rows.get(*next)?;
                let at = row.offset_s / *time_scale;
                if at >= end_s {
                    return None;
                }
                *next += 1;
                Some(Arrival {
                    at: ns(at),
                    region: Some(*region),
                    class: *class,
                    prompt: row.prompt,
                    output: row.output,
                })
            }
            Source::Training {
                class,
                rate,
                rng,
                t,
            } => {
                if *rate <= 0.0 {
                    return None;
                }
                let u: f64 = rng.random::<f64>();
                *t += -(1.0 - u).ln() / *rate;
                if *t >= end_s {
                    return None;
                }
                Some(Arrival {
                    at: ns(*t),
                    region: None,
                    class: *class,
                    prompt: 0,
                    output: 0,
                })
            }
        }
    }
}

fn class_tokens(s: &Scenario, class: ClassId, rng: &mut Pcg64Mcg) -> (u32, u32) {
    match &s.class(class).kind {
        ClassKind::Inference(i) => (
            sample_tokens(&i.prompt_tokens, rng),
            sample_tokens(&i.output_tokens, rng),
        ),
        ClassKind::Batch(b) => (
            sample_tokens(&b.prompt_tokens, rng),
            sample_tokens(&b.output_tokens, rng),
        ),
        ClassKind::Training(_) => (0, 0),
    }
}

//! Axis scales: round linear ticks, whole hours, and log-scaled durations.

/// An axis: its data range and where its ticks go, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scale {
    pub(crate) range: (f64, f64),
    pub(crate) ticks: Vec<(f64, String)>,
}

/// Tick steps tried, per power of ten.
const STEPS: [f64; 5] = [1.0, 2.0, 2.5, 5.0, 10.0];

/// About this many intervals between ticks.
const TICKS: f64 = 5.0;

impl Scale {
    /// `lo..hi` widened to the round tick steps around it (1, 2, 2.5 or 5 times a power of
    /// ten, about five intervals), each tick labelled with the decimals its step needs.
    pub(crate) fn linear(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = sane(lo, hi);
        let step = nice_step((hi - lo) / TICKS);
        let decimals =
            (-step.log10().floor() + f64::from(u8::from(step_has_half(step)))).max(0.0) as usize;
        Scale::stepped(lo, hi, step, |v| format!("{v:.decimals$}"))
    }

    /// Hours: `lo..hi` as it is (a time axis ends where the run does), ticks every 1, 2, 3,
    /// 4, 6, 12 or 24 hours (weeks beyond), labelled in hours.
    pub(crate) fn hours(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = sane(lo, hi);
        let raw = (hi - lo) / TICKS;
        let step = [1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0, 48.0, 72.0]
            .into_iter()
            .find(|s| *s >= raw)
            .unwrap_or_else(|| (raw / 168.0).ceil() * 168.0);
        let mut s = Scale::stepped(lo, hi, step, |v| format!("{v:.0} h"));
        s.ticks.retain(|(v, _)| *v >= lo - 1e-9 && *v <= hi + 1e-9);
        s.range = (lo, hi);
        s
    }

    /// A log10 axis of milliseconds: data given as log10(ms), from the round duration at or
    /// under `lo_ms` to the one at or over `hi_ms`, ticks at round durations (1 ms, 10 ms,
    /// 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h, ...).
    pub(crate) fn log_ms(lo_ms: f64, hi_ms: f64) -> Scale {
        const ROUND_MS: [f64; 12] = [
            0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 6e4, 6e5, 3.6e6, 3.6e7, 8.64e7, 8.64e8,
        ];
        let (lo_ms, hi_ms) = (lo_ms.max(0.1), hi_ms.max(lo_ms.max(0.1)));
        let lo = ROUND_MS
            .iter()
            .rev()
            .find(|&&t| t <= lo_ms * (1.0 + 1e-9))
            .copied()
            .unwrap_or(ROUND_MS[0]);
        let hi = ROUND_MS
            .iter()
            .find(|&&t| t >= hi_ms * (1.0 - 1e-9) && t > lo)
            .copied()
            .unwrap_or(ROUND_MS[ROUND_MS.len() - 1]);
        let ticks = ROUND_MS
            .iter()
            .filter(|&&t| t >= lo && t <= hi)
            .map(|&t| (t.log10(), duration_ms(t)))
            .collect();
        Scale {
            range: (lo.log10(), hi.log10()),
            ticks,
        }
    }

    /// `lo..hi` kept as it is (a map keeps its proportions), with round ticks inside it.
    pub(crate) fn within(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = sane(lo, hi);
        let mut s = Scale::linear(lo, hi);
        s.ticks.retain(|(v, _)| *v >= lo && *v <= hi);
        s.range = (lo, hi);
        s
    }

    fn stepped(lo: f64, hi: f64, step: f64, label: impl Fn(f64) -> String) -> Scale {
        let first = (lo / step).floor();
        let last = (hi / step - 1e-9).ceil().max(first + 1.0);
        let ticks = (first as i64..=last as i64)
            .map(|k| {
                let v = k as f64 * step;
                // -0.0 reads as "-0".
                (v, label(if v == 0.0 { 0.0 } else { v }))
            })
            .collect();
        Scale {
            range: (first * step, last * step),
            ticks,
        }
    }
}

/// `lo..hi` as a usable range: finite, and not empty.
fn sane(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    }
}

/// The smallest of [`STEPS`] x 10^k at least `raw` (`raw` / 10^k lies in 1..10, and 10 is
/// the last step, so one always is).
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    STEPS
        .iter()
        .map(|s| s * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

/// Whether `step` (a round step) has a digit one place below its leading one (2.5, 0.25).
fn step_has_half(step: f64) -> bool {
    let lead = step / 10f64.powf(step.log10().floor());
    (lead - 2.5).abs() < 1e-9
}

/// Milliseconds as a duration people read: ms under a second, s under a minute, then min.
pub(crate) fn duration_ms(ms: f64) -> String {
    let short = |v: f64| {
        if v >= 10.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    if ms < 1.0 {
        format!("{} ms", trim(ms))
    } else if ms < 1_000.0 {
        format!("{} ms", short(ms))
    } else if ms < 60_000.0 {
        format!("{} s", short(ms / 1e3))
    } else if ms < 3_600_000.0 {
        format!("{} min", short(ms / 60e3))
    } else if ms < 86_400_000.0 {
        format!("{} h", short(ms / 3.6e6))
    } else {
        format!("{} d", short(ms / 8.64e7))
    }
}

/// A number under 1 with its significant digit (0.1, 0.01).
fn trim(v: f64) -> String {
    let d = (-v.log10().floor()).max(0.0) as usize;
    format!("{v:.d$}")
}

#[cfg(test)]
mod tests {
    use super::{Scale, duration_ms};

    fn labels(s: &Scale) -> Vec<&str> {
        s.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn linear_axes_end_on_round_ticks() {
        // 0..109.9 (an SLO axis padded by 10%): steps of 25 to 125, not 27.475 to 109.9.
        let s = Scale::linear(0.0, 109.9);
        assert_eq!(s.range, (0.0, 125.0));
        assert_eq!(labels(&s), ["0", "25", "50", "75", "100", "125"]);
        // 0..100 exactly: steps of 20.
        assert_eq!(
            labels(&Scale::linear(0.0, 100.0)),
            ["0", "20", "40", "60", "80", "100"]
        );
        // Small values keep the decimals their step needs: 0..0.37 in steps of 0.1.
        let s = Scale::linear(0.0, 0.37);
        assert_eq!(labels(&s), ["0.0", "0.1", "0.2", "0.3", "0.4"]);
        // 0..5,520 (yuan): a raw step of 1,104, so 2,000 (the smallest round step above).
        let s = Scale::linear(0.0, 5_520.0);
        assert_eq!(labels(&s), ["0", "2000", "4000", "6000"]);
    }

    #[test]
    fn hour_axes_tick_on_whole_hours() {
        // 31.2 h of accounting: 6.24 h raw, so every 12 h.
        let s = Scale::hours(0.0, 31.2);
        assert_eq!(labels(&s), ["0 h", "12 h", "24 h"]);
        // 2 h: every hour. The axis ends where the run does: 6.25 h has ticks to 6 h.
        assert_eq!(labels(&Scale::hours(0.0, 2.0)), ["0 h", "1 h", "2 h"]);
        let s = Scale::hours(0.0, 6.25);
        assert_eq!(s.range, (0.0, 6.25));
        assert_eq!(labels(&s), ["0 h", "2 h", "4 h", "6 h"]);
    }

    #[test]
    fn latency_axes_read_in_ms_s_and_minutes() {
        // 3.2 ms to 75 s: from 1 ms to 10 min, past 1 min.
        let s = Scale::log_ms(3.2, 75_000.0);
        assert_eq!(s.range, (0.0, 6e5f64.log10()));
        assert_eq!(
            labels(&s),
            ["1 ms", "10 ms", "100 ms", "1 s", "10 s", "1 min", "10 min"]
        );
        // A batch deadline of a day.
        assert_eq!(
            labels(&Scale::log_ms(20_000.0, 8.64e7)),
            ["10 s", "1 min", "10 min", "1 h", "10 h", "1 d"]
        );
        assert_eq!(duration_ms(0.5), "0.5 ms");
        assert_eq!(duration_ms(120_000.0), "2 min");
    }
}

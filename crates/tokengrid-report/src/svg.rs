//! A small SVG chart builder: linear axes, lines, areas, bars, points and labels.

use std::fmt::Write;

pub(crate) use tokengrid_core::markup::esc;

/// A colour for series `i` (colour-blind-friendly palette).
pub(crate) fn palette(i: usize) -> &'static str {
    const P: [&str; 10] = [
        "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000",
        "#999999", "#8c564b",
    ];
    P[i % P.len()]
}

/// Room around the plot for axis labels and the title, px: left, right, top, bottom.
pub(crate) const MARGINS: (f64, f64, f64, f64) = (52.0, 12.0, 22.0, 34.0);

/// One chart: a plot area with data coordinates mapped to pixels.
pub(crate) struct Chart {
    w: f64,
    h: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
    m: (f64, f64, f64, f64),
    /// Tick positions and labels of each axis.
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
}

impl Chart {
    /// A `w` x `h` pixel chart of data ranges `x` and `y`, each widened to round ticks
    /// ([`Scale::linear`]); other scales with [`Chart::with_x`] and [`Chart::with_y`].
    pub(crate) fn new(w: u32, h: u32, x: (f64, f64), y: (f64, f64)) -> Self {
        let (xs, ys) = (Scale::linear(x.0, x.1), Scale::linear(y.0, y.1));
        Chart {
            w: f64::from(w),
            h: f64::from(h),
            x: xs.range,
            y: ys.range,
            body: String::new(),
            m: MARGINS,
            x_ticks: xs.ticks,
            y_ticks: ys.ticks,
        }
    }

    /// The same chart with scale `s` on the x axis.
    pub(crate) fn with_x(mut self, s: Scale) -> Self {
        self.x = s.range;
        self.x_ticks = s.ticks;
        self
    }

    /// The same chart with scale `s` on the y axis.
    pub(crate) fn with_y(mut self, s: Scale) -> Self {
        self.y = s.range;
        self.y_ticks = s.ticks;
        self
    }

    /// Room on the left and at the bottom for labels (slanted hub names).
    pub(crate) fn margins(mut self, left: f64, bottom: f64) -> Self {
        self.m.0 = left;
        self.m.3 = bottom;
        self
    }

    fn px(&self, x: f64) -> f64 {
        self.m.0 + (x - self.x.0) / (self.x.1 - self.x.0) * (self.w - self.m.0 - self.m.1)
    }

    fn py(&self, y: f64) -> f64 {
        self.h - self.m.3 - (y - self.y.0) / (self.y.1 - self.y.0) * (self.h - self.m.2 - self.m.3)
    }

    /// Axes with ticks and labels.
    pub(crate) fn axes(&mut self, x_label: &str, y_label: &str) {
        let (x0, x1, y0, y1) = (self.m.0, self.w - self.m.1, self.m.2, self.h - self.m.3);
        let _ = write!(
            self.body,
            r##"<line x1="{x0:.1}" y1="{y1:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="#444"/><line x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" stroke="#444"/>"##
        );
        for (v, label) in std::mem::take(&mut self.y_ticks) {
            let py = self.py(v);
            let _ = write!(
                self.body,
                r##"<line x1="{:.1}" y1="{py:.1}" x2="{x1:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0,
                x0 - 4.0,
                py + 4.0,
                esc(&label)
            );
        }
        if !x_label.is_empty() {
            for (v, label) in std::mem::take(&mut self.x_ticks) {
                let px = self.px(v);
                // A label at the right edge ends there instead of running off the chart.
                let anchor = if self.w - px < 24.0 { "end" } else { "middle" };
                let _ = write!(
                    self.body,
                    r##"<line x1="{px:.1}" y1="{y1:.1}" x2="{px:.1}" y2="{:.1}" stroke="#444"/><text x="{px:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"##,
                    y1 + 3.0,
                    y1 + 14.0,
                    esc(&label)
                );
            }
            let _ = write!(
                self.body,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                (x0 + x1) / 2.0,
                self.h - 4.0,
                esc(x_label)
            );
        }
        if !y_label.is_empty() {
            let _ = write!(self.body, r##"<text x="4" y="12">{}</text>"##, esc(y_label));
        }
    }

    /// A title at the top right.
    pub(crate) fn title(&mut self, t: &str) {
        let _ = write!(
            self.body,
            r##"<text x="{:.1}" y="14" text-anchor="end" font-weight="bold">{}</text>"##,
            self.w - self.m.1,
            esc(t)
        );
    }

    /// A polyline through `pts`.
    pub(crate) fn line(&mut self, pts: &[(f64, f64)], colour: &str) {
        if pts.is_empty() {
            return;
        }
        let d: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let _ = write!(
            self.body,
            r##"<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.6" points="{}"/>"##,
            d.join(" ")
        );
    }

    /// A dashed line of values on a second scale, 0 to a round top over `max`, with its ticks
    /// on the right (e.g. the tariff over a power chart). Needs a right margin of 40 px.
    pub(crate) fn line_right(&mut self, pts: &[(f64, f64)], max: f64, colour: &str) {
        let right = Scale::linear(0.0, max.max(1e-9));
        let top = right.range.1;
        let (y0, y1) = self.y;
        let to_left = |v: f64| y0 + v / top * (y1 - y0);
        let d: Vec<String> = pts
            .iter()
            .map(|&(x, v)| format!("{:.1},{:.1}", self.px(x), self.py(to_left(v))))
            .collect();
        let _ = write!(
            self.body,
            r##"<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.4" stroke-dasharray="5 3" points="{}"/>"##,
            d.join(" ")
        );
        let x = self.w - self.m.1 + 4.0;
        for (v, label) in right.ticks {
            let _ = write!(
                self.body,
                r##"<text x="{x:.1}" y="{:.1}" fill="{colour}">{}</text>"##,
                self.py(to_left(v)) + 4.0,
                esc(&label)
            );
        }
    }

    /// Lines of an outline map (coastlines and borders) behind the data, clipped to the plot;
    /// `id` names the clip region (unique in the page).
    pub(crate) fn outlines<'a>(
        &mut self,
        id: &str,
        lines: impl Iterator<Item = &'a [(f64, f64)]>,
        colour: &str,
    ) {
        let (x0, x1, y0, y1) = (self.m.0, self.w - self.m.1, self.m.2, self.h - self.m.3);
        let _ = write!(
            self.body,
            r##"<clipPath id="{id}"><rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}"/></clipPath><g clip-path="url(#{id})" fill="none" stroke="{colour}" stroke-width="0.8">"##,
            x1 - x0,
            y1 - y0
        );
        let (xr, yr) = (self.x, self.y);
        for pts in lines {
            // Lines wholly outside the plot are left out of the page.
            let inside = pts
                .iter()
                .any(|&(x, y)| x >= xr.0 && x <= xr.1 && y >= yr.0 && y <= yr.1);
            if !inside || pts.len() < 2 {
                continue;
            }
            let d: Vec<String> = pts
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
                .collect();
            let _ = write!(self.body, r##"<polyline points="{}"/>"##, d.join(" "));
        }
        self.body.push_str("</g>");
    }

    /// Room on the right for a second scale.
    pub(crate) fn right_margin(mut self, px: f64) -> Self {
        self.m.1 = px;
        self
    }

    /// A filled area between `pts` and `base` (or the x axis), as steps.
    pub(crate) fn area(&mut self, pts: &[(f64, f64)], base: Option<&[(f64, f64)]>, colour: &str) {
        if pts.is_empty() {
            return;
        }
        let step = if pts.len() > 1 {
            pts[1].0 - pts[0].0
        } else {
            0.25
        };
        let mut d = String::new();
        for (k, &(x, y)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1} L{:.1},{:.1} ",
                if k == 0 { "M" } else { "L" },
                self.px(x),
                self.py(y),
                self.px(x + step),
                self.py(y)
            );
        }
        for k in (0..pts.len()).rev() {
            let (x, _) = pts[k];
            let y0 = base.and_then(|b| b.get(k)).map_or(self.y.0, |b| b.1);
            let _ = write!(
                d,
                "L{:.1},{:.1} L{:.1},{:.1} ",
                self.px(x + step),
                self.py(y0),
                self.px(x),
                self.py(y0)
            );
        }
        d.push('Z');
        let _ = write!(
            self.body,
            r##"<path class="series" d="{d}" fill="{colour}" stroke="none"/>"##
        );
    }

    /// A bar from 0 to `v` starting at `x` with width `w` (data units).
    pub(crate) fn bar(&mut self, x: f64, w: f64, v: f64, colour: &str) {
        let (x0, x1) = (self.px(x), self.px(x + w));
        let (y0, y1) = (self.py(v.max(self.y.0)), self.py(self.y.0));
        let _ = write!(
            self.body,
            r##"<rect class="series" x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            (y1 - y0).max(0.0),
            tick(v)
        );
    }

    /// A label under the x axis at data `x`.
    pub(crate) fn label_x(&mut self, x: f64, t: &str) {
        let _ = write!(
            self.body,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            self.px(x),
            self.h - self.m.3 + 14.0,
            esc(t)
        );
    }

    /// A label under the x axis at data `x`, slanted so long names do not overlap.
    pub(crate) fn label_x_slanted(&mut self, x: f64, t: &str) {
        let (px, py) = (self.px(x), self.h - self.m.3 + 12.0);
        let _ = write!(
            self.body,
            r##"<text x="{px:.1}" y="{py:.1}" text-anchor="end" transform="rotate(-40 {px:.1} {py:.1})">{}</text>"##,
            esc(t)
        );
    }

    /// A vertical marker at data `x`, its label on the side with room.
    pub(crate) fn vline(&mut self, x: f64, t: &str) {
        let px = self.px(x.clamp(self.x.0, self.x.1));
        let right_room = self.w - self.m.1 - px;
        let (tx, anchor) = if right_room > 40.0 {
            (px + 3.0, "start")
        } else {
            (px - 3.0, "end")
        };
        let _ = write!(
            self.body,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{:.1}" fill="#c0392b" text-anchor="{anchor}">{}</text>"##,
            self.m.2,
            self.h - self.m.3,
            self.m.2 + 10.0,
            esc(t)
        );
    }

    /// A legend entry (row `k`), in the right margin when it has room for one (at least
    /// 170 px), else in the plot's top right corner.
    pub(crate) fn legend(&mut self, k: usize, t: &str, colour: &str) {
        let x = if self.m.1 >= 170.0 {
            self.w - self.m.1 + 10.0
        } else {
            self.w - self.m.1 - 170.0
        };
        let y = self.m.2 + 4.0 + 14.0 * k as f64;
        let _ = write!(
            self.body,
            r##"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"##,
            y - 9.0,
            x + 14.0,
            y,
            esc(t)
        );
    }

    /// A line segment between data points with a pixel width.
    pub(crate) fn segment(&mut self, a: (f64, f64), b: (f64, f64), width: f64, colour: &str) {
        let _ = write!(
            self.body,
            r##"<line class="series flow" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-opacity="0.6" stroke-width="{width:.1}" stroke-linecap="round"/>"##,
            self.px(a.0),
            self.py(a.1),
            self.px(b.0),
            self.py(b.1)
        );
    }

    /// A labelled dot.
    pub(crate) fn dot(&mut self, p: (f64, f64), r: f64, colour: &str, t: &str) {
        let (x, y) = (self.px(p.0), self.py(p.1));
        let _ = write!(
            self.body,
            r##"<circle class="series" cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"##,
            x + r + 2.0,
            y + 4.0,
            esc(t)
        );
    }

    /// A labelled square, its label below and to the left (dots are labelled to the right, so
    /// a region beside a hub keeps both names readable).
    pub(crate) fn square(&mut self, p: (f64, f64), size: f64, colour: &str, t: &str) {
        let (x, y) = (self.px(p.0), self.py(p.1));
        let _ = write!(
            self.body,
            r##"<rect class="series" x="{:.1}" y="{:.1}" width="{size:.1}" height="{size:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-weight="bold" text-anchor="end">{}</text>"##,
            x - size / 2.0,
            y - size / 2.0,
            x - size,
            y + size + 6.0,
            esc(t)
        );
    }

    /// The finished `<svg>` element.
    pub(crate) fn finish(self) -> String {
        format!(
            r##"<svg width="{}" height="{}" viewBox="0 0 {} {}" role="img">{}</svg>"##,
            self.w, self.h, self.w, self.h, self.body
        )
    }
}

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

/// A bar's value in its tooltip: few significant digits.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
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

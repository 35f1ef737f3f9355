//! A small SVG chart builder: linear axes, lines, areas, bars, points and labels.

use std::fmt::Write;

pub(crate) use crate::scale::Scale;

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

    /// A dotted line through `pts` held as steps (each value until the next point).
    pub(crate) fn steps_dotted(&mut self, pts: &[(f64, f64)], colour: &str) {
        let step = match pts {
            [a, b, ..] => b.0 - a.0,
            _ => 0.25,
        };
        let d: Vec<String> = pts
            .iter()
            .flat_map(|&(x, y)| [(x, y), (x + step, y)])
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let _ = write!(
            self.body,
            r##"<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.4" stroke-dasharray="1 2" points="{}"/>"##,
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
        if let Some(d) = self.step_path(pts, base) {
            let _ = write!(
                self.body,
                r##"<path class="series" d="{d}" fill="{colour}" stroke="none"/>"##
            );
        }
    }

    /// A translucent band between `lo` and `hi` (a confidence interval over time), as steps.
    pub(crate) fn band(&mut self, lo: &[(f64, f64)], hi: &[(f64, f64)], colour: &str) {
        if let Some(d) = self.step_path(hi, Some(lo)) {
            let _ = write!(
                self.body,
                r##"<path class="band" d="{d}" fill="{colour}" fill-opacity="0.25" stroke="none"/>"##
            );
        }
    }

    /// The outline of the steps of `pts` down to `base` (or the x axis).
    fn step_path(&self, pts: &[(f64, f64)], base: Option<&[(f64, f64)]>) -> Option<String> {
        if pts.is_empty() {
            return None;
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
        Some(d)
    }

    /// A bar from 0 (or the axis' end nearest it) to `v` starting at `x` with width `w` (data
    /// units); a negative `v` hangs below zero.
    pub(crate) fn bar(&mut self, x: f64, w: f64, v: f64, colour: &str) {
        let (x0, x1) = (self.px(x), self.px(x + w));
        let zero = 0.0f64.clamp(self.y.0, self.y.1);
        let v_in = v.clamp(self.y.0, self.y.1);
        let (top, bottom) = (self.py(v_in.max(zero)), self.py(v_in.min(zero)));
        let _ = write!(
            self.body,
            r##"<rect class="series" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            (bottom - top).max(0.0),
            tick(v)
        );
    }

    /// A 95% interval `lo..hi` at data `x` as a whisker (a vertical line with caps), its
    /// ends kept as `data-lo` and `data-hi` so the page can be checked against the runs.
    pub(crate) fn whisker(&mut self, x: f64, lo: f64, hi: f64) {
        let px = self.px(x);
        let (ylo, yhi) = (
            self.py(lo.clamp(self.y.0, self.y.1)),
            self.py(hi.clamp(self.y.0, self.y.1)),
        );
        let _ = write!(
            self.body,
            r##"<g class="ci" data-lo="{lo}" data-hi="{hi}" stroke="#222" stroke-width="1.2"><line x1="{px:.1}" y1="{ylo:.1}" x2="{px:.1}" y2="{yhi:.1}"/><line x1="{:.1}" y1="{ylo:.1}" x2="{:.1}" y2="{ylo:.1}"/><line x1="{:.1}" y1="{yhi:.1}" x2="{:.1}" y2="{yhi:.1}"/><title>{} .. {}</title></g>"##,
            px - 5.0,
            px + 5.0,
            px - 5.0,
            px + 5.0,
            tick(lo),
            tick(hi)
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

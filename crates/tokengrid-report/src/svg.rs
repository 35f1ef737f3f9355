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

/// One chart: a plot area with data coordinates mapped to pixels.
pub(crate) struct Chart {
    w: f64,
    h: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
    m: (f64, f64, f64, f64),
}

impl Chart {
    /// A `w` x `h` pixel chart of data ranges `x` and `y`.
    pub(crate) fn new(w: u32, h: u32, x: (f64, f64), y: (f64, f64)) -> Self {
        let fix = |(a, b): (f64, f64)| {
            if b > a && a.is_finite() && b.is_finite() {
                (a, b)
            } else {
                (0.0, 1.0)
            }
        };
        Chart {
            w: f64::from(w),
            h: f64::from(h),
            x: fix(x),
            y: fix(y),
            body: String::new(),
            // left, right, top, bottom
            m: (52.0, 12.0, 22.0, 34.0),
        }
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
        for k in 0..=4 {
            let v = self.y.0 + (self.y.1 - self.y.0) * f64::from(k) / 4.0;
            let py = self.py(v);
            let _ = write!(
                self.body,
                r##"<line x1="{:.1}" y1="{py:.1}" x2="{x1:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0,
                x0 - 4.0,
                py + 4.0,
                tick(v)
            );
        }
        if !x_label.is_empty() {
            for k in 0..=4 {
                let v = self.x.0 + (self.x.1 - self.x.0) * f64::from(k) / 4.0;
                let _ = write!(
                    self.body,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                    self.px(v),
                    y1 + 14.0,
                    tick(v)
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

    /// A vertical marker at data `x`.
    pub(crate) fn vline(&mut self, x: f64, t: &str) {
        let px = self.px(x.clamp(self.x.0, self.x.1));
        let _ = write!(
            self.body,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#c0392b">{}</text>"##,
            self.m.2,
            self.h - self.m.3,
            px + 3.0,
            self.m.2 + 10.0,
            esc(t)
        );
    }

    /// A legend entry (row `k`).
    pub(crate) fn legend(&mut self, k: usize, t: &str, colour: &str) {
        let x = self.w - self.m.1 - 170.0;
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

    /// A labelled square.
    pub(crate) fn square(&mut self, p: (f64, f64), size: f64, colour: &str, t: &str) {
        let (x, y) = (self.px(p.0), self.py(p.1));
        let _ = write!(
            self.body,
            r##"<rect class="series" x="{:.1}" y="{:.1}" width="{size:.1}" height="{size:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"##,
            x - size / 2.0,
            y - size / 2.0,
            x + size,
            y - size,
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

/// A tick label: few significant digits.
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

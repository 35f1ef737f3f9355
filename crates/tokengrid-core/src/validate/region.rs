//! Demand regions: arrival rate, diurnal profile, mix, residency and trace replay.

use std::path::Path;

use super::{At, Names, Validator, fmt_num, suggest};
use crate::diag::KeyPath;
use crate::raw::*;
use crate::scenario::*;

/// Shares of a region's mix must sum to 1 within this tolerance.
const MIX_TOLERANCE: f64 = 1e-6;

impl Validator {
    pub(super) fn regions(
        &mut self,
        raw: &[RawRegion],
        names: &Names<'_>,
        classes: &[Class],
        base_dir: Option<&Path>,
    ) -> Vec<Region> {
        raw.iter()
            .enumerate()
            .map(|(i, r)| self.region(i, r, names, classes, base_dir))
            .collect()
    }

    fn region(
        &mut self,
        i: usize,
        r: &RawRegion,
        names: &Names<'_>,
        classes: &[Class],
        base_dir: Option<&Path>,
    ) -> Region {
        let ctx = format!("region \"{}\"", r.name);
        let at = At::new(KeyPath::root().key("region").index(i), &ctx);
        self.lat_lon(&at, r.lat, r.lon);
        let trace = r
            .trace
            .as_ref()
            .and_then(|t| self.trace(&at, t, names, classes, base_dir));
        if r.trace.is_none() {
            for (key, given) in [
                ("peak_rps", r.peak_rps.is_some()),
                ("diurnal", r.diurnal.is_some()),
                ("mix", r.mix.is_some()),
            ] {
                if !given {
                    self.problem(
                        &at,
                        at.table.clone(),
                        format!("missing `{key}`"),
                        Some(
                            "a region needs peak_rps, diurnal and mix, unless it replays a trace"
                                .into(),
                        ),
                    );
                }
            }
        }
        let peak_rps = r.peak_rps.unwrap_or(0.0);
        if r.peak_rps.is_some() {
            self.check(
                &at,
                "peak_rps",
                peak_rps,
                |v| v >= 0.0,
                ">= 0",
                "requests per second at diurnal factor 1.0",
            );
        }
        let diurnal = match &r.diurnal {
            Some(d) => self.hourly_list(&at, "diurnal", d, &|v| v >= 0.0, ">= 0"),
            None => Some(Hourly::flat(0.0)),
        };
        let mut mix = Vec::new();
        if let Some(m) = &r.mix {
            let mut sum = 0.0;
            let mut good = true;
            for (name, &share) in m {
                let key = at.table.key("mix").key(name);
                if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
                    self.problem(
                        &at,
                        key.clone(),
                        format!("mix.{name} = {} must be within 0..1", fmt_num(share)),
                        None,
                    );
                    good = false;
                }
                sum += share;
                let Some(id) = self.reference(
                    &at,
                    key.clone(),
                    &format!("mix.{name}"),
                    name,
                    &names.classes,
                    "class",
                ) else {
                    good = false;
                    continue;
                };
                if let Some(ClassKind::Training(_)) = classes.get(id as usize).map(|c| &c.kind) {
                    self.problem(
                        &at,
                        key,
                        format!("mix.{name} names a training class"),
                        Some("training jobs arrive by their class's jobs_per_day, not from a region mix".into()),
                    );
                    good = false;
                }
                mix.push((ClassId(id), share));
            }
            if good && (sum - 1.0).abs() > MIX_TOLERANCE {
                self.problem(
                    &at,
                    at.table.key("mix"),
                    format!("mix shares sum to {sum}, not 1"),
                    Some(
                        "shares are fractions of the region's requests; make them add up to 1"
                            .into(),
                    ),
                );
            }
            if m.is_empty() {
                self.problem(&at, at.table.key("mix"), "mix is empty".into(), None);
            }
        }
        mix.sort_by_key(|(c, _)| *c);
        let residency = r.residency.as_ref().map(|hubs| {
            let mut ids = Vec::new();
            for (j, h) in hubs.iter().enumerate() {
                if let Some(id) = self.reference(
                    &at,
                    at.table.key("residency").index(j),
                    &format!("residency[{j}]"),
                    h,
                    &names.hubs,
                    "hub",
                ) {
                    ids.push(HubId(id));
                }
            }
            if hubs.is_empty() {
                self.problem(
                    &at,
                    at.table.key("residency"),
                    "residency is empty, so no hub may take this region's data".into(),
                    Some("list the hubs the data may go to, or remove residency".into()),
                );
            }
            ids.sort();
            ids.dedup();
            ids
        });
        Region {
            name: r.name.clone(),
            lat: r.lat,
            lon: r.lon,
            peak_rps,
            diurnal: diurnal.unwrap_or(Hourly::flat(0.0)),
            mix,
            residency,
            trace,
        }
    }

    fn trace(
        &mut self,
        at: &At<'_>,
        t: &RawTrace,
        names: &Names<'_>,
        classes: &[Class],
        base_dir: Option<&Path>,
    ) -> Option<Trace> {
        let inner = At::new(at.table.key("trace"), at.context);
        let format = match t.format.as_str() {
            "azure-csv" => Some(TraceFormat::AzureCsv),
            "mooncake-jsonl" => Some(TraceFormat::MooncakeJsonl),
            other => {
                self.problem(
                    at,
                    inner.table.key("format"),
                    format!("trace.format = \"{other}\" is not a trace format"),
                    Some(suggest(other, &["azure-csv", "mooncake-jsonl"], "formats")),
                );
                None
            }
        };
        let class = self.reference(
            at,
            inner.table.key("class"),
            "trace.class",
            &t.class,
            &names.classes,
            "class",
        );
        if let Some(c) = class.and_then(|c| classes.get(c as usize))
            && matches!(c.kind, ClassKind::Training(_))
        {
            self.problem(
                at,
                inner.table.key("class"),
                format!("trace.class names training class \"{}\"", c.name),
                Some("a trace replays inference or batch requests".into()),
            );
        }
        let time_scale = t.time_scale.unwrap_or(1.0);
        let ok = self.positive(
            &inner,
            "time_scale",
            time_scale,
            "2.0 replays the trace twice as fast",
        );
        if t.file.trim().is_empty() {
            self.problem(
                at,
                inner.table.key("file"),
                "trace.file is empty".into(),
                None,
            );
        }
        let file = match base_dir {
            Some(dir) => dir.join(&t.file),
            None => t.file.clone().into(),
        };
        Some(Trace {
            file,
            format: format?,
            class: ClassId(class?),
            time_scale: if ok { time_scale } else { 1.0 },
        })
    }
}

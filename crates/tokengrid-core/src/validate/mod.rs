//! Raw scenario -> validated [`Scenario`], collecting every problem with its key path.
//!
//! Modelled on Kubernetes' config validation: the pass never stops at the first error; each
//! problem names the key, the value, the rule and what to do.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::diag::{KeyPath, Problem};
use crate::raw::{OneOrHourly, RawScenario};
use crate::scenario::*;

mod class;
mod feasibility;
mod hardware;
mod header;
mod hub;
mod link;
mod policy;
mod region;

pub(crate) fn validate(
    raw: &RawScenario,
    base_dir: Option<&Path>,
) -> Result<Scenario, Vec<Problem>> {
    let mut v = Validator::default();
    let names = Names::of(raw);
    let header = v.header(&raw.scenario);
    let accelerators = v.accelerators(&raw.accelerators);
    let models = v.models(&raw.models, &names, &accelerators);
    v.site_names(&names);
    let hubs = v.hubs(&raw.hubs, &names, &models);
    let classes = v.classes(&raw.classes, &names);
    let regions = v.regions(&raw.regions, &names, &classes, base_dir);
    let links = v.links(&raw.links, &names);
    let policies = v.policies(&raw.policies);

    if v.problems.is_empty() {
        let scenario = Scenario {
            name: header.name,
            start: header.start,
            duration: header.duration,
            seed: header.seed,
            currency: header.currency,
            route_factor: header.route_factor,
            accelerators,
            models,
            hubs,
            regions,
            classes,
            links,
            policies,
        };
        v.feasibility(&scenario);
        if v.problems.is_empty() {
            return Ok(scenario);
        }
    }
    Err(v.problems)
}

/// The names of every entity in file order: a reference by name resolves to its position here.
struct Names<'a> {
    accelerators: Vec<&'a str>,
    models: Vec<&'a str>,
    hubs: Vec<&'a str>,
    regions: Vec<&'a str>,
    classes: Vec<&'a str>,
}

impl<'a> Names<'a> {
    fn of(raw: &'a RawScenario) -> Self {
        Names {
            accelerators: raw.accelerators.iter().map(|a| a.name.as_str()).collect(),
            models: raw.models.iter().map(|m| m.name.as_str()).collect(),
            hubs: raw.hubs.iter().map(|h| h.name.as_str()).collect(),
            regions: raw.regions.iter().map(|r| r.name.as_str()).collect(),
            classes: raw.classes.iter().map(|c| c.name.as_str()).collect(),
        }
    }

    /// The name at `index` of `list`, or "?" for an index that validation already reported.
    fn at(list: &[&'a str], index: usize) -> &'a str {
        list.get(index).copied().unwrap_or("?")
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

/// Where a value sits and how to name it in a message.
#[derive(Clone)]
struct At<'a> {
    table: KeyPath,
    context: &'a str,
}

impl<'a> At<'a> {
    fn new(table: KeyPath, context: &'a str) -> Self {
        At { table, context }
    }
}

fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// "did you mean `x`?" for the closest of `candidates`, or the list of candidates.
pub(crate) fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("did you mean \"{c}\"?"),
        None if candidates.is_empty() => format!("the scenario defines no {what}"),
        None => format!("known {what}: {}", candidates.join(", ")),
    }
}

impl Validator {
    fn problem(&mut self, at: &At<'_>, key: KeyPath, message: String, help: Option<String>) {
        self.problems.push(Problem {
            path: key,
            context: at.context.to_owned(),
            message,
            help,
        });
    }

    /// `key` must be finite and satisfy `ok`; `rule` completes "must be ...".
    fn check(
        &mut self,
        at: &At<'_>,
        key: &str,
        value: f64,
        ok: impl Fn(f64) -> bool,
        rule: &str,
        help: &str,
    ) -> bool {
        if value.is_finite() && ok(value) {
            return true;
        }
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = {} must be {rule}", fmt_num(value)),
            (!help.is_empty()).then(|| help.to_owned()),
        );
        false
    }

    fn positive(&mut self, at: &At<'_>, key: &str, value: f64, help: &str) -> bool {
        self.check(at, key, value, |v| v > 0.0, "> 0", help)
    }

    fn positive_int(&mut self, at: &At<'_>, key: &str, value: u32, help: &str) -> bool {
        if value > 0 {
            return true;
        }
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = 0 must be >= 1"),
            (!help.is_empty()).then(|| help.to_owned()),
        );
        false
    }

    fn lat_lon(&mut self, at: &At<'_>, lat: f64, lon: f64) {
        self.check(
            at,
            "lat",
            lat,
            |v| (-90.0..=90.0).contains(&v),
            "within -90..90 degrees",
            "latitude in decimal degrees, north positive",
        );
        self.check(
            at,
            "lon",
            lon,
            |v| (-180.0..=180.0).contains(&v),
            "within -180..180 degrees",
            "longitude in decimal degrees, east positive",
        );
    }

    fn duration(&mut self, at: &At<'_>, key: KeyPath, name: &str, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(
                    at,
                    key,
                    format!("{name} = \"{text}\" is not a duration: {e}"),
                    Some("write a number with a unit, e.g. \"90m\", \"6h\", \"7d\"".into()),
                );
                None
            }
        }
    }

    /// A list of 24 hourly values, each checked by `ok`.
    fn hourly_list(
        &mut self,
        at: &At<'_>,
        key: &str,
        values: &[f64],
        ok: &dyn Fn(f64) -> bool,
        rule: &str,
    ) -> Option<Hourly> {
        if values.len() != 24 {
            self.problem(
                at,
                at.table.key(key),
                format!("{key} has {} values; an hourly list needs 24", values.len()),
                Some(
                    "give one value per hour of day, hour 0 = local midnight of the scenario start"
                        .into(),
                ),
            );
            return None;
        }
        let mut good = true;
        for (i, &x) in values.iter().enumerate() {
            if !(x.is_finite() && ok(x)) {
                self.problem(
                    at,
                    at.table.key(key).index(i),
                    format!("{key}[{i}] = {} must be {rule}", fmt_num(x)),
                    None,
                );
                good = false;
            }
        }
        let mut out = [0.0; 24];
        out.copy_from_slice(values);
        good.then_some(Hourly(out))
    }

    fn one_or_hourly(
        &mut self,
        at: &At<'_>,
        key: &str,
        value: &OneOrHourly,
        ok: &dyn Fn(f64) -> bool,
        rule: &str,
        help: &str,
    ) -> Option<Hourly> {
        match value {
            OneOrHourly::One(x) => self
                .check(at, key, *x, ok, rule, help)
                .then(|| Hourly::flat(*x)),
            OneOrHourly::Hourly(xs) => self.hourly_list(at, key, xs, ok, rule),
        }
    }

    /// Resolves `name` among `names`, reporting an unknown reference at `key`.
    fn reference(
        &mut self,
        at: &At<'_>,
        key: KeyPath,
        display_key: &str,
        name: &str,
        names: &[&str],
        what: &str,
    ) -> Option<u32> {
        match names.iter().position(|n| *n == name) {
            Some(i) => u32::try_from(i).ok(),
            None => {
                self.problem(
                    at,
                    key,
                    format!("{display_key} names unknown {what} \"{name}\""),
                    Some(suggest(name, names, &format!("{what}s"))),
                );
                None
            }
        }
    }

    fn duplicates(&mut self, kind: &str, names: &[&str], context: impl Fn(&str) -> String) {
        let mut seen = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(first) = seen.insert(*name, i) {
                let ctx = context(name);
                self.problem(
                    &At::new(KeyPath::root(), &ctx),
                    KeyPath::root().key(kind).index(i).key("name"),
                    format!("duplicate name \"{name}\": {kind}[{first}] already has it"),
                    Some("every name must be unique within its kind; rename one of them".into()),
                );
            }
        }
    }
}

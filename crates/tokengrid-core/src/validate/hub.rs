//! Hubs: location, accelerators, served models and their replicas, tariff, green supply.

use super::{At, Names, Validator, suggest};
use crate::diag::KeyPath;
use crate::hardware::*;
use crate::raw::*;
use crate::scenario::*;

impl Validator {
    pub(super) fn site_names(&mut self, names: &Names<'_>) {
        self.duplicates("hub", &names.hubs, |n| format!("hub \"{n}\""));
        self.duplicates("region", &names.regions, |n| format!("region \"{n}\""));
        for (i, r) in names.regions.iter().enumerate() {
            if names.hubs.contains(r) {
                let ctx = format!("region \"{r}\"");
                self.problem(
                    &At::new(KeyPath::root(), &ctx),
                    KeyPath::root().key("region").index(i).key("name"),
                    format!("name \"{r}\" is also a hub's name"),
                    Some(
                        "hubs and regions are both link ends (sites), so their names must differ"
                            .into(),
                    ),
                );
            }
        }
    }

    pub(super) fn hubs(&mut self, raw: &[RawHub], names: &Names<'_>, models: &[Model]) -> Vec<Hub> {
        raw.iter()
            .enumerate()
            .map(|(i, h)| self.hub(i, h, names, models))
            .collect()
    }

    fn hub(&mut self, i: usize, h: &RawHub, names: &Names<'_>, models: &[Model]) -> Hub {
        let ctx = format!("hub \"{}\"", h.name);
        let at = At::new(KeyPath::root().key("hub").index(i), &ctx);
        self.lat_lon(&at, h.lat, h.lon);
        self.check(
            &at,
            "pue",
            h.pue,
            |v| v >= 1.0,
            ">= 1.0",
            "PUE is facility energy over IT energy, so it is at least 1.0 (hub targets are 1.2-1.25)",
        );
        self.positive(
            &at,
            "grid_cap_mw",
            h.grid_cap_mw,
            "the hub's grid connection in MW",
        );
        let mut accelerators = Vec::new();
        if h.accelerators.is_empty() {
            self.problem(
                &at,
                at.table.key("accelerators"),
                "accelerators is empty".into(),
                Some("list the installed accelerators, e.g. accelerators = { H800 = 4096 }".into()),
            );
        }
        for (name, &count) in &h.accelerators {
            let key = at.table.key("accelerators").key(name);
            if count == 0 {
                self.problem(
                    &at,
                    key.clone(),
                    format!("accelerators.{name} = 0 must be >= 1"),
                    Some("remove the entry instead of giving zero".into()),
                );
            }
            if let Some(id) = self.reference(
                &at,
                key,
                &format!("accelerators.{name}"),
                name,
                &names.accelerators,
                "accelerator",
            ) {
                accelerators.push((AcceleratorId(id), count));
            }
        }
        accelerators.sort_by_key(|(id, _)| *id);
        let mut served = Vec::new();
        for (j, name) in h.models.iter().enumerate() {
            let key = at.table.key("models").index(j);
            let Some(id) = self.reference(
                &at,
                key.clone(),
                &format!("models[{j}]"),
                name,
                &names.models,
                "model",
            ) else {
                continue;
            };
            if served.contains(&ModelId(id)) {
                self.problem(&at, key, format!("models lists \"{name}\" twice"), None);
                continue;
            }
            served.push(ModelId(id));
        }
        let replicas = self.replicas(&at, h, &served, &accelerators, names, models);
        served.sort();
        let tariff = self.one_or_hourly(
            &at,
            "tariff_yuan_per_kwh",
            &h.tariff_yuan_per_kwh,
            &|v| v >= 0.0,
            ">= 0",
            "",
        );
        let carbon = self.one_or_hourly(
            &at,
            "grid_carbon_g_per_kwh",
            &h.grid_carbon_g_per_kwh,
            &|v| v >= 0.0,
            ">= 0",
            "",
        );
        let green = h.green_mw.as_ref().and_then(|g| self.green(&at, g));
        let batching = match h.batching.as_deref() {
            None | Some("continuous") => Batching::Continuous,
            Some("none") => Batching::None,
            Some(other) => {
                self.problem(
                    &at,
                    at.table.key("batching"),
                    format!("batching = \"{other}\" is not a batching mode"),
                    Some("use \"continuous\" or \"none\"".into()),
                );
                Batching::Continuous
            }
        };
        let mut outages = Vec::new();
        for (j, o) in h.outages.iter().enumerate() {
            let key = at.table.key("outages").index(j);
            let start = self.duration(&at, key.key("at"), &format!("outages[{j}].at"), &o.at);
            let length =
                self.duration(&at, key.key("for"), &format!("outages[{j}].for"), &o.length);
            if let (Some(at_), Some(length)) = (start, length) {
                outages.push(Outage { at: at_, length });
            }
        }
        Hub {
            name: h.name.clone(),
            lat: h.lat,
            lon: h.lon,
            pue: h.pue,
            grid_cap_mw: h.grid_cap_mw,
            accelerators,
            models: served,
            replicas,
            tariff_yuan_per_kwh: tariff.unwrap_or(Hourly::flat(0.0)),
            green,
            grid_carbon_g_per_kwh: carbon.unwrap_or(Hourly::flat(0.0)),
            batching,
            max_queue: h.max_queue,
            outages,
            other_opex_yuan_per_day: match h.other_opex_yuan_per_day {
                Some(x) => {
                    self.check(
                        &at,
                        "other_opex_yuan_per_day",
                        x,
                        |v| v >= 0.0,
                        ">= 0",
                        "staff, maintenance, network and rent, yuan per day",
                    );
                    x
                }
                None => 0.0,
            },
        }
    }

    /// Replicas per served model: the hub's `replicas` table, or each accelerator type shared
    /// evenly among the served models that run on it. Every served model needs a replica, and the
    /// replicas of a type must fit in the hub's accelerators of that type.
    fn replicas(
        &mut self,
        at: &At<'_>,
        h: &RawHub,
        served: &[ModelId],
        accelerators: &[(AcceleratorId, u32)],
        names: &Names<'_>,
        models: &[Model],
    ) -> Vec<(ModelId, u32)> {
        let have = |a: AcceleratorId| {
            accelerators
                .iter()
                .find(|(x, _)| *x == a)
                .map_or(0, |(_, n)| *n)
        };
        let mut out: Vec<(ModelId, u32)> = Vec::new();
        match &h.replicas {
            Some(table) => {
                for (name, &n) in table {
                    let key = at.table.key("replicas").key(name);
                    let Some(id) = self.reference(
                        at,
                        key.clone(),
                        &format!("replicas.{name}"),
                        name,
                        &names.models,
                        "model",
                    ) else {
                        continue;
                    };
                    if !served.contains(&ModelId(id)) {
                        self.problem(
                            at,
                            key,
                            format!("replicas.{name} names a model the hub does not serve"),
                            Some(format!(
                                "add \"{name}\" to the hub's models, or remove it from replicas"
                            )),
                        );
                        continue;
                    }
                    out.push((ModelId(id), n));
                }
                for &m in served {
                    if !out.iter().any(|(x, _)| *x == m) {
                        let name = Names::at(&names.models, m.index());
                        self.problem(
                            at,
                            at.table.key("replicas"),
                            format!("replicas has no entry for served model \"{name}\""),
                            Some(format!("add {name} = N to replicas")),
                        );
                    }
                }
            }
            None => {
                for &m in served {
                    let Some(model) = models.get(m.index()) else {
                        continue;
                    };
                    let sharing = served
                        .iter()
                        .filter(|x| {
                            models
                                .get(x.index())
                                .is_some_and(|o| o.accelerator == model.accelerator)
                        })
                        .count() as u32;
                    let per = model.accelerators_per_replica.max(1);
                    out.push((m, have(model.accelerator) / sharing.max(1) / per));
                }
            }
        }
        out.sort_by_key(|(m, _)| *m);
        // Every served model needs a replica; replicas of a type must fit.
        let mut used: Vec<(AcceleratorId, u32)> = Vec::new();
        for &(m, n) in &out {
            let Some(model) = models.get(m.index()) else {
                continue;
            };
            let name = Names::at(&names.models, m.index());
            let acc = Names::at(&names.accelerators, model.accelerator.index());
            if n == 0 {
                let key = match &h.replicas {
                    Some(_) => at.table.key("replicas").key(name),
                    None => match h.models.iter().position(|x| x == name) {
                        Some(j) => at.table.key("models").index(j),
                        None => at.table.key("models"),
                    },
                };
                self.problem(
                    at,
                    key,
                    format!(
                        "serves \"{name}\" with 0 replicas: it has {} {acc} for the models on them, one replica needs {}",
                        have(model.accelerator),
                        model.accelerators_per_replica
                    ),
                    Some(format!("add {acc} accelerators to the hub, give replicas = {{ {name} = N }}, or remove \"{name}\" from its models")),
                );
            }
            match used.iter_mut().find(|(a, _)| *a == model.accelerator) {
                Some(u) => u.1 += n * model.accelerators_per_replica,
                None => used.push((model.accelerator, n * model.accelerators_per_replica)),
            }
        }
        for (a, n) in used {
            if n > have(a) {
                let acc = Names::at(&names.accelerators, a.index());
                self.problem(
                    at,
                    at.table.key("replicas"),
                    format!("replicas need {n} {acc} but the hub has {}", have(a)),
                    Some("lower the replica counts or add accelerators".into()),
                );
            }
        }
        out
    }

    fn green(&mut self, at: &At<'_>, g: &RawGreen) -> Option<GreenSupply> {
        match g {
            RawGreen::Hourly(xs) => self
                .hourly_list(at, "green_mw", xs, &|v| v >= 0.0, ">= 0")
                .map(GreenSupply::HourlyMw),
            RawGreen::Profile(p) => {
                let inner = At::new(at.table.key("green_mw"), at.context);
                let profile = match p.profile.as_str() {
                    "solar" => Some(GreenProfile::Solar),
                    "wind" => {
                        self.problem(
                            at,
                            inner.table.key("profile"),
                            "green_mw.profile = \"wind\" has no data behind it yet".into(),
                            Some(
                                "no measured wind capacity-factor series ships with tokengrid; \
                                 give 24 hourly MW values instead"
                                    .into(),
                            ),
                        );
                        None
                    }
                    other => {
                        self.problem(
                            at,
                            inner.table.key("profile"),
                            format!("green_mw.profile = \"{other}\" is not a known profile"),
                            Some(format!(
                                "{}; or give 24 hourly MW values",
                                suggest(other, &["solar"], "profiles")
                            )),
                        );
                        None
                    }
                };
                let ok = self.check(
                    &inner,
                    "installed_mw",
                    p.installed_mw,
                    |v| v >= 0.0,
                    ">= 0",
                    "",
                );
                let profile = profile?;
                ok.then_some(GreenSupply::Profile {
                    profile,
                    installed_mw: p.installed_mw,
                })
            }
        }
    }
}

//! Explicit links between sites and their scheduled degradations.

use std::collections::BTreeSet;

use super::{At, Names, Validator, fmt_num, suggest};
use crate::diag::KeyPath;
use crate::raw::*;
use crate::scenario::*;

impl Validator {
    pub(super) fn links(&mut self, raw: &[RawLink], names: &Names<'_>) -> Vec<Link> {
        let mut seen = BTreeSet::new();
        raw.iter()
            .enumerate()
            .filter_map(|(i, l)| self.link(i, l, names, &mut seen))
            .collect()
    }

    fn link(
        &mut self,
        i: usize,
        l: &RawLink,
        names: &Names<'_>,
        seen: &mut BTreeSet<(String, String)>,
    ) -> Option<Link> {
        let ctx = format!("link {} - {}", l.a, l.b);
        let at = At::new(KeyPath::root().key("link").index(i), &ctx);
        let a = self.site(&at, "a", &l.a, names);
        let b = self.site(&at, "b", &l.b, names);
        if l.a == l.b {
            self.problem(
                &at,
                at.table.key("b"),
                format!("link joins \"{}\" to itself", l.a),
                None,
            );
        }
        let pair = if l.a <= l.b {
            (l.a.clone(), l.b.clone())
        } else {
            (l.b.clone(), l.a.clone())
        };
        if !seen.insert(pair) {
            self.problem(
                &at,
                at.table.key("a"),
                format!(
                    "a link between \"{}\" and \"{}\" is already defined",
                    l.a, l.b
                ),
                Some("give each site pair one [[link]]".into()),
            );
        }
        let length = match (l.km, l.rtt_ms) {
            (Some(km), None) => self
                .positive(&at, "km", km, "fiber route length")
                .then_some(LinkLength::Km(km)),
            (None, Some(rtt)) => self
                .positive(&at, "rtt_ms", rtt, "measured round-trip time")
                .then_some(LinkLength::RttMs(rtt)),
            (Some(_), Some(_)) => {
                self.problem(
                    &at,
                    at.table.key("rtt_ms"),
                    "give km or rtt_ms, not both".into(),
                    Some("km derives the RTT from the speed of light in fiber; rtt_ms is a measurement".into()),
                );
                None
            }
            (None, None) => {
                self.problem(
                    &at,
                    at.table.clone(),
                    "missing `km` or `rtt_ms`".into(),
                    Some("a link needs its fiber length (km) or a measured round-trip time (rtt_ms); omit the link to derive it from geography".into()),
                );
                None
            }
        };
        self.positive(&at, "gbps", l.gbps, "link bandwidth in Gbit/s");
        let loss = l.loss.unwrap_or(0.0);
        self.check(
            &at,
            "loss",
            loss,
            |v| (0.0..1.0).contains(&v),
            "within 0 <= loss < 1",
            "a probability: 0.001 is 0.1% packet loss",
        );
        let deterministic = l.deterministic.unwrap_or(false);
        let reservable = match l.reservable_gbps {
            Some(r) if !deterministic => {
                self.problem(
                    &at,
                    at.table.key("reservable_gbps"),
                    format!(
                        "reservable_gbps = {} on a link that is not deterministic",
                        fmt_num(r)
                    ),
                    Some("set deterministic = true, or remove reservable_gbps".into()),
                );
                0.0
            }
            Some(r) => {
                if self.check(&at, "reservable_gbps", r, |v| v >= 0.0, ">= 0", "") && r > l.gbps {
                    self.problem(
                        &at,
                        at.table.key("reservable_gbps"),
                        format!(
                            "reservable_gbps = {} exceeds gbps = {}",
                            fmt_num(r),
                            fmt_num(l.gbps)
                        ),
                        None,
                    );
                }
                r
            }
            None if deterministic => l.gbps,
            None => 0.0,
        };
        let mut degradations = Vec::new();
        for (j, d) in l.degradations.iter().enumerate() {
            let key = at.table.key("degradations").index(j);
            let inner = At::new(key.clone(), &ctx);
            let start = self.duration(&at, key.key("at"), &format!("degradations[{j}].at"), &d.at);
            let len = self.duration(
                &at,
                key.key("for"),
                &format!("degradations[{j}].for"),
                &d.length,
            );
            let extra = d.extra_rtt_ms.unwrap_or(0.0);
            let ok_extra = self.check(
                &inner,
                "extra_rtt_ms",
                extra,
                |v| v >= 0.0,
                ">= 0",
                "round-trip time added by the fault",
            );
            let dloss = d.loss.unwrap_or(loss);
            let ok_loss = self.check(
                &inner,
                "loss",
                dloss,
                |v| (0.0..1.0).contains(&v),
                "within 0 <= loss < 1",
                "",
            );
            if d.extra_rtt_ms.is_none() && d.loss.is_none() {
                self.problem(
                    &at,
                    key.clone(),
                    format!("degradations[{j}] changes nothing"),
                    Some("give extra_rtt_ms, loss, or both".into()),
                );
            }
            if let (Some(s_), Some(l_), true, true) = (start, len, ok_extra, ok_loss) {
                degradations.push(Degradation {
                    at: s_,
                    length: l_,
                    extra_rtt_ms: extra,
                    loss: dloss,
                });
            }
        }
        Some(Link {
            a: a?,
            b: b?,
            length: length?,
            gbps: l.gbps,
            loss,
            deterministic,
            reservable_gbps: reservable,
            degradations,
        })
    }

    fn site(&mut self, at: &At<'_>, key: &str, name: &str, names: &Names<'_>) -> Option<Site> {
        if let Some(i) = names.hubs.iter().position(|h| *h == name) {
            return u32::try_from(i).ok().map(|i| Site::Hub(HubId(i)));
        }
        if let Some(i) = names.regions.iter().position(|r| *r == name) {
            return u32::try_from(i).ok().map(|i| Site::Region(RegionId(i)));
        }
        let sites: Vec<&str> = names.hubs.iter().chain(&names.regions).copied().collect();
        self.problem(
            at,
            at.table.key(key),
            format!("{key} = \"{name}\" is neither a hub nor a region"),
            Some(suggest(name, &sites, "sites")),
        );
        None
    }
}

//! The `[scenario]` table.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{At, Validator};
use crate::diag::KeyPath;
use crate::raw::*;
use crate::scenario::*;

/// The `[scenario]` table, validated.
pub(super) struct Header {
    pub(super) name: String,
    pub(super) start: OffsetDateTime,
    pub(super) duration: Duration,
    pub(super) seed: u64,
    pub(super) currency: String,
    pub(super) route_factor: f64,
}

impl Validator {
    pub(super) fn header(&mut self, h: &RawHeader) -> Header {
        let at = At::new(KeyPath::root().key("scenario"), "scenario");
        if h.name.trim().is_empty() {
            self.problem(&at, at.table.key("name"), "name is empty".into(), None);
        }
        let start = match OffsetDateTime::parse(&h.start, &Rfc3339) {
            Ok(t) => t,
            Err(e) => {
                self.problem(
                    &at,
                    at.table.key("start"),
                    format!("start = \"{}\" is not an RFC 3339 time: {e}", h.start),
                    Some(
                        "write e.g. \"2026-03-02T00:00:00+08:00\" (date, time and UTC offset)"
                            .into(),
                    ),
                );
                OffsetDateTime::UNIX_EPOCH
            }
        };
        let duration = self.duration(&at, at.table.key("duration"), "duration", &h.duration);
        if duration.is_some_and(|d| d.is_zero()) {
            self.problem(
                &at,
                at.table.key("duration"),
                format!("duration = \"{}\" must be longer than zero", h.duration),
                None,
            );
        }
        if h.currency.len() != 3 || !h.currency.chars().all(|c| c.is_ascii_uppercase()) {
            self.problem(
                &at,
                at.table.key("currency"),
                format!(
                    "currency = \"{}\" is not a three-letter currency code",
                    h.currency
                ),
                Some("use an ISO 4217 code such as \"CNY\" or \"USD\"".into()),
            );
        }
        let route_factor = h.route_factor.unwrap_or(DEFAULT_ROUTE_FACTOR);
        self.check(
            &at,
            "route_factor",
            route_factor,
            |v| v >= 1.0,
            ">= 1.0",
            "a fiber route is never shorter than the great circle",
        );
        Header {
            name: h.name.clone(),
            start,
            duration: duration.unwrap_or_default(),
            seed: h.seed,
            currency: h.currency.clone(),
            route_factor,
        }
    }
}

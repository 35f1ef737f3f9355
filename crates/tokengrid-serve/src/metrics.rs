//! Counters and latency histograms behind `GET /metrics` (Prometheus text format 0.0.4).
//!
//! Histograms have fixed buckets (seconds) and atomic counts, so recording costs a few atomic
//! adds and never blocks a request; per-hub counters sit behind one short mutex.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, s (from 100 us for a dispatch decision to a minute for a
/// long completion).
pub const BUCKETS_S: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 60.0,
];

/// A latency histogram with the buckets of [`BUCKETS_S`] (and +Inf).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or under each bound (not cumulative; the last is +Inf).
    counts: [AtomicU64; BUCKETS_S.len() + 1],
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS_S
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(BUCKETS_S.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BUCKETS_S
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// What one hub has been given and has answered.
#[derive(Debug, Default, Clone)]
pub struct HubCounters {
    /// Dispatch and proxy decisions that chose it.
    pub decisions: u64,
    /// Proxied requests it answered, by HTTP status.
    pub answered: BTreeMap<u16, u64>,
    /// Times it failed before its first byte and the next hub was tried.
    pub failovers: u64,
    /// Prompt tokens it served (from the responses' usage, or estimated).
    pub prompt_tokens: u64,
    /// Output tokens it served.
    pub output_tokens: u64,
    /// Facility energy attributed to its answers, J.
    pub energy_j: f64,
    /// Electricity cost attributed to its answers, yuan.
    pub cost: f64,
}

/// What one client key has used and been refused.
#[derive(Debug, Default, Clone)]
pub struct ClientCounters {
    /// Requests answered by a hub.
    pub requests: u64,
    /// Prompt tokens served (from the responses' usage, or estimated).
    pub prompt_tokens: u64,
    /// Output tokens served.
    pub output_tokens: u64,
    /// Requests refused before any hub saw them, by reason (`rate`, `model`, `too_large`).
    pub rejected: BTreeMap<&'static str, u64>,
}

/// The dispatcher's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Time to decide a `POST /v1/dispatch`.
    pub dispatch: Histogram,
    /// Time from a proxied request's arrival to the hub's response head.
    pub proxy_first_byte: Histogram,
    /// Time from a proxied request's arrival to the end of the hub's response body.
    pub proxy_total: Histogram,
    hubs: Mutex<BTreeMap<String, HubCounters>>,
    clients: Mutex<BTreeMap<String, ClientCounters>>,
}

impl Metrics {
    /// Changes `hub`'s counters.
    pub fn hub(&self, hub: &str, f: impl FnOnce(&mut HubCounters)) {
        let mut hubs = self
            .hubs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match hubs.get_mut(hub) {
            Some(c) => f(c),
            None => f(hubs.entry(hub.to_owned()).or_default()),
        }
    }

    /// Changes client key `id`'s counters.
    pub fn client(&self, id: &str, f: impl FnOnce(&mut ClientCounters)) {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match clients.get_mut(id) {
            Some(c) => f(c),
            None => f(clients.entry(id.to_owned()).or_default()),
        }
    }

    /// A copy of every client key's counters.
    pub fn clients(&self) -> BTreeMap<String, ClientCounters> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A copy of every hub's counters.
    pub fn hubs(&self) -> BTreeMap<String, HubCounters> {
        self.hubs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The Prometheus text of these metrics (hub names are registry-checked: letters, digits,
    /// '-' and '_', so they need no escaping).
    pub fn render(&self, out: &mut String, policy: &str) {
        let hubs = self.hubs();
        let counter = |out: &mut String, name: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        counter(
            out,
            "tokengrid_decisions_total",
            "Dispatch and proxy decisions by hub and policy.",
            "counter",
        );
        for (h, c) in &hubs {
            let _ = writeln!(
                out,
                "tokengrid_decisions_total{{hub=\"{h}\",policy=\"{policy}\"}} {}",
                c.decisions
            );
        }
        counter(
            out,
            "tokengrid_proxied_requests_total",
            "Proxied requests answered, by hub and HTTP status.",
            "counter",
        );
        for (h, c) in &hubs {
            for (status, n) in &c.answered {
                let _ = writeln!(
                    out,
                    "tokengrid_proxied_requests_total{{hub=\"{h}\",status=\"{status}\"}} {n}"
                );
            }
        }
        counter(
            out,
            "tokengrid_failovers_total",
            "Times a hub failed before its first byte and the next-ranked hub was tried.",
            "counter",
        );
        for (h, c) in &hubs {
            let _ = writeln!(
                out,
                "tokengrid_failovers_total{{hub=\"{h}\"}} {}",
                c.failovers
            );
        }
        counter(
            out,
            "tokengrid_tokens_total",
            "Tokens served through the proxy, by hub and kind.",
            "counter",
        );
        for (h, c) in &hubs {
            let _ = writeln!(
                out,
                "tokengrid_tokens_total{{hub=\"{h}\",kind=\"prompt\"}} {}\ntokengrid_tokens_total{{hub=\"{h}\",kind=\"output\"}} {}",
                c.prompt_tokens, c.output_tokens
            );
        }
        counter(
            out,
            "tokengrid_energy_joules_total",
            "Facility energy attributed to proxied requests by the energy model, J.",
            "counter",
        );
        for (h, c) in &hubs {
            let _ = writeln!(
                out,
                "tokengrid_energy_joules_total{{hub=\"{h}\"}} {}",
                c.energy_j
            );
        }
        counter(
            out,
            "tokengrid_cost_yuan_total",
            "Electricity cost attributed to proxied requests, yuan.",
            "counter",
        );
        for (h, c) in &hubs {
            let _ = writeln!(out, "tokengrid_cost_yuan_total{{hub=\"{h}\"}} {}", c.cost);
        }
        let clients = self.clients();
        counter(
            out,
            "tokengrid_client_requests_total",
            "Requests a hub answered, by client API key id.",
            "counter",
        );
        for (k, c) in &clients {
            let _ = writeln!(
                out,
                "tokengrid_client_requests_total{{key=\"{k}\"}} {}",
                c.requests
            );
        }
        counter(
            out,
            "tokengrid_client_tokens_total",
            "Tokens served, by client API key id and kind.",
            "counter",
        );
        for (k, c) in &clients {
            let _ = writeln!(
                out,
                "tokengrid_client_tokens_total{{key=\"{k}\",kind=\"prompt\"}} {}\ntokengrid_client_tokens_total{{key=\"{k}\",kind=\"output\"}} {}",
                c.prompt_tokens, c.output_tokens
            );
        }
        counter(
            out,
            "tokengrid_client_rejected_total",
            "Requests refused before any hub saw them, by client API key id and reason.",
            "counter",
        );
        for (k, c) in &clients {
            for (reason, n) in &c.rejected {
                let _ = writeln!(
                    out,
                    "tokengrid_client_rejected_total{{key=\"{k}\",reason=\"{reason}\"}} {n}"
                );
            }
        }
        for (name, help, h) in [
            (
                "tokengrid_dispatch_seconds",
                "Time to decide a POST /v1/dispatch.",
                &self.dispatch,
            ),
            (
                "tokengrid_proxy_first_byte_seconds",
                "Time from a proxied request's arrival to the hub's response head.",
                &self.proxy_first_byte,
            ),
            (
                "tokengrid_proxy_seconds",
                "Time from a proxied request's arrival to the end of the hub's response.",
                &self.proxy_total,
            ),
        ] {
            counter(out, name, help, "histogram");
            h.render(out, name, "");
        }
    }
}

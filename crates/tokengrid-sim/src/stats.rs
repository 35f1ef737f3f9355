//! What a run counts as it goes: requests by outcome, tokens, latency histograms per class,
//! per-hub totals and where each region's requests were served. The report is built from these
//! at the end.

use hdrhistogram::Histogram;
use tokengrid_core::{ClassKind, Scenario};

/// Latency histograms in microseconds, 3 significant digits, auto-resizing so any value fits.
pub(crate) fn histogram() -> Histogram<u64> {
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid"));
    h.auto(true);
    h
}

/// One workload class.
pub(crate) struct ClassStats {
    pub(crate) requests: u64,
    pub(crate) met: u64,
    pub(crate) wait_s: f64,
    pub(crate) waited: u64,
    pub(crate) ttft: Histogram<u64>,
    pub(crate) e2e: Histogram<u64>,
}

impl ClassStats {
    /// Mean wait at the hub before service, s.
    pub(crate) fn mean_wait_s(&self) -> f64 {
        if self.waited > 0 {
            self.wait_s / self.waited as f64
        } else {
            0.0
        }
    }
}

/// Counts of the run's requests, jobs and faults.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) arrived: u64,
    pub(crate) completed: u64,
    pub(crate) rejected: u64,
    pub(crate) failed: u64,
    pub(crate) redispatched: u64,
    pub(crate) deferred: u64,
    pub(crate) met: u64,
    pub(crate) prompt_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) jobs: u64,
    pub(crate) jobs_placed: u64,
    pub(crate) jobs_split: u64,
    pub(crate) jobs_rejected: u64,
    pub(crate) jobs_failed: u64,
    pub(crate) jobs_done: u64,
    pub(crate) link_faults: u64,
    pub(crate) hub_outages: u64,
}

/// A completed request, as the statistics need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub(crate) class: usize,
    pub(crate) region: usize,
    pub(crate) hub: usize,
    pub(crate) prompt: u32,
    pub(crate) output: u32,
    /// Wait at the hub before service, s.
    pub(crate) wait_s: f64,
    /// Time to first token and end to end, at the client, microseconds.
    pub(crate) ttft_us: u64,
    pub(crate) e2e_us: u64,
}

/// Everything a run counts.
pub(crate) struct Stats {
    pub(crate) n: Counts,
    pub(crate) classes: Vec<ClassStats>,
    /// Over interactive (inference) requests, merged from the classes at the end.
    pub(crate) ttft: Histogram<u64>,
    pub(crate) e2e: Histogram<u64>,
    pub(crate) hub_requests: Vec<u64>,
    pub(crate) hub_tokens: Vec<u64>,
    pub(crate) hub_wait_s: Vec<f64>,
    pub(crate) hub_waited: Vec<u64>,
    /// Completed requests per region per hub: `flows[region * hubs + hub]`.
    pub(crate) flows: Vec<u64>,
    hubs: usize,
}

impl Stats {
    pub(crate) fn new(s: &Scenario) -> Self {
        let hubs = s.hubs.len();
        Stats {
            n: Counts::default(),
            classes: s
                .classes
                .iter()
                .map(|_| ClassStats {
                    requests: 0,
                    met: 0,
                    wait_s: 0.0,
                    waited: 0,
                    ttft: histogram(),
                    e2e: histogram(),
                })
                .collect(),
            ttft: histogram(),
            e2e: histogram(),
            hub_requests: vec![0; hubs],
            hub_tokens: vec![0; hubs],
            hub_wait_s: vec![0.0; hubs],
            hub_waited: vec![0; hubs],
            flows: vec![0; hubs * s.regions.len()],
            hubs,
        }
    }

    /// Counts a completed request; `met` says whether it met its class's SLO.
    pub(crate) fn complete(&mut self, c: Completion, met: bool) {
        self.n.completed += 1;
        self.n.prompt_tokens += u64::from(c.prompt);
        self.n.output_tokens += u64::from(c.output);
        self.hub_requests[c.hub] += 1;
        self.flows[c.region * self.hubs + c.hub] += 1;
        self.hub_tokens[c.hub] += u64::from(c.prompt) + u64::from(c.output);
        self.hub_wait_s[c.hub] += c.wait_s;
        self.hub_waited[c.hub] += 1;
        let class = &mut self.classes[c.class];
        class.wait_s += c.wait_s;
        class.waited += 1;
        let _ = class.ttft.record(c.ttft_us.max(1));
        let _ = class.e2e.record(c.e2e_us.max(1));
        if met {
            self.n.met += 1;
            class.met += 1;
        }
    }

    /// Merges the inference classes' histograms into the run's: its latency percentiles are over
    /// interactive requests (a deferred batch job's "latency" is mostly its chosen wait).
    pub(crate) fn merge_interactive(&mut self, s: &Scenario) {
        for (c, stats) in s.classes.iter().zip(&self.classes) {
            if matches!(c.kind, ClassKind::Inference(_)) {
                let _ = self.ttft.add(&stats.ttft);
                let _ = self.e2e.add(&stats.e2e);
            }
        }
    }
}

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
    /// Requests rejected or failed, by reason code.
    pub(crate) unserved: std::collections::BTreeMap<&'static str, u64>,
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
    /// Rejected requests by reason code.
    pub(crate) rejected_by: std::collections::BTreeMap<&'static str, u64>,
    /// Failed requests (lost to a fault, not placed again) by reason code.
    pub(crate) failed_by: std::collections::BTreeMap<&'static str, u64>,
    /// Rejected training jobs by reason code.
    pub(crate) jobs_rejected_by: std::collections::BTreeMap<&'static str, u64>,
}

impl Stats {
    /// A request of `class` was not served: rejected (or failed, when `failed`) for `why`, at
    /// `hub` (the one that came closest to taking it), if any was asked.
    pub(crate) fn unserved(
        &mut self,
        class: usize,
        hub: Option<usize>,
        failed: bool,
        why: &'static str,
        n: u64,
    ) {
        if n == 0 {
            return;
        }
        if let Some(h) = hub.and_then(|h| self.hub_unserved.get_mut(h)) {
            *h.entry(why).or_default() += n;
        }
        if failed {
            self.n.failed += n;
            *self.n.failed_by.entry(why).or_default() += n;
        } else {
            self.n.rejected += n;
            *self.n.rejected_by.entry(why).or_default() += n;
        }
        if let Some(c) = self.classes.get_mut(class) {
            *c.unserved.entry(why).or_default() += n;
        }
    }
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
    /// The hour of the run it was served in (0 = the first).
    pub(crate) hour: u32,
}

/// Everything a run counts.
pub(crate) struct Stats {
    pub(crate) n: Counts,
    pub(crate) classes: Vec<ClassStats>,
    /// Over interactive (inference) requests, merged from the classes at the end.
    pub(crate) ttft: Histogram<u64>,
    pub(crate) e2e: Histogram<u64>,
    pub(crate) hub_requests: Vec<u64>,
    /// Requests rejected or failed with this hub the closest to taking them, by reason code.
    pub(crate) hub_unserved: Vec<std::collections::BTreeMap<&'static str, u64>>,
    pub(crate) hub_tokens: Vec<u64>,
    pub(crate) hub_wait_s: Vec<f64>,
    pub(crate) hub_waited: Vec<u64>,
    /// Completed requests per region per hub: `flows[region * hubs + hub]`.
    pub(crate) flows: Vec<u64>,
    /// The same per hour served: `hourly[hour][region * hubs + hub]` (fractional in fluid mode
    /// until [`Stats::finish_fluid`] scales them).
    pub(crate) hourly: Vec<Vec<f64>>,
    hubs: usize,
    /// Fluid mode's fractional counts, rounded into the counters by [`Stats::finish_fluid`].
    fluid: Option<FluidTotals>,
}

/// Fractional request counts of fluid flows.
#[derive(Debug, Default)]
struct FluidTotals {
    met: f64,
    prompt: f64,
    output: f64,
    class_met: Vec<f64>,
    class_wait_s: Vec<f64>,
    class_done: Vec<f64>,
    hub_requests: Vec<f64>,
    hub_tokens: Vec<f64>,
    hub_wait_s: Vec<f64>,
    flows: Vec<f64>,
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
                    unserved: std::collections::BTreeMap::new(),
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
            hub_unserved: vec![std::collections::BTreeMap::new(); hubs],
            hub_tokens: vec![0; hubs],
            hub_wait_s: vec![0.0; hubs],
            hub_waited: vec![0; hubs],
            flows: vec![0; hubs * s.regions.len()],
            hourly: Vec::new(),
            hubs,
            fluid: None,
        }
    }

    /// Counts `count` requests of a fluid flow served alike, `met` of them within their SLO,
    /// with `prompt` and `output` tokens in all (latency histograms are recorded by the caller).
    pub(crate) fn complete_flow(
        &mut self,
        c: Completion,
        count: f64,
        met: f64,
        prompt: f64,
        output: f64,
    ) {
        let (classes, hubs, cells) = (self.classes.len(), self.hubs, self.flows.len());
        let f = self.fluid.get_or_insert_with(|| FluidTotals {
            class_met: vec![0.0; classes],
            class_wait_s: vec![0.0; classes],
            class_done: vec![0.0; classes],
            hub_requests: vec![0.0; hubs],
            hub_tokens: vec![0.0; hubs],
            hub_wait_s: vec![0.0; hubs],
            flows: vec![0.0; cells],
            ..FluidTotals::default()
        });
        f.met += met;
        f.prompt += prompt;
        f.output += output;
        f.class_met[c.class] += met;
        f.class_wait_s[c.class] += c.wait_s * count;
        f.class_done[c.class] += count;
        f.hub_requests[c.hub] += count;
        f.hub_tokens[c.hub] += prompt + output;
        f.hub_wait_s[c.hub] += c.wait_s * count;
        f.flows[c.region * hubs + c.hub] += count;
        self.add_hourly(c, count);
    }

    /// Counts `count` requests of `c`'s region served at its hub in its hour.
    fn add_hourly(&mut self, c: Completion, count: f64) {
        let h = c.hour as usize;
        if self.hourly.len() <= h {
            let cells = self.flows.len();
            self.hourly.resize_with(h + 1, || vec![0.0; cells]);
        }
        self.hourly[h][c.region * self.hubs + c.hub] += count;
    }

    /// Rounds fluid flows into the counters: every admitted request completed (the run drains).
    pub(crate) fn finish_fluid(&mut self) {
        let Some(f) = self.fluid.take() else { return };
        let n = &mut self.n;
        n.completed = n.arrived.saturating_sub(n.rejected + n.failed);
        let done: f64 = f.hub_requests.iter().sum();
        // Scale the fractional flows to the whole completed count.
        let k = if done > 0.0 {
            n.completed as f64 / done
        } else {
            0.0
        };
        // Training jobs count their own; flows add theirs.
        n.met += ((f.met * k).round() as u64).min(n.completed);
        n.prompt_tokens = (f.prompt * k).round() as u64;
        n.output_tokens = (f.output * k).round() as u64;
        for (ci, class) in self.classes.iter_mut().enumerate() {
            let met = class.met + (f.class_met[ci] * k).round() as u64;
            class.met = met.min(class.requests);
            class.waited += (f.class_done[ci] * k).round() as u64;
            class.wait_s += f.class_wait_s[ci] * k;
        }
        for h in 0..self.hubs {
            self.hub_requests[h] = (f.hub_requests[h] * k).round() as u64;
            self.hub_tokens[h] = (f.hub_tokens[h] * k).round() as u64;
            self.hub_wait_s[h] = f.hub_wait_s[h] * k;
            self.hub_waited[h] = self.hub_requests[h];
        }
        for (i, x) in f.flows.iter().enumerate() {
            self.flows[i] = (x * k).round() as u64;
        }
        for x in self.hourly.iter_mut().flatten() {
            *x *= k;
        }
        // Rounding leftovers go to the busiest hub and flow, so the totals add up.
        let fix = |v: &mut Vec<u64>, want: u64| {
            let have: u64 = v.iter().sum();
            if let Some(i) = (0..v.len()).max_by_key(|&i| v[i]) {
                v[i] = (v[i] + want).saturating_sub(have);
            }
        };
        fix(&mut self.hub_requests, n.completed);
        fix(&mut self.flows, n.completed);
    }

    /// Counts a completed request; `met` says whether it met its class's SLO.
    pub(crate) fn complete(&mut self, c: Completion, met: bool) {
        self.n.completed += 1;
        self.n.prompt_tokens += u64::from(c.prompt);
        self.n.output_tokens += u64::from(c.output);
        self.hub_requests[c.hub] += 1;
        self.flows[c.region * self.hubs + c.hub] += 1;
        self.add_hourly(c, 1.0);
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

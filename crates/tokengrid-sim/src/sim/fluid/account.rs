//! What a step served: its replica time booked as it is placed, its latency and SLO taken once
//! the step's placement is done.

use tokengrid_core::ClassKind;
use tokengrid_sched::view::*;

use super::{Chunk, Fluid, SAMPLES};
use crate::sim::Sim;
use crate::stats::Completion;

impl Sim<'_> {
    /// Serves `count` requests of chunk `c` in `pool` after waiting `wait_s`: their replica time,
    /// their latency over the class's samples, their SLO.
    pub(super) fn fluid_serve(
        &mut self,
        fl: &mut Fluid,
        pool: usize,
        c: Chunk,
        count: f64,
        wait_s: f64,
    ) {
        if count <= 0.0 {
            return;
        }
        fl.book(&self.world, pool, c.class, count);
        fl.served.push(Served {
            pool,
            c,
            count,
            wait_s,
        });
    }

    /// Latency and SLO of what a step served.
    pub(super) fn fluid_account(&mut self, fl: &mut Fluid) {
        let served = std::mem::take(&mut fl.served);
        for s in served {
            let Served {
                pool,
                c,
                count,
                wait_s,
            } = s;
            let replicas = f64::from(self.world.pool_replicas(pool).max(1));
            let hub = self.world.pool_hub(pool);
            let prefill_rate = self.world.pool_prefill_tokens_per_s(pool);
            let fp = &fl.pools[pool];
            let batch = fl.batch_size(&self.world, pool);
            let rho = fp.rho(replicas, fl.step_s);
            let (p_wait, queued_mean) = fp.prefill_wait(replicas, fl.step_s);
            // A join pauses its replica's batch while it prefills (as in the discrete mode): decode
            // slows by the share of time spent prefilling, and a prompt waits for the prefills
            // queued ahead of it. A join goes to the replica whose prefills end first, so the pool's
            // prefills are an M/G/c queue (c replicas): a prompt waits with the Erlang C
            // probability, and then for `E[S] (1 + cs^2) / 2 / (c (1 - rho))` on average
            // (Allen-Cunneen).
            let step = self.world.pool_step(pool, batch) / (1.0 - rho);
            let rtt_s = self.world.rtt_ms(Origin::Region(c.region), hub) / 1e3;
            // The longest wait at which the policy still sends this flow here: the dispatcher
            // sees each request's wait and turns away the one that would wait longer, so the
            // requests served here waited at most that long (for the mean prompt; a sample's
            // bound moves by its prefill's difference from the mean's).
            let bound = if p_wait > 0.0 {
                self.fluid_wait_bound(fl, &c, pool)
            } else {
                f64::INFINITY
            };
            let (prompt_mean, _) = fl.mean_tokens(c.class);
            let kind = &self.s.class(c.class).kind;
            let samples = &fl.samples[c.class.index()];
            let per = count / samples.len().max(1) as f64;
            let mut met = 0.0;
            let (mut prompt_tokens, mut output_tokens) = (0.0, 0.0);
            // Time between arrival and the wait at the hub (deferral), counted end to end.
            let deferred_s = (c.since_s - c.arrived_s).max(0.0);
            for (k, &(p, o)) in samples.iter().enumerate() {
                let base = deferred_s + rtt_s + wait_s + p / prefill_rate;
                // The prefill wait: none with probability 1 - p, else exponential with mean q,
                // cut at the sample's bound where the policy turns waits away (a sample whose
                // bound is below zero is one the policy would not send here at all; it is
                // taken uncut).
                let cut = bound + (prompt_mean - p) / prefill_rate;
                let cut = if cut > 0.0 { cut } else { f64::INFINITY };
                let cdf = |x: f64| wait_cdf(x, p_wait, queued_mean);
                // At least 1 - p (no wait) when the cut is above zero; kept from zero for a
                // queue that is always waited in (p = 1) cut within a rounding error of zero.
                let admitted = cdf(cut).max(1e-12);
                let ttft = base + wait_mean_below(cut, p_wait, queued_mean) / admitted;
                let e2e = ttft + o * step;
                // Share of these requests within the SLO.
                let within = |slack: f64| {
                    if slack < 0.0 {
                        0.0
                    } else {
                        cdf(slack.min(cut)) / admitted
                    }
                };
                let ok = match kind {
                    ClassKind::Inference(i) => {
                        let t = i.ttft_slo_ms.map_or(1.0, |slo| within(slo / 1e3 - base));
                        let e = i
                            .e2e_slo_ms
                            .map_or(1.0, |slo| within(slo / 1e3 - base - o * step));
                        t.min(e)
                    }
                    ClassKind::Batch(b) => within(b.deadline.as_secs_f64() - base - o * step),
                    ClassKind::Training(_) => 1.0,
                };
                met += per * ok;
                prompt_tokens += per * p;
                output_tokens += per * o;
                // Whole requests into the percentiles, the fractions carried to the next flow of
                // this class and sample (a flow split over pools and rounds is often less than one
                // request per sample).
                let carry = &mut fl.carry_samples[c.class.index() * SAMPLES + k];
                *carry += per;
                let n = carry.floor();
                *carry -= n;
                let n = n as u64;
                if n > 0 {
                    let class = &mut self.stats.classes[c.class.index()];
                    let _ = class.ttft.record_n(((ttft * 1e6) as u64).max(1), n);
                    let _ = class.e2e.record_n(((e2e * 1e6) as u64).max(1), n);
                }
            }
            let done = Completion {
                class: c.class.index(),
                region: c.region.index(),
                hub: hub.index(),
                prompt: 0,
                output: 0,
                wait_s,
                ttft_us: 0,
                e2e_us: 0,
                hour: (self.world.now_s() / 3600.0) as u32,
            };
            self.stats
                .complete_flow(done, count, met, prompt_tokens, output_tokens);
        }
    }
}

/// P(W <= x) for a prefill wait W that is 0 with probability `1 - p`, else exponential with mean
/// `q`.
fn wait_cdf(x: f64, p: f64, q: f64) -> f64 {
    if x < 0.0 {
        0.0
    } else if p <= 0.0 || q <= 0.0 || x > 40.0 * q {
        1.0
    } else {
        1.0 - p * (-x / q).exp()
    }
}

/// E[W; W <= t] for that wait: `p (q - (t + q) e^(-t/q))`, all of `p q` when `t` is unbounded.
fn wait_mean_below(t: f64, p: f64, q: f64) -> f64 {
    if p <= 0.0 || q <= 0.0 {
        0.0
    } else if t > 40.0 * q {
        p * q
    } else {
        p * (q - (t + q) * (-t / q).exp())
    }
}

/// Requests a step served, their latency taken once the step's placement is done.
#[derive(Debug, Clone, Copy)]
pub(super) struct Served {
    pool: usize,
    c: Chunk,
    count: f64,
    wait_s: f64,
}

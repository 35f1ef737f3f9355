//! What the serving model answers for a replica as a whole: its load-independent figures (the one
//! source every view reads) and its steady state under a stream of equal requests.

use crate::roofline::Replica;

/// The load-independent serving figures of one replica at its full batch: the one source the
/// simulator's world, the static view, the LP planner and the live dispatcher all read
/// ([`Replica::figures`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingFigures {
    /// Accelerators in the replica.
    pub accelerators: u32,
    /// Sequences a replica serves at once.
    pub batch: u32,
    /// Prefill tokens/s of the replica (1,000-token prompts).
    pub prefill_tokens_per_s: f64,
    /// Decode step at full batch, s (the time per output token a sequence sees).
    pub decode_step_s: f64,
    /// IT J per prompt token.
    pub joules_per_prompt_token: f64,
    /// IT J per output token at full batch.
    pub joules_per_output_token: f64,
    /// IT power of the replica idle (accelerators idle, hosts on), kW.
    pub idle_kw: f64,
    /// IT power the replica adds when it turns busy at full batch, kW.
    pub marginal_kw: f64,
}

impl Replica {
    /// The replica's figures decoding `batch` sequences of `context_tokens` mean context.
    pub fn figures(&self, batch: u32, context_tokens: f64) -> ServingFigures {
        let batch = batch.max(1);
        let busy_w = self.busy_it_power_w(&self.decode_cost(batch, context_tokens));
        let idle_w = f64::from(self.accelerators) * (self.idle_w + self.host_w);
        ServingFigures {
            accelerators: self.accelerators,
            batch,
            prefill_tokens_per_s: self.prefill_tokens_per_s(),
            decode_step_s: self.decode_step_s(batch, context_tokens),
            joules_per_prompt_token: self.joules_per_prompt_token(),
            joules_per_output_token: self.joules_per_output_token(batch, context_tokens),
            idle_kw: idle_w / 1000.0,
            marginal_kw: (busy_w - idle_w).max(0.0) / 1000.0,
        }
    }
}

/// One replica serving a steady stream of equal requests ([`Replica::steady_state`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyState {
    /// Concurrent sequences.
    pub batch: u32,
    /// Output tokens/s of the replica.
    pub output_tokens_per_s: f64,
    /// Requests completed per second.
    pub requests_per_s: f64,
    /// One decode step, s.
    pub decode_step_s: f64,
    /// Time between a sequence's tokens with prefill interleaved, s.
    pub inter_token_s: f64,
    /// Time to first token of a request arriving to a free slot, s.
    pub ttft_s: f64,
    /// Power of the replica's accelerators, W.
    pub accelerator_power_w: f64,
    /// IT power: accelerators plus hosts, W.
    pub it_power_w: f64,
    /// Accelerator energy per output token, prefill included, J.
    pub accelerator_joules_per_output_token: f64,
    /// IT energy per output token, prefill included, J.
    pub it_joules_per_output_token: f64,
}

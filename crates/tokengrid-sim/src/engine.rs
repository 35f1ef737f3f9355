//! A generic discrete-event engine: integer time, events ordered by `(time, sequence)`.
//!
//! It knows nothing of hubs, tariffs or links (the domain lives in the `world` module). Events are
//! small `Copy` values in a binary heap; equal times pop in the order they were scheduled, so a
//! run is a pure function of its inputs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Simulated time, nanoseconds since the scenario start.
pub type Nanos = u64;

/// Nanoseconds per second.
pub const NS_PER_S: f64 = 1e9;

/// Seconds to nanoseconds (rounded up, so a positive delay never collapses to zero).
#[inline]
pub fn ns(seconds: f64) -> Nanos {
    if seconds <= 0.0 {
        return 0;
    }
    // `ceil` without a libm call (the portable x86-64 target has no rounding instruction, and
    // this runs for every event): truncate, then step up when something was cut off.
    let x = seconds * NS_PER_S;
    if x >= I64_LIMIT {
        // Beyond 292 years (never an event time in practice): the unsigned conversion.
        let t = x as Nanos;
        return if (t as f64) < x {
            t.saturating_add(1)
        } else {
            t
        };
    }
    // Below 2^63 the signed conversions give the same values as the unsigned ones, in one
    // instruction each instead of a sequence (the unsigned ones have none before AVX-512).
    let t = x as i64;
    if (t as f64) < x {
        t as Nanos + 1
    } else {
        t as Nanos
    }
}

/// 2^63 as a float: below it a non-negative float converts to `i64` without saturating.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// Nanoseconds to seconds (a multiplication: this is on every decision's path, and a division
/// costs several times as much; the two differ by at most one unit in the last place).
#[inline]
pub fn secs(t: Nanos) -> f64 {
    // Through `i64` below 2^63 (the same value; see `ns`).
    let f = if t <= i64::MAX as Nanos {
        t as i64 as f64
    } else {
        t as f64
    };
    f * 1e-9
}

/// An event and its key: time in the high 64 bits, sequence in the low (one comparison orders
/// by time, then by scheduling order).
#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse for earliest first.
        o.key.cmp(&self.key)
    }
}

/// The event queue and clock.
#[derive(Debug, Clone)]
pub struct Engine<E> {
    now: Nanos,
    seq: u64,
    heap: BinaryHeap<Entry<E>>,
    popped: u64,
}

impl<E: Copy> Default for Engine<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Engine<E> {
    /// An empty engine at time 0.
    pub fn new() -> Self {
        Engine {
            now: 0,
            seq: 0,
            heap: BinaryHeap::with_capacity(1024),
            popped: 0,
        }
    }

    /// The current time.
    #[inline]
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Schedules `event` at `at` (never before now).
    #[inline]
    pub fn schedule(&mut self, at: Nanos, event: E) {
        let at = at.max(self.now);
        self.heap.push(Entry {
            key: (u128::from(at) << 64) | u128::from(self.seq),
            event,
        });
        self.seq += 1;
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn after(&mut self, delay: Nanos, event: E) {
        self.schedule(self.now.saturating_add(delay), event);
    }

    /// The next event, advancing the clock to it.
    #[inline]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        let e = self.heap.pop()?;
        self.now = (e.key >> 64) as Nanos;
        self.popped += 1;
        Some((self.now, e.event))
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.popped
    }

    /// Events waiting.
    pub fn pending(&self) -> usize {
        self.heap.len()
    }
}

/// A seed for stream `stream` derived from a run seed (SplitMix64), so every random source has
/// its own independent, reproducible generator.
pub fn stream_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed
        ^ stream
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    use super::{Nanos, ns, secs};

    /// The conversions through `i64` give what the plain unsigned ones give (`ceil` of
    /// seconds x 1e9, saturating; nanoseconds x 1e-9), at every scale up to and past 2^63 ns.
    #[test]
    fn conversions_agree_with_the_unsigned_ones() {
        let ceil_ns = |s: f64| -> Nanos {
            if s <= 0.0 {
                return 0;
            }
            (s * 1e9).ceil() as Nanos
        };
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let edges = [
            0.0,
            -1.0,
            1e-9,
            0.5e-9,
            1.5e-9,
            9.223_372_036_854_775e9,
            1e10,
            1e12,
            1e30,
        ];
        for s in edges
            .into_iter()
            .chain((0..100_000).map(|_| 10f64.powf(rng.random_range(-10.0..11.0))))
        {
            assert_eq!(ns(s), ceil_ns(s), "ns({s})");
        }
        for t in [0, 1, i64::MAX as Nanos, i64::MAX as Nanos + 1, Nanos::MAX]
            .into_iter()
            .chain((0..100_000).map(|_| rng.random::<u64>() >> rng.random_range(0..64)))
        {
            assert_eq!(secs(t).to_bits(), (t as f64 * 1e-9).to_bits(), "secs({t})");
        }
    }
}

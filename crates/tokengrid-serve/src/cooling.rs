//! Hubs cooling down (a circuit breaker): a hub that answered 429, 408 or 5xx, timed out or
//! could not be reached is left out of decisions (open) until its `Retry-After` has passed, or
//! for a backoff that doubles with each failure in a row (1 s, 2 s, ... 30 s). Then one request
//! at a time may try it (half-open): while that probe is out, the hub stays out of decisions,
//! so a hub that hangs costs one request per backoff, not every request. An answer closes the
//! breaker (failures forgotten); another failure opens it for the next backoff.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The first backoff, ms.
const FIRST_BACKOFF_MS: i64 = 1_000;
/// The longest backoff, ms.
const MAX_BACKOFF_MS: i64 = 30_000;
/// The longest `Retry-After` honoured, ms (a hub asking for more is retried after this).
const MAX_RETRY_AFTER_MS: i64 = 300_000;

/// A failing hub's breaker.
#[derive(Debug, Default, Clone, Copy)]
struct Breaker {
    /// Until when it rests, ms.
    until: i64,
    /// Failures in a row.
    failures: u32,
    /// Until when the probe sent after the rest has the hub to itself, ms (0: none out).
    probe_until: i64,
}

/// The breakers of the hubs that failed last time they were tried.
#[derive(Debug, Default)]
pub(crate) struct Cooling {
    hubs: Mutex<HashMap<String, Breaker>>,
    /// How many breakers there are (changed under the lock): with none, which is the usual
    /// case, a request checks every hub without taking the lock or hashing a name.
    open: AtomicUsize,
}

impl Cooling {
    /// `hub` failed at `now_ms`; `retry_after_s` is what it asked for, if anything. Returns
    /// until when it cools, ms.
    pub(crate) fn failed(&self, hub: &str, now_ms: i64, retry_after_s: Option<u64>) -> i64 {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        let e = hubs.entry(hub.to_owned()).or_default();
        e.failures = e.failures.saturating_add(1);
        e.probe_until = 0;
        let backoff = FIRST_BACKOFF_MS
            .saturating_mul(1i64 << (e.failures - 1).min(16))
            .min(MAX_BACKOFF_MS);
        let wait = retry_after_s.map_or(backoff, |s| {
            i64::try_from(s)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000)
                .min(MAX_RETRY_AFTER_MS)
        });
        e.until = now_ms.saturating_add(wait);
        let until = e.until;
        self.open.store(hubs.len(), Ordering::Release);
        until
    }

    /// `hub` answered: its failures in a row are forgotten.
    pub(crate) fn answered(&self, hub: &str) {
        if self.open.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        hubs.remove(hub);
        self.open.store(hubs.len(), Ordering::Release);
    }

    /// Whether `hub` is out of decisions at `now_ms`: resting, or its probe is out.
    pub(crate) fn is_cooling(&self, hub: &str, now_ms: i64) -> bool {
        if self.open.load(Ordering::Acquire) == 0 {
            return false;
        }
        let hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        hubs.get(hub)
            .is_some_and(|b| b.until > now_ms || b.probe_until > now_ms)
    }

    /// Whether a request may go to `hub` now: always for a hub that did not fail last time;
    /// for one that did, only once its rest is over and if no other probe is out (this request
    /// then becomes the probe, holding the hub for `lease_ms` or until its outcome).
    pub(crate) fn try_send(&self, hub: &str, now_ms: i64, lease_ms: i64) -> bool {
        if self.open.load(Ordering::Acquire) == 0 {
            return true;
        }
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = hubs.get_mut(hub) else {
            return true;
        };
        if b.until > now_ms || b.probe_until > now_ms {
            return false;
        }
        b.probe_until = now_ms.saturating_add(lease_ms.max(1));
        true
    }
}

/// A `Retry-After` header's seconds (the delay form; an HTTP date is not honoured).
pub(crate) fn retry_after_s(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_retry_after_wins_and_an_answer_resets() {
        let c = Cooling::default();
        assert_eq!(c.failed("a", 0, None), 1_000);
        assert_eq!(c.failed("a", 0, None), 2_000);
        assert_eq!(c.failed("a", 0, None), 4_000);
        assert!(c.is_cooling("a", 3_999) && !c.is_cooling("a", 4_000));
        // Capped at 30 s however many failures.
        for _ in 0..40 {
            c.failed("a", 0, None);
        }
        assert_eq!(c.failed("a", 0, None), 30_000);
        // The hub's own Retry-After, capped at 5 minutes.
        assert_eq!(c.failed("a", 10, Some(7)), 7_010);
        assert_eq!(c.failed("a", 0, Some(86_400)), 300_000);
        c.answered("a");
        assert!(!c.is_cooling("a", 0));
        assert_eq!(c.failed("a", 0, None), 1_000);
        assert!(!c.is_cooling("b", 0));
    }

    #[test]
    fn after_its_rest_a_failed_hub_gets_one_probe_at_a_time() {
        let c = Cooling::default();
        // A healthy hub takes every request.
        assert!((0..3).all(|_| c.try_send("a", 0, 500)));
        c.failed("a", 0, None);
        assert!(!c.try_send("a", 999, 500), "resting");
        // Rest over: one probe; the hub stays out of decisions while it is out.
        assert!(c.try_send("a", 1_000, 500));
        assert!(c.is_cooling("a", 1_001));
        assert!(!c.try_send("a", 1_001, 500), "a second probe waits");
        // A probe that never reports (its client went away) frees the hub after its lease.
        assert!(c.try_send("a", 1_500, 500));
        // The probe fails: the next rest is twice as long, and no probe is out.
        assert_eq!(c.failed("a", 1_600, None), 3_600);
        assert!(!c.try_send("a", 3_599, 500) && c.try_send("a", 3_600, 500));
        // It answers: closed again, every request may go.
        c.answered("a");
        assert!((0..3).all(|_| c.try_send("a", 3_601, 500)) && !c.is_cooling("a", 3_601));
    }
}

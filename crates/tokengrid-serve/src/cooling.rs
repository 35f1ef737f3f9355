//! Hubs cooling down: a hub that answered 429, 408 or 5xx, or could not be reached, is left out
//! of decisions until its `Retry-After` has passed, or for a backoff that doubles with each
//! failure in a row (1 s, 2 s, ... 30 s) and resets when it answers.

use std::collections::HashMap;
use std::sync::Mutex;

/// The first backoff, ms.
const FIRST_BACKOFF_MS: i64 = 1_000;
/// The longest backoff, ms.
const MAX_BACKOFF_MS: i64 = 30_000;
/// The longest `Retry-After` honoured, ms (a hub asking for more is retried after this).
const MAX_RETRY_AFTER_MS: i64 = 300_000;

/// When each hub may be tried again, and its failures in a row.
#[derive(Debug, Default)]
pub(crate) struct Cooling {
    hubs: Mutex<HashMap<String, (i64, u32)>>,
}

impl Cooling {
    /// `hub` failed at `now_ms`; `retry_after_s` is what it asked for, if anything. Returns
    /// until when it cools, ms.
    pub(crate) fn failed(&self, hub: &str, now_ms: i64, retry_after_s: Option<u64>) -> i64 {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        let e = hubs.entry(hub.to_owned()).or_insert((0, 0));
        e.1 = e.1.saturating_add(1);
        let backoff = FIRST_BACKOFF_MS
            .saturating_mul(1i64 << (e.1 - 1).min(16))
            .min(MAX_BACKOFF_MS);
        let wait = retry_after_s.map_or(backoff, |s| {
            i64::try_from(s)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000)
                .min(MAX_RETRY_AFTER_MS)
        });
        e.0 = now_ms.saturating_add(wait);
        e.0
    }

    /// `hub` answered: its failures in a row are forgotten.
    pub(crate) fn answered(&self, hub: &str) {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        hubs.remove(hub);
    }

    /// Whether `hub` is cooling at `now_ms`.
    pub(crate) fn is_cooling(&self, hub: &str, now_ms: i64) -> bool {
        let hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        hubs.get(hub).is_some_and(|&(until, _)| until > now_ms)
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
}

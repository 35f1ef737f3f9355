//! Wall-clock time as the dispatcher reads it, or a fixed time for tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, from the system clock.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where a dispatcher reads the time: the system clock, or (in tests) a clock that stands
/// still until it is set, so nothing a test checks depends on the hour it runs at.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { fixed: None }
    }

    /// A clock standing at `ms` since the Unix epoch; clones share it.
    pub fn fixed(ms: i64) -> Self {
        Clock {
            fixed: Some(Arc::new(AtomicI64::new(ms))),
        }
    }

    /// Moves a fixed clock to `ms` (no effect on the system clock).
    pub fn set(&self, ms: i64) {
        if let Some(f) = &self.fixed {
            f.store(ms, Ordering::Relaxed);
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.fixed
            .as_ref()
            .map_or_else(now_ms, |f| f.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_until_set_and_clones_share_it() {
        let c = Clock::fixed(1_000);
        let d = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        d.set(5_000);
        assert_eq!(c.now_ms(), 5_000);
        // The system clock is past 2020-01-01 (1.577e12 ms).
        assert!(Clock::system().now_ms() > 1_577_836_800_000);
    }
}

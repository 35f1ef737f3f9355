//! The accounting window shared by the runs of a comparison: every run is costed over the same
//! span (arrivals plus the longest drain of any of them, or a longer `--horizon`), so a policy
//! that defers work into a long idle tail and one that finishes early pay for the same hours of
//! idle power. Each run, once its events are done, says where it ended and waits for the others;
//! all then close their books at the latest end.

use std::sync::{Arc, Condvar, Mutex};

/// Where the runs of a comparison agree on their common end.
#[derive(Debug)]
pub struct SharedWindow {
    /// (runs still expected, runs arrived, latest end so far in ns).
    state: Mutex<(usize, usize, u64)>,
    all_in: Condvar,
}

impl SharedWindow {
    /// A window for `runs` runs.
    pub fn new(runs: usize) -> Arc<Self> {
        Arc::new(SharedWindow {
            state: Mutex::new((runs, 0, 0)),
            all_in: Condvar::new(),
        })
    }

    /// A run's place in the window: agreed once (at its end), or given up when dropped (a run
    /// that failed or panicked), so the others never wait for it.
    pub(crate) fn ticket(self: &Arc<Self>) -> Ticket {
        Ticket {
            window: Some(self.clone()),
        }
    }
}

/// One run's part in a [`SharedWindow`].
#[derive(Debug)]
pub(crate) struct Ticket {
    window: Option<Arc<SharedWindow>>,
}

impl Ticket {
    /// Reports this run's end (ns) and waits for every other run's: the latest of them.
    pub(crate) fn agree(mut self, end: u64) -> u64 {
        let Some(w) = self.window.take() else {
            return end;
        };
        let mut s = w.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 += 1;
        s.2 = s.2.max(end);
        w.all_in.notify_all();
        while s.1 < s.0 {
            s = w.all_in.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.2
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(w) = self.window.take() {
            let mut s = w.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 = s.0.saturating_sub(1);
            w.all_in.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_close_at_the_latest_end_and_a_failed_run_is_not_waited_for() {
        let w = SharedWindow::new(3);
        let ends = std::thread::scope(|s| {
            let a = s.spawn(|| w.ticket().agree(5));
            let b = s.spawn(|| w.ticket().agree(9));
            // The third run fails before its end: its ticket is dropped.
            let c = s.spawn(|| drop(w.ticket()));
            c.join().expect("c");
            [a.join().expect("a"), b.join().expect("b")]
        });
        assert_eq!(ends, [9, 9]);
    }
}

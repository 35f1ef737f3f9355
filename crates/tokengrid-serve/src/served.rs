//! Served requests on their way to the ledger: a channel to one writer task that commits them
//! in batches, keeps them while the ledger is unavailable and retries with backoff.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::{Ledger, RequestRow};

/// Rows kept for the ledger while it cannot take them; past this the oldest are dropped (and
/// counted): about 30 s of a dispatcher at its measured peak, in tens of megabytes.
pub(crate) const MAX_PENDING: usize = 1_000_000;

/// How long rows nobody waits for gather before they are written: the most a `kill -9` can
/// lose in the default mode beyond the commit in progress (10 ms of traffic).
pub(crate) const GROUP_COMMIT: Duration = Duration::from_millis(10);

/// Rows taken from the channel at a time.
const BATCH_ROWS: usize = 10_000;

/// The first wait before writing again after a failure; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(250);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(8);

/// What the writer reports (read by `/metrics` and `/readyz`).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Rows waiting for the ledger.
    pub pending: AtomicU64,
    /// Rows dropped because more than [`MAX_PENDING`] waited.
    pub dropped: AtomicU64,
    /// Batches the ledger refused (each retried).
    pub failures: AtomicU64,
}

/// Writes served requests to the ledger in batches: whatever has queued up while the last batch
/// was written, and within [`GROUP_COMMIT`] of the first row, goes in one transaction, so a busy proxy costs one commit per batch rather than
/// one fsync per request. A batch the ledger refuses is kept and tried again after a backoff
/// (new rows join it); flushes are answered after each attempt, written or not, so shutdown
/// never hangs on a ledger that is down.
pub(crate) async fn write_served(
    ledger: Ledger,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Served>,
    stats: std::sync::Arc<WriterStats>,
) {
    let mut batch = Vec::new();
    let mut rows: Vec<RequestRow> = Vec::new();
    // Beside each row: who waits for its commit (billing-grade answers), if anyone.
    let mut acks: Vec<Option<tokio::sync::oneshot::Sender<()>>> = Vec::new();
    let mut flushes = Vec::new();
    let mut wait: Option<Duration> = None;
    loop {
        let retry_due = match wait {
            None => {
                if rx.recv_many(&mut batch, BATCH_ROWS).await == 0 {
                    break;
                }
                // Group commit: unless someone waits for this batch (a billing-grade answer,
                // a flush), rows gather for a moment first. Senders do not wake the writer
                // while it sleeps, so a busy proxy pays one wakeup and one commit per
                // GROUP_COMMIT rather than per answer.
                if !batch.iter().any(Served::awaited) {
                    tokio::time::sleep(GROUP_COMMIT).await;
                    while batch.len() < BATCH_ROWS {
                        match rx.try_recv() {
                            Ok(item) => batch.push(item),
                            Err(_) => break,
                        }
                    }
                }
                true
            }
            // Failing: new rows join the batch, the next attempt waits for the backoff.
            Some(w) => tokio::select! {
                n = rx.recv_many(&mut batch, BATCH_ROWS) => {
                    if n == 0 {
                        break;
                    }
                    false
                }
                () = tokio::time::sleep(w) => true,
            },
        };
        for item in batch.drain(..) {
            match item {
                Served::Row(r) => {
                    rows.push(r);
                    acks.push(None);
                }
                Served::Durable(r, ack) => {
                    rows.push(r);
                    acks.push(Some(ack));
                }
                Served::Flush(done) => flushes.push(done),
            }
        }
        if rows.len() > MAX_PENDING {
            let n = rows.len() - MAX_PENDING;
            rows.drain(..n);
            // Their waiters are released (the drop tells them), so answers do not hang.
            acks.drain(..n);
            stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
            tracing::error!(
                dropped = n,
                "the ledger has been unavailable too long: oldest served-request rows dropped"
            );
        }
        if retry_due && !rows.is_empty() {
            match ledger.record_requests(&rows).await {
                Ok(()) => {
                    if wait.is_some() {
                        tracing::info!(
                            rows = rows.len(),
                            "the ledger took the served requests kept for it"
                        );
                    }
                    rows.clear();
                    for ack in acks.drain(..).flatten() {
                        let _ = ack.send(());
                    }
                    wait = None;
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    let next = wait.map_or(FIRST_RETRY_WAIT, |w| (w * 2).min(MAX_RETRY_WAIT));
                    tracing::warn!(error = %e, rows = rows.len(), retry_ms = next.as_millis() as u64, "recording served requests failed; kept for a retry");
                    wait = Some(next);
                }
            }
        }
        stats.pending.store(rows.len() as u64, Ordering::Relaxed);
        if retry_due {
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }
    // The channel closed (shutdown): one last attempt for what is left.
    if !rows.is_empty()
        && let Err(e) = ledger.record_requests(&rows).await
    {
        tracing::error!(error = %e, rows = rows.len(), "served-request rows lost at shutdown: the ledger refused them");
    }
    for done in flushes.drain(..) {
        let _ = done.send(());
    }
}

/// What the ledger writer receives.
#[derive(Debug)]
pub(crate) enum Served {
    /// A served request to record.
    Row(RequestRow),
    /// A served request whose answer's last bytes wait for its commit (billing-grade).
    Durable(RequestRow, tokio::sync::oneshot::Sender<()>),
    /// Answer once everything before has been written (or tried).
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl Served {
    /// Someone waits for this to be written (a billing-grade answer's end, a flush).
    fn awaited(&self) -> bool {
        !matches!(self, Served::Row(_))
    }
}

//! Served requests on their way to the ledger: a channel to one writer task that commits them
//! in batches.

use crate::store::{Ledger, RequestRow};

/// Writes served requests to the ledger in batches: whatever has queued up while the last batch
/// was written goes in one transaction (up to 1,000 rows), so a busy proxy costs one commit per
/// batch rather than one fsync per request.
pub(crate) async fn write_served(
    ledger: Ledger,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Served>,
) {
    let mut batch = Vec::new();
    let mut rows = Vec::new();
    let mut flushes = Vec::new();
    while rx.recv_many(&mut batch, 1000).await > 0 {
        for item in batch.drain(..) {
            match item {
                Served::Row(r) => rows.push(r),
                Served::Flush(done) => flushes.push(done),
            }
        }
        if !rows.is_empty()
            && let Err(e) = ledger.record_requests(&rows).await
        {
            tracing::warn!(error = %e, rows = rows.len(), "recording served requests failed");
        }
        rows.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// What the ledger writer receives.
#[derive(Debug)]
pub(crate) enum Served {
    /// A served request to record.
    Row(RequestRow),
    /// Answer once everything before has been written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

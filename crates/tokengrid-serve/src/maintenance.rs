//! What a dispatcher replica does besides answering requests: every second it catches up with
//! the ledger (hubs and heartbeats of other replicas), puts back jobs whose claim or hub was
//! lost, schedules queued jobs, and after a connection storm hands freed memory back to the
//! system. [`run`] serves until shutdown, then flushes the ledger.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::jobs::{requeue_from_down_hubs, requeue_stale_claims, schedule_queued};
use crate::state::AppState;

/// Queued jobs scheduled per tick, at most.
const JOBS_PER_TICK: i64 = 100;

/// One round of maintenance; each step's failure is logged and retried on the next round.
pub async fn tick(st: &Arc<AppState>) {
    if let Err(e) = st.refresh().await {
        tracing::warn!(error = %e, "reading hubs from the ledger failed; will retry");
    }
    if let Err(e) = requeue_stale_claims(st).await {
        tracing::warn!(error = %e, "requeueing stale claims failed; will retry");
    }
    if let Err(e) = requeue_from_down_hubs(st).await {
        tracing::warn!(error = %e, "moving jobs off silent hubs failed; will retry");
    }
    let policy = st.config.policy.clone();
    if let Err(e) = schedule_queued(st, &policy, JOBS_PER_TICK).await {
        tracing::warn!(error = %e, "scheduling queued jobs failed; will retry");
    }
    if crate::server::storm_passed(crate::memory::STORM_CONNECTIONS) {
        let released = crate::memory::release();
        tracing::info!(
            open = crate::server::open_connections(),
            released,
            "a connection storm has passed; freed memory handed back to the system"
        );
    }
}

/// Serves the API on `listener` with maintenance every second until `shutdown` resolves; then
/// lets requests in flight finish and writes what is still queued for the ledger.
pub async fn run(
    listener: TcpListener,
    st: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = st.clone();
    let maintenance = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            tick(&background).await;
        }
    });
    let limits = st.config.limits;
    let served = crate::server::serve(
        listener,
        crate::server::App::new(st.clone()),
        limits,
        shutdown,
    )
    .await;
    maintenance.abort();
    // Every answer has ended by now: write what is still queued for the ledger.
    st.flush_served().await;
    served
}

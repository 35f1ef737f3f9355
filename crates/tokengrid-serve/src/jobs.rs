//! Scheduling queued jobs: claim them from the ledger, decide hub and start with the policy,
//! record the decision.

use std::sync::Arc;

use tokengrid_sched::{BatchJob, Decision, Origin, Policy, Scheduler, TrainingJob, Work};

use crate::state::AppState;
use crate::store::StoreError;
use crate::wire::{JobRequest, JobState};

/// Nominal busy power of one accelerator for training cost estimates, W (H800 TDP,
/// data/facts/accelerators.csv).
const TRAINING_ACCELERATOR_W: f64 = 700.0;

/// Takes up to `limit` queued jobs and schedules each: `scheduled` with its hub and start time,
/// or `rejected` when no hub can take it. Returns how many were handled.
pub async fn schedule_queued(
    st: &Arc<AppState>,
    policy: &str,
    limit: i64,
) -> Result<usize, StoreError> {
    let now = st.now_ms();
    let claimed = st.ledger.claim_queued(&st.replica, limit, now).await?;
    let n = claimed.len();
    for job in claimed {
        let decision = match serde_json::from_str::<JobRequest>(&job.spec) {
            Ok(req) => decide(st, policy, &req, job.created_at_ms),
            Err(_) => None,
        };
        let (state, hub, start) = match &decision {
            Some((hub, start_ms)) => (JobState::Scheduled, Some(hub.as_str()), Some(*start_ms)),
            None => (JobState::Rejected, None, None),
        };
        if !st
            .ledger
            .settle_claim(&job.id, &st.replica, state, hub, start, st.now_ms())
            .await?
        {
            tracing::warn!(job = %job.id, "claim outlived its lease; another replica has the job");
        }
    }
    Ok(n)
}

/// How long a replica may hold a claimed job before settling it; past this the job goes back to
/// the queue (the replica died or stalled between claiming and scheduling).
pub const CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Puts back in the queue jobs claimed longer ago than [`CLAIM_LEASE`] and never settled.
pub async fn requeue_stale_claims(st: &Arc<AppState>) -> Result<u64, StoreError> {
    let now = st.now_ms();
    let lease = i64::try_from(CLAIM_LEASE.as_millis()).unwrap_or(i64::MAX);
    let n = st.ledger.requeue_stale_claims(now - lease, now).await?;
    if n > 0 {
        tracing::warn!(jobs = n, "claims past their lease: jobs back in the queue");
    }
    Ok(n)
}

/// Puts back in the queue every unfinished job (scheduled, or dispatched and not reported done)
/// whose hub has left rotation (silent past the heartbeat timeout, or reporting itself down), so
/// it is scheduled again elsewhere. Idempotent: several replicas may do it at once; each job is
/// moved once and claiming stays exclusive.
pub async fn requeue_from_down_hubs(st: &Arc<AppState>) -> Result<usize, StoreError> {
    let now = st.now_ms();
    let mut moved = 0;
    // Only the hubs out of rotation are looked at: one indexed query each.
    for hub in st.hubs_down() {
        for job in st.ledger.unfinished_at(&hub).await? {
            if st.ledger.requeue(&job.id, &hub, now).await? {
                tracing::info!(job = %job.id, hub = %hub, "hub out of rotation: job back in the queue");
                moved += 1;
            }
        }
    }
    Ok(moved)
}

fn decide(
    st: &Arc<AppState>,
    policy: &str,
    req: &JobRequest,
    created_ms: i64,
) -> Option<(String, i64)> {
    let mut view = st.view();
    if let Some(allowed) = &req.residency {
        // Hubs the job's data may not go to are out of its view.
        view.mark_down(|name| !allowed.iter().any(|a| a == name));
    }
    let deadline = humantime::parse_duration(&req.deadline).ok()?.as_secs_f64();
    // The view's clock is "now" = 0 s; the deadline counts from submission.
    let elapsed = (view.now_ms() - created_ms).max(0) as f64 / 1e3;
    let deadline_s = deadline - elapsed;
    let work = match req.kind.as_str() {
        "batch" => {
            let model = view.model_id(req.model.as_deref()?)?;
            let tokens = req.tokens?.min(u64::from(u32::MAX)) as u32;
            Work::Batch(BatchJob {
                model,
                origin: Origin::Point { lat: 0.0, lon: 0.0 },
                prompt_tokens: tokens,
                output_tokens: 1,
                deadline_s,
                residency: None,
            })
        }
        _ => Work::Training(TrainingJob {
            accelerators: req.accelerators?,
            accelerator: None,
            compute_hours: req.compute_hours?,
            gradient_gb_per_step: 0.0,
            step_compute_s: 1.0,
            deadline_s,
            splittable: false,
            accelerator_w: TRAINING_ACCELERATOR_W,
        }),
    };
    let mut sched = Scheduler::new(Policy::named(policy).ok()?);
    match sched.decide(&view, &work) {
        Decision::Place(p) => Some((
            view.hub_name(p.hub).to_owned(),
            // Rounded, not truncated: a start on an hour boundary stays on it.
            view.now_ms() + (p.start_s * 1e3).round() as i64,
        )),
        Decision::Reject(_) => None,
    }
}

//! Batch and training jobs: submission (durable before acknowledged), lookup, and the state
//! a hub reports.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::auth::{bearer, hash_token, new_token};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::JobRow;
use crate::wire::{JobAck, JobRequest, JobState, JobStateBody, JobsQuery};

/// The hub running a dispatched job reports it `done` or `failed`.
pub(super) async fn finish(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<JobStateBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    let hub = st
        .hub_of_token(&hash_token(token))
        .await?
        .ok_or(ApiError::Forbidden)?;
    let Json(b) = body?;
    let state = match JobState::parse(&b.state) {
        Some(s @ (JobState::Done | JobState::Failed)) => s,
        _ => {
            return Err(ApiError::BadRequest(format!(
                "state \"{}\" is not done or failed",
                b.state
            )));
        }
    };
    let job = st
        .ledger
        .job(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job \"{id}\"")))?;
    if job.hub.as_deref() != Some(hub.as_str()) {
        return Err(ApiError::Forbidden);
    }
    if !st.ledger.finish_job(&id, &hub, state, st.now_ms()).await? {
        return Err(ApiError::Conflict(format!(
            "job \"{id}\" is {}, not dispatched",
            job.state
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn submit(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<JobRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let caller = st.known_caller(&headers).await?;
    let Json(mut j) = body?;
    if let Some(m) = &j.model {
        caller.may_use(m)?;
    }
    // A key's residency narrows the job's own.
    if let Some(allowed) = caller.residency() {
        let narrowed: Vec<String> = match &j.residency {
            Some(own) => own
                .iter()
                .filter(|h| allowed.contains(h))
                .cloned()
                .collect(),
            None => allowed.to_vec(),
        };
        if narrowed.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "the job's residency and the API key's ({}) share no hub",
                allowed.join(", ")
            )));
        }
        j.residency = Some(narrowed);
    }
    if j.residency.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::BadRequest(
            "residency must name at least one hub (omit it to allow any)".into(),
        ));
    }
    let deadline = humantime::parse_duration(&j.deadline).map_err(|e| {
        ApiError::BadRequest(format!(
            "deadline \"{}\" is not a duration: {e} (write e.g. \"8h\")",
            j.deadline
        ))
    })?;
    match j.kind.as_str() {
        "batch" => {
            if j.model.as_deref().is_none_or(str::is_empty) || j.tokens.is_none_or(|t| t == 0) {
                return Err(ApiError::BadRequest(
                    "a batch job needs model and tokens > 0".into(),
                ));
            }
        }
        "training" => {
            if j.accelerators.is_none_or(|a| a == 0)
                || j.compute_hours.is_none_or(|h| !(h.is_finite() && h > 0.0))
            {
                return Err(ApiError::BadRequest(
                    "a training job needs accelerators > 0 and compute_hours > 0".into(),
                ));
            }
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "kind \"{other}\" is not batch or training"
            )));
        }
    }
    if deadline.is_zero() {
        return Err(ApiError::BadRequest(
            "deadline must be longer than zero".into(),
        ));
    }
    let now = st.now_ms();
    let row = JobRow {
        id: format!("job-{}", new_token()[..20].to_owned()),
        kind: j.kind.clone(),
        spec: serde_json::to_string(&j).map_err(|e| ApiError::Internal(e.to_string()))?,
        state: JobState::Queued,
        hub: None,
        start_at_ms: None,
        created_at_ms: now,
        updated_at_ms: now,
        claimed_by: None,
        attempts: 0,
    };
    // Durable before acknowledged.
    st.ledger.insert_job(&row).await?;
    st.jobs_acknowledged.fetch_add(1, Ordering::Relaxed);
    Ok((
        StatusCode::CREATED,
        Json(JobAck {
            id: row.id,
            state: row.state,
        }),
    ))
}

pub(super) async fn get(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let job = st
        .ledger
        .job(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job \"{id}\"")))?;
    Ok(Json(job))
}

pub(super) async fn list(
    State(st): State<Arc<AppState>>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "state \"{s}\" is not a job state (one of: {})",
                JobState::ALL.map(JobState::as_str).join(", ")
            ))
        })?),
    };
    Ok(Json(st.ledger.jobs(state, 1000).await?))
}

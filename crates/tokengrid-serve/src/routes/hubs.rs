//! Hub registration, listing, telemetry and job handover.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::auth::{bearer, hash_token, new_token};
use crate::error::ApiError;
use crate::secrets::{MIN_SECRET_CHARS, SECRET_KEY_ENV, Secret};
use crate::state::AppState;
use crate::store::HubRow;
use crate::view::{HubAuth, LiveHub};
use crate::wire::{HubCreated, HubListing, HubSpec, TakeQuery, TakenJob, Telemetry};

/// The request carries the admin token: 401 without a bearer token, 403 with another.
pub(super) fn require_admin(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if hash_token(bearer(headers)?) == st.admin_hash {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// A hub's API key sealed for the ledger; refused when this dispatcher has no secret to seal
/// it with (it is never stored in clear).
fn seal_key(st: &AppState, hub: &str, key: Option<&Secret>) -> Result<Option<String>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    let Some(sealer) = &st.config.sealer else {
        return Err(ApiError::BadRequest(format!(
            "this dispatcher cannot store hub API keys: start it with {SECRET_KEY_ENV} set (at least {MIN_SECRET_CHARS} characters, e.g. from `openssl rand -hex 32`; replicas sharing a ledger need the same one)"
        )));
    };
    Ok(Some(sealer.seal(hub, key)))
}

pub(super) async fn register(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<HubSpec>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    let Json(spec) = body?;
    spec.check().map_err(ApiError::BadRequest)?;
    let api_key_sealed = seal_key(&st, &spec.name, spec.api_key.as_ref())?;
    let hub_token = new_token();
    let row = HubRow {
        name: spec.name.clone(),
        spec: serde_json::to_string(&spec).map_err(|e| ApiError::Internal(e.to_string()))?,
        token_hash: hash_token(&hub_token),
        api_key_sealed,
    };
    if !st.ledger.insert_hub(&row, st.now_ms()).await? {
        return Err(ApiError::Conflict(format!(
            "hub \"{}\" is already registered",
            spec.name
        )));
    }
    let name = spec.name.clone();
    let auth = spec
        .api_key
        .as_ref()
        .and_then(HubAuth::bearer)
        .unwrap_or_default();
    st.update_registry(|r| {
        r.hubs.push(LiveHub {
            spec,
            token_hash: row.token_hash,
            telemetry: None,
            last_seen_ms: st.now_ms(),
            auth,
        });
        r.index_models();
    });
    tracing::info!(hub = %name, "hub registered");
    Ok((
        StatusCode::CREATED,
        Json(HubCreated {
            name,
            token: hub_token,
        }),
    ))
}

/// `PATCH /v1/hubs/{name}` (admin): changes a registration. The body holds the fields to
/// change (as in a registration; `null` clears an optional one); the result is checked as a
/// registration is. The name and the hub's token stay.
pub(super) async fn update(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    let Json(patch) = body?;
    let serde_json::Value::Object(patch) = patch else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object of the fields to change".into(),
        ));
    };
    if patch
        .get("name")
        .is_some_and(|n| n.as_str() != Some(name.as_str()))
    {
        return Err(ApiError::BadRequest(
            "a hub's name cannot change: remove it and register it anew".into(),
        ));
    }
    let Some(current) = st
        .registry()
        .hubs
        .iter()
        .find(|h| h.spec.name == name)
        .map(|h| h.spec.clone())
    else {
        return Err(ApiError::NotFound(format!(
            "no hub \"{name}\" is registered"
        )));
    };
    // The key is kept apart from the registration: a string replaces it, null removes it.
    let key_change = match patch.get("api_key") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(k)) => Some(Some(Secret::new(k.clone()))),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "api_key must be a string (or null to remove it)".into(),
            ));
        }
    };
    let mut merged =
        serde_json::to_value(&current).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut merged {
        for (k, v) in patch {
            if v.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, v);
            }
        }
    }
    let spec: HubSpec = serde_json::from_value(merged)
        .map_err(|e| ApiError::BadRequest(format!("invalid hub fields: {e}")))?;
    spec.check().map_err(ApiError::BadRequest)?;
    let json = serde_json::to_string(&spec).map_err(|e| ApiError::Internal(e.to_string()))?;
    let sealed = match &key_change {
        Some(key) => Some(seal_key(&st, &name, key.as_ref())?),
        None => None,
    };
    if !st.ledger.update_hub_spec(&name, &json).await? {
        return Err(ApiError::NotFound(format!(
            "no hub \"{name}\" is registered"
        )));
    }
    if let Some(sealed) = &sealed {
        st.ledger.set_hub_api_key(&name, sealed.as_deref()).await?;
    }
    st.update_registry(|r| {
        if let Some(h) = r.hubs.iter_mut().find(|h| h.spec.name == name) {
            h.spec = spec.clone();
            if let Some(key) = &key_change {
                h.auth = key.as_ref().and_then(HubAuth::bearer).unwrap_or_default();
            }
        }
        r.index_models();
    });
    tracing::info!(hub = %name, "hub registration changed");
    Ok(Json(spec))
}

/// `DELETE /v1/hubs/{name}` (admin): the hub leaves the registry and rotation; its scheduled
/// and dispatched jobs go back to the queue, to be scheduled elsewhere.
pub(super) async fn remove(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    if !st.ledger.delete_hub(&name).await? {
        return Err(ApiError::NotFound(format!(
            "no hub \"{name}\" is registered"
        )));
    }
    st.update_registry(|r| {
        r.hubs.retain(|h| h.spec.name != name);
        r.index_models();
    });
    let mut requeued = 0;
    for job in st.ledger.unfinished_at(&name).await? {
        if st.ledger.requeue(&job.id, &name, st.now_ms()).await? {
            requeued += 1;
        }
    }
    tracing::info!(hub = %name, requeued, "hub removed");
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let timeout = st.config.heartbeat_timeout;
    let now = st.now_ms();
    let hubs: Vec<HubListing> = st
        .registry()
        .hubs
        .iter()
        .map(|h| HubListing {
            name: h.spec.name.clone(),
            up: h.is_up(timeout, now),
            endpoint: h.spec.endpoint.clone(),
            models: h.spec.models.clone(),
            lat: h.spec.lat,
            lon: h.spec.lon,
            telemetry: h.telemetry,
            seconds_since_heard: (now - h.last_seen_ms).max(0) as f64 / 1e3,
        })
        .collect();
    Json(hubs)
}

pub(super) async fn telemetry(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Telemetry>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    let hash = hash_token(token);
    let Json(t) = body?;
    t.check().map_err(ApiError::BadRequest)?;
    st.authenticate_hub(&name, &hash).await?;
    let now = st.now_ms();
    // In memory first: this replica's decisions use it whatever the ledger's state. Then in
    // the ledger, so replicas sharing it see the heartbeat on their next refresh; were it
    // unreachable, the hub stays in this replica's rotation (a ledger outage is not an
    // inference outage) and the next heartbeat tries again.
    st.update_registry(|r| {
        if let Some(hub) = r.hubs.iter_mut().find(|h| h.spec.name == name) {
            hub.telemetry = Some(t);
            hub.last_seen_ms = now;
        }
    });
    let json = serde_json::to_string(&t).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(e) = st.ledger.set_telemetry(&name, &json, now).await {
        match ApiError::from(e) {
            ApiError::LedgerUnavailable(why) => {
                tracing::warn!(hub = %name, %why, "heartbeat kept in memory; the ledger is unavailable");
            }
            other => return Err(other),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A hub takes its jobs that are due (scheduled to it, start time reached): each is handed to
/// exactly one caller and becomes `dispatched`.
pub(super) async fn take_jobs(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    q: Result<Query<TakeQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let token = bearer(&headers)?;
    st.authenticate_hub(&name, &hash_token(token)).await?;
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be within 1..1000".into()));
    }
    let jobs = st.ledger.take_due(&name, st.now_ms(), limit).await?;
    let out: Vec<TakenJob> = jobs
        .into_iter()
        .map(|j| TakenJob {
            spec: serde_json::from_str(&j.spec).unwrap_or(serde_json::Value::Null),
            id: j.id,
            kind: j.kind,
            start_at_ms: j.start_at_ms,
        })
        .collect();
    Ok(Json(out))
}

//! Client API keys (admin): `POST /v1/keys` makes one (its secret shown once), `GET /v1/keys`
//! lists them, `DELETE /v1/keys/{id}` revokes one for good.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::hubs::require_admin;
use crate::auth::{hash_token, new_token};
use crate::clients::ClientKey;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::KeyRow;
use crate::wire::{KeyCreated, KeyListing, KeySpec};

pub(super) async fn create(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<KeySpec>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    let Json(spec) = body?;
    spec.check().map_err(ApiError::BadRequest)?;
    let secret = new_token();
    let id = secret[..12].to_owned();
    // The id leads the secret, so a key in a log or a config file says which key it is.
    let key = format!("tg-{id}-{}", &secret[12..]);
    let row = KeyRow {
        id: id.clone(),
        name: spec.name.clone(),
        secret_hash: hash_token(&key),
        spec: serde_json::to_string(&spec).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at_ms: st.now_ms(),
        revoked_at_ms: None,
    };
    st.ledger.insert_key(&row).await?;
    if let Some(k) = ClientKey::from_row(&row) {
        st.clients.upsert(k);
    }
    tracing::info!(key = %id, name = %spec.name, "client key created");
    Ok((
        StatusCode::CREATED,
        Json(KeyCreated {
            id,
            key,
            spec,
            created_at_ms: row.created_at_ms,
        }),
    ))
}

pub(super) async fn list(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    let keys: Vec<KeyListing> = st
        .ledger
        .keys()
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(KeyListing {
                spec: serde_json::from_str(&r.spec).ok()?,
                id: r.id,
                created_at_ms: r.created_at_ms,
                revoked_at_ms: r.revoked_at_ms,
            })
        })
        .collect();
    Ok(Json(keys))
}

pub(super) async fn revoke(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin(&st, &headers)?;
    if !st.ledger.revoke_key(&id, st.now_ms()).await? {
        return Err(ApiError::NotFound(format!(
            "no valid client key \"{id}\" (unknown, or revoked already)"
        )));
    }
    // This replica refuses it at once; the others at their next refresh (within a second).
    st.refresh().await?;
    tracing::info!(key = %id, "client key revoked");
    Ok(StatusCode::NO_CONTENT)
}

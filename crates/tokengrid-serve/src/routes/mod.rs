//! The router: one module per route group.

mod dispatch;
mod hubs;
mod jobs;
mod json;
mod keys;
mod openapi;
mod ops;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};

use crate::error::BODY_LIMIT;
use crate::state::AppState;

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    // The OpenAI routes carry whole prompts: their handlers read up to their own, larger
    // limit ([`PROXY_BODY_LIMIT`]).
    let openai = Router::new()
        .route("/v1/chat/completions", post(dispatch::chat_completions))
        .route("/v1/completions", post(dispatch::completions));
    Router::new()
        .route("/", get(ops::status_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .route("/v1/hubs", post(hubs::register).get(hubs::list))
        .route("/v1/hubs/{name}", delete(hubs::remove).patch(hubs::update))
        .route("/v1/hubs/{name}/telemetry", put(hubs::telemetry))
        .route("/v1/hubs/{name}/jobs/take", post(hubs::take_jobs))
        .route("/v1/dispatch", post(dispatch::dispatch))
        .route("/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/jobs/{id}/state", put(jobs::finish))
        .route("/v1/models", get(dispatch::models))
        .route("/v1/keys", post(keys::create).get(keys::list))
        .route("/v1/keys/{id}", delete(keys::revoke))
        .merge(openai)
        .fallback(dispatch::not_found)
        .method_not_allowed_fallback(dispatch::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

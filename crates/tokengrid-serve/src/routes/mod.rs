//! The router: one module per route group.

mod dispatch;
mod hubs;
mod jobs;
mod json;
mod keys;
mod openapi;
mod ops;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::response::Response;
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

/// A handler's answer on its way.
pub(crate) type Answering = Pin<Box<dyn Future<Output = Response> + Send>>;

/// One of the routes a busy dispatcher serves most, as a function of the request.
pub(crate) type Hot = fn(Request, Arc<AppState>) -> Answering;

/// The handler of `method path` when it is one of the hot routes (the OpenAI proxy routes and
/// `POST /v1/dispatch`): the same handlers [`app`] routes to, called without the router's
/// lookup, boxing and extensions (about 5% of a proxied request's instructions, callgrind).
/// Every other request goes through the router.
pub(crate) fn hot(method: &Method, path: &str) -> Option<Hot> {
    if method != Method::POST {
        return None;
    }
    match path {
        "/v1/chat/completions" => Some(|r, st| Handler::call(dispatch::chat_completions, r, st)),
        "/v1/completions" => Some(|r, st| Handler::call(dispatch::completions, r, st)),
        "/v1/dispatch" => Some(|r, st| {
            // The router's body limit for the control API, as in `app`.
            let limited = Handler::layer(dispatch::dispatch, DefaultBodyLimit::max(BODY_LIMIT));
            Box::pin(Handler::call(limited, r, st))
        }),
        _ => None,
    }
}

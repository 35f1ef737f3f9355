//! Decisions: `POST /v1/dispatch` (the decision alone, explained) and the OpenAI front door
//! (decided, then forwarded by [`crate::proxy`]).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::json::{FastJson, json_body};
use crate::error::{ApiError, OpenAiError, PROXY_BODY_LIMIT};
use crate::proxy::{Api, forward};
use crate::state::{AppState, Question};
use crate::wire::{DispatchAnswer, DispatchRequest, ModelEntry, ModelList, Verdict};

pub(super) async fn chat_completions(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, OpenAiError> {
    let (parts, body) = req.into_parts();
    Ok(forward(st, Api::Chat, parts.headers, proxy_body(body).await?).await?)
}

pub(super) async fn completions(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, OpenAiError> {
    let (parts, body) = req.into_parts();
    Ok(forward(st, Api::Completions, parts.headers, proxy_body(body).await?).await?)
}

/// An OpenAI request's body, up to [`PROXY_BODY_LIMIT`] (413 past it). The request is taken
/// whole and its headers moved to the proxy, where extracting them would copy every one.
async fn proxy_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, PROXY_BODY_LIMIT)
        .await
        .map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<http_body_util::LengthLimitError>() {
                    return ApiError::TooLarge;
                }
                cause = c.source();
            }
            ApiError::BadRequest(format!("unreadable body: {e}"))
        })
}

/// `GET /v1/models`: the models the hubs in rotation serve (what chat front ends ask first);
/// for a client key, those it may use.
pub(super) async fn models(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<ModelList>, OpenAiError> {
    let caller = st.caller(&headers).await?;
    Ok(Json(ModelList {
        object: "list",
        data: st
            .view()
            .models_in_rotation()
            .into_iter()
            .filter(|m| caller.may_use(m).is_ok())
            .map(|id| ModelEntry {
                id,
                object: "model",
                created: 0,
                owned_by: "tokengrid",
            })
            .collect(),
    }))
}

/// Unknown routes: 404 in JSON (in OpenAI's shape under `/v1/`, where OpenAI clients call).
pub(super) async fn not_found(uri: Uri) -> Response {
    let e = ApiError::NotFound(format!("no route {}", uri.path()));
    if uri.path().starts_with("/v1/") {
        OpenAiError(e).into_response()
    } else {
        e.into_response()
    }
}

/// A known route called with another method: 405 in JSON.
pub(super) async fn method_not_allowed(uri: Uri) -> Response {
    if OPENAI_ROUTES.contains(&uri.path()) {
        OpenAiError(ApiError::MethodNotAllowed).into_response()
    } else {
        ApiError::MethodNotAllowed.into_response()
    }
}

/// The routes OpenAI's clients call.
pub(super) const OPENAI_ROUTES: [&str; 3] =
    ["/v1/chat/completions", "/v1/completions", "/v1/models"];

pub(super) async fn dispatch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<FastJson<DispatchRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let caller = st.caller(&headers).await?;
    let FastJson(r) = body?;
    caller.may_use(&r.model)?;
    if !(-90.0..=90.0).contains(&r.origin.lat) || !(-180.0..=180.0).contains(&r.origin.lon) {
        return Err(ApiError::BadRequest(
            "origin lat must be within -90..90 and lon within -180..180".into(),
        ));
    }
    for slo in [r.ttft_slo_ms, r.e2e_slo_ms].into_iter().flatten() {
        if !(slo.is_finite() && slo > 0.0) {
            return Err(ApiError::BadRequest("SLOs must be > 0 ms".into()));
        }
    }
    let answer = st.decide(&Question {
        model: &r.model,
        origin: (r.origin.lat, r.origin.lon),
        prompt_tokens: r.prompt_tokens,
        output_tokens: r.output_tokens,
        ttft_slo_ms: r.ttft_slo_ms,
        e2e_slo_ms: r.e2e_slo_ms,
        residency: caller.residency(),
    })?;
    let (view, decision) = (&answer.view, &answer.decision);
    let explanation: Vec<Verdict<'_>> = answer
        .hubs
        .iter()
        .map(|&(h, rejected, total)| {
            let verdict = match (rejected, Some(h) == decision.hub()) {
                (_, true) => "chosen",
                (Some(reason), false) => reason.code(),
                (None, false) => "feasible",
            };
            Verdict {
                hub: view.hub_name(h),
                verdict,
                score: total,
            }
        })
        .collect();
    let hub = decision.hub().map(|h| view.hub_name(h));
    if let Some(h) = hub {
        st.note_decision(h, &r.model, r.prompt_tokens, r.output_tokens);
    }
    st.metrics.dispatch.observe(started.elapsed());
    let reply = DispatchAnswer {
        hub,
        policy: &st.config.policy,
        explanation,
    };
    Ok(json_body(reply.to_json()))
}

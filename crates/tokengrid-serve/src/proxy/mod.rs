//! The OpenAI-compatible front door: `POST /v1/chat/completions` and `POST /v1/completions`.
//!
//! A request is decided by the policy like any dispatch (its prompt size estimated from the
//! body, its output from `max_tokens`), then forwarded to the chosen hub's endpoint. The hub's
//! answer streams back untouched (server-sent events included) with `x-tokengrid-hub` naming
//! the hub. A hub that fails before its first byte (no connection, a dropped connection, a 5xx
//! head, no head within the timeout) is passed over for the next-ranked one; once bytes flow,
//! the response is the client's. When the body ends, the ledger records the request with the
//! token counts of the response's `usage` and the energy and cost the energy model attributes.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use tokengrid_core::HubId;
use tokengrid_sched::{ClusterView, Decision, Reason};

use crate::clients::Caller;
use crate::error::ApiError;
use crate::state::{AppState, Question};
use crate::store::RequestRow;
use crate::upstream::upstream_url;
pub use crate::upstream::{Api, HttpClient, client, tls_config};

mod request;
mod tee;

pub use request::{
    CHARS_PER_TOKEN, DEFAULT_OUTPUT_TOKENS, Parsed, first_byte_timeout, parse, parse_lat_lon,
};
use request::{header_f64, origin};
use tee::{Finish, Tee, UsageScan};

/// Hubs in the order to try: the chosen one, the other feasible hubs by score, then hubs that
/// only missed the SLO estimate, by hub id (a slow answer beats none). Hubs that are down, do
/// not serve the model or may not see the data are never tried.
/// `hubs` are every hub's first failed filter (`None`: passed) and weighted total
/// ([`tokengrid_sched::Scheduler::verdicts`]).
pub fn ranked(decision: &Decision, hubs: &[(HubId, Option<Reason>, f64)]) -> Vec<HubId> {
    let mut out: Vec<HubId> = Vec::with_capacity(hubs.len());
    out.extend(decision.hub());
    let first = out.len();
    out.extend(
        hubs.iter()
            .filter(|(h, r, _)| r.is_none() && Some(*h) != decision.hub())
            .map(|&(h, _, _)| h),
    );
    // Best total first, ties by hub id.
    let total = |h: HubId| hubs.get(h.index()).map_or(0.0, |x| x.2);
    out[first..].sort_by(|&a, &b| total(b).total_cmp(&total(a)).then(a.cmp(&b)));
    for &(h, r, _) in hubs {
        if matches!(r, Some(Reason::TtftSlo | Reason::E2eSlo)) && !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// The header naming the hub that answered.
const HUB_HEADER: header::HeaderName = header::HeaderName::from_static("x-tokengrid-hub");

/// Headers of the hub's response passed on to the client.
const PASSED_HEADERS: [header::HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::CONTENT_LENGTH,
];

/// Decides, forwards with failover, and streams the answer back. A request for a model that
/// the dispatcher answers itself (no hub serves the model: 404; none can now: 503; every hub
/// tried failed: 502) leaves a ledger row too, with an empty hub and no tokens served.
pub async fn forward(
    st: Arc<AppState>,
    api: Api,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    let caller = st.caller(&headers).await?;
    let req = parse(api, &body).map_err(ApiError::BadRequest)?;
    admit(
        &st,
        &caller,
        &req.model,
        req.prompt_tokens,
        req.output_tokens,
    )?;
    let answer = route(&st, api, &headers, body, &req, &caller, arrived).await;
    if let Err(e @ (ApiError::NotFound(_) | ApiError::Unavailable(_) | ApiError::BadGateway(_))) =
        &answer
    {
        st.record_served(RequestRow {
            hub: String::new(),
            model: req.model.clone(),
            prompt_tokens: i64::from(req.prompt_tokens),
            output_tokens: 0,
            energy_j: 0.0,
            cost: 0.0,
            at_ms: st.now_ms(),
            status: i64::from(e.status().as_u16()),
            usage_reported: false,
            complete: true,
            latency_ms: arrived.elapsed().as_secs_f64() * 1e3,
            client_key: caller.key_id().map(str::to_owned),
        });
    }
    answer
}

/// Whether `caller` may send a request for `model` of this size now: its key's models and
/// rates (refusals counted by key and reason).
pub(crate) fn admit(
    st: &AppState,
    caller: &Caller,
    model: &str,
    prompt_tokens: u32,
    output_tokens: u32,
) -> Result<(), ApiError> {
    let Caller::Key(key) = caller else {
        return Ok(());
    };
    let refused = |reason: &'static str| {
        st.metrics
            .client(&key.id, |c| *c.rejected.entry(reason).or_default() += 1);
    };
    caller.may_use(model).inspect_err(|_| refused("model"))?;
    let tokens = u64::from(prompt_tokens) + u64::from(output_tokens);
    st.clients.admit(key, tokens, st.now_ms()).inspect_err(|e| {
        refused(if matches!(e, ApiError::RateLimited { .. }) {
            "rate"
        } else {
            "too_large"
        })
    })
}

async fn route(
    st: &Arc<AppState>,
    api: Api,
    headers: &HeaderMap,
    body: Bytes,
    req: &Parsed,
    caller: &Caller,
    arrived: Instant,
) -> Result<Response, ApiError> {
    let st = st.clone();
    let (lat, lon) = origin(headers, st.config.origin)?;
    let ttft_slo_ms = header_f64(headers, &request::TTFT_SLO)?;
    let e2e_slo_ms = header_f64(headers, &request::E2E_SLO)?;
    let answer = st.decide(&Question {
        model: &req.model,
        origin: (lat, lon),
        prompt_tokens: req.prompt_tokens,
        output_tokens: req.output_tokens,
        ttft_slo_ms,
        e2e_slo_ms,
        residency: caller.residency(),
    })?;
    let (view, model) = (&answer.view, answer.model);
    let decision = &answer.decision;
    let order = ranked(decision, &answer.hubs);
    if order.is_empty() {
        let reasons: Vec<String> = (answer.hubs.iter())
            .filter_map(|&(h, r, _)| r.map(|r| format!("{}: {}", view.hub_name(h), r.code())))
            .collect();
        return Err(ApiError::Unavailable(format!(
            "no hub can serve \"{}\" now ({})",
            req.model,
            reasons.join(", ")
        )));
    }
    if let Some(h) = decision.hub() {
        st.note_decision(
            view.hub_name(h),
            &req.model,
            req.prompt_tokens,
            req.output_tokens,
        );
    }
    let first_byte = first_byte_timeout(
        st.config.first_byte_timeout,
        req.stream,
        ttft_slo_ms,
        e2e_slo_ms,
    );
    let accept = headers
        .get(header::ACCEPT)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*/*"));
    let mut failures = Vec::new();
    for h in order {
        let name = view.hub_name(h).to_owned();
        // A hub that failed last time is tried by one request at a time (half-open).
        let lease_ms =
            i64::try_from((first_byte + st.config.connect_timeout).as_millis()).unwrap_or(i64::MAX);
        if !st.cooling.try_send(&name, st.now_ms(), lease_ms) {
            failures.push(format!(
                "{name}: recovering from failures; another request is trying it"
            ));
            continue;
        }
        let mut upstream = match view.upstream(h, api) {
            Some(uri) => Request::post(uri.clone()),
            None => Request::post(upstream_url(view.endpoint(h), api)),
        }
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, accept.clone());
        if let Some(key) = view.authorization(h) {
            upstream = upstream.header(header::AUTHORIZATION, key.clone());
        }
        let upstream = upstream.body(Full::new(body.clone()));
        let upstream = match upstream {
            Ok(r) => r,
            Err(e) => {
                let url = upstream_url(view.endpoint(h), api);
                failures.push(format!("{name}: bad endpoint URL {url}: {e}"));
                continue;
            }
        };
        let why = match tokio::time::timeout(first_byte, st.client().request(upstream)).await {
            Ok(Ok(resp)) if !fails_over(resp.status()) => {
                st.cooling.answered(&name);
                let asked = Asked {
                    req,
                    caller,
                    arrived,
                };
                return Ok(respond(&st, view, h, model, resp, asked));
            }
            Ok(Ok(resp)) => {
                let asked = crate::cooling::retry_after_s(resp.headers());
                st.cooling.failed(&name, st.now_ms(), asked);
                format!("answered {}", resp.status())
            }
            Ok(Err(e)) => {
                st.cooling.failed(&name, st.now_ms(), None);
                format!("connection failed: {}", error_chain(&e))
            }
            Err(_) => {
                st.cooling.failed(&name, st.now_ms(), None);
                format!("no response head within {} ms", first_byte.as_millis())
            }
        };
        tracing::warn!(hub = %name, reason = %why, "hub failed before its first byte; cooling it down and trying the next");
        st.metrics.hub(&name, |c| c.failovers += 1);
        failures.push(format!("{name}: {why}"));
    }
    Err(ApiError::BadGateway(format!(
        "every hub able to serve \"{}\" failed: {}",
        req.model,
        failures.join("; ")
    )))
}

/// Answers that send the request to the next hub: the hub's errors (5xx), and its refusals
/// that another hub would not give (429 too many requests, 408 request timeout).
fn fails_over(status: axum::http::StatusCode) -> bool {
    status.is_server_error()
        || status == axum::http::StatusCode::TOO_MANY_REQUESTS
        || status == axum::http::StatusCode::REQUEST_TIMEOUT
}

/// A request on its way: what was asked, by whom, since when.
#[derive(Debug, Clone, Copy)]
struct Asked<'a> {
    req: &'a Parsed,
    caller: &'a Caller,
    arrived: Instant,
}

fn respond(
    st: &Arc<AppState>,
    view: &crate::view::LiveView,
    h: HubId,
    model: tokengrid_core::ModelId,
    resp: hyper::Response<Incoming>,
    asked: Asked<'_>,
) -> Response {
    let Asked {
        req,
        caller,
        arrived,
    } = asked;
    st.metrics.proxy_first_byte.observe(arrived.elapsed());
    let (parts, incoming) = resp.into_parts();
    let sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let snap = view.hub(h);
    let m = view
        .model(h, model)
        .unwrap_or_else(crate::view::nominal_model);
    let tee = Tee {
        inner: incoming,
        scan: UsageScan {
            sse,
            ..UsageScan::default()
        },
        finish: Some(Finish {
            st: st.clone(),
            hub: view.hub_name(h).to_owned(),
            model: req.model.clone(),
            prompt_estimate: req.prompt_tokens,
            status: parts.status.as_u16(),
            model_figures: m,
            pue: snap.pue,
            tariff: snap.tariff_now,
            arrived,
            client_key: caller.key_id().map(str::to_owned),
        }),
        idle: st.config.stream_idle_timeout,
        idle_timer: Box::pin(tokio::time::sleep(st.config.stream_idle_timeout)),
        stalled: false,
        durable: st.config.billing_grade,
        held: None,
        committed: None,
    };
    let mut out = Response::new(Body::new(tee));
    *out.status_mut() = parts.status;
    for name in PASSED_HEADERS {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    if let Some(v) = view.hub_header(h) {
        out.headers_mut().insert(HUB_HEADER, v.clone());
    }
    out
}

/// An error with its causes, "outer: inner: innermost" (a connection error's own message is
/// only "client error (Connect)"; the cause says which, e.g. an unknown certificate issuer).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

//! The OpenAI-compatible front door: `POST /v1/chat/completions` and `POST /v1/completions`.
//!
//! A request is decided by the policy like any dispatch (its prompt size estimated from the
//! body, its output from `max_tokens`), then forwarded to the chosen hub's endpoint. The hub's
//! answer streams back untouched (server-sent events included) with `x-tokengrid-hub` naming
//! the hub. A hub that fails before its first byte (no connection, a dropped connection, a 5xx
//! head, no head within the timeout) is passed over for the next-ranked one; once bytes flow,
//! the response is the client's. When the body ends, the ledger records the request with the
//! token counts of the response's `usage` and the energy and cost the energy model attributes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::Value;
use tokengrid_core::HubId;
use tokengrid_energy::JOULES_PER_KWH;
use tokengrid_sched::estimate::facility_kwh;
use tokengrid_sched::{ClusterView, Decision, Explanation, ModelSnapshot, Reason};

use crate::clients::Caller;
use crate::error::ApiError;
use crate::state::{AppState, Question};
use crate::store::RequestRow;
use crate::upstream::upstream_url;
pub use crate::upstream::{Api, HttpClient, client, tls_config};

/// Output tokens assumed for a request that sets no `max_tokens` (the Azure conversation
/// trace's mean of 211 generated tokens, data/llm_traces/SOURCE.md, rounded up).
pub const DEFAULT_OUTPUT_TOKENS: u32 = 256;

/// Characters per token for estimating a prompt's size before a tokenizer has seen it (the
/// usual rule of thumb for English text with BPE tokenizers; an assumption).
pub const CHARS_PER_TOKEN: usize = 4;

/// What the proxy needs from an OpenAI request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// `model`.
    pub model: String,
    /// Estimated prompt tokens.
    pub prompt_tokens: u32,
    /// `max_tokens` (or `max_completion_tokens`), else [`DEFAULT_OUTPUT_TOKENS`].
    pub output_tokens: u32,
    /// `stream`.
    pub stream: bool,
}

fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(text_len).sum(),
        Value::Object(o) => o.get("text").or(o.get("content")).map_or(0, text_len),
        _ => 0,
    }
}

/// Checks an OpenAI request body and estimates its size. Errors say what is wrong.
pub fn parse(api: Api, body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let Some(o) = v.as_object() else {
        return Err("the body must be a JSON object".into());
    };
    let model = match o.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err("\"model\" must be a non-empty string".into()),
        None => return Err("missing \"model\"".into()),
    };
    let chars = match api {
        Api::Chat => match o.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => {
                if let Some(bad) = m.iter().position(|x| !x.is_object()) {
                    return Err(format!("\"messages\"[{bad}] must be an object"));
                }
                m.iter().map(|x| x.get("content").map_or(0, text_len)).sum()
            }
            Some(_) => return Err("\"messages\" must be a non-empty array".into()),
            None => return Err("missing \"messages\"".into()),
        },
        Api::Completions => match o.get("prompt") {
            Some(p @ (Value::String(_) | Value::Array(_))) => text_len(p),
            Some(_) => return Err("\"prompt\" must be a string or an array".into()),
            None => return Err("missing \"prompt\"".into()),
        },
    };
    let output_tokens = match o.get("max_tokens").or(o.get("max_completion_tokens")) {
        None | Some(Value::Null) => DEFAULT_OUTPUT_TOKENS,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
            _ => return Err("\"max_tokens\" must be a positive integer".into()),
        },
        Some(_) => return Err("\"max_tokens\" must be a positive integer".into()),
    };
    let stream = match o.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("\"stream\" must be true or false".into()),
    };
    let tokens = chars.div_ceil(CHARS_PER_TOKEN).max(1);
    Ok(Parsed {
        model,
        prompt_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        output_tokens,
        stream,
    })
}

/// Hubs in the order to try: the chosen one, the other feasible hubs by score, then hubs that
/// only missed the SLO estimate, by hub id (a slow answer beats none). Hubs that are down, do
/// not serve the model or may not see the data are never tried.
pub fn ranked(decision: &Decision, ex: &Explanation) -> Vec<HubId> {
    let mut feasible: Vec<(f64, HubId)> = ex
        .hubs
        .iter()
        .filter(|l| l.rejected.is_none())
        .map(|l| (l.total, l.hub))
        .collect();
    feasible.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let slow = ex
        .hubs
        .iter()
        .filter(|l| matches!(l.rejected, Some(Reason::TtftSlo | Reason::E2eSlo)))
        .map(|l| l.hub);
    let mut out: Vec<HubId> = decision.hub().into_iter().collect();
    for h in feasible.into_iter().map(|(_, h)| h).chain(slow) {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// Reads an optional numeric header; `Err` names it when it does not parse.
fn header_f64(headers: &HeaderMap, name: &str) -> Result<Option<f64>, ApiError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x > 0.0)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest(format!("header {name} must be a number > 0")))
}

/// The client's location: header `x-tokengrid-origin: LAT,LON`, else the dispatcher's default.
fn origin(headers: &HeaderMap, default: (f64, f64)) -> Result<(f64, f64), ApiError> {
    let Some(v) = headers.get("x-tokengrid-origin") else {
        return Ok(default);
    };
    v.to_str()
        .ok()
        .and_then(|s| parse_lat_lon(s).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(
                "header x-tokengrid-origin must be \"LAT,LON\" in degrees (e.g. 31.23,121.47)"
                    .into(),
            )
        })
}

/// Parses "LAT,LON" in degrees (latitude within -90..90, longitude within -180..180).
pub fn parse_lat_lon(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("\"{s}\" is not LAT,LON in degrees (e.g. 31.23,121.47)");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let lat: f64 = a.trim().parse().map_err(|_| bad())?;
    let lon: f64 = b.trim().parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok((lat, lon))
}

/// What is needed to account for a request once its response has ended.
#[derive(Debug)]
struct Finish {
    st: Arc<AppState>,
    hub: String,
    model: String,
    prompt_estimate: u32,
    status: u16,
    /// The model's serving figures at the hub, its PUE and the price of its marginal kWh now
    /// (yuan; green share already netted out by the view).
    model_figures: ModelSnapshot,
    pue: f64,
    tariff: f64,
    arrived: Instant,
    /// The client key's id, when one was used.
    client_key: Option<String>,
}

/// Finds `usage` in a response as it streams by: in each `data:` line of server-sent events,
/// or in the whole JSON body (kept up to [`MAX_SCAN`] bytes).
#[derive(Debug, Default)]
struct UsageScan {
    sse: bool,
    buf: Vec<u8>,
    usage: Option<(u64, u64)>,
}

/// Most bytes of a response kept to look for its usage.
const MAX_SCAN: usize = 4 << 20;

fn usage_of(v: &Value) -> Option<(u64, u64)> {
    let u = v.get("usage")?.as_object()?;
    Some((
        u.get("prompt_tokens")?.as_u64()?,
        u.get("completion_tokens")?.as_u64()?,
    ))
}

impl UsageScan {
    fn feed(&mut self, d: &[u8]) {
        if !self.sse {
            if self.buf.len() + d.len() <= MAX_SCAN {
                self.buf.extend_from_slice(d);
            }
            return;
        }
        self.buf.extend_from_slice(d);
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            self.line(&line);
        }
        if self.buf.len() > MAX_SCAN {
            self.buf.clear();
        }
    }

    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        // Only the chunk that carries usage is worth parsing.
        if !data.windows(7).any(|w| w == b"\"usage\"") {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(data.trim_ascii())
            && let Some(u) = usage_of(&v)
        {
            self.usage = Some(u);
        }
    }

    fn usage(&mut self) -> Option<(u64, u64)> {
        if !self.sse && self.usage.is_none() {
            self.usage = serde_json::from_slice::<Value>(&self.buf)
                .ok()
                .as_ref()
                .and_then(usage_of);
        } else if self.sse && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.line(&rest);
        }
        self.usage
    }
}

/// The hub's response body on its way to the client, watched for `usage`; accounted once when
/// it ends, fails, stalls or is dropped (a client that hangs up). A hub silent mid-answer for
/// longer than the idle timeout ends the client's stream there (recorded incomplete) instead of
/// holding the client.
#[derive(Debug)]
struct Tee {
    inner: Incoming,
    scan: UsageScan,
    finish: Option<Finish>,
    idle: std::time::Duration,
    idle_timer: Pin<Box<tokio::time::Sleep>>,
    stalled: bool,
}

impl Tee {
    fn account(&mut self, complete: bool) {
        let Some(f) = self.finish.take() else {
            return;
        };
        let usage = self.scan.usage();
        let (prompt, output) = usage.unwrap_or((u64::from(f.prompt_estimate), 0));
        let kwh = facility_kwh(&f.model_figures, prompt, output, f.pue);
        let energy_j = kwh * JOULES_PER_KWH;
        let cost = kwh * f.tariff;
        let elapsed = f.arrived.elapsed();
        f.st.metrics.proxy_total.observe(elapsed);
        f.st.metrics.hub(&f.hub, |c| {
            *c.answered.entry(f.status).or_default() += 1;
            c.prompt_tokens += prompt;
            c.output_tokens += output;
            c.energy_j += energy_j;
            c.cost += cost;
        });
        if let Some(k) = &f.client_key {
            f.st.metrics.client(k, |c| {
                c.requests += 1;
                c.prompt_tokens += prompt;
                c.output_tokens += output;
            });
        }
        let row = RequestRow {
            hub: f.hub,
            model: f.model,
            prompt_tokens: i64::try_from(prompt).unwrap_or(i64::MAX),
            output_tokens: i64::try_from(output).unwrap_or(i64::MAX),
            energy_j,
            cost,
            at_ms: f.st.now_ms(),
            status: i64::from(f.status),
            usage_reported: usage.is_some(),
            complete,
            latency_ms: elapsed.as_secs_f64() * 1e3,
            client_key: f.client_key,
        };
        f.st.record_served(row);
    }
}

impl http_body::Body for Tee {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.stalled {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.scan.feed(d);
                }
                if this.inner.is_end_stream() {
                    this.account(true);
                }
                let next = tokio::time::Instant::now() + this.idle;
                this.idle_timer.as_mut().reset(next);
            }
            Poll::Ready(None) => this.account(true),
            Poll::Ready(Some(Err(_))) => this.account(false),
            Poll::Pending => {
                if this.idle_timer.as_mut().poll(cx).is_ready() {
                    let hub = this.finish.as_ref().map_or("", |f| f.hub.as_str());
                    tracing::warn!(hub = %hub, idle_ms = this.idle.as_millis() as u64, "hub silent mid-answer; ending the client's stream");
                    this.stalled = true;
                    this.account(false);
                    return Poll::Ready(None);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.stalled || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        self.account(false);
    }
}

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
    let ttft_slo_ms = header_f64(headers, "x-tokengrid-ttft-slo-ms")?;
    let e2e_slo_ms = header_f64(headers, "x-tokengrid-e2e-slo-ms")?;
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
    let (decision, ex) = (&answer.decision, &answer.explanation);
    let order = ranked(decision, ex);
    if order.is_empty() {
        let reasons: Vec<String> = ex
            .hubs
            .iter()
            .filter_map(|l| {
                l.rejected
                    .map(|r| format!("{}: {}", view.hub_name(l.hub), r.code()))
            })
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
    let accept = headers
        .get(header::ACCEPT)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*/*"));
    let mut failures = Vec::new();
    for h in order {
        let name = view.hub_name(h).to_owned();
        let url = upstream_url(view.endpoint(h), api);
        let mut upstream = Request::post(url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept.clone());
        if let Some(key) = view.authorization(h) {
            upstream = upstream.header(header::AUTHORIZATION, key.clone());
        }
        let upstream = upstream.body(Full::new(body.clone()));
        let upstream = match upstream {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: bad endpoint URL {url}: {e}"));
                continue;
            }
        };
        let why =
            match tokio::time::timeout(st.config.first_byte_timeout, st.client.request(upstream))
                .await
            {
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
                    format!(
                        "no response head within {} ms",
                        st.config.first_byte_timeout.as_millis()
                    )
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
    let name = view.hub_name(h).to_owned();
    let tee = Tee {
        inner: incoming,
        scan: UsageScan {
            sse,
            ..UsageScan::default()
        },
        finish: Some(Finish {
            st: st.clone(),
            hub: name.clone(),
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
    };
    let mut out = Response::new(Body::new(tee));
    *out.status_mut() = parts.status;
    for name in PASSED_HEADERS {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&name) {
        out.headers_mut().insert("x-tokengrid-hub", v);
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

//! The HTTP API: hub registry and telemetry, dispatch decisions, jobs, metrics, health.
//!
//! `app(state)` builds the router, so tests call it without a socket. Every bad request gets a
//! 4xx JSON `{code, message}` from [`ApiError`]; internal errors are logged and answered with a
//! generic 500; bodies are limited to 64 KiB; tokens are stored hashed and never logged.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokengrid_core::HubId;
use tokengrid_sched::{InferenceRequest, Origin, Policy, Scheduler, Work};

use crate::store::{HubRow, JobRow, Ledger};
use crate::view::{LiveHub, LiveView, Telemetry};

/// Largest request body accepted, bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The API's errors: one table of status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input.
    #[error("{0}")]
    BadRequest(String),
    /// No or malformed credentials.
    #[error("missing or malformed bearer token")]
    Unauthorized,
    /// Credentials that do not grant this.
    #[error("this token may not do that")]
    Forbidden,
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// Already exists.
    #[error("{0}")]
    Conflict(String),
    /// Our fault (details logged, not sent).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        (
            status,
            Json(serde_json::json!({ "code": code, "message": self.to_string() })),
        )
            .into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(format!("invalid query: {}", e.body_text()))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn new_token() -> String {
    let mut b = [0u8; 32];
    // The operating system's generator; were it ever to fail, the time and a counter still give
    // a unique (if guessable) token rather than a fixed one.
    if rand::rngs::OsRng.try_fill_bytes(&mut b).is_err() {
        static N: AtomicU64 = AtomicU64::new(0);
        let seed = now_ms() as u64 ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(32);
        b[..8].copy_from_slice(&seed.to_le_bytes());
    }
    b.iter().fold(String::with_capacity(64), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A hub's registration (`POST /v1/hubs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSpec {
    /// Unique name.
    pub name: String,
    /// Base URL of its OpenAI-compatible API.
    pub endpoint: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Models served.
    pub models: Vec<String>,
    /// Accelerator counts by type.
    pub accelerators: BTreeMap<String, u32>,
    /// Tariff, yuan/kWh.
    pub tariff_yuan_per_kwh: f64,
    /// PUE.
    pub pue: f64,
}

impl HubSpec {
    fn check(&self) -> Result<(), ApiError> {
        let bad = |m: String| Err(ApiError::BadRequest(m));
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("name must be 1-64 letters, digits, '-' or '_'".into());
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return bad("endpoint must be an http:// or https:// URL".into());
        }
        if !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.lon) {
            return bad("lat must be within -90..90 and lon within -180..180".into());
        }
        if self.models.is_empty() {
            return bad("models must name at least one model".into());
        }
        if !(self.tariff_yuan_per_kwh.is_finite() && self.tariff_yuan_per_kwh >= 0.0) {
            return bad("tariff_yuan_per_kwh must be >= 0".into());
        }
        if !(self.pue.is_finite() && self.pue >= 1.0) {
            return bad("pue must be >= 1.0".into());
        }
        Ok(())
    }
}

/// A dispatch question (`POST /v1/dispatch`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// Model.
    pub model: String,
    /// Where the client is.
    pub origin: Point,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Expected output tokens.
    pub output_tokens: u32,
    /// TTFT SLO, ms.
    #[serde(default)]
    pub ttft_slo_ms: Option<f64>,
    /// End-to-end SLO, ms.
    #[serde(default)]
    pub e2e_slo_ms: Option<f64>,
}

/// A point on Earth.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// A job submission (`POST /v1/jobs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// "batch" or "training".
    pub kind: String,
    /// Model (batch).
    #[serde(default)]
    pub model: Option<String>,
    /// Tokens to process (batch).
    #[serde(default)]
    pub tokens: Option<u64>,
    /// Accelerators (training).
    #[serde(default)]
    pub accelerators: Option<u32>,
    /// Compute hours (training).
    #[serde(default)]
    pub compute_hours: Option<f64>,
    /// Deadline, humantime from submission ("8h").
    pub deadline: String,
}

/// Shared state of one dispatcher replica.
#[derive(Debug)]
pub struct AppState {
    /// The ledger.
    pub ledger: Ledger,
    admin_hash: String,
    policy: String,
    hubs: RwLock<Vec<LiveHub>>,
    heartbeat_timeout: Duration,
    decisions: Mutex<BTreeMap<String, u64>>,
    recent: Mutex<VecDeque<String>>,
    jobs_acknowledged: AtomicU64,
    /// This replica's id (claims in the ledger).
    pub replica: String,
}

impl AppState {
    /// State for a replica: hubs registered in the ledger are loaded (without telemetry yet).
    pub async fn new(
        ledger: Ledger,
        admin_token: &str,
        policy: &str,
        heartbeat_timeout: Duration,
    ) -> Result<Arc<Self>, ApiError> {
        Policy::named(policy).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let mut hubs = Vec::new();
        for row in ledger.hubs().await? {
            let spec: HubSpec =
                serde_json::from_str(&row.spec).map_err(|e| ApiError::Internal(e.to_string()))?;
            hubs.push(LiveHub {
                spec,
                token_hash: row.token_hash,
                telemetry: None,
                last_seen: Instant::now(),
            });
        }
        Ok(Arc::new(AppState {
            ledger,
            admin_hash: hash_token(admin_token),
            policy: policy.to_owned(),
            hubs: RwLock::new(hubs),
            heartbeat_timeout,
            decisions: Mutex::new(BTreeMap::new()),
            recent: Mutex::new(VecDeque::new()),
            jobs_acknowledged: AtomicU64::new(0),
            replica: new_token()[..12].to_owned(),
        }))
    }

    /// Names of the hubs in rotation now.
    pub fn hubs_up(&self) -> Vec<String> {
        self.hubs_read()
            .iter()
            .filter(|h| h.is_up(self.heartbeat_timeout))
            .map(|h| h.spec.name.clone())
            .collect()
    }

    /// The policy name.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    fn hubs_read(&self) -> std::sync::RwLockReadGuard<'_, Vec<LiveHub>> {
        self.hubs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hubs_write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<LiveHub>> {
        self.hubs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A view of the hubs now (hubs silent past the heartbeat timeout are down).
    pub fn view(&self) -> LiveView {
        LiveView::new(&self.hubs_read(), self.heartbeat_timeout)
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let v = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized)?;
    let v = v.to_str().map_err(|_| ApiError::Unauthorized)?;
    v.strip_prefix("Bearer ")
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)
}

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/hubs", post(register).get(list_hubs))
        .route("/v1/hubs/{name}/telemetry", put(telemetry))
        .route("/v1/dispatch", post(dispatch))
        .route("/v1/jobs", post(submit_job).get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn register(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<HubSpec>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let token = bearer(&headers)?;
    if hash_token(token) != st.admin_hash {
        return Err(ApiError::Forbidden);
    }
    let Json(spec) = body?;
    spec.check()?;
    let hub_token = new_token();
    let row = HubRow {
        name: spec.name.clone(),
        spec: serde_json::to_string(&spec).map_err(|e| ApiError::Internal(e.to_string()))?,
        token_hash: hash_token(&hub_token),
    };
    if !st.ledger.insert_hub(&row, now_ms()).await? {
        return Err(ApiError::Conflict(format!(
            "hub \"{}\" is already registered",
            spec.name
        )));
    }
    let name = spec.name.clone();
    st.hubs_write().push(LiveHub {
        spec,
        token_hash: row.token_hash,
        telemetry: None,
        last_seen: Instant::now(),
    });
    tracing::info!(hub = %name, "hub registered");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "name": name, "token": hub_token })),
    ))
}

async fn list_hubs(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let timeout = st.heartbeat_timeout;
    let hubs: Vec<serde_json::Value> = st
        .hubs_read()
        .iter()
        .map(|h| {
            serde_json::json!({
                "name": h.spec.name,
                "up": h.is_up(timeout),
                "endpoint": h.spec.endpoint,
                "models": h.spec.models,
                "lat": h.spec.lat,
                "lon": h.spec.lon,
                "telemetry": h.telemetry,
                "seconds_since_heard": h.last_seen.elapsed().as_secs_f64(),
            })
        })
        .collect();
    Json(hubs)
}

async fn telemetry(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Telemetry>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    let hash = hash_token(token);
    let Json(t) = body?;
    t.check().map_err(ApiError::BadRequest)?;
    let mut hubs = st.hubs_write();
    let hub = hubs
        .iter_mut()
        .find(|h| h.spec.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no hub \"{name}\"")))?;
    if hub.token_hash != hash {
        return Err(ApiError::Forbidden);
    }
    hub.telemetry = Some(t);
    hub.last_seen = Instant::now();
    Ok(StatusCode::NO_CONTENT)
}

async fn dispatch(
    State(st): State<Arc<AppState>>,
    body: Result<Json<DispatchRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(r) = body?;
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
    let view = st.view();
    let Some(model) = view.model_id(&r.model) else {
        return Err(ApiError::NotFound(format!(
            "no registered hub serves model \"{}\"",
            r.model
        )));
    };
    let work = Work::Inference(InferenceRequest {
        model,
        class: None,
        origin: Origin::Point {
            lat: r.origin.lat,
            lon: r.origin.lon,
        },
        prompt_tokens: r.prompt_tokens,
        output_tokens: r.output_tokens,
        ttft_slo_ms: r.ttft_slo_ms,
        e2e_slo_ms: r.e2e_slo_ms,
        residency: None,
        draw: 0.5,
    });
    let policy = Policy::named(&st.policy).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (decision, ex) = Scheduler::new(policy).explain(&view, &work);
    let name = |h: HubId| view.hub_name(h).to_owned();
    let explanation: Vec<serde_json::Value> = ex
        .hubs
        .iter()
        .map(|l| {
            let verdict = match (l.rejected, Some(l.hub) == decision.hub()) {
                (_, true) => "chosen".to_owned(),
                (Some(reason), false) => reason.code().to_owned(),
                (None, false) => "feasible".to_owned(),
            };
            serde_json::json!({ "hub": name(l.hub), "verdict": verdict, "score": l.total })
        })
        .collect();
    let hub = decision.hub().map(name);
    if let Some(h) = &hub {
        *st.decisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(h.clone())
            .or_default() += 1;
        let mut recent = st
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.push_front(format!(
            "{} -> {h} ({} + {} tokens)",
            r.model, r.prompt_tokens, r.output_tokens
        ));
        recent.truncate(20);
    }
    Ok(Json(
        serde_json::json!({ "hub": hub, "policy": st.policy, "explanation": explanation }),
    ))
}

async fn submit_job(
    State(st): State<Arc<AppState>>,
    body: Result<Json<JobRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(j) = body?;
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
    let now = now_ms();
    let row = JobRow {
        id: format!("job-{}", new_token()[..20].to_owned()),
        kind: j.kind.clone(),
        spec: serde_json::to_string(&j).map_err(|e| ApiError::Internal(e.to_string()))?,
        state: "queued".into(),
        hub: None,
        start_at_ms: None,
        created_at_ms: now,
        updated_at_ms: now,
        claimed_by: None,
    };
    // Durable before acknowledged.
    st.ledger.insert_job(&row).await?;
    st.jobs_acknowledged.fetch_add(1, Ordering::Relaxed);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": row.id, "state": row.state })),
    ))
}

async fn get_job(
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    state: Option<String>,
}

async fn list_jobs(
    State(st): State<Arc<AppState>>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    Ok(Json(st.ledger.jobs(q.state.as_deref(), 1000).await?))
}

async fn metrics(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str("# HELP tokengrid_decisions_total Dispatch decisions by hub and policy.\n# TYPE tokengrid_decisions_total counter\n");
    for (hub, n) in st
        .decisions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(
            out,
            "tokengrid_decisions_total{{hub=\"{hub}\",policy=\"{}\"}} {n}",
            st.policy
        );
    }
    out.push_str("# HELP tokengrid_jobs_acknowledged_total Jobs written to the ledger and acknowledged.\n# TYPE tokengrid_jobs_acknowledged_total counter\n");
    let _ = writeln!(
        out,
        "tokengrid_jobs_acknowledged_total {}",
        st.jobs_acknowledged.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP tokengrid_hub_up Whether a hub is in rotation.\n# TYPE tokengrid_hub_up gauge\n",
    );
    for h in st.hubs_read().iter() {
        let _ = writeln!(
            out,
            "tokengrid_hub_up{{hub=\"{}\"}} {}",
            h.spec.name,
            u8::from(h.is_up(st.heartbeat_timeout))
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

async fn status_page(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><title>tokengrid</title></head><body><h1>tokengrid dispatcher</h1>",
    );
    let _ = write!(
        out,
        "<p>policy {}, replica {}</p><table><tr><th>hub</th><th>up</th><th>models</th><th>tariff</th></tr>",
        esc(&st.policy),
        esc(&st.replica)
    );
    for h in st.hubs_read().iter() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&h.spec.name),
            h.is_up(st.heartbeat_timeout),
            esc(&h.spec.models.join(", ")),
            h.spec.tariff_yuan_per_kwh
        );
    }
    out.push_str("</table><h2>Recent decisions</h2><ul>");
    for d in st
        .recent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = write!(out, "<li>{}</li>", esc(d));
    }
    out.push_str("</ul></body></html>");
    Html(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

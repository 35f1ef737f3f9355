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

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokengrid_core::HubId;
use tokengrid_sched::{InferenceRequest, Origin, Policy, Scheduler, Work};

use crate::metrics::Metrics;
use crate::proxy::HttpClient;
use crate::store::{HubRow, JobRow, Ledger};
use crate::view::{LiveHub, LiveView, Registry, Telemetry};

/// Largest request body accepted, bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest OpenAI request body the proxy accepts, bytes: long-context prompts (a 128 k-token
/// context is about 0.5 MB of text) with room to spare.
pub const PROXY_BODY_LIMIT: usize = 8 << 20;

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
    /// Already exists, or not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// A body over [`BODY_LIMIT`] ([`PROXY_BODY_LIMIT`] for the OpenAI routes).
    #[error(
        "request body too large (limits: {BODY_LIMIT} bytes, {PROXY_BODY_LIMIT} for the OpenAI routes)"
    )]
    TooLarge,
    /// No hub can take the work now.
    #[error("{0}")]
    Unavailable(String),
    /// Every hub tried failed.
    #[error("{0}")]
    BadGateway(String),
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
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_hub"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "hub_failed"),
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
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(format!("unreadable body: {}", e.body_text()))
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
    /// Tariff by local hour of day (24 values, yuan/kWh) where it varies (time-of-use): jobs
    /// are deferred against it. Absent: `tariff_yuan_per_kwh` all day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_by_hour: Option<Vec<f64>>,
    /// The hub's local time offset from UTC, hours [default: 8, China Standard Time].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_hours: Option<f64>,
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
        if let Some(p) = &self.tariff_by_hour
            && (p.len() != 24 || !p.iter().all(|x| x.is_finite() && *x >= 0.0))
        {
            return bad("tariff_by_hour must be 24 values >= 0 (local hours 0-23)".into());
        }
        if self
            .utc_offset_hours
            .is_some_and(|o| !(-12.0..=14.0).contains(&o))
        {
            return bad("utc_offset_hours must be within -12..14".into());
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

/// Where clients are assumed to be when a request does not say (`x-tokengrid-origin`):
/// Shanghai, the Yangtze River Delta demand region of the built-in scenario (an assumption; set
/// `--origin` to where the dispatcher's users are).
pub const DEFAULT_ORIGIN: (f64, f64) = (31.23, 121.47);

/// How a dispatcher replica runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bearer token that may register hubs.
    pub admin_token: String,
    /// Policy for decisions.
    pub policy: String,
    /// A hub silent for longer leaves rotation.
    pub heartbeat_timeout: Duration,
    /// A hub that has not sent its response head within this is passed over.
    pub first_byte_timeout: Duration,
    /// A hub that does not accept a connection within this is passed over.
    pub connect_timeout: Duration,
    /// Clients' location when a request does not give one, degrees (lat, lon).
    pub origin: (f64, f64),
}

impl Config {
    /// Defaults: 30 s heartbeat timeout, 30 s to the first byte, 2 s to connect, clients in
    /// Shanghai.
    pub fn new(admin_token: &str, policy: &str) -> Self {
        Config {
            admin_token: admin_token.to_owned(),
            policy: policy.to_owned(),
            heartbeat_timeout: Duration::from_secs(30),
            first_byte_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            origin: DEFAULT_ORIGIN,
        }
    }
}

/// Shared state of one dispatcher replica.
#[derive(Debug)]
pub struct AppState {
    /// The ledger.
    pub ledger: Ledger,
    /// How it runs.
    pub config: Config,
    admin_hash: String,
    hubs: RwLock<Arc<Registry>>,
    /// Schedulers ready to decide (each keeps its scratch space between decisions).
    schedulers: Mutex<Vec<Scheduler>>,
    /// Counters and latency histograms.
    pub metrics: Metrics,
    /// The client that forwards proxied requests.
    pub client: HttpClient,
    recent: Mutex<VecDeque<String>>,
    jobs_acknowledged: AtomicU64,
    /// Served requests on their way to the ledger (written in batches by a background task).
    served: tokio::sync::mpsc::UnboundedSender<Served>,
    /// When the last on-demand refresh started, ms since the Unix epoch.
    last_refresh_ms: tokio::sync::Mutex<i64>,
    /// This replica's id (claims in the ledger).
    pub replica: String,
}

impl AppState {
    /// State for a replica: hubs registered in the ledger are loaded with their latest
    /// heartbeat.
    pub async fn new(ledger: Ledger, config: Config) -> Result<Arc<Self>, ApiError> {
        Policy::named(&config.policy).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let (served, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(write_served(ledger.clone(), rx));
        let st = Arc::new(AppState {
            served,
            ledger,
            admin_hash: hash_token(&config.admin_token),
            hubs: RwLock::new(Arc::new(Registry::default())),
            schedulers: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
            client: crate::proxy::client(config.connect_timeout),
            config,
            recent: Mutex::new(VecDeque::new()),
            jobs_acknowledged: AtomicU64::new(0),
            last_refresh_ms: tokio::sync::Mutex::new(0),
            replica: new_token()[..12].to_owned(),
        });
        st.refresh().await?;
        Ok(st)
    }

    /// Queues a served request for the ledger.
    pub fn record_served(&self, row: crate::store::RequestRow) {
        if self.served.send(Served::Row(row)).is_err() {
            tracing::warn!("the ledger writer has stopped; a served request was not recorded");
        }
    }

    /// Waits until every served request queued so far is in the ledger (at shutdown, and in
    /// tests).
    pub async fn flush_served(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.served.send(Served::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// [`AppState::refresh`] for a request naming a hub this replica does not know, at most
    /// every 200 ms (so unknown names or tokens cannot turn into a stream of ledger reads).
    async fn refresh_on_demand(&self) -> Result<(), ApiError> {
        let asked = now_ms();
        // One at a time; a refresh that started within 200 ms before this request (or after
        // it) already read what this one would.
        let mut last_start = self.last_refresh_ms.lock().await;
        if *last_start >= asked - 200 {
            return Ok(());
        }
        *last_start = now_ms();
        self.refresh().await
    }

    /// Catches up with the ledger: hubs registered and heartbeats received by other replicas
    /// sharing it (each replica does this every second).
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let stored = self.ledger.hub_states().await?;
        self.update_registry(|r| {
            let mut added = false;
            for s in stored {
                let telemetry = s
                    .telemetry
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<Telemetry>(t).ok());
                match r.hubs.iter_mut().find(|h| h.spec.name == s.row.name) {
                    Some(h) => {
                        if s.last_seen_ms > h.last_seen_ms {
                            h.last_seen_ms = s.last_seen_ms;
                            h.telemetry = telemetry.or(h.telemetry);
                        }
                    }
                    None => match serde_json::from_str::<HubSpec>(&s.row.spec) {
                        Ok(spec) => {
                            r.hubs.push(LiveHub {
                                spec,
                                token_hash: s.row.token_hash,
                                telemetry,
                                last_seen_ms: s.last_seen_ms,
                            });
                            added = true;
                        }
                        Err(e) => {
                            tracing::error!(hub = %s.row.name, error = %e, "unreadable hub registration in the ledger; skipped");
                        }
                    },
                }
            }
            if added {
                r.index_models();
            }
        });
        Ok(())
    }

    /// Names of the hubs in rotation now.
    pub fn hubs_up(&self) -> Vec<String> {
        self.registry()
            .hubs
            .iter()
            .filter(|h| h.is_up(self.config.heartbeat_timeout))
            .map(|h| h.spec.name.clone())
            .collect()
    }

    /// Names of the registered hubs out of rotation now.
    pub fn hubs_down(&self) -> Vec<String> {
        self.registry()
            .hubs
            .iter()
            .filter(|h| !h.is_up(self.config.heartbeat_timeout))
            .map(|h| h.spec.name.clone())
            .collect()
    }

    /// The policy name.
    pub fn policy(&self) -> &str {
        &self.config.policy
    }

    /// The current registry (shared; it never changes under the caller).
    fn registry(&self) -> Arc<Registry> {
        self.hubs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the registry (copy on write: views taken before keep theirs).
    fn update_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let mut guard = self
            .hubs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(Arc::make_mut(&mut guard))
    }

    /// A view of the hubs now (hubs silent past the heartbeat timeout are down).
    pub fn view(&self) -> LiveView {
        LiveView::new(self.registry(), self.config.heartbeat_timeout)
    }

    /// Runs `f` with a scheduler for the replica's policy (reused between calls).
    pub fn with_scheduler<T>(&self, f: impl FnOnce(&mut Scheduler) -> T) -> Result<T, ApiError> {
        let pooled = self
            .schedulers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut s = match pooled {
            Some(s) => s,
            None => Scheduler::new(
                Policy::named(&self.config.policy)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            ),
        };
        let out = f(&mut s);
        self.schedulers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(s);
        Ok(out)
    }

    /// Counts a decision for `hub` and lists it on the status page.
    pub fn note_decision(&self, hub: &str, model: &str, prompt: u32, output: u32) {
        self.metrics.hub(hub, |c| c.decisions += 1);
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.push_front(format!("{model} -> {hub} ({prompt} + {output} tokens)"));
        recent.truncate(20);
    }
}

/// Writes served requests to the ledger in batches: whatever has queued up while the last batch
/// was written goes in one transaction (up to 1,000 rows), so a busy proxy costs one commit per
/// batch rather than one fsync per request.
async fn write_served(ledger: Ledger, mut rx: tokio::sync::mpsc::UnboundedReceiver<Served>) {
    let mut batch = Vec::new();
    let mut rows = Vec::new();
    let mut flushes = Vec::new();
    while rx.recv_many(&mut batch, 1000).await > 0 {
        for item in batch.drain(..) {
            match item {
                Served::Row(r) => rows.push(r),
                Served::Flush(done) => flushes.push(done),
            }
        }
        if !rows.is_empty()
            && let Err(e) = ledger.record_requests(&rows).await
        {
            tracing::warn!(error = %e, rows = rows.len(), "recording served requests failed");
        }
        rows.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// What the ledger writer receives.
#[derive(Debug)]
enum Served {
    /// A served request to record.
    Row(crate::store::RequestRow),
    /// Answer once everything before has been written.
    Flush(tokio::sync::oneshot::Sender<()>),
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
    // The OpenAI routes carry whole prompts: their own, larger limit (the inner layer wins).
    let openai = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .layer(DefaultBodyLimit::max(PROXY_BODY_LIMIT));
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/hubs", post(register).get(list_hubs))
        .route("/v1/hubs/{name}/telemetry", put(telemetry))
        .route("/v1/hubs/{name}/jobs/take", post(take_jobs))
        .route("/v1/dispatch", post(dispatch))
        .route("/v1/jobs", post(submit_job).get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/v1/jobs/{id}/state", put(finish_job))
        .merge(openai)
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
    st.update_registry(|r| {
        r.hubs.push(LiveHub {
            spec,
            token_hash: row.token_hash,
            telemetry: None,
            last_seen_ms: now_ms(),
        });
        r.index_models();
    });
    tracing::info!(hub = %name, "hub registered");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "name": name, "token": hub_token })),
    ))
}

async fn list_hubs(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let timeout = st.config.heartbeat_timeout;
    let hubs: Vec<serde_json::Value> = st
        .registry()
        .hubs
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
                "seconds_since_heard": (now_ms() - h.last_seen_ms).max(0) as f64 / 1e3,
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
    hub_auth(&st, &name, &hash).await?;
    let now = now_ms();
    // In the ledger first: replicas sharing it see the heartbeat on their next refresh.
    let json = serde_json::to_string(&t).map_err(|e| ApiError::Internal(e.to_string()))?;
    st.ledger.set_telemetry(&name, &json, now).await?;
    st.update_registry(|r| {
        if let Some(hub) = r.hubs.iter_mut().find(|h| h.spec.name == name) {
            hub.telemetry = Some(t);
            hub.last_seen_ms = now;
        }
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Checks that `hash` is the token hash of hub `name`: 404 when there is no such hub, 403 when
/// the token is another's. A hub this replica does not know yet (registered through another
/// replica sharing the ledger) is looked up in the ledger first.
async fn hub_auth(st: &AppState, name: &str, hash: &str) -> Result<(), ApiError> {
    let known = |st: &AppState| {
        st.registry()
            .hubs
            .iter()
            .find(|h| h.spec.name == name)
            .map(|h| h.token_hash == hash)
    };
    let matches = match known(st) {
        Some(m) => m,
        None => {
            st.refresh_on_demand().await?;
            known(st).ok_or_else(|| ApiError::NotFound(format!("no hub \"{name}\"")))?
        }
    };
    if !matches {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// The hub whose token this is, if any (looked up in the ledger when this replica does not
/// know it yet).
async fn hub_of_token(st: &AppState, hash: &str) -> Result<Option<String>, ApiError> {
    let find = |st: &AppState| {
        st.registry()
            .hubs
            .iter()
            .find(|h| h.token_hash == hash)
            .map(|h| h.spec.name.clone())
    };
    if let Some(h) = find(st) {
        return Ok(Some(h));
    }
    st.refresh_on_demand().await?;
    Ok(find(st))
}

/// Query of `POST /v1/hubs/{name}/jobs/take`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeQuery {
    limit: Option<i64>,
}

/// A hub takes its jobs that are due (scheduled to it, start time reached): each is handed to
/// exactly one caller and becomes `dispatched`.
async fn take_jobs(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    q: Result<Query<TakeQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let token = bearer(&headers)?;
    hub_auth(&st, &name, &hash_token(token)).await?;
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be within 1..1000".into()));
    }
    let jobs = st.ledger.take_due(&name, now_ms(), limit).await?;
    let out: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            let spec: serde_json::Value =
                serde_json::from_str(&j.spec).unwrap_or(serde_json::Value::Null);
            serde_json::json!({ "id": j.id, "kind": j.kind, "spec": spec, "start_at_ms": j.start_at_ms })
        })
        .collect();
    Ok(Json(out))
}

/// Body of `PUT /v1/jobs/{id}/state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobStateBody {
    state: String,
}

/// The hub running a dispatched job reports it `done` or `failed`.
async fn finish_job(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<JobStateBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    let hub = hub_of_token(&st, &hash_token(token))
        .await?
        .ok_or(ApiError::Forbidden)?;
    let Json(b) = body?;
    if b.state != "done" && b.state != "failed" {
        return Err(ApiError::BadRequest(format!(
            "state \"{}\" is not done or failed",
            b.state
        )));
    }
    let job = st
        .ledger
        .job(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job \"{id}\"")))?;
    if job.hub.as_deref() != Some(hub.as_str()) {
        return Err(ApiError::Forbidden);
    }
    if !st.ledger.finish_job(&id, &hub, &b.state, now_ms()).await? {
        return Err(ApiError::Conflict(format!(
            "job \"{id}\" is {}, not dispatched",
            job.state
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn chat_completions(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    crate::proxy::forward(st, crate::proxy::Api::Chat, headers, body?).await
}

async fn completions(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    crate::proxy::forward(st, crate::proxy::Api::Completions, headers, body?).await
}

async fn dispatch(
    State(st): State<Arc<AppState>>,
    body: Result<Json<DispatchRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let started = Instant::now();
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
    let (decision, ex) = st.with_scheduler(|s| s.explain(&view, &work))?;
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
        st.note_decision(h, &r.model, r.prompt_tokens, r.output_tokens);
    }
    st.metrics.dispatch.observe(started.elapsed());
    Ok(Json(
        serde_json::json!({ "hub": hub, "policy": st.config.policy, "explanation": explanation }),
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
        attempts: 0,
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
    st.metrics.render(&mut out, &st.config.policy);
    out.push_str("# HELP tokengrid_jobs_acknowledged_total Jobs written to the ledger and acknowledged.\n# TYPE tokengrid_jobs_acknowledged_total counter\n");
    let _ = writeln!(
        out,
        "tokengrid_jobs_acknowledged_total {}",
        st.jobs_acknowledged.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP tokengrid_hub_up Whether a hub is in rotation.\n# TYPE tokengrid_hub_up gauge\n",
    );
    for h in st.registry().hubs.iter() {
        let _ = writeln!(
            out,
            "tokengrid_hub_up{{hub=\"{}\"}} {}",
            h.spec.name,
            u8::from(h.is_up(st.config.heartbeat_timeout))
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
        esc(&st.config.policy),
        esc(&st.replica)
    );
    for h in st.registry().hubs.iter() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&h.spec.name),
            h.is_up(st.config.heartbeat_timeout),
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

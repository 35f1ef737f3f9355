//! The shared state of one dispatcher replica: its configuration, the hub registry, the ledger,
//! the schedulers, metrics and the upstream client.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokengrid_core::HubId;
use tokengrid_sched::{
    ClusterView, Decision, HubSet, InferenceRequest, Origin, Policy, Reason, Scheduler, Work,
};

use crate::auth::{hash_token, new_token};
use crate::clients::{Caller, ClientKey};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::served::{Served, write_served};
use crate::store::Ledger;
use crate::upstream::HttpClient;
use crate::view::{HubAuth, HubRegistry, LiveHub, LiveView};
use crate::wire::{HubSpec, Telemetry};

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
    /// A hub silent mid-answer for longer ends the client's stream (recorded incomplete).
    pub stream_idle_timeout: Duration,
    /// A hub that does not accept a connection within this is passed over.
    pub connect_timeout: Duration,
    /// Clients' location when a request does not give one, degrees (lat, lon).
    pub origin: (f64, f64),
    /// Where the time comes from (the system clock but in tests).
    pub clock: Clock,
    /// Seals hub API keys in the ledger (from `TOKENGRID_SECRET_KEY`); without it a hub
    /// registration carrying a key is refused.
    pub sealer: Option<crate::secrets::Sealer>,
    /// Extra certificate authorities (PEM) trusted for https hubs, beside the platform's.
    pub hub_ca_file: Option<std::path::PathBuf>,
    /// The OpenAI routes need a client key (or the admin token) even before any key exists.
    pub require_client_keys: bool,
    /// Connections at once, and how long a request head may take.
    pub limits: crate::server::Limits,
    /// Billing-grade accounting: an answer's last bytes reach the client only once its ledger
    /// row is committed, so no answered request goes unrecorded, even on `kill -9`.
    pub billing_grade: bool,
}

impl Config {
    /// Defaults: 30 s heartbeat timeout, 30 s to the first byte, 60 s of silence mid-answer,
    /// 2 s to connect, clients in Shanghai.
    pub fn new(admin_token: &str, policy: &str) -> Self {
        Config {
            admin_token: admin_token.to_owned(),
            policy: policy.to_owned(),
            heartbeat_timeout: Duration::from_secs(30),
            first_byte_timeout: Duration::from_secs(30),
            stream_idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(2),
            origin: DEFAULT_ORIGIN,
            clock: Clock::system(),
            sealer: None,
            hub_ca_file: None,
            require_client_keys: false,
            limits: crate::server::Limits::default(),
            billing_grade: false,
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
    pub(crate) admin_hash: String,
    hubs: RwLock<Arc<HubRegistry>>,
    /// Schedulers ready to decide (each keeps its scratch space between decisions).
    schedulers: Mutex<Vec<Scheduler>>,
    /// Counters and latency histograms.
    pub metrics: Metrics,
    /// The clients that forward proxied requests, one per thread (a pooled connection is
    /// driven by the thread that opened it, so a request never waits on another thread).
    clients_by_thread: thread_local::ThreadLocal<HttpClient>,
    /// TLS settings for https hubs (each thread's client is made with them).
    tls: rustls::ClientConfig,
    pub(crate) recent: Mutex<VecDeque<Recent>>,
    pub(crate) jobs_acknowledged: AtomicU64,
    /// Served requests on their way to the ledger (written in batches by a background task).
    served: tokio::sync::mpsc::UnboundedSender<Served>,
    /// How the ledger writer is doing (rows waiting, dropped, failed batches).
    pub writer: Arc<crate::served::WriterStats>,
    /// When the last on-demand refresh started, ms since the Unix epoch.
    last_refresh_ms: tokio::sync::Mutex<i64>,
    /// This replica's id (claims in the ledger).
    pub replica: String,
    /// Hubs left out of decisions for a while after failing.
    pub(crate) cooling: crate::cooling::Cooling,
    /// Client API keys and their rate buckets.
    pub(crate) clients: crate::clients::Clients,
}

impl AppState {
    /// State for a replica: hubs registered in the ledger are loaded with their latest
    /// heartbeat.
    pub async fn new(ledger: Ledger, config: Config) -> Result<Arc<Self>, ApiError> {
        Policy::named(&config.policy).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let tls = crate::upstream::tls_config(config.hub_ca_file.as_deref())
            .map_err(ApiError::BadRequest)?;
        let (served, rx) = tokio::sync::mpsc::unbounded_channel();
        let writer = Arc::new(crate::served::WriterStats::default());
        tokio::spawn(write_served(ledger.clone(), rx, writer.clone()));
        let st = Arc::new(AppState {
            served,
            writer,
            ledger,
            admin_hash: hash_token(&config.admin_token),
            hubs: RwLock::new(Arc::new(HubRegistry::default())),
            schedulers: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
            clients_by_thread: thread_local::ThreadLocal::new(),
            tls,
            config,
            recent: Mutex::new(VecDeque::new()),
            jobs_acknowledged: AtomicU64::new(0),
            last_refresh_ms: tokio::sync::Mutex::new(0),
            replica: new_token()[..12].to_owned(),
            cooling: crate::cooling::Cooling::default(),
            clients: crate::clients::Clients::default(),
        });
        st.refresh().await?;
        Ok(st)
    }

    /// This thread's client for forwarding to hubs.
    pub fn client(&self) -> &HttpClient {
        self.clients_by_thread
            .get_or(|| crate::upstream::client(self.config.connect_timeout, self.tls.clone()))
    }

    /// Milliseconds since the Unix epoch, by the configured clock.
    pub fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// Queues a served request for the ledger.
    pub fn record_served(&self, row: crate::store::RequestRow) {
        if self.served.send(Served::Row(row)).is_err() {
            tracing::warn!("the ledger writer has stopped; a served request was not recorded");
        }
    }

    /// Queues a served request for the ledger; the receiver resolves once it is committed
    /// (or was given up on: dropped past the pending limit, or the writer stopped).
    pub(crate) fn record_served_durably(
        &self,
        row: crate::store::RequestRow,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.served.send(Served::Durable(row, tx)).is_err() {
            tracing::warn!("the ledger writer has stopped; a served request was not recorded");
        }
        rx
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
        let asked = self.now_ms();
        // One at a time; a refresh that started within 200 ms before this request (or after
        // it) already read what this one would.
        let mut last_start = self.last_refresh_ms.lock().await;
        if *last_start >= asked - 200 {
            return Ok(());
        }
        *last_start = self.now_ms();
        self.refresh().await
    }

    /// Catches up with the ledger: hubs registered and heartbeats received by other replicas
    /// sharing it (each replica does this every second).
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let keys = self.ledger.keys().await?;
        self.clients
            .set(keys.iter().filter_map(ClientKey::from_row).collect());
        let stored = self.ledger.hub_states().await?;
        let names: std::collections::BTreeSet<String> =
            stored.iter().map(|s| s.row.name.clone()).collect();
        self.update_registry(|r| {
            let mut added = false;
            let mut changed = false;
            for s in stored {
                let telemetry = s
                    .telemetry
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<Telemetry>(t).ok());
                let auth = HubAuth::open(
                    self.config.sealer.as_ref(),
                    &s.row.name,
                    s.row.api_key_sealed.as_deref(),
                );
                if let HubAuth::Unavailable(why) = &auth
                    && r.hubs.iter().all(|h| h.spec.name != s.row.name || h.auth != auth)
                {
                    tracing::error!(hub = %s.row.name, "hub out of rotation: {why}");
                }
                match r.hubs.iter_mut().find(|h| h.spec.name == s.row.name) {
                    Some(h) => {
                        h.auth = auth;
                        // A token set by another replica's `serve --config`.
                        if h.token_hash != s.row.token_hash {
                            h.token_hash.clone_from(&s.row.token_hash);
                        }
                        // A registration another replica changed (PATCH).
                        if let Ok(spec) = serde_json::from_str::<HubSpec>(&s.row.spec)
                            && spec != h.spec
                        {
                            h.spec = spec;
                            changed = true;
                        }
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
                                auth,
                            });
                            added = true;
                        }
                        Err(e) => {
                            tracing::error!(hub = %s.row.name, error = %e, "unreadable hub registration in the ledger; skipped");
                        }
                    },
                }
            }
            // Hubs another replica removed from the ledger leave this registry too.
            let before = r.hubs.len();
            r.hubs.retain(|h| names.contains(h.spec.name.as_str()));
            if added || changed || r.hubs.len() != before {
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
            .filter(|h| h.is_up(self.config.heartbeat_timeout, self.now_ms()))
            .map(|h| h.spec.name.clone())
            .collect()
    }

    /// Names of the registered hubs out of rotation now.
    pub fn hubs_down(&self) -> Vec<String> {
        self.registry()
            .hubs
            .iter()
            .filter(|h| !h.is_up(self.config.heartbeat_timeout, self.now_ms()))
            .map(|h| h.spec.name.clone())
            .collect()
    }

    /// The policy name.
    pub fn policy(&self) -> &str {
        &self.config.policy
    }

    /// The current registry (shared; it never changes under the caller).
    pub(crate) fn registry(&self) -> Arc<HubRegistry> {
        self.hubs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the registry (copy on write: views taken before keep theirs).
    pub(crate) fn update_registry<T>(&self, f: impl FnOnce(&mut HubRegistry) -> T) -> T {
        let mut guard = self
            .hubs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(Arc::make_mut(&mut guard))
    }

    /// A view of the hubs now (hubs silent past the heartbeat timeout, or cooling down after a
    /// failure, are down).
    pub fn view(&self) -> LiveView {
        let now = self.now_ms();
        let mut view = LiveView::new(self.registry(), self.config.heartbeat_timeout, now);
        // A hub cooling down after failing is out of rotation until it may be tried again.
        view.mark_down(|name| self.cooling.is_cooling(name, now));
        view
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
        // The oldest entry's strings are reused once the list is full: no allocation per
        // decision.
        let mut r = if recent.len() >= RECENT {
            recent.pop_back().unwrap_or_default()
        } else {
            Recent::default()
        };
        r.model.clear();
        r.model.push_str(model);
        r.hub.clear();
        r.hub.push_str(hub);
        (r.prompt, r.output) = (prompt, output);
        recent.push_front(r);
    }
}

/// Decisions listed on the status page.
const RECENT: usize = 20;

/// A recent decision, as the status page lists it.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    pub(crate) model: String,
    pub(crate) hub: String,
    pub(crate) prompt: u32,
    pub(crate) output: u32,
}

impl std::fmt::Display for Recent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} -> {} ({} + {} tokens)",
            self.model, self.hub, self.prompt, self.output
        )
    }
}

/// An inference request as the policy needs it: what the OpenAI front door and
/// `POST /v1/dispatch` both ask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Question<'a> {
    pub(crate) model: &'a str,
    /// Where the client is, degrees (lat, lon).
    pub(crate) origin: (f64, f64),
    pub(crate) prompt_tokens: u32,
    pub(crate) output_tokens: u32,
    pub(crate) ttft_slo_ms: Option<f64>,
    pub(crate) e2e_slo_ms: Option<f64>,
    /// The hubs the request's data may go to (`None`: any).
    pub(crate) residency: Option<&'a [String]>,
}

/// The policy's answer with what it was decided on.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) view: LiveView,
    pub(crate) model: tokengrid_core::ModelId,
    pub(crate) decision: Decision,
    /// Every hub: its first failed filter (`None`: it passed every one) and its weighted total
    /// (what an explanation lists, without each plugin's score).
    pub(crate) hubs: Vec<(HubId, Option<Reason>, f64)>,
}

impl AppState {
    /// Decides where an inference request goes, with every hub's verdict: 404 when no
    /// registered hub serves the model.
    pub(crate) fn decide(&self, q: &Question<'_>) -> Result<Answer, ApiError> {
        let view = self.view();
        let Some(model) = view.model_id(q.model) else {
            return Err(ApiError::NotFound(format!(
                "no registered hub serves model \"{}\"",
                q.model
            )));
        };
        let residency = q.residency.map(|names| {
            let ids: Vec<HubId> = (0..u32::try_from(view.hub_count()).unwrap_or(u32::MAX))
                .map(HubId)
                .filter(|&h| names.iter().any(|n| n == view.hub_name(h)))
                .collect();
            HubSet::of(&ids)
        });
        let work = Work::Inference(InferenceRequest {
            model,
            class: None,
            origin: Origin::Point {
                lat: q.origin.0,
                lon: q.origin.1,
            },
            prompt_tokens: q.prompt_tokens,
            output_tokens: q.output_tokens,
            ttft_slo_ms: q.ttft_slo_ms,
            e2e_slo_ms: q.e2e_slo_ms,
            residency: residency.as_ref(),
            draw: 0.5,
        });
        let (decision, hubs) = self.with_scheduler(|s| {
            let d = s.decide(&view, &work);
            (d, s.verdicts().collect())
        })?;
        Ok(Answer {
            view,
            model,
            decision,
            hubs,
        })
    }

    /// Checks that `hash` is the token hash of hub `name`: 404 when there is no such hub, 403 when
    /// the token is another's. A hub this replica does not know yet (registered through another
    /// replica sharing the ledger) is looked up in the ledger first.
    pub(crate) async fn authenticate_hub(&self, name: &str, hash: &str) -> Result<(), ApiError> {
        let known = |st: &AppState| {
            st.registry()
                .hubs
                .iter()
                .find(|h| h.spec.name == name)
                .map(|h| h.token_hash == hash)
        };
        let matches = match known(self) {
            Some(m) => m,
            None => {
                self.refresh_on_demand().await?;
                known(self).ok_or_else(|| ApiError::NotFound(format!("no hub \"{name}\"")))?
            }
        };
        if !matches {
            return Err(ApiError::Forbidden);
        }
        Ok(())
    }

    /// The hub whose token this is, if any (looked up in the ledger when this replica does not
    /// know it yet).
    pub(crate) async fn hub_of_token(&self, hash: &str) -> Result<Option<String>, ApiError> {
        let find = |st: &AppState| {
            st.registry()
                .hubs
                .iter()
                .find(|h| h.token_hash == hash)
                .map(|h| h.spec.name.clone())
        };
        if let Some(h) = find(self) {
            return Ok(Some(h));
        }
        self.refresh_on_demand().await?;
        Ok(find(self))
    }
}

impl AppState {
    /// Who is calling an OpenAI route: the admin token, a client key, or (while no key exists
    /// and none is required) anyone. 401 `invalid_api_key` for a missing, unknown or revoked key
    /// where one is needed.
    pub(crate) async fn caller(&self, headers: &axum::http::HeaderMap) -> Result<Caller, ApiError> {
        let required = self.config.require_client_keys || self.clients.any();
        let Ok(token) = crate::auth::bearer(headers) else {
            return if required {
                Err(ApiError::InvalidApiKey(
                    "this dispatcher needs an API key: send Authorization: Bearer <key> (an admin makes one with POST /v1/keys)".into(),
                ))
            } else {
                Ok(Caller::Anyone)
            };
        };
        let hash = hash_token(token);
        if hash == self.admin_hash {
            return Ok(Caller::Admin);
        }
        let mut found = self.clients.find(&hash);
        if found.is_none() && required {
            // A key made through another replica sharing the ledger.
            self.refresh_on_demand().await?;
            found = self.clients.find(&hash);
        }
        match found {
            Some(k) if k.revoked => Err(ApiError::InvalidApiKey(format!(
                "API key \"{}\" was revoked",
                k.id
            ))),
            Some(k) => Ok(Caller::Key(k)),
            // Clients such as OpenAI's SDKs always send some key: while none is needed, an
            // unknown one is ignored.
            None if !required => Ok(Caller::Anyone),
            None => Err(ApiError::InvalidApiKey("unknown API key".into())),
        }
    }

    /// [`AppState::caller`] where a caller must be someone (job submission): the admin token
    /// or a valid client key, whether or not keys are required elsewhere.
    pub(crate) async fn known_caller(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Caller, ApiError> {
        match self.caller(headers).await? {
            Caller::Anyone => Err(ApiError::InvalidApiKey(
                "submitting jobs needs a client API key or the admin token (Authorization: Bearer)"
                    .into(),
            )),
            c => Ok(c),
        }
    }
}

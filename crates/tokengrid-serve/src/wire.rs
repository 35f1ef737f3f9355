//! The HTTP API's request and response bodies: a contract that hubs, clients and scripts
//! rely on, so each is a type here rather than JSON built ad hoc in a handler.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod answer;

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
    /// CO2 of the hub's grid power, g/kWh, until telemetry reports it [default: China's
    /// national average, [`NATIONAL_GRID_CARBON_G_PER_KWH`]].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_carbon_g_per_kwh: Option<f64>,
    /// The hub's own API key, sent to it as `Authorization: Bearer` with every forwarded
    /// request. Accepted at registration and in `PATCH`; never returned or logged; sealed in
    /// the ledger under the dispatcher's secret (`TOKENGRID_SECRET_KEY`).
    #[serde(default, skip_serializing)]
    pub api_key: Option<crate::secrets::Secret>,
    /// `false`: the hub sends no telemetry (a hosted endpoint, say); it stays in rotation
    /// while it answers, and failures rest it as for any hub [default: true, a hub silent past
    /// the heartbeat timeout leaves rotation].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeats: Option<bool>,
}

/// China's national average CO2 of grid power, g/kWh: 0.5366 kgCO2/kWh, MEE and NBS, "2022
/// electricity CO2 emission factors" (announced 2024-12-20), as cited in the built-in scenario.
pub const NATIONAL_GRID_CARBON_G_PER_KWH: f64 = 536.6;

impl HubSpec {
    /// Checks the registration; the message says what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        let bad = |m: String| Err(m);
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
        if let Some(key) = &self.api_key {
            let k = key.expose();
            if k.is_empty() || k.len() > 4096 || !k.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(
                    "api_key must be 1-4096 printable ASCII characters without spaces".into(),
                );
            }
        }
        if !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.lon) {
            return bad("lat must be within -90..90 and lon within -180..180".into());
        }
        if self.models.is_empty() {
            return bad("models must name at least one model".into());
        }
        // Accelerators are costed from the catalog: a name it does not know would be costed
        // as some other part, so it is refused (models it does not know are served and costed
        // as the reference model, as fine-tunes and private models must be).
        if let Some(unknown) = self
            .accelerators
            .keys()
            .find(|a| tokengrid_core::catalog::accelerator(a).is_none())
        {
            return bad(format!(
                "unknown accelerator type \"{unknown}\" (the catalog knows: {}; `tokengrid catalog accelerators` lists them)",
                tokengrid_core::catalog::accelerator_names().join(", ")
            ));
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
        if self
            .grid_carbon_g_per_kwh
            .is_some_and(|c| !(c.is_finite() && c >= 0.0))
        {
            return bad("grid_carbon_g_per_kwh must be >= 0".into());
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
    /// The hubs it may run at (data residency) [default: any; a client key's residency
    /// narrows it further].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Vec<String>>,
}

/// What a hub pushes (`PUT /v1/hubs/{name}/telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// In service.
    pub up: bool,
    /// Requests waiting.
    pub queue_depth: u32,
    /// Replicas with room for another request.
    pub free_replicas: u32,
    /// Tariff now, yuan/kWh.
    pub tariff_yuan_per_kwh: f64,
    /// Share of its power that is green now (0..1).
    pub green_fraction: f64,
    /// CO2 of its grid power now, g/kWh (absent: the registered figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_carbon_g_per_kwh: Option<f64>,
}

impl Telemetry {
    pub(crate) fn check(&self) -> Result<(), String> {
        if !(self.tariff_yuan_per_kwh.is_finite() && self.tariff_yuan_per_kwh >= 0.0) {
            return Err("tariff_yuan_per_kwh must be >= 0".into());
        }
        if !(0.0..=1.0).contains(&self.green_fraction) {
            return Err("green_fraction must be within 0..1".into());
        }
        if self
            .grid_carbon_g_per_kwh
            .is_some_and(|c| !(c.is_finite() && c >= 0.0))
        {
            return Err("grid_carbon_g_per_kwh must be >= 0".into());
        }
        Ok(())
    }
}

/// The life of a job in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Acknowledged, waiting for a replica to schedule it.
    Queued,
    /// Taken from the queue by a replica that is scheduling it (a lease).
    Claimed,
    /// Given a hub and a start time.
    Scheduled,
    /// No hub can take it before its deadline.
    Rejected,
    /// Handed to its hub, which is running it.
    Dispatched,
    /// Its hub reported it finished.
    Done,
    /// Its hub reported it failed.
    Failed,
}

impl JobState {
    /// Every state, in the order a job passes through them.
    pub const ALL: [JobState; 7] = [
        JobState::Queued,
        JobState::Claimed,
        JobState::Scheduled,
        JobState::Rejected,
        JobState::Dispatched,
        JobState::Done,
        JobState::Failed,
    ];

    /// The name stored in the ledger and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Claimed => "claimed",
            JobState::Scheduled => "scheduled",
            JobState::Rejected => "rejected",
            JobState::Dispatched => "dispatched",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error answer: `{code, message}` with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code (`bad_request`, `no_hub`, ...).
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

/// An error on the OpenAI routes, as OpenAI sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAiErrorBody {
    /// The error.
    pub error: OpenAiErrorDetail,
}

/// OpenAI's error fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAiErrorDetail {
    /// What is wrong, for people.
    pub message: String,
    /// OpenAI's error type (`invalid_request_error`, `not_found_error`, `api_error`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The error table's stable code (`bad_request`, `no_hub`, ...).
    pub code: &'static str,
    /// The request parameter at fault, when one is.
    pub param: Option<&'static str>,
}

/// `GET /v1/models`: the models some hub in rotation serves, as OpenAI lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelList {
    /// Always `"list"`.
    pub object: &'static str,
    /// The models, sorted by id.
    pub data: Vec<ModelEntry>,
}

/// One model of [`ModelList`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEntry {
    /// The model's name, as requests give it.
    pub id: String,
    /// Always `"model"`.
    pub object: &'static str,
    /// When the model was created, s since the Unix epoch: 0, as the dispatcher does not know
    /// (OpenAI's clients require the field).
    pub created: i64,
    /// Always `"tokengrid"`: the hubs' owners are not known to the dispatcher.
    pub owned_by: &'static str,
}

/// Answer to a registration: the hub's token, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubCreated {
    /// The hub's name.
    pub name: String,
    /// Its bearer token for telemetry and job handover.
    pub token: String,
}

/// A client API key's grant (`POST /v1/keys`): what it may use and how fast. Absent fields
/// grant without limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// What or whom it is for (shown in listings and metrics).
    pub name: String,
    /// Models it may use [default: any].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Requests per minute (a token bucket: bursts up to this, refilled evenly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute, counted at admission as the prompt estimate plus `max_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Hubs its requests' data may go to (as the simulator's residency) [default: any].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Vec<String>>,
}

impl KeySpec {
    /// Checks the grant; the message says what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty()
            || self.name.chars().count() > 128
            || self.name.chars().any(char::is_control)
        {
            return Err("name must be 1-128 characters without control characters".into());
        }
        if let Some(m) = &self.models
            && (m.is_empty() || m.iter().any(String::is_empty))
        {
            return Err("models must list at least one model (omit it to allow any)".into());
        }
        if self.requests_per_minute == Some(0) || self.tokens_per_minute == Some(0) {
            return Err(
                "requests_per_minute and tokens_per_minute must be > 0 (omit one for no limit)"
                    .into(),
            );
        }
        if let Some(r) = &self.residency
            && (r.is_empty() || r.iter().any(String::is_empty))
        {
            return Err("residency must name at least one hub (omit it to allow any)".into());
        }
        Ok(())
    }
}

/// Answer to `POST /v1/keys`: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyCreated {
    /// Public id (used to revoke it, in metrics and in the ledger).
    pub id: String,
    /// The secret to send as `Authorization: Bearer`; stored only as a hash.
    pub key: String,
    /// Its grant.
    #[serde(flatten)]
    pub spec: KeySpec,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: i64,
}

/// One key in `GET /v1/keys` (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyListing {
    /// Public id.
    pub id: String,
    /// Its grant.
    #[serde(flatten)]
    pub spec: KeySpec,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was revoked, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

/// One hub in `GET /v1/hubs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubListing {
    /// Name.
    pub name: String,
    /// In rotation now.
    pub up: bool,
    /// Base URL of its OpenAI-compatible API.
    pub endpoint: String,
    /// Models served.
    pub models: Vec<String>,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Its latest telemetry.
    pub telemetry: Option<Telemetry>,
    /// Seconds since it was last heard from.
    pub seconds_since_heard: f64,
}

/// A job handed to its hub by `POST /v1/hubs/{name}/jobs/take`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakenJob {
    /// Id.
    pub id: String,
    /// "batch" or "training".
    pub kind: String,
    /// The job as submitted.
    pub spec: serde_json::Value,
    /// When it was due to start, ms since the Unix epoch.
    pub start_at_ms: Option<i64>,
}

/// Body of `PUT /v1/jobs/{id}/state`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobStateBody {
    /// `done` or `failed`.
    pub state: String,
}

/// Answer to a job submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobAck {
    /// The job's id.
    pub id: String,
    /// Its state (`queued`).
    pub state: JobState,
}

/// One hub's line in a dispatch answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict<'a> {
    /// The hub.
    pub hub: &'a str,
    /// `chosen`, `feasible`, or the code of the filter that rejected it.
    pub verdict: &'a str,
    /// Weighted score (feasible hubs).
    pub score: f64,
}

/// Answer to `POST /v1/dispatch` (borrowing the names it reports from the decision's view).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispatchAnswer<'a> {
    /// The chosen hub, if any.
    pub hub: Option<&'a str>,
    /// The policy that decided.
    pub policy: &'a str,
    /// Every hub's verdict.
    pub explanation: Vec<Verdict<'a>>,
}

/// Query of `POST /v1/hubs/{name}/jobs/take`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeQuery {
    /// Most jobs to take (1..1000, default 100).
    pub limit: Option<i64>,
}

/// Query of `GET /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// Only jobs in this state.
    pub state: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::JobState;

    /// The ledger stores states by name: every state reads back as itself, names are distinct,
    /// and serde writes the same name the ledger stores.
    #[test]
    fn job_states_round_trip_by_name() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).expect("serialize");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        let mut names: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JobState::ALL.len());
        assert_eq!(JobState::parse("Queued"), None);
    }
}

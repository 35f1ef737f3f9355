//! `tokengrid serve --config FILE`: hubs declared in a TOML file, registered (or updated) in
//! the ledger at startup, their secrets read from the environment. Errors are located as a
//! scenario's are (file:line:column, the key, what to do).
//!
//! ```toml
//! [[hub]]
//! name = "gansu"
//! endpoint = "https://gansu.example.com/v1"
//! lat = 35.73
//! lon = 107.63
//! models = ["deepseek-v3"]
//! accelerators = { H800-SXM = 64 }
//! tariff_yuan_per_kwh = 0.40
//! pue = 1.2
//! api_key_env = "GANSU_API_KEY"    # the hub's own API key, from this variable
//! token_env = "GANSU_HUB_TOKEN"    # the token its agent sends telemetry with
//! ```
//!
//! A hub without `token_env` must set `heartbeats = false` (nothing could send them). Hubs
//! registered through the API and absent from the file are left as they are.

use std::collections::BTreeMap;

use serde::Deserialize;
use tokengrid_core::{Diagnostic, Diagnostics, KeyPath};

use crate::auth::{hash_token, new_token};
use crate::error::ApiError;
use crate::secrets::{MIN_SECRET_CHARS, SECRET_KEY_ENV, Secret};
use crate::state::AppState;
use crate::store::HubRow;
use crate::wire::HubSpec;

/// Where the file's keys are shown.
const EXAMPLE: &str = "the example in docs/serve.md (`tokengrid serve --help`)";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    hub: Vec<Entry>,
}

/// One `[[hub]]`: a registration's keys (as [`HubSpec`]'s, spelled out so that an unknown or
/// mistyped key is located exactly; a test keeps the two in step) plus where its secrets are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    endpoint: String,
    lat: f64,
    lon: f64,
    models: Vec<String>,
    accelerators: BTreeMap<String, u32>,
    tariff_yuan_per_kwh: f64,
    pue: f64,
    #[serde(default)]
    tariff_by_hour: Option<Vec<f64>>,
    #[serde(default)]
    utc_offset_hours: Option<f64>,
    #[serde(default)]
    grid_carbon_g_per_kwh: Option<f64>,
    #[serde(default)]
    heartbeats: Option<bool>,
    /// Refused with a pointer to `api_key_env` (a key is not written in the file).
    #[serde(default)]
    api_key: Option<Secret>,
    /// The environment variable holding the hub's API key.
    #[serde(default)]
    api_key_env: Option<String>,
    /// The environment variable holding the token the hub sends telemetry with.
    #[serde(default)]
    token_env: Option<String>,
}

impl Entry {
    fn spec(&self) -> HubSpec {
        HubSpec {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            lat: self.lat,
            lon: self.lon,
            models: self.models.clone(),
            accelerators: self.accelerators.clone(),
            tariff_yuan_per_kwh: self.tariff_yuan_per_kwh,
            pue: self.pue,
            tariff_by_hour: self.tariff_by_hour.clone(),
            utc_offset_hours: self.utc_offset_hours,
            grid_carbon_g_per_kwh: self.grid_carbon_g_per_kwh,
            api_key: None,
            heartbeats: self.heartbeats,
        }
    }
}

/// A hub ready to register: its registration (with its API key) and its token.
#[derive(Debug)]
pub struct Declared {
    spec: HubSpec,
    token: Option<String>,
}

/// Reads and checks `text` (from `file`), taking secrets from `env`: every problem, located.
pub fn parse(
    text: &str,
    file: &str,
    env: impl Fn(&str) -> Option<String>,
    can_seal: bool,
) -> Result<Vec<Declared>, Diagnostics> {
    let parsed: File = tokengrid_core::parse_toml(text, file, EXAMPLE)?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut problem = |path: KeyPath, message: String, help: Option<String>| {
        problems.push(tokengrid_core::locate(text, file, &path, message, help));
    };
    for (i, e) in parsed.hub.into_iter().enumerate() {
        let at = KeyPath::root().key("hub").index(i);
        let mut spec = e.spec();
        if out.iter().any(|d: &Declared| d.spec.name == spec.name) {
            problem(
                at.key("name"),
                format!("hub \"{}\" is declared twice", spec.name),
                None,
            );
        }
        if e.api_key.is_some() {
            problem(
                at.key("api_key"),
                "a key is not written in the file".into(),
                Some(
                    "put it in an environment variable and name that: api_key_env = \"VAR\"".into(),
                ),
            );
        }
        let read = |key: &str, var: &str| match env(var) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err((
                at.key(key),
                format!("environment variable {var} is not set"),
                Some(format!("export {var}=... before starting serve")),
            )),
        };
        if let Some(var) = &e.api_key_env {
            match read("api_key_env", var) {
                Ok(k) if can_seal => spec.api_key = Some(Secret::new(k)),
                Ok(_) => problem(
                    at.key("api_key_env"),
                    format!("hub API keys are stored sealed, and {SECRET_KEY_ENV} is not set"),
                    Some(format!(
                        "export {SECRET_KEY_ENV}=$(openssl rand -hex 32) (at least {MIN_SECRET_CHARS} characters; the same on every replica)"
                    )),
                ),
                Err((p, m, h)) => problem(p, m, h),
            }
        }
        let token = match &e.token_env {
            Some(var) => match read("token_env", var) {
                Ok(t) => Some(t),
                Err((p, m, h)) => {
                    problem(p, m, h);
                    None
                }
            },
            None => {
                if spec.heartbeats != Some(false) {
                    problem(
                        at.key("name"),
                        format!("hub \"{}\" expects heartbeats (the default) but names no token_env to send them with", spec.name),
                        Some("set token_env = \"VAR\" (the token its agent sends telemetry with), or heartbeats = false".into()),
                    );
                }
                None
            }
        };
        if let Err(m) = spec.check() {
            problem(at.clone(), m, None);
        }
        out.push(Declared { spec, token });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|d: &Diagnostic| (d.line, d.column));
        Err(Diagnostics(problems))
    }
}

/// Registers the declared hubs in the ledger, or updates those already there (registration,
/// API key, and token when one is given); returns how many were new.
pub async fn apply(st: &AppState, hubs: Vec<Declared>) -> Result<usize, ApiError> {
    let mut added = 0;
    for d in hubs {
        let name = d.spec.name.clone();
        let sealed = match (&d.spec.api_key, &st.config.sealer) {
            (Some(k), Some(s)) => Some(s.seal(&name, k)),
            _ => None,
        };
        let json = serde_json::to_string(&d.spec).map_err(|e| ApiError::Internal(e.to_string()))?;
        let token_hash = hash_token(d.token.as_deref().unwrap_or(&new_token()));
        let row = HubRow {
            name: name.clone(),
            spec: json.clone(),
            token_hash: token_hash.clone(),
            api_key_sealed: sealed.clone(),
        };
        if st.ledger.insert_hub(&row, st.now_ms()).await? {
            added += 1;
            tracing::info!(hub = %name, "hub registered from the config file");
        } else {
            st.ledger.update_hub_spec(&name, &json).await?;
            st.ledger.set_hub_api_key(&name, sealed.as_deref()).await?;
            if d.token.is_some() {
                st.ledger.set_hub_token(&name, &token_hash).await?;
            }
            tracing::info!(hub = %name, "hub registration updated from the config file");
        }
    }
    st.refresh().await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a registration takes is a key of `[[hub]]`, and `[[hub]]` adds only where the
    /// secrets are: a field added to [`HubSpec`] must be added here too.
    #[test]
    fn a_hub_entry_takes_the_keys_of_a_registration() {
        let full = HubSpec {
            name: "n".into(),
            endpoint: "http://x".into(),
            lat: 0.0,
            lon: 0.0,
            models: vec!["m".into()],
            accelerators: BTreeMap::new(),
            tariff_yuan_per_kwh: 0.0,
            pue: 1.0,
            tariff_by_hour: Some(vec![0.0; 24]),
            utc_offset_hours: Some(8.0),
            grid_carbon_g_per_kwh: Some(1.0),
            api_key: Some(Secret::new("k")),
            heartbeats: Some(true),
        };
        let serde_json::Value::Object(mut m) = serde_json::to_value(&full).expect("json") else {
            panic!("a registration is an object");
        };
        // The key itself is never serialized; every other registration key is.
        m.insert("api_key".into(), "k".into());
        assert_eq!(
            m.len(),
            13,
            "a field was added to HubSpec: add it to Entry too"
        );
        let entry: Entry = serde_json::from_value(serde_json::Value::Object(m.clone()))
            .expect("every registration key is an entry key");
        let mut back = entry.spec();
        back.api_key = full.api_key.clone();
        assert_eq!(back, full, "Entry::spec carries every field");
        // And an entry refuses what a registration does not take.
        m.insert("heartbeat".into(), true.into());
        assert!(serde_json::from_value::<Entry>(serde_json::Value::Object(m)).is_err());
    }
}

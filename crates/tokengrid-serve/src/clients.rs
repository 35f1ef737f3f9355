//! Client API keys: who may use the OpenAI routes, which models, how fast, and where their
//! data may go.
//!
//! An admin makes a key (`POST /v1/keys`); its secret (`tg-<id>-<64 hex>`) is shown once and
//! stored as its SHA-256. Once any key exists (revoked ones count, so revoking the last key
//! does not open the door), or when `--require-client-keys` is set, the OpenAI routes and
//! `/v1/dispatch` need a key or the admin token; job submission always needs one of them.
//!
//! Rate limits are token buckets per key on each replica: a key may burst up to its
//! per-minute figure, refilled evenly (`limit / 60` per second). Tokens are counted at
//! admission as the prompt estimate plus `max_tokens`, what the request may use, as OpenAI
//! counts them; the ledger and metrics record what was used. Replicas do not share buckets:
//! with N replicas behind a balancer a key may reach N times its rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::error::ApiError;
use crate::store::KeyRow;
use crate::wire::KeySpec;

/// A client key as a replica holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClientKey {
    pub(crate) id: String,
    pub(crate) spec: KeySpec,
    pub(crate) secret_hash: String,
    pub(crate) revoked: bool,
}

impl ClientKey {
    /// From its ledger row (`None` when its grant does not parse: it then grants nothing).
    pub(crate) fn from_row(r: &KeyRow) -> Option<ClientKey> {
        let spec = serde_json::from_str(&r.spec)
            .map_err(|e| tracing::error!(key = %r.id, error = %e, "unreadable client key grant; the key is refused"))
            .ok()?;
        Some(ClientKey {
            id: r.id.clone(),
            spec,
            secret_hash: r.secret_hash.clone(),
            revoked: r.revoked_at_ms.is_some(),
        })
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// No key needed (no key exists and none is required) and none recognised.
    Anyone,
    /// The admin token: no limits.
    Admin,
    /// A client key.
    Key(Arc<ClientKey>),
}

impl Caller {
    /// The key's id, if a key called.
    pub(crate) fn key_id(&self) -> Option<&str> {
        match self {
            Caller::Key(k) => Some(&k.id),
            _ => None,
        }
    }

    /// The hubs the caller's data may go to (`None`: any).
    pub(crate) fn residency(&self) -> Option<&[String]> {
        match self {
            Caller::Key(k) => k.spec.residency.as_deref(),
            _ => None,
        }
    }

    /// 403 when the caller's key does not grant `model`.
    pub(crate) fn may_use(&self, model: &str) -> Result<(), ApiError> {
        let Caller::Key(k) = self else {
            return Ok(());
        };
        match &k.spec.models {
            Some(models) if !models.iter().any(|m| m == model) => {
                Err(ApiError::ModelNotAllowed(format!(
                    "API key \"{}\" may not use model \"{model}\" (it may use: {})",
                    k.id,
                    models.join(", ")
                )))
            }
            _ => Ok(()),
        }
    }
}

/// A token bucket: `level` units at `at_ms`, refilled at `capacity / 60 s` up to `capacity`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at_ms: i64,
}

impl Bucket {
    fn full(capacity: f64, now_ms: i64) -> Self {
        Bucket {
            level: capacity,
            at_ms: now_ms,
        }
    }

    /// The level at `now_ms`.
    fn level(&self, capacity: f64, now_ms: i64) -> f64 {
        let elapsed_s = (now_ms - self.at_ms).max(0) as f64 / 1e3;
        (self.level + elapsed_s * capacity / 60.0).min(capacity)
    }

    /// Seconds until `need` units are there (0 when they are).
    fn wait_s(&self, capacity: f64, need: f64, now_ms: i64) -> f64 {
        let short = need - self.level(capacity, now_ms);
        if short <= 0.0 {
            0.0
        } else {
            short / (capacity / 60.0)
        }
    }

    fn take(&mut self, capacity: f64, n: f64, now_ms: i64) {
        self.level = self.level(capacity, now_ms) - n;
        self.at_ms = now_ms;
    }
}

/// The keys this replica knows and their buckets.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    keys: RwLock<Arc<Vec<Arc<ClientKey>>>>,
    /// Requests and tokens buckets by key id.
    buckets: Mutex<HashMap<String, (Bucket, Bucket)>>,
}

impl Clients {
    /// Replaces the known keys (from the ledger).
    pub(crate) fn set(&self, keys: Vec<ClientKey>) {
        let keys: Vec<Arc<ClientKey>> = keys.into_iter().map(Arc::new).collect();
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    /// Adds or replaces one key (made or revoked through this replica).
    pub(crate) fn upsert(&self, key: ClientKey) {
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys: Vec<Arc<ClientKey>> = guard.iter().cloned().collect();
        keys.retain(|k| k.id != key.id);
        keys.push(Arc::new(key));
        *guard = Arc::new(keys);
    }

    fn snapshot(&self) -> Arc<Vec<Arc<ClientKey>>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether any key was ever made.
    pub(crate) fn any(&self) -> bool {
        !self.snapshot().is_empty()
    }

    /// The key whose secret hashes to `hash`.
    pub(crate) fn find(&self, hash: &str) -> Option<Arc<ClientKey>> {
        self.snapshot()
            .iter()
            .find(|k| k.secret_hash == hash)
            .cloned()
    }

    /// Takes one request of `tokens` from the key's buckets at `now_ms`, or says when to try
    /// again (429); a request larger than the key's whole token rate can never pass (400).
    pub(crate) fn admit(&self, key: &ClientKey, tokens: u64, now_ms: i64) -> Result<(), ApiError> {
        let rpm = key.spec.requests_per_minute.map(f64::from);
        let tpm = key.spec.tokens_per_minute.map(|t| t as f64);
        if rpm.is_none() && tpm.is_none() {
            return Ok(());
        }
        let need = tokens as f64;
        if let Some(cap) = tpm
            && need > cap
        {
            return Err(ApiError::BadRequest(format!(
                "this request may use {tokens} tokens (prompt estimate + max_tokens), more than API key \"{}\" may use in a minute ({cap}); lower max_tokens or shorten the prompt",
                key.id
            )));
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (r, t) = buckets.entry(key.id.clone()).or_insert_with(|| {
            (
                Bucket::full(rpm.unwrap_or(0.0), now_ms),
                Bucket::full(tpm.unwrap_or(0.0), now_ms),
            )
        });
        let wait_r = rpm.map_or(0.0, |cap| r.wait_s(cap, 1.0, now_ms));
        let wait_t = tpm.map_or(0.0, |cap| t.wait_s(cap, need, now_ms));
        let wait = wait_r.max(wait_t);
        if wait > 0.0 {
            let what = if wait_r >= wait_t {
                format!("{} requests per minute", rpm.unwrap_or(0.0))
            } else {
                format!("{} tokens per minute", tpm.unwrap_or(0.0))
            };
            return Err(ApiError::RateLimited {
                message: format!(
                    "API key \"{}\" is over its rate of {what}; try again in {:.1} s",
                    key.id, wait
                ),
                // Whole seconds, rounded up (less a microsecond of floating-point noise, so
                // an exact 10 s does not read 11).
                retry_after_s: ((wait - 1e-6).ceil() as u64).max(1),
            });
        }
        if let Some(cap) = rpm {
            r.take(cap, 1.0, now_ms);
        }
        if let Some(cap) = tpm {
            t.take(cap, need, now_ms);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(rpm: Option<u32>, tpm: Option<u64>) -> ClientKey {
        ClientKey {
            id: "k1".into(),
            spec: KeySpec {
                name: "test".into(),
                models: None,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                residency: None,
            },
            secret_hash: String::new(),
            revoked: false,
        }
    }

    fn retry_after(r: Result<(), ApiError>) -> Option<u64> {
        match r {
            Err(ApiError::RateLimited { retry_after_s, .. }) => Some(retry_after_s),
            _ => None,
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        // 6 requests a minute: 6 at once, then one every 10 s.
        let c = Clients::default();
        let k = key(Some(6), None);
        for _ in 0..6 {
            assert!(c.admit(&k, 10, 0).is_ok());
        }
        // Empty: the next unit is 10 s away.
        assert_eq!(retry_after(c.admit(&k, 10, 0)), Some(10));
        assert_eq!(retry_after(c.admit(&k, 10, 9_000)), Some(1));
        assert!(c.admit(&k, 10, 10_000).is_ok());
        assert_eq!(retry_after(c.admit(&k, 10, 10_000)), Some(10));
        // A long pause refills to the burst, never beyond.
        for _ in 0..6 {
            assert!(c.admit(&k, 10, 3_600_000).is_ok());
        }
        assert!(c.admit(&k, 10, 3_600_000).is_err());
    }

    #[test]
    fn tokens_are_limited_by_what_a_request_may_use() {
        // 1,200 tokens a minute = 20 per second.
        let c = Clients::default();
        let k = key(None, Some(1_200));
        assert!(c.admit(&k, 1_000, 0).is_ok());
        // 200 left; 500 more need 300 at 20/s = 15 s.
        assert_eq!(retry_after(c.admit(&k, 500, 0)), Some(15));
        assert!(c.admit(&k, 500, 15_000).is_ok());
        // More than a minute's worth can never pass: 400, not a 429 to retry forever.
        assert!(matches!(
            c.admit(&k, 1_201, 0),
            Err(ApiError::BadRequest(_))
        ));
        // No limits: always admitted.
        let free = key(None, None);
        assert!((0..1000).all(|_| c.admit(&free, 1 << 40, 0).is_ok()));
    }
}

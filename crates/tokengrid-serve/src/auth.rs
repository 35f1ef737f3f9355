//! Bearer tokens: new ones from the operating system's generator, stored only as SHA-256
//! hashes, read from the `Authorization` header.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, header};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::error::ApiError;

/// SHA-256 of a token, hex.
pub(crate) fn hash_token(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A new random token: 32 bytes, hex.
pub(crate) fn new_token() -> String {
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

/// The bearer token of a request: 401 when absent or malformed.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let v = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized)?;
    let v = v.to_str().map_err(|_| ApiError::Unauthorized)?;
    v.strip_prefix("Bearer ")
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)
}

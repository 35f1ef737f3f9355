//! Hub credentials: a [`Secret`] that never prints, and the [`Sealer`] that keeps it encrypted
//! in the ledger.
//!
//! A hub's API key is sealed with AES-256-GCM under a key derived (SHA-256) from the
//! dispatcher's secret, [`SECRET_KEY_ENV`]; the hub's name is the associated data, so a sealed
//! key copied onto another hub's row does not open. Replicas sharing a ledger need the same
//! secret. Without one, a registration carrying a key is refused rather than stored in clear.

use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The environment variable holding the dispatcher's secret.
pub const SECRET_KEY_ENV: &str = "TOKENGRID_SECRET_KEY";

/// The shortest secret accepted, characters (e.g. `openssl rand -hex 32` gives 64).
pub const MIN_SECRET_CHARS: usize = 32;

/// A credential: deserialized from a request, never serialized, shown as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The credential itself (to send it, or seal it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a sealed credential did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Not hex, or too short to hold a nonce and a tag.
    #[error("the sealed value is malformed")]
    Malformed,
    /// Sealed under another secret, or for another hub, or altered.
    #[error(
        "the sealed value does not open with this dispatcher's {SECRET_KEY_ENV} (sealed under another secret, or altered)"
    )]
    WrongKey,
}

/// Seals and opens credentials under the dispatcher's secret.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer for `secret`; the message says what is wrong with it.
    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "{SECRET_KEY_ENV} must be at least {MIN_SECRET_CHARS} characters (it has {}); make one with `openssl rand -hex 32`",
                secret.chars().count()
            ));
        }
        let mut h = Sha256::new();
        h.update(b"tokengrid hub credentials v1\0");
        h.update(secret.as_bytes());
        Ok(Sealer {
            key: h.finalize().into(),
        })
    }

    /// From [`SECRET_KEY_ENV`]: `Ok(None)` when it is unset.
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var(SECRET_KEY_ENV) {
            Ok(s) => Sealer::new(&s).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{SECRET_KEY_ENV} must be valid UTF-8"))
            }
        }
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always valid for AES-256-GCM.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key).expect("32-byte AES-256 key"))
    }

    /// Seals `plain` for hub `hub`: hex of nonce, ciphertext and tag.
    pub fn seal(&self, hub: &str, plain: &Secret) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the operating system's random source");
        let mut buf = plain.expose().as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(hub.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM seals any input under 64 GiB");
        let mut out = String::with_capacity(2 * (NONCE_LEN + buf.len()));
        for b in nonce.iter().chain(&buf) {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Opens what [`Sealer::seal`] sealed for hub `hub`.
    pub fn open(&self, hub: &str, sealed: &str) -> Result<Secret, SealError> {
        let bytes = decode_hex(sealed).ok_or(SealError::Malformed)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealError::Malformed);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut buf = rest.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(hub.as_bytes()), &mut buf)
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain.to_vec())
            .map(Secret)
            .map_err(|_| SealError::Malformed)
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_sealed_key_opens_for_its_hub_only_and_under_its_secret_only() {
        let s = Sealer::new(SECRET).expect("secret");
        let key = Secret::new("sk-hub-key-1");
        let sealed = s.seal("gansu", &key);
        assert!(
            !sealed.contains("sk-hub"),
            "sealed text holds the key: {sealed}"
        );
        assert_eq!(s.open("gansu", &sealed), Ok(key.clone()));
        assert_eq!(s.open("ningxia", &sealed), Err(SealError::WrongKey));
        let other = Sealer::new("another secret of thirty-two chars").expect("secret");
        assert_eq!(other.open("gansu", &sealed), Err(SealError::WrongKey));
        // Two seals of one key differ (fresh nonces), and altered text does not open.
        assert_ne!(sealed, s.seal("gansu", &key));
        let mut altered = sealed.clone().into_bytes();
        altered[30] = if altered[30] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).expect("hex");
        assert_eq!(s.open("gansu", &altered), Err(SealError::WrongKey));
        assert_eq!(s.open("gansu", "zz"), Err(SealError::Malformed));
    }

    #[test]
    fn short_secrets_are_refused_and_secrets_never_print() {
        let e = Sealer::new("short").expect_err("too short");
        assert!(e.contains("at least 32 characters"), "{e}");
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{:?}", Sealer::new(SECRET).expect("secret")).contains(SECRET));
    }
}

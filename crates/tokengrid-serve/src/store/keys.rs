//! Client API keys in the ledger: created and revoked by an admin, shared by every replica.

use sqlx::Row;

use super::{Ledger, StoreError};

/// A client API key as stored (its secret only as a hash).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    /// Public id (the secret's prefix).
    pub id: String,
    /// What or whom it is for.
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Allowed models, limits and residency, JSON ([`crate::wire::KeySpec`]).
    pub spec: String,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

impl Ledger {
    /// Stores a new key.
    pub async fn insert_key(&self, k: &KeyRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO client_keys (id, name, secret_hash, spec, created_at_ms, revoked_at_ms) VALUES ($1, $2, $3, $4, $5, $6)";
        on!(self, |p| sqlx::query(sql)
            .bind(&k.id)
            .bind(&k.name)
            .bind(&k.secret_hash)
            .bind(&k.spec)
            .bind(k.created_at_ms)
            .bind(k.revoked_at_ms)
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Revokes a key (for good); `false` when there is no such key or it was revoked already.
    pub async fn revoke_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let sql =
            "UPDATE client_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(at_ms)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Every key ever made, revoked ones included, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRow>, StoreError> {
        let sql = "SELECT id, name, secret_hash, spec, created_at_ms, revoked_at_ms FROM client_keys ORDER BY created_at_ms, id";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(KeyRow {
                        id: r.try_get("id")?,
                        name: r.try_get("name")?,
                        secret_hash: r.try_get("secret_hash")?,
                        spec: r.try_get("spec")?,
                        created_at_ms: r.try_get("created_at_ms")?,
                        revoked_at_ms: r.try_get("revoked_at_ms")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }
}

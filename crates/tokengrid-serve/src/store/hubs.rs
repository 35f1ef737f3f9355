//! The hub registry in the ledger: registrations, their tokens and latest heartbeats.

use sqlx::Row;

use super::{HubRow, HubState, Ledger, StoreError};

impl Ledger {
    /// Registers a hub; `false` when the name is taken.
    pub async fn insert_hub(&self, h: &HubRow, at_ms: i64) -> Result<bool, StoreError> {
        let sql = "INSERT INTO hubs (name, spec, token_hash, registered_at_ms, last_seen_ms, api_key_sealed) VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (name) DO NOTHING";
        let done = on!(self, |p| sqlx::query(sql)
            .bind(&h.name)
            .bind(&h.spec)
            .bind(&h.token_hash)
            .bind(at_ms)
            .bind(&h.api_key_sealed)
            .execute(p)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Removes a hub's registration; `false` when there was none. Its served-request rows stay
    /// (they are history); its unfinished jobs are for the caller to requeue.
    pub async fn delete_hub(&self, name: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM hubs WHERE name = $1";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Replaces a hub's token hash (a token from `serve --config`); `false` when there is no
    /// such hub.
    pub async fn set_hub_token(&self, name: &str, token_hash: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE hubs SET token_hash = $1 WHERE name = $2";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(token_hash)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Replaces a hub's registration (its token stays); `false` when there is none.
    pub async fn update_hub_spec(&self, name: &str, spec: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE hubs SET spec = $1 WHERE name = $2";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(spec)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Replaces a hub's sealed API key (`None` removes it); `false` when there is no such hub.
    pub async fn set_hub_api_key(
        &self,
        name: &str,
        sealed: Option<&str>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE hubs SET api_key_sealed = $1 WHERE name = $2";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(sealed)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Every registered hub, by name.
    pub async fn hubs(&self) -> Result<Vec<HubRow>, StoreError> {
        let sql = "SELECT name, spec, token_hash, api_key_sealed FROM hubs ORDER BY name";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(HubRow {
                        name: r.try_get("name")?,
                        spec: r.try_get("spec")?,
                        token_hash: r.try_get("token_hash")?,
                        api_key_sealed: r.try_get("api_key_sealed")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }

    /// Every registered hub with its latest heartbeat, by name.
    pub async fn hub_states(&self) -> Result<Vec<HubState>, StoreError> {
        let sql = "SELECT name, spec, token_hash, api_key_sealed, telemetry, last_seen_ms FROM hubs ORDER BY name";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(HubState {
                        row: HubRow {
                            name: r.try_get("name")?,
                            spec: r.try_get("spec")?,
                            token_hash: r.try_get("token_hash")?,
                            api_key_sealed: r.try_get("api_key_sealed")?,
                        },
                        telemetry: r.try_get("telemetry")?,
                        last_seen_ms: r.try_get("last_seen_ms")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }

    /// Records a hub's heartbeat (its telemetry, JSON) so every replica sees it.
    pub async fn set_telemetry(
        &self,
        name: &str,
        telemetry: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE hubs SET telemetry = $1, last_seen_ms = $2 WHERE name = $3 AND last_seen_ms <= $2";
        on!(self, |p| sqlx::query(sql)
            .bind(telemetry)
            .bind(at_ms)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }
}

//! Served requests in the ledger: one row per proxied answer, written in batches.

use sqlx::Row;

use super::{Ledger, RequestRow, StoreError};

impl Ledger {
    /// Records a served request.
    pub async fn record_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        self.record_requests(std::slice::from_ref(r)).await
    }

    /// Records served requests in one transaction (one commit, one fsync, for the lot).
    pub async fn record_requests(&self, rows: &[RequestRow]) -> Result<(), StoreError> {
        let sql = "INSERT INTO requests (hub, model, prompt_tokens, output_tokens, energy_j, cost, at_ms, status, usage_reported, complete, latency_ms, client_key) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        on!(self, |p| {
            let mut tx = p.begin().await?;
            for r in rows {
                sqlx::query(sql)
                    .bind(&r.hub)
                    .bind(&r.model)
                    .bind(r.prompt_tokens)
                    .bind(r.output_tokens)
                    .bind(r.energy_j)
                    .bind(r.cost)
                    .bind(r.at_ms)
                    .bind(r.status)
                    .bind(i64::from(r.usage_reported))
                    .bind(i64::from(r.complete))
                    .bind(r.latency_ms)
                    .bind(&r.client_key)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The latest `limit` served requests, newest first.
    pub async fn requests(&self, limit: i64) -> Result<Vec<RequestRow>, StoreError> {
        let sql = "SELECT hub, model, prompt_tokens, output_tokens, energy_j, cost, at_ms, status, usage_reported, complete, latency_ms, client_key \
                   FROM requests ORDER BY id DESC LIMIT $1";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).bind(limit).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(RequestRow {
                        hub: r.try_get("hub")?,
                        model: r.try_get("model")?,
                        prompt_tokens: r.try_get("prompt_tokens")?,
                        output_tokens: r.try_get("output_tokens")?,
                        energy_j: r.try_get("energy_j")?,
                        cost: r.try_get("cost")?,
                        at_ms: r.try_get("at_ms")?,
                        status: r.try_get("status")?,
                        usage_reported: r.try_get::<i64, _>("usage_reported")? != 0,
                        complete: r.try_get::<i64, _>("complete")? != 0,
                        latency_ms: r.try_get("latency_ms")?,
                        client_key: r.try_get("client_key")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }
}

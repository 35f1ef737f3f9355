//! Served requests in the ledger: one row per proxied answer, written in batches.

use sqlx::Row;

use super::{Ledger, RequestRow, StoreError};

/// Rows per INSERT statement: 12 parameters each, so 6,000 per statement, within SQLite's
/// 32,766 and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 500;

impl Ledger {
    /// Records a served request.
    pub async fn record_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        self.record_requests(std::slice::from_ref(r)).await
    }

    /// Records served requests in one transaction (one commit, one fsync, for the lot), as
    /// multi-row inserts of up to [`ROWS_PER_INSERT`] rows (a statement per row would cost a
    /// round trip to the database, or to SQLite's worker thread, per row).
    pub async fn record_requests(&self, rows: &[RequestRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        on!(self, |p| {
            let mut tx = p.begin().await?;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO requests (hub, model, prompt_tokens, output_tokens, energy_j, cost, at_ms, status, usage_reported, complete, latency_ms, client_key) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.hub)
                        .push_bind(&r.model)
                        .push_bind(r.prompt_tokens)
                        .push_bind(r.output_tokens)
                        .push_bind(r.energy_j)
                        .push_bind(r.cost)
                        .push_bind(r.at_ms)
                        .push_bind(r.status)
                        .push_bind(i64::from(r.usage_reported))
                        .push_bind(i64::from(r.complete))
                        .push_bind(r.latency_ms)
                        .push_bind(&r.client_key);
                });
                q.build().execute(&mut *tx).await?;
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

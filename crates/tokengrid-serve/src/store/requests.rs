//! Served requests in the ledger: one row per proxied answer, written in batches.

use sqlx::Row;

use super::{Ledger, RequestRow, StoreError};

/// Most rows per INSERT statement: 12 parameters each, so 6,144 per statement, within
/// SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 512;

/// Splits `n` rows into statements of power-of-two sizes (512 at most), largest first: a batch
/// of any size then uses at most ten distinct statements, each prepared once and reused from
/// the connection's statement cache. With a statement per batch size, every batch of a new
/// size was parsed and planned again (SQLite spent more on preparing an insert than on
/// running it).
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= ROWS_PER_INSERT {
            ROWS_PER_INSERT
        } else {
            1 << n.ilog2()
        };
        n -= size;
        Some(size)
    })
}

impl Ledger {
    /// Records a served request.
    pub async fn record_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        self.record_requests(std::slice::from_ref(r)).await
    }

    /// Records served requests in one transaction (one commit, one fsync, for the lot), as
    /// multi-row inserts of up to [`ROWS_PER_INSERT`] rows (a statement per row would cost a
    /// round trip to the database, or to SQLite's worker thread, per row), in the sizes of
    /// [`chunk_sizes`].
    pub async fn record_requests(&self, rows: &[RequestRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        on!(self, |p| {
            let mut tx = p.begin().await?;
            let mut rest = rows;
            for size in chunk_sizes(rows.len()) {
                let (chunk, after) = rest.split_at(size);
                rest = after;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size is a power of two up to 512, they add up to the rows, and a batch under
    /// 1,024 rows needs at most ten statements (one per bit of its size).
    #[test]
    fn batches_split_into_reusable_statements() {
        for n in 0..3_000 {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= ROWS_PER_INSERT)
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
            if n < 1_024 {
                assert!(sizes.len() <= 10, "{n}: {sizes:?}");
            }
        }
        assert_eq!(
            chunk_sizes(250).collect::<Vec<_>>(),
            [128, 64, 32, 16, 8, 2]
        );
    }
}

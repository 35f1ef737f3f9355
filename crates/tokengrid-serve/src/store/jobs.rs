//! Jobs in the ledger: acknowledged, claimed by one replica, scheduled, handed to a hub.

use sqlx::Row;

use super::{JobRow, Ledger, StoreError};
use crate::wire::JobState;

/// Jobs from result rows of [`JOB_COLUMNS`].
fn job_rows<R: Row>(rows: Vec<R>) -> Result<Vec<JobRow>, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter().map(job_from).collect()
}

fn job_from<R: Row>(r: &R) -> Result<JobRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(JobRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        spec: r.try_get("spec")?,
        state: {
            let name: String = r.try_get("state")?;
            JobState::parse(&name).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown job state \"{name}\" in the ledger").into())
            })?
        },
        hub: r.try_get("hub")?,
        start_at_ms: r.try_get("start_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        claimed_by: r.try_get("claimed_by")?,
        attempts: r.try_get("attempts")?,
    })
}

const JOB_COLUMNS: &str =
    "id, kind, spec, state, hub, start_at_ms, created_at_ms, updated_at_ms, claimed_by, attempts";

impl Ledger {
    /// Stores a new job (durably, before it is acknowledged).
    pub async fn insert_job(&self, j: &JobRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO jobs (id, kind, spec, state, hub, start_at_ms, created_at_ms, updated_at_ms, claimed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on!(self, |p| sqlx::query(sql)
            .bind(&j.id)
            .bind(&j.kind)
            .bind(&j.spec)
            .bind(j.state.as_str())
            .bind(&j.hub)
            .bind(j.start_at_ms)
            .bind(j.created_at_ms)
            .bind(j.updated_at_ms)
            .bind(&j.claimed_by)
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The job `id`.
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        Ok(on!(
            self,
            |p| match sqlx::query(&sql).bind(id).fetch_optional(p).await? {
                Some(r) => Some(job_from(&r)?),
                None => None,
            }
        ))
    }

    /// Jobs, optionally in one state, oldest first (at most `limit`).
    pub async fn jobs(
        &self,
        state: Option<JobState>,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let sql = match state {
            Some(_) => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY created_at_ms, id LIMIT $2"
            ),
            None => format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY created_at_ms, id LIMIT $1"),
        };
        Ok(on!(self, |p| {
            let q = sqlx::query(&sql);
            let q = match state {
                Some(s) => q.bind(s.as_str()).bind(limit),
                None => q.bind(limit),
            };
            job_rows(q.fetch_all(p).await?)?
        }))
    }

    /// The row lock a subquery takes before an update: on PostgreSQL, rows another replica is
    /// updating are skipped rather than waited for; SQLite has one writer and needs none.
    fn skip_locked(&self) -> &'static str {
        match self {
            Ledger::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Ledger::Sqlite(_) => "",
        }
    }

    /// Takes up to `limit` queued jobs for replica `replica`, marking them `claimed`: each job is
    /// handed to exactly one caller, whatever the number of replicas.
    pub async fn claim_queued(
        &self,
        replica: &str,
        limit: i64,
        now_ms: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'claimed', claimed_by = $1, updated_at_ms = $2, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at_ms, id LIMIT $3{}) \
             RETURNING {JOB_COLUMNS}",
            self.skip_locked()
        );
        Ok(on!(self, |p| {
            let q = sqlx::query(&sql).bind(replica).bind(now_ms).bind(limit);
            job_rows(q.fetch_all(p).await?)?
        }))
    }

    /// Moves a job to `state`, with its hub and start time.
    pub async fn update_job(
        &self,
        id: &str,
        state: JobState,
        hub: Option<&str>,
        start_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE jobs SET state = $1, hub = $2, start_at_ms = $3, updated_at_ms = $4 WHERE id = $5";
        on!(self, |p| sqlx::query(sql)
            .bind(state.as_str())
            .bind(hub)
            .bind(start_at_ms)
            .bind(now_ms)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Settles a job claimed by `replica`: moves it to `state` (with its hub and start) only if
    /// it is still that replica's claim; `false` when the claim was lost (it outlived its lease
    /// and went back to the queue).
    #[allow(clippy::too_many_arguments)]
    pub async fn settle_claim(
        &self,
        id: &str,
        replica: &str,
        state: JobState,
        hub: Option<&str>,
        start_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET state = $1, hub = $2, start_at_ms = $3, updated_at_ms = $4 \
                   WHERE id = $5 AND state = 'claimed' AND claimed_by = $6";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(state.as_str())
            .bind(hub)
            .bind(start_at_ms)
            .bind(now_ms)
            .bind(id)
            .bind(replica)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Puts back in the queue jobs claimed before `claimed_before_ms` and never settled (their
    /// replica died or stalled). Returns how many.
    pub async fn requeue_stale_claims(
        &self,
        claimed_before_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let sql = "UPDATE jobs SET state = 'queued', claimed_by = NULL, updated_at_ms = $1 \
                   WHERE state = 'claimed' AND updated_at_ms < $2";
        Ok(on!(self, |p| sqlx::query(sql)
            .bind(now_ms)
            .bind(claimed_before_ms)
            .execute(p)
            .await?
            .rows_affected()))
    }

    /// Hands hub `hub` its jobs that are due by `now_ms` (up to `limit`): each moves from
    /// `scheduled` to `dispatched` and is returned to exactly one caller, however many
    /// dispatcher replicas the hub asks at once.
    pub async fn take_due(
        &self,
        hub: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'dispatched', updated_at_ms = $1 WHERE id IN \
             (SELECT id FROM jobs WHERE state = 'scheduled' AND hub = $2 AND start_at_ms <= $1 \
             ORDER BY start_at_ms, id LIMIT $3{}) AND state = 'scheduled' RETURNING {JOB_COLUMNS}",
            self.skip_locked()
        );
        Ok(on!(self, |p| {
            let q = sqlx::query(&sql).bind(now_ms).bind(hub).bind(limit);
            job_rows(q.fetch_all(p).await?)?
        }))
    }

    /// Ends a dispatched job at hub `hub` as `done` or `failed`; `false` when the job is not
    /// dispatched to that hub.
    pub async fn finish_job(
        &self,
        id: &str,
        hub: &str,
        state: JobState,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET state = $1, updated_at_ms = $2 WHERE id = $3 AND hub = $4 AND state = 'dispatched'";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(state.as_str())
            .bind(now_ms)
            .bind(id)
            .bind(hub)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// The unfinished jobs (scheduled or dispatched) of hub `hub`.
    pub async fn unfinished_at(&self, hub: &str) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE hub = $1 AND state IN ('scheduled', 'dispatched') ORDER BY created_at_ms, id"
        );
        Ok(on!(self, |p| {
            job_rows(sqlx::query(&sql).bind(hub).fetch_all(p).await?)?
        }))
    }

    /// Puts a job that is `scheduled` or `dispatched` at `hub` back in the queue; `false` when
    /// it is no longer there (another replica moved it, or it finished).
    pub async fn requeue(&self, id: &str, hub: &str, now_ms: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET state = 'queued', hub = NULL, start_at_ms = NULL, updated_at_ms = $1 \
                   WHERE id = $2 AND hub = $3 AND state IN ('scheduled', 'dispatched')";
        let n = on!(self, |p| sqlx::query(sql)
            .bind(now_ms)
            .bind(id)
            .bind(hub)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }
}

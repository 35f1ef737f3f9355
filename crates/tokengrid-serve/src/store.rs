//! The durable ledger: hubs, jobs and served requests, in SQLite (one file, WAL, default) or
//! PostgreSQL (shared by several dispatcher replicas). Migrations live in `migrations/`.
//!
//! A job is written (and, for SQLite, fsynced: `synchronous = FULL`) before the API acknowledges
//! it. Replicas take queued jobs with [`Ledger::claim_queued`], which hands each job to exactly
//! one caller (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer).

use std::str::FromStr;

use serde::Serialize;

use crate::wire::JobState;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Why the ledger failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is neither sqlite: nor postgres:.
    #[error("database URL must start with sqlite:// or postgres://, got \"{0}\"")]
    Url(String),
    /// The database said no.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The longest a request waits for a PostgreSQL connection: in an outage it fails fast.
pub const LEDGER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    /// Id.
    pub id: String,
    /// "batch" or "training".
    pub kind: String,
    /// The submitted job, JSON.
    #[serde(skip)]
    pub spec: String,
    /// Where it is in its life.
    pub state: JobState,
    /// The hub it goes to, once scheduled.
    pub hub: Option<String>,
    /// When it starts, ms since the Unix epoch.
    pub start_at_ms: Option<i64>,
    /// When it was acknowledged, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_at_ms: i64,
    /// The replica that took it from the queue.
    pub claimed_by: Option<String>,
    /// Times it was taken from the queue (more than one after a hub left rotation).
    pub attempts: i64,
}

/// A served (proxied) request as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRow {
    /// The hub that answered.
    pub hub: String,
    /// Model.
    pub model: String,
    /// Prompt tokens (from the response's usage, else estimated from the request).
    pub prompt_tokens: i64,
    /// Output tokens (from the response's usage, else 0).
    pub output_tokens: i64,
    /// Facility energy attributed by the energy model, J.
    pub energy_j: f64,
    /// Electricity cost attributed, yuan.
    pub cost: f64,
    /// When the response ended, ms since the Unix epoch.
    pub at_ms: i64,
    /// The hub's HTTP status.
    pub status: i64,
    /// Whether the hub reported usage (else the token counts are estimates).
    pub usage_reported: bool,
    /// Whether the body reached its end (else the hub or the client broke off).
    pub complete: bool,
    /// From arrival to the end of the response, ms.
    pub latency_ms: f64,
}

/// A registered hub as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HubRow {
    /// Name.
    pub name: String,
    /// Registration, JSON.
    pub spec: String,
    /// SHA-256 of its token, hex.
    pub token_hash: String,
}

/// A hub as stored, with its latest heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct HubState {
    /// Its registration.
    pub row: HubRow,
    /// Its latest telemetry, JSON (`None` before the first).
    pub telemetry: Option<String>,
    /// When it was last heard from (registration or telemetry), ms since the Unix epoch.
    pub last_seen_ms: i64,
}

/// The ledger.
#[derive(Debug, Clone)]
pub enum Ledger {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

macro_rules! on {
    ($self:expr, |$pool:ident| $body:expr) => {
        match $self {
            Ledger::Sqlite($pool) => $body,
            Ledger::Postgres($pool) => $body,
        }
    };
}

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
    /// Opens (creating and migrating) the ledger at `url`: `sqlite://FILE` or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Ledger, StoreError> {
        Self::connect_in_schema(url, None).await
    }

    /// As [`Ledger::connect`]; on PostgreSQL, inside `schema` (created if absent), so tests and
    /// deployments can share one database.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Ledger, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(std::time::Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Ok(Ledger::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut opts = PgConnectOptions::from_str(url)?;
            if let Some(schema) = schema {
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts.clone())
                    .await?;
                sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .execute(&admin)
                    .await?;
                admin.close().await;
                opts = opts.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(LEDGER_WAIT)
                .connect_with(opts)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Ok(Ledger::Postgres(pool))
        } else {
            Err(StoreError::Url(url.to_owned()))
        }
    }

    /// Whether the ledger answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Closes the ledger's connections (at shutdown; in tests, an outage).
    pub async fn close(&self) {
        on!(self, |p| p.close().await);
    }

    /// Registers a hub; `false` when the name is taken.
    pub async fn insert_hub(&self, h: &HubRow, at_ms: i64) -> Result<bool, StoreError> {
        let sql = "INSERT INTO hubs (name, spec, token_hash, registered_at_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING";
        let done = on!(self, |p| sqlx::query(sql)
            .bind(&h.name)
            .bind(&h.spec)
            .bind(&h.token_hash)
            .bind(at_ms)
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

    /// Every registered hub, by name.
    pub async fn hubs(&self) -> Result<Vec<HubRow>, StoreError> {
        let sql = "SELECT name, spec, token_hash FROM hubs ORDER BY name";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(HubRow {
                        name: r.try_get("name")?,
                        spec: r.try_get("spec")?,
                        token_hash: r.try_get("token_hash")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }

    /// Every registered hub with its latest heartbeat, by name.
    pub async fn hub_states(&self) -> Result<Vec<HubState>, StoreError> {
        let sql = "SELECT name, spec, token_hash, telemetry, last_seen_ms FROM hubs ORDER BY name";
        Ok(on!(self, |p| {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(HubState {
                        row: HubRow {
                            name: r.try_get("name")?,
                            spec: r.try_get("spec")?,
                            token_hash: r.try_get("token_hash")?,
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

    /// Records a served request.
    pub async fn record_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        self.record_requests(std::slice::from_ref(r)).await
    }

    /// Records served requests in one transaction (one commit, one fsync, for the lot).
    pub async fn record_requests(&self, rows: &[RequestRow]) -> Result<(), StoreError> {
        let sql = "INSERT INTO requests (hub, model, prompt_tokens, output_tokens, energy_j, cost, at_ms, status, usage_reported, complete, latency_ms) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
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
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The latest `limit` served requests, newest first.
    pub async fn requests(&self, limit: i64) -> Result<Vec<RequestRow>, StoreError> {
        let sql = "SELECT hub, model, prompt_tokens, output_tokens, energy_j, cost, at_ms, status, usage_reported, complete, latency_ms \
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
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }
}

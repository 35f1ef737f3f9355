//! The durable ledger: hubs, jobs and served requests, in SQLite (one file, WAL, default) or
//! PostgreSQL (shared by several dispatcher replicas). Migrations live in `migrations/`.
//!
//! A job is written (and, for SQLite, fsynced: `synchronous = FULL`) before the API acknowledges
//! it. Replicas take queued jobs with [`Ledger::claim_queued`], which hands each job to exactly
//! one caller (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer).

use std::str::FromStr;

use serde::Serialize;

use crate::wire::JobState;
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

/// The longest a request waits for the SQLite ledger's one connection.
pub const SQLITE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// The client key's id, when the request came with one.
    pub client_key: Option<String>,
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
    /// Its API key sealed under the dispatcher's secret ([`crate::secrets::Sealer`]).
    pub api_key_sealed: Option<String>,
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

mod hubs;
mod jobs;
mod keys;
mod requests;

pub use keys::KeyRow;

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
            // One connection owns the file: writes (served rows, jobs, heartbeats) take turns
            // in this process instead of meeting as SQLITE_BUSY ("database is locked"); a
            // write waits its turn for at most SQLITE_WAIT, then the caller answers 503.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(SQLITE_WAIT)
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
}

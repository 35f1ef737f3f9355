//! `tokengrid serve`: the live dispatcher.

use crate::{Failure, ServeArgs};

/// The shortest admin token `serve` accepts: 16 characters (a 64-bit secret as hex), so the
/// token that may register hubs cannot be guessed by trying.
const MIN_ADMIN_TOKEN_CHARS: usize = 16;

pub(crate) fn serve(a: ServeArgs) -> Result<(), Failure> {
    let Some(admin) = a.admin_token.filter(|t| !t.is_empty()) else {
        return Err(Failure::Input(
            "error: serve needs an admin token\n  help: pass --admin-token or set TOKENGRID_ADMIN_TOKEN".into(),
        ));
    };
    if admin.chars().count() < MIN_ADMIN_TOKEN_CHARS {
        return Err(Failure::Input(format!(
            "error: the admin token has {} characters; at least {MIN_ADMIN_TOKEN_CHARS} are needed\n  help: generate one, e.g. TOKENGRID_ADMIN_TOKEN=$(openssl rand -hex 16)",
            admin.chars().count()
        )));
    }
    tokengrid_sched::Policy::named(&a.policy).map_err(|e| Failure::Input(format!("error: {e}")))?;
    if a.max_connections == 0 || a.header_read_timeout.is_zero() {
        return Err(Failure::Input(
            "error: --max-connections and --header-read-timeout must be greater than zero".into(),
        ));
    }
    // The secret that seals hub API keys in the ledger: optional, but when given it must be
    // strong (it is read from the environment only, never from a flag that `ps` would show).
    let sealer = tokengrid_serve::secrets::Sealer::from_env()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    // Declared hubs are read and checked before anything starts: every problem, located.
    let declared = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Input(format!(
                    "error: cannot read --config {}: {e}",
                    path.display()
                ))
            })?;
            let file = path.display().to_string();
            let env = |var: &str| std::env::var(var).ok();
            Some(
                tokengrid_serve::config_file::parse(&text, &file, env, sealer.is_some())
                    .map_err(|d| Failure::Input(format!("error: {d}")))?,
            )
        }
        None => None,
    };
    // Checked here too so a bad CA file is an input error (exit 2), not a startup failure.
    tokengrid_serve::proxy::tls_config(a.hub_ca_file.as_deref())
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Internal(e.into()))?;
    // The URL may hold the database password: only its redacted form is ever shown.
    let db_shown = tokengrid_serve::redact::redact_url(&a.db);
    rt.block_on(async move {
        let ledger = tokengrid_serve::store::Ledger::connect(&a.db)
            .await
            .map_err(|e| {
                let e = e.to_string().replace(&a.db, &db_shown);
                Failure::Input(format!("error: cannot open the ledger {db_shown}: {e}"))
            })?;
        let mut config = tokengrid_serve::Config::new(&admin, &a.policy);
        config.heartbeat_timeout = a.heartbeat_timeout;
        config.first_byte_timeout = a.first_byte_timeout;
        config.stream_idle_timeout = a.stream_idle_timeout;
        config.sealer = sealer;
        config.hub_ca_file = a.hub_ca_file.clone();
        config.require_client_keys = a.require_client_keys;
        config.billing_grade = a.billing_grade;
        config.limits = tokengrid_serve::server::Limits {
            max_connections: a.max_connections,
            header_read_timeout: a.header_read_timeout,
        };
        if let Some(o) = a.origin {
            config.origin = o;
        }
        let state = tokengrid_serve::AppState::new(ledger, config)
            .await
            .map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
        if let Some(hubs) = declared {
            let n = hubs.len();
            let added = tokengrid_serve::config_file::apply(&state, hubs)
                .await
                .map_err(|e| Failure::Internal(anyhow::anyhow!("applying --config: {e}")))?;
            tracing::info!(declared = n, added, "hubs from the config file");
        }
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| Failure::Input(format!("error: cannot listen on {}: {e}", a.listen)))?;
        tracing::info!(listen = %a.listen, db = %db_shown, policy = %a.policy, "tokengrid dispatcher up");
        let served = tokengrid_serve::run(listener, state, shutdown())
            .await
            .map_err(|e| Failure::Internal(e.into()));
        tracing::info!("stopped");
        served
    })
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before the server stops.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

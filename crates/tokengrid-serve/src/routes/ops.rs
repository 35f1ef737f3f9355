//! For operators: metrics, the status page.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use tokengrid_core::markup::esc;

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /readyz`: 200 when the ledger answers within a second, else 503 (the dispatcher still
/// proxies, but cannot take jobs or record what it serves); `/healthz` says only that the
/// process is up.
pub(super) async fn ready(State(st): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    match tokio::time::timeout(std::time::Duration::from_secs(1), st.ledger.ping()).await {
        Ok(Ok(())) => Ok("ready\n"),
        Ok(Err(e)) => Err(match ApiError::from(e) {
            ApiError::Internal(m) => ApiError::LedgerUnavailable(m),
            other => other,
        }),
        Err(_) => Err(ApiError::LedgerUnavailable("no answer within 1 s".into())),
    }
}

pub(super) async fn metrics(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let mut out = String::new();
    st.metrics.render(&mut out, &st.config.policy);
    out.push_str("# HELP tokengrid_jobs_acknowledged_total Jobs written to the ledger and acknowledged.\n# TYPE tokengrid_jobs_acknowledged_total counter\n");
    let _ = writeln!(
        out,
        "tokengrid_jobs_acknowledged_total {}",
        st.jobs_acknowledged.load(Ordering::Relaxed)
    );
    let w = &st.writer;
    let _ = write!(
        out,
        "# HELP tokengrid_ledger_rows_pending Served-request rows waiting for the ledger.\n# TYPE tokengrid_ledger_rows_pending gauge\ntokengrid_ledger_rows_pending {}\n\
         # HELP tokengrid_ledger_rows_dropped_total Served-request rows dropped because the ledger was unavailable too long.\n# TYPE tokengrid_ledger_rows_dropped_total counter\ntokengrid_ledger_rows_dropped_total {}\n\
         # HELP tokengrid_ledger_write_failures_total Batches of served-request rows the ledger refused (each retried).\n# TYPE tokengrid_ledger_write_failures_total counter\ntokengrid_ledger_write_failures_total {}\n",
        w.pending.load(Ordering::Relaxed),
        w.dropped.load(Ordering::Relaxed),
        w.failures.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP tokengrid_hub_up Whether a hub is in rotation.\n# TYPE tokengrid_hub_up gauge\n",
    );
    // In rotation as decisions see it: heard from, and not resting after failures.
    for (name, up) in st.view().rotation() {
        let _ = writeln!(out, "tokengrid_hub_up{{hub=\"{name}\"}} {}", u8::from(up));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub(super) async fn status_page(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><title>tokengrid</title></head><body><h1>tokengrid dispatcher</h1>",
    );
    let _ = write!(
        out,
        "<p>policy {}, replica {}</p><table><tr><th>hub</th><th>up</th><th>models</th><th>tariff</th></tr>",
        esc(&st.config.policy),
        esc(&st.replica)
    );
    for h in st.registry().hubs.iter() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&h.spec.name),
            h.is_up(st.config.heartbeat_timeout, st.now_ms()),
            esc(&h.spec.models.join(", ")),
            h.spec.tariff_yuan_per_kwh
        );
    }
    out.push_str("</table><h2>Recent decisions</h2><ul>");
    for d in st
        .recent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = write!(out, "<li>{}</li>", esc(&d.to_string()));
    }
    out.push_str("</ul></body></html>");
    Html(out)
}

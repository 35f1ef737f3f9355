//! `GET /openapi.json`: the HTTP API as an OpenAPI 3.1 document, generated from [`ROUTES`]. A
//! test reads the router's `.route(...)` calls and checks that they and this table name the
//! same methods and paths, so the document cannot drift from what is served.

use axum::Json;
use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// Anyone.
    Open,
    /// The admin token.
    Admin,
    /// The hub's own token (from its registration).
    Hub,
    /// A client API key or the admin token, once any key exists or `--require-client-keys`.
    Client,
    /// A client API key or the admin token, always.
    ClientAlways,
}

/// One route: method, path, what it does, who may call it, its body (a type in `wire`) and
/// its success status.
#[derive(Debug)]
struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<&'static str>,
    ok: u16,
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<&'static str>,
    ok: u16,
) -> Route {
    Route {
        method,
        path,
        summary,
        auth,
        body,
        ok,
    }
}

/// Every route the dispatcher serves.
const ROUTES: &[Route] = &[
    route(
        "get",
        "/",
        "Status page (HTML): hubs, recent decisions",
        Auth::Open,
        None,
        200,
    ),
    route(
        "get",
        "/healthz",
        "The process is up",
        Auth::Open,
        None,
        200,
    ),
    route(
        "get",
        "/readyz",
        "The ledger answers (503 ledger_unavailable otherwise)",
        Auth::Open,
        None,
        200,
    ),
    route(
        "get",
        "/metrics",
        "Prometheus metrics",
        Auth::Open,
        None,
        200,
    ),
    route(
        "get",
        "/openapi.json",
        "This document",
        Auth::Open,
        None,
        200,
    ),
    route(
        "post",
        "/v1/hubs",
        "Register a hub; answers its token, shown once",
        Auth::Admin,
        Some("HubSpec"),
        201,
    ),
    route(
        "get",
        "/v1/hubs",
        "Registered hubs and whether each is in rotation",
        Auth::Open,
        None,
        200,
    ),
    route(
        "patch",
        "/v1/hubs/{name}",
        "Change a registration (fields to change; null clears)",
        Auth::Admin,
        Some("HubSpec (partial)"),
        200,
    ),
    route(
        "delete",
        "/v1/hubs/{name}",
        "Remove a hub; its unfinished jobs go back to the queue",
        Auth::Admin,
        None,
        204,
    ),
    route(
        "put",
        "/v1/hubs/{name}/telemetry",
        "A hub's heartbeat",
        Auth::Hub,
        Some("Telemetry"),
        204,
    ),
    route(
        "post",
        "/v1/hubs/{name}/jobs/take",
        "A hub takes the jobs due at it",
        Auth::Hub,
        None,
        200,
    ),
    route(
        "post",
        "/v1/dispatch",
        "The policy's decision for an inference request, explained",
        Auth::Client,
        Some("DispatchRequest"),
        200,
    ),
    route(
        "post",
        "/v1/jobs",
        "Submit a batch or training job (durable before acknowledged)",
        Auth::ClientAlways,
        Some("JobRequest"),
        201,
    ),
    route(
        "get",
        "/v1/jobs",
        "Jobs, newest first (?state=, ?limit=)",
        Auth::Open,
        None,
        200,
    ),
    route("get", "/v1/jobs/{id}", "One job", Auth::Open, None, 200),
    route(
        "put",
        "/v1/jobs/{id}/state",
        "The hub running a job reports it done or failed",
        Auth::Hub,
        Some("JobStateBody"),
        204,
    ),
    route(
        "get",
        "/v1/models",
        "Models the hubs in rotation serve (OpenAI list shape)",
        Auth::Client,
        None,
        200,
    ),
    route(
        "post",
        "/v1/keys",
        "Make a client API key; answers its secret, shown once",
        Auth::Admin,
        Some("KeySpec"),
        201,
    ),
    route(
        "get",
        "/v1/keys",
        "Client API keys (never their secrets)",
        Auth::Admin,
        None,
        200,
    ),
    route(
        "delete",
        "/v1/keys/{id}",
        "Revoke a client API key",
        Auth::Admin,
        None,
        204,
    ),
    route(
        "post",
        "/v1/chat/completions",
        "OpenAI chat completions, decided and forwarded to a hub",
        Auth::Client,
        Some("OpenAI chat completion request"),
        200,
    ),
    route(
        "post",
        "/v1/completions",
        "OpenAI completions, decided and forwarded to a hub",
        Auth::Client,
        Some("OpenAI completion request"),
        200,
    ),
];

/// The OpenAPI document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let mut op = json!({
            "summary": r.summary,
            "responses": {
                r.ok.to_string(): { "description": "success" },
                "default": {
                    "description": "an error: {code, message}, or OpenAI's {error: {message, type, code, param}} on the OpenAI routes",
                }
            }
        });
        let security = match r.auth {
            Auth::Open => None,
            Auth::Admin => Some(("admin", "the admin token")),
            Auth::Hub => Some(("hub", "the hub's token")),
            Auth::Client => Some((
                "client",
                "a client API key or the admin token, once any key exists",
            )),
            Auth::ClientAlways => Some(("client", "a client API key or the admin token")),
        };
        if let Some((scheme, who)) = security {
            op["security"] = json!([{ scheme: [] }]);
            op["description"] = json!(format!("Authorization: Bearer, {who}."));
        }
        if let Some(body) = r.body {
            op["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": { "application/json": { "schema": { "type": "object" } } }
            });
        }
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method] = op;
    }
    let bearer = |who: &str| json!({ "type": "http", "scheme": "bearer", "description": who });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tokengrid dispatcher",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The live dispatcher of tokengrid: hub registry, telemetry, dispatch decisions, an OpenAI-compatible front door, client keys, and a durable job ledger. README.md's \"Live dispatcher\" section is the contract.",
        },
        "paths": paths,
        "components": { "securitySchemes": {
            "admin": bearer("the admin token (TOKENGRID_ADMIN_TOKEN)"),
            "hub": bearer("a hub's token, answered at its registration"),
            "client": bearer("a client API key (POST /v1/keys) or the admin token"),
        }}
    })
}

pub(super) async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The (method, path) pairs of the router's `.route("PATH", get(..).post(..))` calls.
    fn routed(source: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (start, _) in source.match_indices(".route(\"") {
            let rest = &source[start + 8..];
            let Some(end) = rest.find('"') else { continue };
            let path = &rest[..end];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let mut call = String::new();
            for c in rest[end..].chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                call.push(c);
            }
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = call.match_indices(&format!("{m}(")).any(|(i, _)| {
                    i == 0 || !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if called {
                    out.insert((m.to_owned(), path.to_owned()));
                }
            }
        }
        out
    }

    #[test]
    fn the_document_names_every_route_the_router_serves_and_no_other() {
        let served = routed(include_str!("mod.rs"));
        assert!(
            served.len() > 15,
            "the parser found too few routes: {served:?}"
        );
        let documented: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(served, documented);
        let doc = document();
        for r in ROUTES {
            assert!(
                doc["paths"][r.path][r.method].is_object(),
                "{} {}",
                r.method,
                r.path
            );
        }
        assert_eq!(
            doc["paths"]["/v1/hubs/{name}"]["delete"]["parameters"][0]["name"],
            "name"
        );
    }
}

//! The API's errors: one table of HTTP status and stable code, and the body limits they name.
//! Internal details are logged, never sent to the client.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::wire::{ErrorBody, OpenAiErrorBody, OpenAiErrorDetail};

/// What a 503 tells the client to wait before retrying, s: hubs report every second and the
/// registry is refreshed as often, so a second later the answer may differ.
pub const RETRY_AFTER_S: u32 = 1;

/// Largest request body accepted, bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest OpenAI request body the proxy accepts, bytes: long-context prompts (a 128 k-token
/// context is about 0.5 MB of text) with room to spare.
pub const PROXY_BODY_LIMIT: usize = 8 << 20;

/// The API's errors: one table of status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input.
    #[error("{0}")]
    BadRequest(String),
    /// No or malformed credentials.
    #[error("missing or malformed bearer token")]
    Unauthorized,
    /// Credentials that do not grant this.
    #[error("this token may not do that")]
    Forbidden,
    /// A client API key that is needed, unknown or revoked (OpenAI's `invalid_api_key`).
    #[error("{0}")]
    InvalidApiKey(String),
    /// A client key that does not grant this model.
    #[error("{0}")]
    ModelNotAllowed(String),
    /// A client key over its rate: try again after `retry_after_s`.
    #[error("{message}")]
    RateLimited {
        /// What was exceeded.
        message: String,
        /// When to try again, s.
        retry_after_s: u64,
    },
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// Already exists, or not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// A body over [`BODY_LIMIT`] ([`PROXY_BODY_LIMIT`] for the OpenAI routes).
    #[error(
        "request body too large (limits: {BODY_LIMIT} bytes, {PROXY_BODY_LIMIT} for the OpenAI routes)"
    )]
    TooLarge,
    /// No hub can take the work now.
    #[error("{0}")]
    Unavailable(String),
    /// Every hub tried failed.
    #[error("{0}")]
    BadGateway(String),
    /// The ledger cannot be reached or is busy: nothing was written; try again.
    #[error("the ledger is unavailable now ({0}); nothing was written, try again")]
    LedgerUnavailable(String),
    /// Our fault (details logged, not sent).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status it answers with.
    pub(crate) fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::InvalidApiKey(_) => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
            ApiError::ModelNotAllowed(_) => (StatusCode::FORBIDDEN, "model_not_allowed"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_hub"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "hub_failed"),
            ApiError::LedgerUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            code,
            message: self.to_string(),
        };
        with_headers(&self, (status, Json(body)).into_response())
    }
}

/// A 503 or 429 says when to try again; a 413 that the connection closes after (its body is
/// left unread) says so, so a client does not send its next request on it.
fn with_headers(e: &ApiError, mut r: Response) -> Response {
    if matches!(e, ApiError::TooLarge) {
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    let after = match e {
        ApiError::RateLimited { retry_after_s, .. } => Some(*retry_after_s),
        _ if e.status() == StatusCode::SERVICE_UNAVAILABLE => Some(u64::from(RETRY_AFTER_S)),
        _ => None,
    };
    if let Some(s) = after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
    }
    r
}

/// An [`ApiError`] on the OpenAI routes, in OpenAI's shape:
/// `{"error": {"message", "type", "code", "param"}}` (the code is the error table's), so
/// OpenAI's SDKs fill in `e.type` and `e.code`.
#[derive(Debug)]
pub struct OpenAiError(pub ApiError);

impl From<ApiError> for OpenAiError {
    fn from(e: ApiError) -> Self {
        OpenAiError(e)
    }
}

impl From<BytesRejection> for OpenAiError {
    fn from(e: BytesRejection) -> Self {
        OpenAiError(e.into())
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let (status, code) = self.0.parts();
        if let ApiError::Internal(detail) = &self.0 {
            tracing::error!(%detail, "internal error");
        }
        // OpenAI's error types by status.
        let kind = match status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY => "api_error",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request_error",
        };
        let body = OpenAiErrorBody {
            error: OpenAiErrorDetail {
                message: self.0.to_string(),
                kind,
                code,
                param: None,
            },
        };
        with_headers(&self.0, (status, Json(body)).into_response())
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// An outage (no connection within the wait, a closed pool, a broken connection) or a busy
    /// SQLite file is the ledger being unavailable (503, retry); anything else is ours (500).
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match &e {
            StoreError::Db(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => ApiError::LedgerUnavailable(e.to_string()),
            StoreError::Db(sqlx::Error::Database(d))
                if d.message().contains("database is locked") =>
            {
                ApiError::LedgerUnavailable(e.to_string())
            }
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(format!("unreadable body: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(format!("invalid query: {}", e.body_text()))
    }
}

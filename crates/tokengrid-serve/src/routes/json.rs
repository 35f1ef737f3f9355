//! JSON in and out of the hot routes without the general path's overhead.
//!
//! axum's `Json` extractor reads through `serde_path_to_error` (for a located message when the
//! body is wrong) and its response writes through a `BytesMut` writer a few bytes at a time;
//! on `POST /v1/dispatch` the two took about 4,500 and 11,800 of a request's 56,300
//! instructions (callgrind, 20,000 requests). [`FastJson`] parses a well-formed body directly
//! and hands any other body to axum's extractor, so every rejection (its status and its located
//! message) is exactly axum's; [`json_body`] answers a body already written.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON request body, as `axum::Json` reads it, faster when it is well formed.
pub(crate) struct FastJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FastJson<T> {
    type Rejection = JsonRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let plain_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.get(..16)
                    .is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
                    && matches!(v.as_bytes().get(16), None | Some(b';' | b' '))
            });
        if !plain_json {
            // Other content types (and their rejections) exactly as axum decides.
            let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
            return Ok(FastJson(v));
        }
        let bytes = Bytes::from_request(req, state).await?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(FastJson(v)),
            // The located message of axum's own parse.
            Err(_) => axum::Json::<T>::from_bytes(&bytes).map(|axum::Json(v)| FastJson(v)),
        }
    }
}

/// A JSON body already written (the dispatch answer's [`DispatchAnswer::to_json`]), as a 200
/// `application/json` response.
///
/// [`DispatchAnswer::to_json`]: crate::wire::DispatchAnswer::to_json
pub(crate) fn json_body(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Q {
        model: String,
        n: u32,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut b = Request::builder().method("POST").uri("/");
        if let Some(t) = content_type {
            b = b.header(header::CONTENT_TYPE, t);
        }
        b.body(Body::from(body.to_owned())).expect("request")
    }

    /// Every body, well formed or not, gets what axum's own `Json` extractor gives: the same
    /// value, or a rejection with the same status and the same located message.
    #[tokio::test]
    async fn fast_json_answers_as_axum_json_does() {
        let cases = [
            (Some("application/json"), r#"{"model":"m","n":3}"#),
            (
                Some("Application/JSON; charset=utf-8"),
                r#"{"model":"m","n":3}"#,
            ),
            (Some("application/vnd.api+json"), r#"{"model":"m","n":3}"#),
            (Some("application/jsonx"), r#"{"model":"m","n":3}"#),
            (Some("text/plain"), r#"{"model":"m","n":3}"#),
            (None, r#"{"model":"m","n":3}"#),
            (Some("application/json"), r#"{"model":1,"n":3}"#),
            (Some("application/json"), r#"{"model":"m""#),
            (Some("application/json"), ""),
            (Some("application/json"), r#"{"model":"m","n":-1}"#),
        ];
        for (ct, body) in cases {
            let fast = FastJson::<Q>::from_request(request(ct, body), &()).await;
            let axum = axum::Json::<Q>::from_request(request(ct, body), &()).await;
            match (fast, axum) {
                (Ok(FastJson(a)), Ok(axum::Json(b))) => assert_eq!(a, b, "{ct:?} {body}"),
                (Err(a), Err(b)) => {
                    assert_eq!(a.status(), b.status(), "{ct:?} {body}");
                    assert_eq!(a.body_text(), b.body_text(), "{ct:?} {body}");
                }
                (a, b) => panic!(
                    "{ct:?} {body}: fast {:?}, axum {:?}",
                    a.map(|FastJson(v)| v),
                    b.map(|axum::Json(v)| v)
                ),
            }
        }
    }

    /// The body goes out as it is, as `application/json`.
    #[tokio::test]
    async fn json_bodies_go_out_as_they_are() {
        let body = br#"{"hub":"gansu","score":100.25}"#.to_vec();
        let resp = json_body(body.clone());
        assert_eq!(resp.status(), axum::http::StatusCode::OK);
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/json"))
        );
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        assert_eq!(bytes.as_ref(), body.as_slice());
    }
}

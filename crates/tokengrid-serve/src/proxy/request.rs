//! What the proxy reads from a request: the OpenAI body's model and size, the client's
//! location and SLOs from headers, and how long a hub may take to answer it.

use axum::http::HeaderMap;
use serde_json::Value;

use crate::error::ApiError;
use crate::upstream::Api;

/// Output tokens assumed for a request that sets no `max_tokens` (the Azure conversation
/// trace's mean of 211 generated tokens, data/llm_traces/SOURCE.md, rounded up).
pub const DEFAULT_OUTPUT_TOKENS: u32 = 256;

/// Characters per token for estimating a prompt's size before a tokenizer has seen it (the
/// usual rule of thumb for English text with BPE tokenizers; an assumption).
pub const CHARS_PER_TOKEN: usize = 4;

/// What the proxy needs from an OpenAI request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// `model`.
    pub model: String,
    /// Estimated prompt tokens.
    pub prompt_tokens: u32,
    /// `max_tokens` (or `max_completion_tokens`), else [`DEFAULT_OUTPUT_TOKENS`].
    pub output_tokens: u32,
    /// `stream`.
    pub stream: bool,
}

fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(text_len).sum(),
        Value::Object(o) => o.get("text").or(o.get("content")).map_or(0, text_len),
        _ => 0,
    }
}

/// Checks an OpenAI request body and estimates its size. Errors say what is wrong.
pub fn parse(api: Api, body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let Some(o) = v.as_object() else {
        return Err("the body must be a JSON object".into());
    };
    let model = match o.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err("\"model\" must be a non-empty string".into()),
        None => return Err("missing \"model\"".into()),
    };
    let chars = match api {
        Api::Chat => match o.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => {
                if let Some(bad) = m.iter().position(|x| !x.is_object()) {
                    return Err(format!("\"messages\"[{bad}] must be an object"));
                }
                m.iter().map(|x| x.get("content").map_or(0, text_len)).sum()
            }
            Some(_) => return Err("\"messages\" must be a non-empty array".into()),
            None => return Err("missing \"messages\"".into()),
        },
        Api::Completions => match o.get("prompt") {
            Some(p @ (Value::String(_) | Value::Array(_))) => text_len(p),
            Some(_) => return Err("\"prompt\" must be a string or an array".into()),
            None => return Err("missing \"prompt\"".into()),
        },
    };
    let output_tokens = match o.get("max_tokens").or(o.get("max_completion_tokens")) {
        None | Some(Value::Null) => DEFAULT_OUTPUT_TOKENS,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
            _ => return Err("\"max_tokens\" must be a positive integer".into()),
        },
        Some(_) => return Err("\"max_tokens\" must be a positive integer".into()),
    };
    let stream = match o.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("\"stream\" must be true or false".into()),
    };
    let tokens = chars.div_ceil(CHARS_PER_TOKEN).max(1);
    Ok(Parsed {
        model,
        prompt_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        output_tokens,
        stream,
    })
}

/// Reads an optional numeric header; `Err` names it when it does not parse.
pub(super) fn header_f64(headers: &HeaderMap, name: &str) -> Result<Option<f64>, ApiError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x > 0.0)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest(format!("header {name} must be a number > 0")))
}

/// The client's location: header `x-tokengrid-origin: LAT,LON`, else the dispatcher's default.
pub(super) fn origin(headers: &HeaderMap, default: (f64, f64)) -> Result<(f64, f64), ApiError> {
    let Some(v) = headers.get("x-tokengrid-origin") else {
        return Ok(default);
    };
    v.to_str()
        .ok()
        .and_then(|s| parse_lat_lon(s).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(
                "header x-tokengrid-origin must be \"LAT,LON\" in degrees (e.g. 31.23,121.47)"
                    .into(),
            )
        })
}

/// Parses "LAT,LON" in degrees (latitude within -90..90, longitude within -180..180).
pub fn parse_lat_lon(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("\"{s}\" is not LAT,LON in degrees (e.g. 31.23,121.47)");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let lat: f64 = a.trim().parse().map_err(|_| bad())?;
    let lon: f64 = b.trim().parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok((lat, lon))
}

/// How long a hub may take to send its response head: for a streamed request three times its
/// TTFT SLO, for a whole answer one and a half times its end-to-end SLO (a hub past that has
/// missed the SLO already, and the next one may not), at least 1 s; without an SLO, and never
/// more than, the configured `--first-byte-timeout`.
pub fn first_byte_timeout(
    configured: std::time::Duration,
    stream: bool,
    ttft_slo_ms: Option<f64>,
    e2e_slo_ms: Option<f64>,
) -> std::time::Duration {
    let derived_ms = if stream {
        ttft_slo_ms.map(|t| 3.0 * t)
    } else {
        e2e_slo_ms.map(|e| 1.5 * e)
    };
    derived_ms.map_or(configured, |ms| {
        std::time::Duration::from_secs_f64(ms.max(1_000.0) / 1e3).min(configured)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::first_byte_timeout;

    #[test]
    fn the_first_byte_wait_follows_the_requests_slo_within_the_configured_bound() {
        let cap = Duration::from_secs(30);
        // A streamed request with a 2 s TTFT SLO: 6 s; a whole answer with a 10 s SLO: 15 s.
        assert_eq!(
            first_byte_timeout(cap, true, Some(2_000.0), None),
            Duration::from_secs(6)
        );
        assert_eq!(
            first_byte_timeout(cap, false, None, Some(10_000.0)),
            Duration::from_secs(15)
        );
        // The SLO that does not apply to the request's shape is not used.
        assert_eq!(first_byte_timeout(cap, false, Some(2_000.0), None), cap);
        // Bounded below by 1 s and above by the configured wait.
        assert_eq!(
            first_byte_timeout(cap, true, Some(10.0), None),
            Duration::from_secs(1)
        );
        assert_eq!(first_byte_timeout(cap, false, None, Some(60_000.0)), cap);
    }
}

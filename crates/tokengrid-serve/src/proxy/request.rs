//! What the proxy reads from a request: the OpenAI body's model and size, the client's
//! location and SLOs from headers, and how long a hub may take to answer it.

use axum::http::{HeaderMap, HeaderName};
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

/// The fields of an OpenAI request body the decision needs, each as its raw JSON (the rest of
/// the body is skipped, not built into a tree: a request costs a few allocations, not one per
/// JSON value).
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "raw")]
    model: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    messages: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    prompt: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    stream: Option<&'a RawValue>,
}

/// A present field, `null` included (`Option<&RawValue>` alone reads `null` as absent).
fn raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The characters of text in a message's content: a string; the `text` (else `content`) of
/// an object; the sum over an array of either (multimodal parts). Counted while the JSON is
/// read, without keeping it.
struct TextLen(usize);

impl<'de> Deserialize<'de> for TextLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextLenVisitor)
    }
}

struct TextLenVisitor;

/// The keys of a content part that hold its text (read without allocating).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum PartKey {
    Text,
    Content,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for TextLenVisitor {
    type Value = TextLen;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("message content")
    }

    fn visit_str<E>(self, v: &str) -> Result<TextLen, E> {
        Ok(TextLen(v.chars().count()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextLen, A::Error> {
        let mut n = 0;
        while let Some(TextLen(k)) = seq.next_element()? {
            n += k;
        }
        Ok(TextLen(n))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextLen, A::Error> {
        let (mut text, mut content) = (None, None);
        while let Some(key) = map.next_key::<PartKey>()? {
            match key {
                PartKey::Text => text = Some(map.next_value::<TextLen>()?.0),
                PartKey::Content => content = Some(map.next_value::<TextLen>()?.0),
                PartKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(TextLen(text.or(content).unwrap_or(0)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<TextLen, E> {
        Ok(TextLen(0))
    }

    fn visit_i64<E>(self, _: i64) -> Result<TextLen, E> {
        Ok(TextLen(0))
    }

    fn visit_u64<E>(self, _: u64) -> Result<TextLen, E> {
        Ok(TextLen(0))
    }

    fn visit_f64<E>(self, _: f64) -> Result<TextLen, E> {
        Ok(TextLen(0))
    }

    fn visit_unit<E>(self) -> Result<TextLen, E> {
        Ok(TextLen(0))
    }
}

/// A chat message: the characters of its `content`.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<TextLen>,
}

fn text_len(raw: &RawValue) -> usize {
    serde_json::from_str::<TextLen>(raw.get()).map_or(0, |t| t.0)
}

/// The first non-space byte of a raw JSON value (which kind of value it is).
fn kind(raw: &RawValue) -> u8 {
    raw.get().trim_start().bytes().next().unwrap_or(b' ')
}

/// The fields of a well-formed OpenAI request body, read in one pass (a message's text is
/// counted where it is read). Any body this does not read, or reads as not well formed, goes
/// through [`checked`], which says what is wrong.
#[derive(Deserialize)]
struct Quick<'a> {
    #[serde(borrow)]
    model: std::borrow::Cow<'a, str>,
    #[serde(default)]
    messages: Option<MessagesLen>,
    #[serde(default)]
    prompt: Option<PromptLen>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    stream: Option<bool>,
}

/// The characters of text in a non-empty array of message objects (anything else is an error).
struct MessagesLen(usize);

/// The characters of a completion's prompt: a string or an array (anything else is an error).
struct PromptLen(usize);

/// The characters of a message object's `content` (a message that is not an object is an
/// error).
struct MessageLen(usize);

impl<'de> Deserialize<'de> for MessagesLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MessagesLen;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a non-empty array of messages")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessagesLen, A::Error> {
                let (mut n, mut chars) = (0, 0);
                while let Some(MessageLen(k)) = seq.next_element()? {
                    n += 1;
                    chars += k;
                }
                if n == 0 {
                    return Err(serde::de::Error::invalid_length(0, &self));
                }
                Ok(MessagesLen(chars))
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for MessageLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MessageLen;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MessageLen, A::Error> {
                let mut content = None;
                while let Some(key) = map.next_key::<MessageKey>()? {
                    match key {
                        MessageKey::Content if content.is_none() => {
                            content = Some(map.next_value::<Option<TextLen>>()?);
                        }
                        MessageKey::Content => {
                            return Err(serde::de::Error::duplicate_field("content"));
                        }
                        MessageKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(MessageLen(content.flatten().map_or(0, |t| t.0)))
            }
        }
        d.deserialize_map(V)
    }
}

/// The key of a message that holds its text (read without allocating).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum MessageKey {
    Content,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for PromptLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PromptLen;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PromptLen, E> {
                TextLenVisitor.visit_str(v).map(|t| PromptLen(t.0))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<PromptLen, A::Error> {
                TextLenVisitor.visit_seq(seq).map(|t| PromptLen(t.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// [`checked`]'s answer for a well-formed body, read in one pass; `None` for any other body
/// (and for one this does not read, such as an escaped `null`), which [`checked`] then reads.
fn quick(api: Api, body: &[u8]) -> Option<Parsed> {
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let q: Quick<'_> = serde_json::from_slice(body).ok()?;
    if q.model.is_empty() {
        return None;
    }
    let chars = match api {
        Api::Chat => q.messages?.0,
        Api::Completions => q.prompt?.0,
    };
    let output_tokens = match q.max_tokens.or(q.max_completion_tokens) {
        None => DEFAULT_OUTPUT_TOKENS,
        Some(0) => return None,
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
    };
    let tokens = chars.div_ceil(CHARS_PER_TOKEN).max(1);
    Some(Parsed {
        model: q.model.into_owned(),
        prompt_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        output_tokens,
        stream: q.stream.unwrap_or(false),
    })
}

/// Checks an OpenAI request body and estimates its size. Errors say what is wrong.
///
/// A well-formed body is read in one pass ([`quick`]: 5,900 instructions of a proxied request
/// went to reading its body in three); any other body the field-by-field way, which names
/// what is wrong.
pub fn parse(api: Api, body: &[u8]) -> Result<Parsed, String> {
    quick(api, body).map_or_else(|| checked(api, body), Ok)
}

/// [`parse`] field by field: each field as raw JSON first, then checked and read.
fn checked(api: Api, body: &[u8]) -> Result<Parsed, String> {
    let invalid = |e: serde_json::Error| format!("invalid JSON body: {e}");
    // Whether the body is JSON at all, then whether it is an object.
    if !body.trim_ascii_start().starts_with(b"{") {
        // (A struct would also read a JSON array, field by field.)
        serde_json::from_slice::<IgnoredAny>(body).map_err(invalid)?;
        return Err("the body must be a JSON object".into());
    }
    let f: Fields<'_> = match serde_json::from_slice(body) {
        Ok(f) => f,
        Err(e) if e.is_data() => return Err(format!("invalid body: {e}")),
        Err(e) => return Err(invalid(e)),
    };
    let model = match f.model {
        Some(m) if kind(m) == b'"' => {
            let m: String = serde_json::from_str(m.get()).map_err(invalid)?;
            if m.is_empty() {
                return Err("\"model\" must be a non-empty string".into());
            }
            m
        }
        Some(_) => return Err("\"model\" must be a non-empty string".into()),
        None => return Err("missing \"model\"".into()),
    };
    let chars = match api {
        Api::Chat => match f.messages {
            Some(m) if kind(m) == b'[' => {
                let m: Vec<&RawValue> = serde_json::from_str(m.get()).map_err(invalid)?;
                if m.is_empty() {
                    return Err("\"messages\" must be a non-empty array".into());
                }
                let mut chars = 0;
                for (i, x) in m.iter().enumerate() {
                    if kind(x) != b'{' {
                        return Err(format!("\"messages\"[{i}] must be an object"));
                    }
                    let msg: Message = serde_json::from_str(x.get()).map_err(invalid)?;
                    chars += msg.content.map_or(0, |t| t.0);
                }
                chars
            }
            Some(_) => return Err("\"messages\" must be a non-empty array".into()),
            None => return Err("missing \"messages\"".into()),
        },
        Api::Completions => match f.prompt {
            Some(p) if matches!(kind(p), b'"' | b'[') => text_len(p),
            Some(_) => return Err("\"prompt\" must be a string or an array".into()),
            None => return Err("missing \"prompt\"".into()),
        },
    };
    let max = f
        .max_tokens
        .filter(|m| m.get() != "null")
        .or(f.max_completion_tokens);
    let output_tokens = match max.map(|m| m.get().trim()) {
        None | Some("null") => DEFAULT_OUTPUT_TOKENS,
        Some(n) => match n.parse::<u64>() {
            Ok(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
            _ => return Err("\"max_tokens\" must be a positive integer".into()),
        },
    };
    let stream = match f.stream.map(|s| s.get().trim()) {
        None | Some("null" | "false") => false,
        Some("true") => true,
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
pub(super) fn header_f64(headers: &HeaderMap, name: &HeaderName) -> Result<Option<f64>, ApiError> {
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

/// The request headers the proxy reads (names made once, not parsed from text per request).
pub(super) const ORIGIN: HeaderName = HeaderName::from_static("x-tokengrid-origin");
pub(super) const TTFT_SLO: HeaderName = HeaderName::from_static("x-tokengrid-ttft-slo-ms");
pub(super) const E2E_SLO: HeaderName = HeaderName::from_static("x-tokengrid-e2e-slo-ms");

/// The client's location: header `x-tokengrid-origin: LAT,LON`, else the dispatcher's default.
pub(super) fn origin(headers: &HeaderMap, default: (f64, f64)) -> Result<(f64, f64), ApiError> {
    let Some(v) = headers.get(&ORIGIN) else {
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
mod tests;

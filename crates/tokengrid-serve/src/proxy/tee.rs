//! The hub's answer on its way to the client: watched for `usage`, accounted once when it
//! ends, fails, stalls or is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use serde::Deserialize;
use tokengrid_energy::JOULES_PER_KWH;
use tokengrid_sched::ModelSnapshot;
use tokengrid_sched::estimate::facility_kwh;

use crate::state::AppState;
use crate::store::RequestRow;

/// What is needed to account for a request once its response has ended.
#[derive(Debug)]
pub(super) struct Finish {
    pub(super) st: Arc<AppState>,
    pub(super) hub: String,
    pub(super) model: String,
    pub(super) prompt_estimate: u32,
    pub(super) status: u16,
    /// The model's serving figures at the hub, its PUE and the price of its marginal kWh now
    /// (yuan; green share already netted out by the view).
    pub(super) model_figures: ModelSnapshot,
    pub(super) pue: f64,
    pub(super) tariff: f64,
    pub(super) arrived: Instant,
    /// The client key's id, when one was used.
    pub(super) client_key: Option<String>,
}

/// Finds `usage` in a response as it streams by: in each `data:` line of server-sent events,
/// or in the whole JSON body (kept up to [`MAX_SCAN`] bytes).
#[derive(Debug, Default)]
pub(super) struct UsageScan {
    pub(super) sse: bool,
    pub(super) buf: Vec<u8>,
    pub(super) usage: Option<(u64, u64)>,
}

/// Most bytes of a response kept to look for its usage.
const MAX_SCAN: usize = 4 << 20;

/// An OpenAI answer (or stream chunk) read for its `usage` alone; the rest is skipped.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// (prompt, completion) tokens from an answer's `usage`, when it has a well-formed one. The
/// `usage` object is read where its key is, without parsing the rest of the answer (parsing a
/// whole 250-byte answer took 5,600 of the 111,000 instructions of a proxied request); an
/// answer where that does not work is parsed whole.
fn usage_of(json: &[u8]) -> Option<(u64, u64)> {
    if let Some(u) = usage_at_key(json) {
        return Some(u);
    }
    let u = serde_json::from_slice::<Answer>(json).ok()?.usage?;
    Some((u.prompt_tokens, u.completion_tokens))
}

/// The `usage` object after the last `"usage":` key. Quotes inside JSON strings are escaped,
/// so a `"usage"` not preceded by a backslash and followed by a colon is a key; OpenAI puts
/// `usage` at the top level, after the choices.
fn usage_at_key(json: &[u8]) -> Option<(u64, u64)> {
    const KEY: &[u8] = b"\"usage\"";
    // Built once: building the searcher took more than searching a short answer.
    static FINDER: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(KEY));
    let at = FINDER.rfind(json)?;
    if at > 0 && json[at - 1] == b'\\' {
        return None;
    }
    let value = json[at + KEY.len()..]
        .trim_ascii_start()
        .strip_prefix(b":")?;
    let u = Usage::deserialize(&mut serde_json::Deserializer::from_slice(value)).ok()?;
    Some((u.prompt_tokens, u.completion_tokens))
}

impl UsageScan {
    /// Watches `d`, the body's next bytes (`last`: its last).
    fn feed(&mut self, d: &[u8], last: bool) {
        if !self.sse {
            if last && self.buf.is_empty() && self.usage.is_none() {
                // A whole answer in one frame, the usual case: read where it is.
                self.usage = usage_of(d);
                return;
            }
            if self.buf.len() + d.len() <= MAX_SCAN {
                self.buf.extend_from_slice(d);
            }
            return;
        }
        self.buf.extend_from_slice(d);
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            self.line(&line);
        }
        if self.buf.len() > MAX_SCAN {
            self.buf.clear();
        }
    }

    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        // Only the chunk that carries usage is worth parsing.
        if memchr::memmem::find(data, b"\"usage\"").is_none() {
            return;
        }
        if let Some(u) = usage_of(data.trim_ascii()) {
            self.usage = Some(u);
        }
    }

    fn usage(&mut self) -> Option<(u64, u64)> {
        if !self.sse && self.usage.is_none() {
            self.usage = usage_of(&self.buf);
        } else if self.sse && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.line(&rest);
        }
        self.usage
    }
}

/// The hub's response body on its way to the client, watched for `usage`; accounted once when
/// it ends, fails, stalls or is dropped (a client that hangs up). A hub silent mid-answer for
/// longer than the idle timeout ends the client's stream there (recorded incomplete) instead of
/// holding the client.
#[derive(Debug)]
pub(super) struct Tee {
    pub(super) inner: Incoming,
    pub(super) scan: UsageScan,
    pub(super) finish: Option<Finish>,
    pub(super) idle: std::time::Duration,
    pub(super) idle_timer: Pin<Box<tokio::time::Sleep>>,
    pub(super) stalled: bool,
    /// Billing-grade: the answer's last bytes wait for its row's commit.
    pub(super) durable: bool,
    /// The last frame, held until `committed` says the row is in the ledger.
    pub(super) held: Option<Frame<Bytes>>,
    pub(super) committed: Option<tokio::sync::oneshot::Receiver<()>>,
}

/// Whether `d` holds an event stream's closing `data: [DONE]`.
fn is_done_event(d: &[u8]) -> bool {
    d.windows(12).any(|w| w == b"data: [DONE]")
}

impl Tee {
    fn account(&mut self, complete: bool) {
        if let Some((st, row)) = self.row(complete) {
            st.record_served(row);
        }
    }

    /// The request's ledger row, once (and its state, to record it with).
    fn row(&mut self, complete: bool) -> Option<(Arc<AppState>, RequestRow)> {
        let f = self.finish.take()?;
        let usage = self.scan.usage();
        let (prompt, output) = usage.unwrap_or((u64::from(f.prompt_estimate), 0));
        let kwh = facility_kwh(&f.model_figures, prompt, output, f.pue);
        let energy_j = kwh * JOULES_PER_KWH;
        let cost = kwh * f.tariff;
        let elapsed = f.arrived.elapsed();
        f.st.metrics.proxy_total.observe(elapsed);
        f.st.metrics.hub(&f.hub, |c| {
            *c.answered.entry(f.status).or_default() += 1;
            c.prompt_tokens += prompt;
            c.output_tokens += output;
            c.energy_j += energy_j;
            c.cost += cost;
        });
        if let Some(k) = &f.client_key {
            f.st.metrics.client(k, |c| {
                c.requests += 1;
                c.prompt_tokens += prompt;
                c.output_tokens += output;
            });
        }
        let row = RequestRow {
            hub: f.hub,
            model: f.model,
            prompt_tokens: i64::try_from(prompt).unwrap_or(i64::MAX),
            output_tokens: i64::try_from(output).unwrap_or(i64::MAX),
            energy_j,
            cost,
            at_ms: f.st.now_ms(),
            status: i64::from(f.status),
            usage_reported: usage.is_some(),
            complete,
            latency_ms: elapsed.as_secs_f64() * 1e3,
            client_key: f.client_key,
        };
        Some((f.st, row))
    }
}

impl http_body::Body for Tee {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        // Billing-grade: the last bytes go once the row is committed (or, were it dropped,
        // once the writer has given up on it).
        if let Some(committed) = this.committed.as_mut() {
            if Pin::new(committed).poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.committed = None;
            if let Some(last) = this.held.take() {
                return Poll::Ready(Some(Ok(last)));
            }
        }
        if this.stalled {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.scan.feed(d, this.inner.is_end_stream());
                }
                let last = this.inner.is_end_stream()
                    || (this.scan.sse && frame.data_ref().is_some_and(|d| is_done_event(d)));
                if this.durable && last && this.finish.is_some() {
                    let Poll::Ready(Some(Ok(frame))) = polled else {
                        unreachable!("matched above")
                    };
                    if let Some((st, row)) = this.row(true) {
                        this.committed = Some(st.record_served_durably(row));
                    }
                    this.held = Some(frame);
                    // Polled again at once: registers the wait for the commit.
                    return Pin::new(this).poll_frame(cx);
                }
                if this.inner.is_end_stream() {
                    this.account(true);
                }
                let next = tokio::time::Instant::now() + this.idle;
                this.idle_timer.as_mut().reset(next);
            }
            Poll::Ready(None) => this.account(true),
            Poll::Ready(Some(Err(_))) => this.account(false),
            Poll::Pending => {
                if this.idle_timer.as_mut().poll(cx).is_ready() {
                    let hub = this.finish.as_ref().map_or("", |f| f.hub.as_str());
                    tracing::warn!(hub = %hub, idle_ms = this.idle.as_millis() as u64, "hub silent mid-answer; ending the client's stream");
                    this.stalled = true;
                    this.account(false);
                    return Poll::Ready(None);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.stalled || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        self.account(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Usage read at its key agrees with parsing the whole answer, and text that only looks
    /// like a usage key (inside a string, or a string value) is not taken for one.
    #[test]
    fn usage_is_read_at_its_key() {
        let answer = br#"{"id":"x","choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;
        assert_eq!(usage_at_key(answer), Some((12, 7)));
        assert_eq!(usage_of(answer), Some((12, 7)));
        let spaced = br#"{"usage" :  {"completion_tokens": 3, "prompt_tokens": 4} }"#;
        assert_eq!(usage_of(spaced), Some((4, 3)));
        // The model's text quoting a usage object: escaped, so not a key; the real one wins.
        let quoted = br#"{"choices":[{"message":{"content":"see \"usage\": {\"prompt_tokens\": 1, \"completion_tokens\": 2}"}}],"usage":{"prompt_tokens":30,"completion_tokens":40}}"#;
        assert_eq!(usage_of(quoted), Some((30, 40)));
        let only_quoted = br#"{"choices":[{"message":{"content":"\"usage\": {\"prompt_tokens\": 1, \"completion_tokens\": 2}"}}]}"#;
        assert_eq!(usage_at_key(only_quoted), None);
        assert_eq!(usage_of(only_quoted), None);
        // A string value "usage" is not a key; no usage at all, or a null one, gives none.
        assert_eq!(usage_of(br#"{"object":"usage","x":1}"#), None);
        assert_eq!(usage_of(br#"{"usage":null}"#), None);
        assert_eq!(usage_of(br#"{"id":"x"}"#), None);
    }
}

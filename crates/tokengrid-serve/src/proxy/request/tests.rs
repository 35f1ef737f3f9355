//! The proxy's reading of requests, checked against hand-counted sizes and messages.

use std::time::Duration;

use super::first_byte_timeout;
use super::{Api, DEFAULT_OUTPUT_TOKENS, checked, parse, quick};

#[test]
fn a_chat_body_is_sized_by_the_text_of_its_messages() {
    // 44 characters of text, 4 in a text part beside an image part (no text): 48 / 4 = 12.
    let body = br#"{"model":"deep\u0073eek-v3","temperature":0.2,"messages":[
        {"role":"user","content":"How much does a token cost in Gansu at noon?"},
        {"role":"user","content":[{"type":"text","text":"abcd"},
                                  {"type":"image_url","image_url":{"url":"x"}}]}],
        "max_tokens":16,"stream":true}"#;
    let p = parse(Api::Chat, body).expect("valid");
    assert_eq!(p.model, "deepseek-v3");
    assert_eq!(p.prompt_tokens, 12);
    assert_eq!(p.output_tokens, 16);
    assert!(p.stream);
    // No max_tokens: the default; max_completion_tokens stands in for it.
    let body = br#"{"model":"m","messages":[{"role":"user","content":"abcde"}]}"#;
    let p = parse(Api::Chat, body).expect("valid");
    assert_eq!(
        (p.prompt_tokens, p.output_tokens, p.stream),
        (2, DEFAULT_OUTPUT_TOKENS, false)
    );
    let body = br#"{"model":"m","messages":[{"content":"a"}],"max_completion_tokens":7}"#;
    assert_eq!(parse(Api::Chat, body).expect("valid").output_tokens, 7);
    // A completion's prompt: a string, or an array of them.
    let body = br#"{"model":"m","prompt":["abcd","efgh","i"]}"#;
    assert_eq!(
        parse(Api::Completions, body).expect("valid").prompt_tokens,
        3
    );
}

/// The one-pass read agrees with the field-by-field one on every body it reads, over every
/// combination of well-formed and malformed fields below (21,000 bodies, both APIs), and it
/// reads the usual chat body.
#[test]
fn the_one_pass_read_agrees_with_the_field_by_field_one() {
    let models = [
        None,
        Some(r#""m""#),
        Some(r#""""#),
        Some("5"),
        Some(r#""d\u0065ep""#),
    ];
    let messages = [
        None,
        Some("[]"),
        Some(r#"[{"role":"user","content":"abc"}]"#),
        Some(r#"[{"content":null},{"content":"h\u00e9llo w\u00f6rld"}]"#),
        Some(r#"[{"content":[{"type":"text","text":"abcd"},{"type":"image_url"}]}]"#),
        Some("[3]"),
        Some(r#"[{"role":"user"},{"content":"x","content":"y"}]"#),
        Some("{}"),
    ];
    let prompts = [
        None,
        Some(r#""abcd""#),
        Some(r#"["ab","c"]"#),
        Some("[1,2,3]"),
        Some("5"),
    ];
    let max_tokens = [
        None,
        Some("16"),
        Some("0"),
        Some("null"),
        Some("16.0"),
        Some("-1"),
        Some("99999999999"),
    ];
    let max_completion = [None, Some("7"), Some(r#""x""#)];
    let streams = [
        None,
        Some("true"),
        Some("false"),
        Some("null"),
        Some(r#""yes""#),
    ];
    let (mut bodies, mut quick_read) = (0, 0);
    for m in models {
        for ms in messages {
            for p in prompts {
                for mt in max_tokens {
                    for mc in max_completion {
                        for st in streams {
                            let fields: Vec<String> = [
                                ("model", m),
                                ("messages", ms),
                                ("prompt", p),
                                ("max_tokens", mt),
                                ("max_completion_tokens", mc),
                                ("stream", st),
                            ]
                            .iter()
                            .filter_map(|(k, v)| v.map(|v| format!(r#""{k}":{v}"#)))
                            .collect();
                            let body = format!("{{{}}}", fields.join(","));
                            bodies += 1;
                            for api in [Api::Chat, Api::Completions] {
                                if let Some(q) = quick(api, body.as_bytes()) {
                                    quick_read += 1;
                                    assert_eq!(Ok(q), checked(api, body.as_bytes()), "{body}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(bodies, 21_000);
    assert!(quick_read > 1_000, "read in one pass: {quick_read}");
    let usual = br#"{"model":"deepseek-v3","messages":[{"role":"user","content":"How much does a token cost in Gansu at noon?"}],"max_tokens":16}"#;
    assert!(quick(Api::Chat, usual).is_some());
}

#[test]
fn a_bad_body_is_refused_with_what_is_wrong() {
    let err = |api, body: &[u8]| parse(api, body).expect_err("refused");
    assert!(err(Api::Chat, b"{\"model\":").starts_with("invalid JSON body"));
    assert_eq!(err(Api::Chat, b"[1]"), "the body must be a JSON object");
    let cases: [(&[u8], &str); 8] = [
        (br#"{"messages":[{}]}"#, "missing \"model\""),
        (
            br#"{"model":"","messages":[{}]}"#,
            "\"model\" must be a non-empty string",
        ),
        (
            br#"{"model":5,"messages":[{}]}"#,
            "\"model\" must be a non-empty string",
        ),
        (br#"{"model":"m"}"#, "missing \"messages\""),
        (
            br#"{"model":"m","messages":[]}"#,
            "\"messages\" must be a non-empty array",
        ),
        (
            br#"{"model":"m","messages":[{},3]}"#,
            "\"messages\"[1] must be an object",
        ),
        (
            br#"{"model":"m","messages":[{}],"max_tokens":0}"#,
            "\"max_tokens\" must be a positive integer",
        ),
        (
            br#"{"model":"m","messages":[{}],"stream":"yes"}"#,
            "\"stream\" must be true or false",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(
            err(Api::Chat, body),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(
        err(Api::Completions, br#"{"model":"m","prompt":5}"#),
        "\"prompt\" must be a string or an array"
    );
}

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

//! Trace replay: one request per row at its timestamp, with its token counts.

use std::path::PathBuf;

use crate::common::opts;

fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/traces")
}

fn scenario_with_trace(file: &str, format: &str, time_scale: f64) -> tokengrid_core::Scenario {
    let text = tokengrid_core::builtin::text("two-hubs").expect("text").replace(
        "mix = { chat = 0.8, summarize = 0.2 }  # assumption",
        &format!("mix = {{ chat = 0.8, summarize = 0.2 }}  # assumption\ntrace = {{ file = \"{file}\", format = \"{format}\", class = \"chat\", time_scale = {time_scale} }}"),
    );
    tokengrid_core::load_str(&text, "t.toml", Some(&traces_dir())).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn azure_csv_rows_become_requests() {
    // Count rows and tokens independently of the parser: every data row of the extract.
    let text =
        std::fs::read_to_string(traces_dir().join("azure_conv_sample.csv")).expect("extract");
    let rows: Vec<(u64, u64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().expect("prompt"), f[2].parse().expect("output"))
        })
        .collect();
    assert_eq!(rows.len(), 500);
    let s = scenario_with_trace("azure_conv_sample.csv", "azure-csv", 1.0);
    let r = tokengrid_sim::run(&s, &opts("cost-slo", Some(3600.0))).expect("run");
    // The extract spans under 3 minutes: all 500 arrive within the hour.
    assert_eq!(r.requests.total, 500);
    assert_eq!(r.requests.completed, 500);
    assert_eq!(
        r.tokens.prompt,
        rows.iter().map(|r| r.0.max(1)).sum::<u64>()
    );
    assert_eq!(
        r.tokens.output,
        rows.iter().map(|r| r.1.max(1)).sum::<u64>()
    );
}

#[test]
fn mooncake_jsonl_with_time_scaling() {
    let s = scenario_with_trace("mooncake_conversation_sample.jsonl", "mooncake-jsonl", 2.0);
    // The extract's last request is at 102 s of trace time: 51 s at twice the speed; a 60 s run
    // admits all 300, a 40 s run fewer.
    let all = tokengrid_sim::run(&s, &opts("cost-slo", Some(60.0))).expect("run");
    assert_eq!(all.requests.total, 300);
    let some = tokengrid_sim::run(&s, &opts("cost-slo", Some(40.0))).expect("run");
    assert!(
        some.requests.total < 300 && some.requests.total > 100,
        "{}",
        some.requests.total
    );
}

#[test]
fn a_missing_or_broken_trace_is_a_clear_error() {
    let s = scenario_with_trace("no_such_trace.csv", "azure-csv", 1.0);
    let err = tokengrid_sim::run(&s, &opts("cost-slo", Some(60.0))).expect_err("missing file");
    assert!(err.to_string().contains("cannot read trace file"), "{err}");
    let dir = std::env::temp_dir().join(format!("tokengrid-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("bad.csv"),
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,12,x\n",
    )
    .expect("write");
    let text = tokengrid_core::builtin::text("two-hubs").expect("text").replace(
        "mix = { chat = 0.8, summarize = 0.2 }  # assumption",
        "mix = { chat = 0.8, summarize = 0.2 }  # assumption\ntrace = { file = \"bad.csv\", format = \"azure-csv\", class = \"chat\" }",
    );
    let s = tokengrid_core::load_str(&text, "t.toml", Some(&dir)).expect("valid");
    let err = tokengrid_sim::run(&s, &opts("cost-slo", Some(60.0))).expect_err("bad row");
    assert!(
        err.to_string()
            .contains("bad.csv:2: GeneratedTokens \"x\" is not a count"),
        "{err}"
    );
}

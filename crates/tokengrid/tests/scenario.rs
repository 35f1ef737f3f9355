//! `tokengrid scenario list | show | validate`.

use crate::{stderr, stdout, tokengrid};

#[test]
fn validate_accepts_every_builtin_by_name_and_by_file() {
    for name in ["china-east-west", "two-hubs"] {
        let by_name = tokengrid(&["scenario", "validate", name]);
        assert_eq!(by_name.status.code(), Some(0), "{}", stderr(&by_name));
        assert!(
            stdout(&by_name).starts_with(&format!("ok: {name}: \"{name}\"")),
            "{}",
            stdout(&by_name)
        );
        let file = format!("scenarios/{name}.toml");
        let by_file = tokengrid(&["scenario", "validate", &file]);
        assert_eq!(by_file.status.code(), Some(0), "{}", stderr(&by_file));
        assert_eq!(stdout(&by_file).lines().count(), 1, "one-line summary");
    }
}

#[test]
fn validate_reports_a_bad_file_with_location_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("tokengrid-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(crate::repo_root().join("scenarios/two-hubs.toml"))
        .expect("two-hubs")
        .replacen("pue = 1.2 ", "pue = 0.9 ", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("pue = 0.9"))
        .expect("edited line")
        + 1;
    let path = dir.join("bad.toml");
    std::fs::write(&path, &text).expect("write");
    let path = path.to_str().expect("utf-8 path");
    let out = tokengrid(&["scenario", "validate", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "nothing on stdout");
    let expected = format!("{path}:{line}:7: hub \"gansu\": pue = 0.9 must be >= 1.0");
    assert_eq!(stderr(&out).lines().next(), Some(expected.as_str()));
    assert!(stderr(&out).contains("help: "), "says what to do");
}

#[test]
fn validate_missing_file_and_unknown_name_exit_2() {
    let out = tokengrid(&["scenario", "validate", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read scenario file no/such/file.toml"),
        "{}",
        stderr(&out)
    );
    let out = tokengrid(&["scenario", "validate", "chinaeastwest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("built-in scenarios: china-east-west, two-hubs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn show_prints_the_default_scenario_toml() {
    let out = tokengrid(&["scenario", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let expected =
        std::fs::read_to_string(crate::repo_root().join("scenarios/china-east-west.toml"))
            .expect("file");
    assert_eq!(stdout(&out), expected);
}

#[test]
fn list_names_every_builtin() {
    let out = tokengrid(&["scenario", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("china-east-west ")));
    assert!(text.lines().any(|l| l.starts_with("two-hubs ")));
}

#[test]
fn usage_errors_exit_2() {
    let out = tokengrid(&["scenario", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tokengrid(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Scripts read the listing and the check as JSON, with the schema version; a bad file is
/// `ok: false` with its located problems, and still exits 2.
#[test]
fn list_and_validate_speak_json() {
    let out = tokengrid(&["scenario", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["schema_version"], 1);
    let names: Vec<&str> = v["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&"china-east-west") && names.contains(&"two-hubs"),
        "{names:?}"
    );
    let two = v["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == "two-hubs"))
        .expect("two-hubs");
    // scenarios/two-hubs.toml: yangtze-river-delta and gansu, 32 + 64 H800s.
    assert_eq!(
        (
            two["scenario"]["hubs"].as_u64(),
            two["scenario"]["accelerators"].as_u64()
        ),
        (Some(2), Some(96))
    );

    let dir = std::env::temp_dir().join(format!("tokengrid-cli-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(crate::repo_root().join("scenarios/two-hubs.toml"))
        .expect("two-hubs")
        .replacen("pue = 1.2 ", "pue = 0.9 ", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("pue = 0.9"))
        .expect("edited line")
        + 1;
    let path = dir.join("bad.toml");
    std::fs::write(&path, &text).expect("write");
    let out = tokengrid(&[
        "scenario",
        "validate",
        path.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["ok"], false);
    let p = &v["problems"][0];
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(line as u64), Some(7))
    );
    assert_eq!(p["key"], "hub[1].pue");
    let good = tokengrid(&["scenario", "validate", "two-hubs", "--format", "json"]);
    assert_eq!(good.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&good)).expect("json");
    assert_eq!(
        (v["ok"].as_bool(), v["scenario"]["name"].as_str()),
        (Some(true), Some("two-hubs"))
    );
}

/// Shell completions and the man page are generated from the same definitions as --help.
#[test]
fn completions_and_man_page_cover_every_command() {
    let bash = tokengrid(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0), "{}", stderr(&bash));
    let script = stdout(&bash);
    for cmd in [
        "simulate", "compare", "sweep", "serve", "plan", "energy", "scenario",
    ] {
        assert!(
            script.contains(cmd),
            "{cmd} missing from the bash completions"
        );
    }
    assert!(script.contains("--replications") && script.contains("--set"));
    let man = tokengrid(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    assert!(stdout(&man).starts_with(".ie") && stdout(&man).contains(".SH NAME"));
}

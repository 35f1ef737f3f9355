//! One test per validation rule: each breaks MINIMAL in one place and checks the line, column,
//! key path and reason of the error. Expected positions are found by searching the text.

use tokengrid_core::{Diagnostic, load_bytes, load_str};

use crate::{MINIMAL, line_col, offset};

fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str(text, "t.toml", None) {
        Ok(_) => panic!("expected the scenario to be rejected"),
        Err(e) => e.diagnostics().expect("located diagnostics").to_vec(),
    }
}

/// Replaces `from` (which must occur once) by `to`.
fn edit(from: &str, to: &str) -> String {
    assert_eq!(MINIMAL.matches(from).count(), 1, "{from:?} must occur once");
    MINIMAL.replacen(from, to, 1)
}

/// Asserts that the only error is at `at` (a byte offset), on `key`, with `reason` in its message.
#[track_caller]
fn assert_one(text: &str, at: usize, key: &str, reason: &str) -> Diagnostic {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got: {errs:#?}");
    let d = errs.into_iter().next().expect("one error");
    let (line, column) = line_col(text, at);
    assert_eq!((d.line, d.column), (line, column), "position of {d}");
    assert_eq!(d.key, key, "key of {d}");
    assert!(d.message.contains(reason), "{d} should say {reason:?}");
    assert_eq!(d.file, "t.toml");
    d
}

/// Asserts that among the errors there is one on `key` at `at` with `reason` in its message.
#[track_caller]
fn assert_has(text: &str, at: usize, key: &str, reason: &str) -> Diagnostic {
    let errs = errors(text);
    let d = errs
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no error on {key}: {errs:#?}"))
        .clone();
    assert_eq!((d.line, d.column), line_col(text, at), "position of {d}");
    assert!(d.message.contains(reason), "{d} should say {reason:?}");
    d
}

#[test]
fn minimal_is_valid() {
    let s = load_str(MINIMAL, "t.toml", None).expect("valid");
    assert_eq!(s.hubs.len(), 2);
    assert_eq!(
        s.hub(s.hub_id("west").expect("west"))
            .tariff_yuan_per_kwh
            .at(5),
        0.4
    );
}

#[test]
fn unknown_key_suggests_the_closest() {
    let t = edit("pue = 1.25", "pu = 1.25");
    let d = assert_one(
        &t,
        offset(&t, "pu = 1.25", "pu"),
        "hub[0].pu",
        "unknown key `pu`",
    );
    assert_eq!(d.context, "hub \"east\"");
    assert_eq!(d.help.as_deref(), Some("did you mean \"pue\"?"));
}

#[test]
fn unknown_top_level_table() {
    let t = format!("{MINIMAL}\n[[hubb]]\nname = \"x\"\n");
    let d = assert_one(
        &t,
        offset(&t, "[[hubb]]", "hubb"),
        "hubb",
        "unknown key `hubb`",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean \"hub\"?"));
}

#[test]
fn wrong_type_names_the_key() {
    let t = edit(
        "grid_cap_mw = 1.0\naccelerators = { H800 = 32 }",
        "grid_cap_mw = \"big\"\naccelerators = { H800 = 32 }",
    );
    assert_one(
        &t,
        offset(&t, "\"big\"", "\"big\""),
        "hub[0].grid_cap_mw",
        "invalid type: string",
    );
}

#[test]
fn negative_count_is_a_type_error() {
    let t = edit(
        "accelerators_per_replica = 4",
        "accelerators_per_replica = -4",
    );
    assert_one(
        &t,
        offset(&t, "= -4", "-4"),
        "model[0].accelerators_per_replica",
        "-4",
    );
}

#[test]
fn missing_key_points_at_its_table() {
    let t = edit("pue = 1.2\n", "");
    let west = t.find("name = \"west\"").expect("west");
    let header = t[..west].rfind("[[hub]]").expect("header");
    assert_one(&t, header, "hub[1]", "missing key `pue`");
}

#[test]
fn pue_below_one() {
    let t = edit("pue = 1.25", "pue = 0.9");
    let d = assert_one(
        &t,
        offset(&t, "pue = 0.9", "0.9"),
        "hub[0].pue",
        "pue = 0.9 must be >= 1.0",
    );
    assert_eq!(
        d.to_string().lines().next(),
        Some(
            format!(
                "t.toml:{}:7: hub \"east\": pue = 0.9 must be >= 1.0",
                d.line
            )
            .as_str()
        )
    );
}

#[test]
fn negative_capacity() {
    let t = edit(
        "grid_cap_mw = 1.0\naccelerators = { H800 = 64 }",
        "grid_cap_mw = -5.0\naccelerators = { H800 = 64 }",
    );
    assert_one(
        &t,
        offset(&t, "= -5.0", "-5.0"),
        "hub[1].grid_cap_mw",
        "grid_cap_mw = -5.0 must be > 0",
    );
}

#[test]
fn zero_accelerators() {
    let t = edit(
        "accelerators = { H800 = 64 }",
        "accelerators = { H800 = 0 }",
    );
    // Also reported: the hub now has no accelerator for a replica of the model it serves.
    assert_has(
        &t,
        offset(&t, "H800 = 0 }", "0 }"),
        "hub[1].accelerators.H800",
        "accelerators.H800 = 0 must be >= 1",
    );
}

#[test]
fn zero_peak_tflops() {
    let t = edit("bf16_tflops = 989.0", "bf16_tflops = 0.0");
    assert_one(
        &t,
        offset(&t, "bf16_tflops = 0.0", "0.0"),
        "accelerator[0].bf16_tflops",
        "must be > 0",
    );
}

#[test]
fn idle_above_tdp() {
    let t = edit("idle_w = 90.0", "idle_w = 900.0");
    assert_one(
        &t,
        offset(&t, "idle_w = 900.0", "900.0"),
        "accelerator[0].idle_w",
        "must not exceed tdp_w",
    );
}

#[test]
fn unknown_model_referenced_by_hub() {
    let t = edit("models = [\"moe\"]", "models = [\"mo\"]");
    // (its replicas table now names a model the hub does not serve: reported too)
    let d = assert_has(
        &t,
        offset(&t, "[\"mo\"]", "\"mo\""),
        "hub[1].models[0]",
        "unknown model \"mo\"",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean \"moe\"?"));
}

#[test]
fn unknown_accelerator_referenced_by_model() {
    let t = edit(
        "accelerator = \"H800\"\naccelerators_per_replica = 4",
        "accelerator = \"B200\"\naccelerators_per_replica = 4",
    );
    assert_one(
        &t,
        offset(&t, "\"B200\"", "\"B200\""),
        "model[0].accelerator",
        "unknown accelerator \"B200\"",
    );
}

#[test]
fn mix_not_summing_to_one() {
    let t = edit(
        "mix = { chat = 0.8, summarize = 0.2 }",
        "mix = { chat = 0.7, summarize = 0.2 }",
    );
    let d = assert_one(
        &t,
        offset(&t, "mix = {", "{"),
        "region[0].mix",
        "sum to 0.8",
    );
    assert!(d.message.contains("not 1"));
}

#[test]
fn mix_naming_unknown_class() {
    let t = edit(
        "mix = { chat = 0.8, summarize = 0.2 }",
        "mix = { chat = 0.8, sumarize = 0.2 }",
    );
    let d = assert_one(
        &t,
        offset(&t, "sumarize = 0.2", "0.2"),
        "region[0].mix.sumarize",
        "unknown class \"sumarize\"",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean \"summarize\"?"));
}

#[test]
fn mix_naming_training_class() {
    let t = edit(
        "mix = { chat = 0.8, summarize = 0.2 }",
        "mix = { chat = 0.8, train = 0.2 }",
    );
    assert_one(
        &t,
        offset(&t, "train = 0.2", "0.2"),
        "region[0].mix.train",
        "names a training class",
    );
}

#[test]
fn hourly_list_not_24_long() {
    let t = edit(
        "           0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8, 0.7, 0.5, 0.4]",
        "           0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8, 0.7, 0.5]",
    );
    assert_one(
        &t,
        offset(&t, "diurnal = [", "["),
        "region[0].diurnal",
        "diurnal has 23 values; an hourly list needs 24",
    );
}

#[test]
fn hourly_value_out_of_range() {
    let t = edit(
        "tariff_yuan_per_kwh = [0.4, 0.4, 0.4",
        "tariff_yuan_per_kwh = [0.4, 0.4, -0.4",
    );
    assert_one(
        &t,
        offset(&t, "-0.4", "-0.4"),
        "hub[1].tariff_yuan_per_kwh[2]",
        "tariff_yuan_per_kwh[2] = -0.4 must be >= 0",
    );
}

#[test]
fn duplicate_hub_names() {
    let t = edit("name = \"west\"", "name = \"east\"");
    let second = t.match_indices("name = \"east\"").nth(1).expect("second").0;
    let errs = errors(&t);
    let d = errs
        .iter()
        .find(|d| d.message.contains("duplicate name"))
        .expect("duplicate error");
    assert_eq!((d.line, d.column), line_col(&t, second + "name = ".len()));
    assert_eq!(d.key, "hub[1].name");
    assert!(d.message.contains("hub[0] already has it"), "{d}");
}

#[test]
fn region_named_like_a_hub() {
    let t = edit("name = \"shanghai\"", "name = \"west\"");
    let errs = errors(&t);
    let d = errs
        .iter()
        .find(|d| d.message.contains("also a hub's name"))
        .expect("site clash");
    assert_eq!(d.key, "region[0].name");
}

#[test]
fn region_no_hub_can_serve() {
    // Only "east" serves the dense model of class summarize; residency excludes it.
    let t = edit(
        "mix = { chat = 0.8, summarize = 0.2 }",
        "mix = { chat = 0.8, summarize = 0.2 }\nresidency = [\"west\"]",
    );
    let d = assert_one(
        &t,
        offset(&t, "summarize = 0.2", "0.2"),
        "region[0].mix.summarize",
        "no hub can serve class \"summarize\"",
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("hubs serving \"dense\": east"),
        "{d}"
    );
}

#[test]
fn residency_names_unknown_hub() {
    let t = edit(
        "mix = { chat = 0.8, summarize = 0.2 }",
        "mix = { chat = 0.8, summarize = 0.2 }\nresidency = [\"east\", \"nowhere\"]",
    );
    assert_one(
        &t,
        offset(&t, "\"nowhere\"", "\"nowhere\""),
        "region[0].residency[1]",
        "unknown hub \"nowhere\"",
    );
}

#[test]
fn link_to_unknown_site() {
    let t = edit("b = \"west\"", "b = \"wset\"");
    let d = assert_one(
        &t,
        offset(&t, "b = \"wset\"", "\"wset\""),
        "link[0].b",
        "neither a hub nor a region",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean \"west\"?"));
}

#[test]
fn link_with_km_and_rtt() {
    let t = edit("km = 1900.0", "km = 1900.0\nrtt_ms = 30.0");
    assert_one(
        &t,
        offset(&t, "rtt_ms = 30.0", "30.0"),
        "link[0].rtt_ms",
        "not both",
    );
}

#[test]
fn link_loss_not_a_probability() {
    let t = edit("loss = 0.0001", "loss = 1.5");
    assert_one(
        &t,
        offset(&t, "loss = 1.5", "1.5"),
        "link[0].loss",
        "within 0 <= loss < 1",
    );
}

#[test]
fn reservable_on_best_effort_link() {
    let t = edit("loss = 0.0001", "loss = 0.0001\nreservable_gbps = 100.0");
    assert_one(
        &t,
        offset(&t, "reservable_gbps = 100.0", "100.0"),
        "link[0].reservable_gbps",
        "not deterministic",
    );
}

#[test]
fn model_does_not_fit_its_replica() {
    // 671 GB of FP8 weights on 8 x 80 GB = 640 GB: DESIGN.md's example of a replica too small.
    let t = edit(
        "accelerators_per_replica = 16",
        "accelerators_per_replica = 8",
    );
    let d = assert_one(
        &t,
        offset(&t, "accelerators_per_replica = 8", "8"),
        "model[1].accelerators_per_replica",
        "do not fit",
    );
    // 671 / (0.9 x 80) = 9.3 -> 10 accelerators.
    assert!(
        d.help.as_deref().unwrap_or("").contains("at least 10"),
        "{d}"
    );
}

#[test]
fn active_params_above_total() {
    let t = edit("active_params_b = 37.0", "active_params_b = 700.0");
    assert_one(
        &t,
        offset(&t, "active_params_b = 700.0", "700.0"),
        "model[1].active_params_b",
        "exceeds total_params_b",
    );
}

#[test]
fn experts_per_token_above_experts() {
    let t = edit("experts_per_token = 8", "experts_per_token = 300");
    assert_one(
        &t,
        offset(&t, "experts_per_token = 300", "300"),
        "model[1].experts_per_token",
        "exceeds experts = 256",
    );
}

#[test]
fn hub_lacks_accelerators_for_a_replica() {
    let t = edit(
        "accelerators = { H800 = 32 }",
        "accelerators = { H800 = 8 }",
    );
    // east shares 8 H800 between dense and moe: 4 each; moe needs 16 per replica, dense 4.
    let d = assert_one(
        &t,
        offset(&t, "models = [\"dense\", \"moe\"]", "\"moe\""),
        "hub[0].models[1]",
        "serves \"moe\" with 0 replicas",
    );
    assert!(d.message.contains("one replica needs 16"), "{d}");
}

#[test]
fn replicas_table_must_fit_and_cover_the_served_models() {
    let t = edit("replicas = { moe = 2 }", "replicas = { moe = 5 }");
    // 5 x 16 = 80 H800 on a hub of 64
    assert_one(
        &t,
        offset(&t, "replicas = { moe = 5 }", "{"),
        "hub[1].replicas",
        "replicas need 80 H800 but the hub has 64",
    );
    let t = edit("replicas = { moe = 2 }", "replicas = { dense = 2 }");
    let errs = errors(&t);
    assert!(
        errs.iter()
            .any(|d| d.key == "hub[1].replicas.dense" && d.message.contains("does not serve")),
        "{errs:#?}"
    );
    assert!(
        errs.iter().any(|d| d.key == "hub[1].replicas"
            && d.message.contains("no entry for served model \"moe\"")),
        "{errs:#?}"
    );
}

#[test]
fn replicas_default_to_an_even_share_per_accelerator_type() {
    let s = load_str(MINIMAL, "t.toml", None).expect("valid");
    let east = s.hub_id("east").expect("east");
    let (dense, moe) = (
        s.model_id("dense").expect("dense"),
        s.model_id("moe").expect("moe"),
    );
    let h800 = s.accelerator_id("H800").expect("H800");
    // 32 H800 shared by two models: 16 each -> dense 16 / 4 = 4 replicas, moe 16 / 16 = 1.
    assert_eq!(s.replicas_at(east, dense), 4);
    assert_eq!(s.replicas_at(east, moe), 1);
    assert_eq!(s.training_accelerators_at(east, h800), 0);
    let west = s.hub_id("west").expect("west");
    assert_eq!(s.replicas_at(west, moe), 2);
    assert_eq!(s.training_accelerators_at(west, h800), 32);
}

#[test]
fn dotted_model_names_in_tables_need_quotes() {
    let t = edit("replicas = { moe = 2 }", "replicas = { moe.v2 = 2 }");
    let errs = errors(&t);
    assert!(
        errs[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("quote names that contain dots"),
        "{errs:#?}"
    );
}

#[test]
fn bad_duration() {
    let t = edit("duration = \"6h\"", "duration = \"6 hours-ish\"");
    assert_one(
        &t,
        offset(&t, "\"6 hours-ish\"", "\"6"),
        "scenario.duration",
        "is not a duration",
    );
}

#[test]
fn start_without_offset() {
    let t = edit(
        "start = \"2026-03-02T00:00:00+08:00\"",
        "start = \"2026-03-02 00:00\"",
    );
    assert_one(
        &t,
        offset(&t, "\"2026-03-02 00:00\"", "\""),
        "scenario.start",
        "is not an RFC 3339 time",
    );
}

#[test]
fn unknown_class_kind() {
    let t = edit("kind = \"batch\"", "kind = \"bacth\"");
    let d = assert_one(
        &t,
        offset(&t, "\"bacth\"", "\""),
        "class[1].kind",
        "not a class kind",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean \"batch\"?"));
}

#[test]
fn key_that_does_not_apply_to_the_kind() {
    let t = edit("deadline = \"8h\"", "deadline = \"8h\"\nttft_slo_ms = 500");
    assert_one(
        &t,
        offset(&t, "ttft_slo_ms = 500", "500"),
        "class[1].ttft_slo_ms",
        "does not apply to kind = \"batch\"",
    );
}

#[test]
fn class_missing_a_key_its_kind_needs() {
    let t = edit("step_compute_s = 4.0\n", "");
    let train = t.find("name = \"train\"").expect("train");
    let header = t[..train].rfind("[[class]]").expect("header");
    assert_one(&t, header, "class[2]", "missing `step_compute_s`");
}

#[test]
fn distribution_with_wrong_parameter() {
    let t = edit(
        "output_tokens = { dist = \"exponential\", mean = 211 }",
        "output_tokens = { dist = \"exponential\", median = 211 }",
    );
    let errs = errors(&t);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter()
            .any(|d| d.key == "class[0].output_tokens.median"
                && d.message.contains("does not apply"))
    );
    assert!(
        errs.iter()
            .any(|d| d.key == "class[0].output_tokens" && d.message.contains("needs `mean`"))
    );
}

#[test]
fn latitude_out_of_range() {
    let t = edit("lat = 35.73", "lat = 135.73");
    assert_one(
        &t,
        offset(&t, "lat = 135.73", "135.73"),
        "hub[1].lat",
        "within -90..90",
    );
}

#[test]
fn training_job_larger_than_any_hub() {
    // west: 64 H800, 2 moe replicas of 16 hold 32; 32 are left for training.
    let t = edit("accelerators = 32\n", "accelerators = 33\n");
    assert_one(
        &t,
        offset(&t, "accelerators = 33", "33"),
        "class[2].accelerators",
        "largest hub has only 32 not held by serving replicas",
    );
}

#[test]
fn unknown_green_profile() {
    let t = edit("profile = \"solar\"", "profile = \"sollar\"");
    assert_one(
        &t,
        offset(&t, "\"sollar\"", "\""),
        "hub[1].green_mw.profile",
        "not a known profile",
    );
}

#[test]
fn toml_syntax_error() {
    let t = edit("[[region]]", "[[region]");
    let errs = errors(&t);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, line_col(&t, offset(&t, "[[region]", "[")).0);
    assert!(
        errs[0].message.starts_with("TOML syntax error"),
        "{}",
        errs[0]
    );
}

#[test]
fn invalid_utf8_is_located() {
    let mut bytes = MINIMAL.as_bytes().to_vec();
    let at = offset(MINIMAL, "name = \"west\"", "west");
    bytes[at] = 0xff;
    let err = load_bytes(&bytes, "t.toml", None).expect_err("invalid utf-8");
    let d = &err.diagnostics().expect("located")[0];
    assert_eq!((d.line, d.column), line_col(MINIMAL, at));
    assert!(d.message.contains("not valid UTF-8"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let t = MINIMAL
        .replacen("pue = 1.25", "pue = 0.5", 1)
        .replacen("loss = 0.0001", "loss = 2.0", 1)
        .replacen(
            "mix = { chat = 0.8, summarize = 0.2 }",
            "mix = { chat = 0.5, summarize = 0.2 }",
            1,
        );
    let errs = errors(&t);
    let keys: Vec<&str> = errs.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["hub[0].pue", "region[0].mix", "link[0].loss"],
        "sorted by position"
    );
}

#[test]
fn efficiency_outside_zero_to_one() {
    let t = edit("max_batch = 64", "max_batch = 64\ndecode_mbu = 1.5");
    assert_one(
        &t,
        offset(&t, "decode_mbu = 1.5", "1.5"),
        "model[0].decode_mbu",
        "within 0 < x <= 1",
    );
}

#[test]
fn wind_profile_has_no_data_yet() {
    let t = edit("profile = \"solar\"", "profile = \"wind\"");
    let d = assert_one(
        &t,
        offset(&t, "\"wind\"", "\""),
        "hub[1].green_mw.profile",
        "no data behind it",
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("24 hourly MW values")
    );
}

#[test]
fn scenario_policies_are_checked() {
    let ok = format!(
        "{MINIMAL}\n[[policy]]\nname = \"mine\"\nfilters = [\"slo\"]\nscores = {{ carbon = 1.0 }}\n"
    );
    let s = load_str(&ok, "t.toml", None).expect("valid");
    assert_eq!(
        s.policies[0].filters,
        ["model", "up", "residency", "capacity", "slo"]
    );
    let clash = format!("{MINIMAL}\n[[policy]]\nname = \"green\"\nscores = {{ carbon = 1.0 }}\n");
    assert_one(
        &clash,
        offset(&clash, "name = \"green\"", "\"green\""),
        "policy[0].name",
        "is a built-in policy",
    );
    let negative =
        format!("{MINIMAL}\n[[policy]]\nname = \"mine\"\nscores = {{ carbon = -1.0 }}\n");
    assert_one(
        &negative,
        offset(&negative, "carbon = -1.0", "-1.0"),
        "policy[0].scores.carbon",
        "carbon = -1.0 must be >= 0",
    );
    let objective = format!(
        "{MINIMAL}\n[[policy]]\nname = \"mine\"\nscores = {{ carbon = 1.0 }}\nobjective = \"speed\"\n"
    );
    assert_one(
        &objective,
        offset(&objective, "\"speed\"", "\""),
        "policy[0].objective",
        "not an objective",
    );
}

#[test]
fn link_degradations_are_checked() {
    let t = edit(
        "loss = 0.0001",
        "loss = 0.0001\ndegradations = [{ at = \"1h\", for = \"10m\", extra_rtt_ms = -5.0 }]",
    );
    assert_one(
        &t,
        offset(&t, "extra_rtt_ms = -5.0", "-5.0"),
        "link[0].degradations[0].extra_rtt_ms",
        "must be >= 0",
    );
    let t = edit(
        "loss = 0.0001",
        "loss = 0.0001\ndegradations = [{ at = \"1h\", for = \"10m\" }]",
    );
    assert_one(
        &t,
        offset(&t, "degradations = [{", "{"),
        "link[0].degradations[0]",
        "changes nothing",
    );
    let t = edit(
        "loss = 0.0001",
        "loss = 0.0001\ndegradations = [{ at = \"1h\", for = \"10m\", loss = 0.01 }]",
    );
    let s = load_str(&t, "t.toml", None).expect("valid");
    assert_eq!(s.links[0].degradations[0].loss, 0.01);
}

#[test]
fn a_model_without_sizes_or_catalog_is_missing_keys() {
    let text = edit("total_params_b = 70.0\n", "");
    let at = offset(&text, "[[model]]\nname = \"dense\"", "[[model]]");
    let d = assert_has(
        &text,
        at,
        "model[0].total_params_b",
        "missing key total_params_b",
    );
    assert!(
        d.help.as_deref().is_some_and(|h| h.contains("catalog")),
        "{d}"
    );
}

#[test]
fn a_catalog_model_takes_its_sizes_from_the_config() {
    // Only the deployment keys: the DeepSeek-V3 config gives the rest (README: 671B total, 37B
    // active; MLA cache (512 + 64) x 61 x 2 bytes = 70,272 per token).
    let text = edit(
        "total_params_b = 671.0\nactive_params_b = 37.0\nexperts = 256\nexperts_per_token = 8\nbytes_per_param = 1.0\nkv_bytes_per_token = 70272\n",
        "catalog = \"deepseek-v3\"\n",
    );
    let s = load_str(&text, "t.toml", None).expect("valid");
    let m = &s.models[1];
    assert!((m.total_params_b / 671.0 - 1.0).abs() < 0.01);
    assert_eq!(m.kv_bytes_per_token, 70_272.0);
    assert_eq!(m.moe.map(|x| x.experts), Some(256));
    assert_eq!(m.bytes_per_param, 1.0);
    // MoE default: experts spread over all 16, attention data parallel, one copy per GPU.
    assert_eq!(
        (
            m.parallelism.tensor,
            m.parallelism.data,
            m.parallelism.expert
        ),
        (1, 16, 16)
    );
}

#[test]
fn tensor_parallel_must_divide_the_replica() {
    let text = edit(
        "accelerators_per_replica = 4\n",
        "accelerators_per_replica = 4\ntensor_parallel = 3\n",
    );
    let at = offset(&text, "tensor_parallel = 3", "3");
    assert_has(&text, at, "model[0].tensor_parallel", "does not divide");
}

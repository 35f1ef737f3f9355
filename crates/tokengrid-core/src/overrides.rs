//! `--set PATH=VALUE`: one scenario value changed from the command line, without editing the
//! file. A path names a key by the file's own structure: `scenario.duration`,
//! `hub.gansu.tariff_yuan_per_kwh` (an entity of a `[[hub]]`, `[[region]]`, `[[class]]`,
//! `[[model]]` or `[[accelerator]]` list by its name, or by its index: `link.0.km`), `hub.*.pue`
//! for every entity of a kind; nested tables continue the path
//! (`hub.gansu.green_mw.installed_mw`). The value is TOML (`0.3`, `"x"`, `[1, 2]`); anything
//! that is not is taken as a string (`6h`).
//!
//! The file is checked first, as it is, so its own problems are located in it; then each
//! override is applied and the result checked again, and a problem with an overridden value is
//! reported against the override that set it.

use std::path::Path;

use toml::{Table, Value};

use crate::diag::{Diagnostic, Diagnostics};
use crate::{LoadError, Scenario, builtin, load_str};

/// One `--set PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As given.
    pub text: String,
    path: Vec<String>,
    value: Value,
}

impl Override {
    /// Parses `PATH=VALUE`; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Override, String> {
        let Some((path, value)) = s.split_once('=') else {
            return Err(format!(
                "--set {s}: expected PATH=VALUE, e.g. --set hub.gansu.tariff_yuan_per_kwh=0.3"
            ));
        };
        let path: Vec<String> = path
            .trim()
            .split('.')
            .map(|p| p.trim().to_owned())
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "--set {s}: the path has an empty part (write keys separated by single dots)"
            ));
        }
        let value = value.trim();
        let value = toml::from_str::<Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(value.to_owned()));
        Ok(Override {
            text: s.to_owned(),
            path,
            value,
        })
    }
}

/// Entity lists of a scenario file, and the key that names their entities.
const LISTS: [&str; 6] = ["hub", "region", "class", "model", "accelerator", "link"];

/// A problem with an override, as a one-problem list (small to return).
fn fail(o: &Override, message: String, help: Option<String>) -> Diagnostics {
    Diagnostics(vec![problem(o, message, help)])
}

/// A problem with an override (located in the override's text).
fn problem(o: &Override, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        file: "--set".into(),
        line: 1,
        column: 1,
        key: o.path.join("."),
        context: String::new(),
        message: format!("{}: {message}", o.text),
        help,
    }
}

/// Applies `o` to `doc`; returns the key paths it changed, as diagnostics name them
/// (`hub[1].pue`).
fn apply(doc: &mut Table, o: &Override) -> Result<Vec<String>, Diagnostics> {
    let first = o.path[0].as_str();
    // `hubs.gansu...` reads as `hub.gansu...`.
    let list = LISTS
        .iter()
        .find(|l| first == **l || first.strip_suffix('s') == Some(**l))
        .copied();
    let Some(list) = list else {
        // A top-level table or key.
        set_in(doc, &o.path, o.value.clone()).map_err(|m| fail(o, m, None))?;
        return Ok(vec![o.path.join(".")]);
    };
    let Some(selector) = o.path.get(1) else {
        return Err(fail(
            o,
            format!("name the {list} to change: {list}.NAME.KEY, or {list}.*.KEY for every one"),
            None,
        ));
    };
    let rest = &o.path[2..];
    if rest.is_empty() {
        return Err(fail(
            o,
            format!("name the key of the {list} to change"),
            None,
        ));
    }
    let Some(Value::Array(items)) = doc.get_mut(list) else {
        return Err(fail(o, format!("the scenario has no [[{list}]]"), None));
    };
    let names: Vec<String> = items
        .iter()
        .map(|i| {
            i.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    let chosen: Vec<usize> = if selector == "*" {
        (0..items.len()).collect()
    } else if let Some(i) = names.iter().position(|n| n == selector) {
        vec![i]
    } else if let Ok(i) = selector.parse::<usize>()
        && i < items.len()
    {
        vec![i]
    } else {
        let known: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !n.is_empty())
            .collect();
        return Err(fail(
            o,
            format!("no {list} \"{selector}\""),
            Some(crate::validate::suggest(
                selector,
                &known,
                &format!("{list}s"),
            )),
        ));
    };
    let mut changed = Vec::new();
    for i in chosen {
        let Some(Value::Table(t)) = items.get_mut(i) else {
            continue;
        };
        set_in(t, rest, o.value.clone()).map_err(|m| fail(o, m, None))?;
        changed.push(format!("{list}[{i}].{}", rest.join(".")));
    }
    Ok(changed)
}

/// Sets `path` in `t` to `v`, creating tables on the way.
fn set_in(t: &mut Table, path: &[String], v: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("an empty path")?;
    let mut at = t;
    for (depth, key) in parents.iter().enumerate() {
        let next = at
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        at = match next {
            Value::Table(inner) => inner,
            _ => {
                return Err(format!(
                    "{} is a value, not a table",
                    path[..=depth].join(".")
                ));
            }
        };
    }
    at.insert(last.clone(), v);
    Ok(())
}

/// The scenario `spec` (a file or a built-in name, as [`crate::load`]) with `overrides` applied.
pub fn load_with(spec: &str, overrides: &[Override]) -> Result<Scenario, LoadError> {
    let (text, file, base) = source(spec)?;
    let base = base.as_deref();
    let plain = load_str(&text, &file, base)?;
    if overrides.is_empty() {
        return Ok(plain);
    }
    let cannot = |e: &dyn std::fmt::Display| {
        LoadError::Invalid(Diagnostics(vec![Diagnostic {
            file: file.clone(),
            line: 1,
            column: 1,
            key: String::new(),
            context: String::new(),
            message: format!("cannot apply --set: {e}"),
            help: None,
        }]))
    };
    let mut doc: Table = toml::from_str(&text).map_err(|e| cannot(&e))?;
    let mut changed: Vec<(String, &Override)> = Vec::new();
    for o in overrides {
        let keys = apply(&mut doc, o).map_err(LoadError::Invalid)?;
        changed.extend(keys.into_iter().map(|k| (k, o)));
    }
    let edited = toml::to_string(&doc).map_err(|e| cannot(&e))?;
    let label = format!("{file} with --set");
    load_str(&edited, &label, base).map_err(|e| match e {
        // Problems now are the overrides' (the file was fine): say which set them.
        LoadError::Invalid(d) => LoadError::Invalid(Diagnostics(
            d.0.into_iter()
                .map(|mut p| {
                    if let Some((_, o)) = changed.iter().find(|(k, _)| {
                        p.key == *k
                            || p.key.starts_with(&format!("{k}."))
                            || p.key.starts_with(&format!("{k}["))
                    }) {
                        p = problem(o, p.message, p.help);
                    }
                    p
                })
                .collect(),
        )),
        other => other,
    })
}

/// A scenario's text, the name its errors use, and the folder its relative paths start from.
fn source(spec: &str) -> Result<(String, String, Option<std::path::PathBuf>), LoadError> {
    let path = Path::new(spec);
    let read = |path: &Path| -> Result<_, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok((
            text,
            path.display().to_string(),
            path.parent().map(Path::to_path_buf),
        ))
    };
    if path.is_file() {
        return read(path);
    }
    if let Some(text) = builtin::text(spec) {
        return Ok((text.to_owned(), format!("<builtin:{spec}>"), None));
    }
    if path.extension().is_some() || spec.contains('/') {
        return read(path);
    }
    Err(LoadError::NotFound {
        name: spec.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        Override::parse(s).expect("override")
    }

    #[test]
    fn overrides_change_one_value_or_every_one_of_a_kind() {
        let plain = crate::load("two-hubs").expect("built-in");
        let s = load_with(
            "two-hubs",
            &[
                set("hubs.gansu.tariff_yuan_per_kwh=0.3"),
                set("hub.*.pue=1.1"),
                set("scenario.duration=2h"),
            ],
        )
        .expect("valid");
        let gansu = s.hubs.iter().find(|h| h.name == "gansu").expect("gansu");
        assert_eq!(gansu.tariff_yuan_per_kwh.at(0), 0.3);
        assert!(s.hubs.iter().all(|h| h.pue == 1.1));
        assert_eq!(s.duration.as_secs(), 7200);
        // Nothing else moved.
        assert_eq!(s.regions, plain.regions);
        assert_eq!(s.classes, plain.classes);
    }

    #[test]
    fn a_bad_override_says_which_and_why() {
        let e = load_with("two-hubs", &[set("hub.gansuu.pue=1.1")]).expect_err("no such hub");
        let text = e.to_string();
        assert!(
            text.contains("--set") && text.contains("no hub \"gansuu\""),
            "{text}"
        );
        assert!(
            text.contains("gansu"),
            "the closest name is suggested: {text}"
        );
        let e = load_with("two-hubs", &[set("hub.gansu.pue=0.5")]).expect_err("pue < 1");
        let text = e.to_string();
        assert!(text.starts_with("--set:1:1: hub.gansu.pue=0.5: "), "{text}");
        assert!(text.contains("pue"), "{text}");
        let e = load_with("two-hubs", &[set("hub.gansu.puee=1.1")]).expect_err("unknown key");
        assert!(e.to_string().contains("puee"), "{e}");
        assert!(Override::parse("hub.gansu.pue").is_err());
        assert!(Override::parse("hub..pue=1").is_err());
    }
}

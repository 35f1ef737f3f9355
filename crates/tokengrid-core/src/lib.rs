//! # tokengrid-core
//!
//! The world tokengrid plans for, as data: accelerators, models, data-center hubs, demand regions,
//! workload classes and network links, read from one TOML scenario file (format: DESIGN.md).
//!
//! Loading goes in three steps, each of which reports *every* problem it finds with its file, line,
//! column, key path and a hint:
//!
//! 1. TOML syntax and a span-preserving parse (kept to locate later errors);
//! 2. serde into [`raw::RawScenario`], which mirrors the file (`deny_unknown_fields`, so a typo
//!    is an error with a did-you-mean);
//! 3. semantic validation into the domain [`Scenario`]: units and ranges, references between
//!    entities, hourly lists of 24, mixes summing to 1, models fitting their replica's HBM, every
//!    region having a hub that can serve it.
//!
//! Only validated types leave this crate. `core` does no I/O beyond reading the scenario file.
//!
//! ```
//! let s = tokengrid_core::builtin::load("two-hubs").unwrap();
//! assert_eq!(s.hubs.len(), 2);
//! let bad = tokengrid_core::load_str("[scenario]\nnam = \"x\"\n", "bad.toml", None).unwrap_err();
//! assert!(bad.to_string().starts_with("bad.toml:2:1:"));
//! ```

#![warn(missing_docs)]

pub mod builtin;
pub mod catalog;
pub mod diag;
mod hardware;
pub mod markup;
pub mod overrides;
pub mod policy;
pub mod raw;
pub mod scenario;
mod validate;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Diagnostics, KeyPath};
pub use hardware::*;
pub use overrides::{Override, load_with};
pub use policy::{BUILTIN_POLICIES, DEFAULT_POLICY, HARD_FILTERS, PolicyDef};
pub use scenario::*;

/// Why a scenario could not be loaded. Every variant is the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read scenario file {}: {source}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text has problems; each is located.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// A name that is neither a file nor a built-in scenario.
    #[error(
        "no scenario file or built-in scenario named \"{name}\"\n  help: built-in scenarios: {}; or give the path of a .toml file",
        builtin::NAMES.join(", ")
    )]
    NotFound {
        /// The name as given.
        name: String,
    },
}

impl LoadError {
    /// The located problems, when the text was read but is invalid.
    pub fn diagnostics(&self) -> Option<&[Diagnostic]> {
        match self {
            LoadError::Invalid(d) => Some(&d.0),
            _ => None,
        }
    }
}

/// Parses and validates scenario text. `file` names the text in messages; `base_dir` is where
/// relative paths in it (trace files) are resolved.
pub fn load_str(text: &str, file: &str, base_dir: Option<&Path>) -> Result<Scenario, LoadError> {
    parse_raw(text, file).and_then(|raw| validate_raw(&raw, text, file, base_dir))
}

/// Parses scenario bytes, reporting invalid UTF-8 at its line and column.
pub fn load_bytes(
    bytes: &[u8],
    file: &str,
    base_dir: Option<&Path>,
) -> Result<Scenario, LoadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str(text, file, base_dir),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            let loc = diag::Locator::new(file, &text);
            Err(LoadError::Invalid(Diagnostics(vec![loc.at_offset(
                text.len(),
                &KeyPath::root(),
                String::new(),
                "the file is not valid UTF-8".into(),
                Some("save the scenario as UTF-8 text".into()),
            )])))
        }
    }
}

/// Reads and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_bytes(&bytes, &path.display().to_string(), path.parent())
}

/// Loads `spec` as a file path when such a file exists, else as a built-in scenario name.
pub fn load(spec: &str) -> Result<Scenario, LoadError> {
    let path = Path::new(spec);
    if path.is_file() {
        return load_file(path);
    }
    if let Some(text) = builtin::text(spec) {
        return load_str(text, &format!("<builtin:{spec}>"), None);
    }
    if path.extension().is_some() || spec.contains('/') {
        return load_file(path);
    }
    Err(LoadError::NotFound {
        name: spec.to_owned(),
    })
}

/// Parses scenario text into its raw form (syntax, key names, value types), without semantic
/// validation.
pub fn parse_raw(text: &str, file: &str) -> Result<raw::RawScenario, LoadError> {
    parse_toml(text, file, SCENARIO_EXAMPLE).map_err(LoadError::Invalid)
}

/// Where scenario errors point for an example of every key.
const SCENARIO_EXAMPLE: &str = "the canonical scenario: `tokengrid scenario show two-hubs`";

/// Parses any TOML document tokengrid reads into `T`, with errors located as a scenario's are
/// (file:line:column, the key, the closest known key); `example` names where a user finds
/// every key (e.g. "the example in docs/serve.md").
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
    example: &str,
) -> Result<T, Diagnostics> {
    let loc = diag::Locator::new(file, text);
    if let Err(e) = toml::de::DeTable::parse(text) {
        let at = e.span().map_or(0, |s| s.start);
        return Err(Diagnostics(vec![loc.at_offset(
            at,
            &KeyPath::root(),
            String::new(),
            format!("TOML syntax error: {}", first_line(e.message())),
            Some(format!("see {example}")),
        )]));
    }
    toml::from_str::<T>(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let path = trim_to_key(&loc.path_at(&span), e.message());
        let (message, help) = explain_serde(e.message(), &path, example);
        Diagnostics(vec![loc.at_offset(
            span.start,
            &path,
            loc.context_of(&path),
            message,
            help,
        )])
    })
}

/// A problem with the key at `path` of the TOML document `text` (read from `file`), located
/// at that key: for checks made after parsing.
pub fn locate(
    text: &str,
    file: &str,
    path: &KeyPath,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    let loc = diag::Locator::new(file, text);
    let context = loc.context_of(path);
    loc.problem(diag::Problem {
        path: path.clone(),
        context,
        message,
        help,
    })
}

/// Validates a raw scenario parsed from `text`.
pub fn validate_raw(
    raw: &raw::RawScenario,
    text: &str,
    file: &str,
    base_dir: Option<&Path>,
) -> Result<Scenario, LoadError> {
    validate::validate(raw, base_dir).map_err(|problems| {
        let loc = diag::Locator::new(file, text);
        let mut diags: Vec<Diagnostic> = problems.into_iter().map(|p| loc.problem(p)).collect();
        diags.sort_by_key(|d| (d.line, d.column));
        LoadError::Invalid(Diagnostics(diags))
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Rewords serde's messages to name the key and to suggest the closest known key.
fn explain_serde(message: &str, path: &KeyPath, example: &str) -> (String, Option<String>) {
    let message = first_line(message);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // serde: "unknown field `x`, expected one of `a`, `b`" or "expected `a`"
        let names: Vec<&str> = rest.split('`').step_by(2).collect();
        if let Some((unknown, known)) = names.split_first() {
            let known: Vec<&str> = known.iter().copied().filter(|k| !k.is_empty()).collect();
            let help = validate::suggest(unknown, &known, "keys here");
            return (format!("unknown key `{unknown}`"), Some(help));
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let at = if path.0.is_empty() {
            String::new()
        } else {
            format!(" in [{path}]")
        };
        return (
            format!("missing key `{name}`{at}"),
            Some(format!(
                "every key without a default is required: see {example}"
            )),
        );
    }
    let help = message.contains("invalid type: map").then(|| {
        "a dotted key (a.b = 1) makes a nested table: quote names that contain dots, e.g. \
         \"llama-3.1-70b\" = 2"
            .to_owned()
    });
    let key = path.to_string();
    if key.is_empty() {
        (message.to_owned(), help)
    } else {
        (format!("{key}: {message}"), help)
    }
}

/// The path of an unknown key ends at the key itself.
fn trim_to_key(path: &KeyPath, message: &str) -> KeyPath {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(unknown) = rest.split('`').next()
        && let Some(i) = path
            .0
            .iter()
            .rposition(|s| *s == diag::Seg::Key(unknown.to_owned()))
    {
        return KeyPath(path.0[..=i].to_vec());
    }
    path.clone()
}

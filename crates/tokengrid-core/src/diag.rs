//! Located errors: every problem in a scenario file is reported with file, line, column, the key
//! path and what to do about it.
//!
//! Serde structs do not keep spans, so locations come from a second, span-preserving parse of the
//! same text ([`toml::de::DeTable`]): a validation error names a [`KeyPath`], and [`Locator`] turns
//! the path into a line and column; a serde error carries a byte span, and the locator turns the
//! span back into the deepest key path that contains it.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An index into an array (of tables or of values).
    Index(usize),
}

/// A path to a key in the document, e.g. `hub[2].tariff_yuan_per_kwh[5]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// The empty path (the document root).
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }
    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }
    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// One located problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given (or `<builtin:NAME>`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Key path of the offending key, e.g. `hub[2].pue`.
    pub key: String,
    /// The entity it belongs to, e.g. `hub "qingyang"` (empty at top level).
    pub context: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one scenario file (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n{} errors", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A problem found by validation, before it is located in the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) path: KeyPath,
    pub(crate) context: String,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

/// Turns key paths and byte spans into lines and columns of one text.
pub(crate) struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    doc: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Locator {
            file,
            text,
            doc: DeTable::parse(text).ok(),
        }
    }

    /// 1-based line and column (in characters) of byte offset `at`.
    pub(crate) fn line_col(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A diagnostic at a byte offset.
    pub(crate) fn at_offset(
        &self,
        at: usize,
        key: &KeyPath,
        context: String,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_col(at);
        Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            key: key.to_string(),
            context,
            message,
            help,
        }
    }

    /// Locates a validation problem: at the value of its key, or at the nearest enclosing key that
    /// exists (a missing key is reported at its table).
    pub(crate) fn problem(&self, p: Problem) -> Diagnostic {
        let at = self.span_of(&p.path).map_or(0, |s| s.start);
        self.at_offset(at, &p.path, p.context, p.message, p.help)
    }

    /// Byte span of the value at `path`, or of the deepest existing prefix of it.
    pub(crate) fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        self.walk(path).map(|(_, span, _)| span)
    }

    /// Follows `path` as far as it exists: how many segments matched, the span to point at, and
    /// the value reached.
    fn walk(&self, path: &KeyPath) -> Option<(usize, Range<usize>, &DeValue<'a>)> {
        let doc = self.doc.as_ref()?;
        let mut best = None;
        let mut table: Option<&DeTable<'a>> = Some(doc.get_ref());
        let mut array: Option<&[toml::Spanned<DeValue<'a>>]> = None;
        for (depth, seg) in path.0.iter().enumerate() {
            let value = match (seg, table, array) {
                (Seg::Key(k), Some(t), _) => t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                    .map(|(key, v)| (key.span(), v)),
                (Seg::Index(i), _, Some(a)) => a.get(*i).map(|v| (v.span(), v)),
                _ => None,
            };
            let Some((key_span, value)) = value else {
                break;
            };
            // A table inside an array of tables has no span of its own worth pointing at;
            // its key (the `[[hub]]` header) is the best place.
            let span = if value.span().is_empty() {
                key_span
            } else {
                value.span()
            };
            best = Some((depth + 1, span, value.get_ref()));
            table = None;
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(a.as_ref()),
                _ => {}
            }
        }
        best
    }

    /// How messages name the entity a path lies in: `hub "gansu"`, `scenario`, or `hub[3]` when
    /// the entity has no readable name.
    pub(crate) fn context_of(&self, path: &KeyPath) -> String {
        match path.0.as_slice() {
            [Seg::Key(kind), Seg::Index(i), ..] => {
                let name_of = |key: &str| {
                    let p = KeyPath(vec![
                        Seg::Key(kind.clone()),
                        Seg::Index(*i),
                        Seg::Key(key.into()),
                    ]);
                    self.string_at(&p)
                };
                if kind == "link" {
                    if let (Some(a), Some(b)) = (name_of("a"), name_of("b")) {
                        return format!("link {a} - {b}");
                    }
                } else if let Some(name) = name_of("name") {
                    return format!("{kind} \"{name}\"");
                }
                format!("{kind}[{i}]")
            }
            [Seg::Key(table), ..] => table.clone(),
            _ => String::new(),
        }
    }

    /// The string value at `path`, when there is one.
    fn string_at(&self, path: &KeyPath) -> Option<String> {
        match self.walk(path)? {
            (depth, _, DeValue::String(s)) if depth == path.0.len() => Some(s.to_string()),
            _ => None,
        }
    }

    /// The deepest key path whose key or value span contains `span`.
    pub(crate) fn path_at(&self, span: &Range<usize>) -> KeyPath {
        let mut path = KeyPath::root();
        if let Some(doc) = &self.doc {
            deepest_in_table(doc.get_ref(), span, &mut path);
        }
        path
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && !outer.is_empty()
}

fn deepest_in_table(t: &DeTable<'_>, span: &Range<usize>, path: &mut KeyPath) -> bool {
    for (key, value) in t.iter() {
        let in_key = contains(&key.span(), span);
        let in_value = contains(&value.span(), span);
        let in_child = match value.get_ref() {
            DeValue::Table(_) | DeValue::Array(_) => {
                let mut child = path.key(key.get_ref());
                if deepest_in_value(value.get_ref(), span, &mut child) {
                    *path = child;
                    return true;
                }
                false
            }
            _ => false,
        };
        if !in_child && (in_key || in_value) {
            path.0.push(Seg::Key(key.get_ref().to_string()));
            return true;
        }
    }
    false
}

fn deepest_in_value(v: &DeValue<'_>, span: &Range<usize>, path: &mut KeyPath) -> bool {
    match v {
        DeValue::Table(t) => deepest_in_table(t, span, path),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let mut child = path.index(i);
                if deepest_in_value(item.get_ref(), span, &mut child)
                    || contains(&item.span(), span)
                {
                    *path = child;
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

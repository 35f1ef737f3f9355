//! Text for HTML and SVG pages: the one escaping function every page writer uses.

/// Escapes `s` for XML/HTML text and attribute values (`&`, `<`, `>`, `"`, `'`), in one pass.
///
/// ```
/// assert_eq!(tokengrid_core::markup::esc("a<b & \"c'"), "a&lt;b &amp; &quot;c&apos;");
/// ```
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

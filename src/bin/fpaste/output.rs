//! What fpaste prints on stdout: one line, one JSON document, a paste's bytes, or a
//! document's fields. Messages go to stderr elsewhere.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::Value;

/// One line (a URL, so it pipes).
///
/// # Errors
/// A closed stdout.
pub fn line(text: &str) -> Result<()> {
    bytes(format!("{text}\n").as_bytes())
}

/// One JSON document, pretty-printed.
///
/// # Errors
/// A closed stdout.
pub fn json(doc: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    bytes(text.as_bytes())
}

/// Raw bytes.
///
/// # Errors
/// A closed stdout.
pub fn bytes(data: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// A document's fields as `key  value` lines, nested maps indented below their key.
///
/// # Errors
/// A closed stdout.
pub fn fields(doc: &Value) -> Result<()> {
    let Some(map) = doc.as_object() else {
        return json(doc);
    };
    let mut text = String::new();
    push_fields(&mut text, map, 0);
    bytes(text.as_bytes())
}

fn push_fields(text: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let width = map.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in map {
        match v {
            Value::Object(inner) => {
                text.push_str(&format!("{:indent$}{k}\n", ""));
                push_fields(text, inner, indent + 2);
            }
            Value::String(s) => text.push_str(&format!("{:indent$}{k:width$}  {s}\n", "")),
            other => text.push_str(&format!("{:indent$}{k:width$}  {other}\n", "")),
        }
    }
}

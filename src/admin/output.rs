//! What `flaskpaste admin` prints: one report per run, as text for people (aligned columns,
//! dates in UTC) or as one JSON object (`--json`), and errors in the same form. Writes only
//! to stdout; never touches the store.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Error;
use crate::store::paste::Paste;

/// The outcome of an action, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The `--json` form: one object.
    pub json: Value,
    /// The text form, ending in a newline.
    pub text: String,
}

/// Prints `report` in the chosen form.
///
/// # Errors
/// Stdout cannot be written.
pub fn print(report: &Report, as_json: bool) -> Result<(), Error> {
    if as_json {
        write(&format!("{}\n", report.json))
    } else {
        write(&report.text)
    }
}

/// Prints `err` as a JSON object on stdout (`--json`): `{"error": "..."}`, and the problems
/// found when a check failed.
///
/// # Errors
/// Stdout cannot be written.
pub fn print_error(err: &Error) -> Result<(), Error> {
    let mut object = json!({"error": err.to_string()});
    if let Error::Check(problems) = err {
        object["ok"] = json!(false);
        object["problems"] = json!(problems);
    }
    write(&format!("{object}\n"))
}

/// Prints `{"error": message}` on stdout: for failures before an action runs (a bad
/// configuration) under `--json`.
///
/// # Errors
/// Stdout cannot be written.
pub fn print_error_message(message: &str) -> Result<(), Error> {
    write(&format!("{}\n", json!({"error": message})))
}

fn write(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}")))
}

/// A paste's metadata as `admin list` and `admin show` print it in JSON; no hashes of
/// passwords or owner tokens.
#[must_use]
pub fn paste_json(p: &Paste) -> Value {
    json!({
        "id": p.id,
        "mime_type": p.mime_type,
        "size": p.size,
        "sha256": p.content_hash,
        "owner": p.owner,
        "created_at": p.created_at,
        "expires_at": p.expires_at,
        "inactivity": p.inactivity,
        "burn_after_read": p.burn_after_read,
        "burn_confirm": p.burn_confirm,
        "password_protected": p.password_hash.is_some(),
        "owner_token": p.owner_token_hash.is_some(),
        "display_name": p.display_name,
    })
}

/// A paste's metadata as `admin show` prints it: one aligned `name value` line each.
#[must_use]
pub fn paste_text(p: &Paste) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    fields(&[
        ("id", p.id.clone()),
        ("type", p.mime_type.clone()),
        ("size", format!("{} bytes", p.size)),
        ("sha256", p.content_hash.clone()),
        ("owner", p.owner.clone().unwrap_or_else(|| "-".into())),
        ("created", time(p.created_at)),
        ("expires", time(p.expires_at)),
        (
            "inactivity",
            p.inactivity
                .map_or_else(|| "-".into(), |s| format!("{s} s")),
        ),
        (
            "burn",
            if p.burn_confirm {
                "on confirmed read".into()
            } else {
                yes_no(p.burn_after_read)
            },
        ),
        ("password", yes_no(p.password_hash.is_some())),
        ("owner token", yes_no(p.owner_token_hash.is_some())),
        ("name", p.display_name.clone().unwrap_or_else(|| "-".into())),
    ])
}

/// `name value` lines, the values aligned in one column.
#[must_use]
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

/// A table: a header line and rows, columns padded to their widest cell; the columns in
/// `right` are aligned right (numbers). The last column is not padded.
#[must_use]
pub fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            if right.contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i < last {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A Unix time as an RFC 3339 UTC date to the second.
#[must_use]
pub fn time(unix: i64) -> String {
    match u64::try_from(unix) {
        Ok(secs) => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
        }
        Err(_) => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_numbers_to_the_right() {
        let rows = vec![
            vec!["abcdef".into(), "5".into(), "text/plain".into()],
            vec!["0123456789".into(), "12345".into(), "image/png".into()],
        ];
        assert_eq!(
            table(&["ID", "SIZE", "TYPE"], &rows, &[1]),
            "ID           SIZE  TYPE\n\
             abcdef          5  text/plain\n\
             0123456789  12345  image/png\n"
        );
    }

    #[test]
    fn fields_and_times_read_well() {
        assert_eq!(
            fields(&[("id", "x".into()), ("expires", "y".into())]),
            "id       x\nexpires  y\n"
        );
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(-1), "-1");
    }
}

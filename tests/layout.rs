//! The code's layout holds to `src/lib.rs`'s map: imports point only to lower layers, no
//! module under `http/` imports `api/` or `serve/`, no two files import each other, and no
//! function under `src/api/` is longer than 60 lines. Reads the source as text.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
/// Longest function allowed under `src/api/`, in lines from `fn` to its closing brace.
const MAX_HANDLER_LINES: usize = 60;

/// A source file: its module path (`["http", "request"]`) and its text up to its tests.
struct File {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Binaries are not modules of the library.
            if path.file_name().unwrap() != "bin" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn library_files() -> Vec<File> {
    let mut paths = Vec::new();
    rust_files(Path::new(SRC), &mut paths);
    paths
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(SRC).unwrap().with_extension("");
            let mut module: Vec<String> =
                rel.iter().map(|c| c.to_str().unwrap().to_owned()).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                return None;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests sit at the bottom; their `super` is the file itself.
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Some(File { path, module, code })
        })
        .collect()
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// Every `crate::`, `super::` or `self::` path a file names: in `use` trees and in code.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    // The code with its `use` statements cut out, scanned for paths afterwards.
    let mut other = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            other.push_str(&rest[..at + 4]);
            rest = &rest[at + 4..];
            continue;
        }
        other.push_str(&rest[..at]);
        let tail = &rest[at + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        paths.extend(expand(&tail[..end]));
        rest = &tail[end..];
    }
    other.push_str(rest);
    let bytes = other.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in other.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let path: String = other[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path);
        }
    }
    paths
}

/// The module a path points into (the longest prefix that is a file), from `module`'s file.
fn resolve(path: &str, module: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segs = path.split("::").filter(|s| !s.is_empty());
    let mut abs: Vec<String> = match segs.next()? {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for seg in segs {
        if seg == "super" {
            abs.pop();
        } else {
            abs.push(seg.to_owned());
        }
    }
    (1..=abs.len())
        .rev()
        .map(|n| abs[..n].to_vec())
        .find(|prefix| known.contains(prefix))
}

/// Which file imports which (by module path).
fn imports(files: &[File]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    files
        .iter()
        .map(|f| {
            let targets = named_paths(&f.code)
                .iter()
                .filter_map(|p| resolve(p, &f.module, &known))
                .filter(|t| *t != f.module)
                .collect();
            (f.module.clone(), targets)
        })
        .collect()
}

/// The layers of `src/lib.rs`'s map: top-level module → rank (higher imports lower).
fn layers() -> BTreeMap<String, usize> {
    let lib = std::fs::read_to_string(format!("{SRC}/lib.rs")).unwrap();
    let rows: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! layer: "))
        .collect();
    assert!(!rows.is_empty(), "src/lib.rs has no `layer:` lines");
    rows.iter()
        .enumerate()
        .flat_map(|(i, row)| {
            let rank = rows.len() - i;
            row.split_whitespace().map(move |m| (m.to_owned(), rank))
        })
        .collect()
}

#[test]
fn the_import_scanner_sees_use_trees_and_paths() {
    let code = "use crate::http::{error::ApiError, request::{Ctx, Request}};\n\
                use super::{AppState, blocking};\nlet x = crate::clock::now();";
    let mut got = named_paths(code);
    got.sort();
    assert_eq!(
        got,
        [
            "crate::clock::now",
            "crate::http::error::ApiError",
            "crate::http::request::Ctx",
            "crate::http::request::Request",
            "super::AppState",
            "super::blocking",
        ]
    );
}

#[test]
fn imports_point_only_to_lower_layers_of_the_map() {
    let files = library_files();
    let ranks = layers();
    let mut wrong = Vec::new();
    for f in &files {
        if !ranks.contains_key(&f.module[0]) {
            wrong.push(format!("{} is in no layer of src/lib.rs", f.module[0]));
        }
    }
    for (from, targets) in imports(&files) {
        for to in targets {
            if from[0] == to[0] {
                continue;
            }
            let (a, b) = (ranks.get(&from[0]), ranks.get(&to[0]));
            if matches!((a, b), (Some(a), Some(b)) if a <= b) {
                wrong.push(format!(
                    "{} imports {}, which is not in a lower layer",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn http_never_imports_api_or_serve() {
    let files = library_files();
    let bad: Vec<String> = imports(&files)
        .into_iter()
        .filter(|(from, _)| from[0] == "http")
        .flat_map(|(from, to)| to.into_iter().map(move |t| (from.clone(), t)))
        .filter(|(_, to)| to[0] == "api" || to[0] == "serve")
        .map(|(from, to)| format!("{} imports {}", from.join("::"), to.join("::")))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn no_two_files_import_each_other() {
    let graph = imports(&library_files());
    let mut pairs = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if from < to && graph.get(to).is_some_and(|back| back.contains(from)) {
                pairs.push(format!("{} <-> {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(pairs.is_empty(), "{pairs:#?}");
}

#[test]
fn no_function_under_api_is_longer_than_60_lines() {
    let mut long = Vec::new();
    for f in library_files().iter().filter(|f| f.module[0] == "api") {
        let text = std::fs::read_to_string(&f.path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "const fn ",
                "pub(crate) ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || trimmed.ends_with(';') {
                continue;
            }
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            let end = lines[i..]
                .iter()
                .position(|l| *l == close)
                .unwrap_or_else(|| panic!("{}:{}: no closing brace", f.path.display(), i + 1));
            if end + 1 > MAX_HANDLER_LINES {
                long.push(format!("{}:{}: {} lines", f.path.display(), i + 1, end + 1));
            }
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

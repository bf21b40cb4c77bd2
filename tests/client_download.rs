//! `GET /client` against the real binary: the file named by `client_path` as a download,
//! 404 with a hint when it cannot be served, and the default, the `fpaste` beside the
//! daemon binary, which `--version` names.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::path::{Path, PathBuf};

use common::{BIN, Builder, Resp};

/// More than two chunks of the stream, and not a whole number of them.
const SIZE: usize = 600_001;

fn assert_download_headers(resp: &Resp) {
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename=\"fpaste\"")
    );
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
}

/// The config line that sets `client_path` to `path`.
fn client_path(path: &Path) -> String {
    format!("client_path = {:?}", path.display().to_string())
}

/// The client the daemon serves when no `client_path` is configured.
fn default_client() -> PathBuf {
    match flaskpaste::config::DEFAULT_CLIENT_PATH {
        Some(path) => PathBuf::from(path),
        // The daemon knows its path from /proc/self/exe, with symlinks resolved.
        None => std::fs::canonicalize(BIN)
            .unwrap()
            .parent()
            .unwrap()
            .join("fpaste"),
    }
}

#[tokio::test]
async fn client_path_file_is_served_whole_as_a_download() {
    let b = Builder::new();
    let client = b.path("fpaste-build");
    let bytes = flaskpaste::ids::random_bytes(SIZE);
    std::fs::write(&client, &bytes).unwrap();
    let d = b.toml(&client_path(&client)).spawn();

    let resp = d.req("GET", "/client", &[]).await;
    assert_eq!(resp.status, 200, "{:?}", resp.headers);
    assert_download_headers(&resp);
    assert_eq!(resp.header("content-length"), Some(&*SIZE.to_string()));
    assert!(resp.body == bytes, "the served bytes differ from the file");

    let head = d.req("HEAD", "/client", &[]).await;
    assert_eq!(head.status, 200);
    assert_download_headers(&head);
    assert_eq!(head.header("content-length"), Some(&*SIZE.to_string()));
    assert!(head.body.is_empty());

    // Read per request: a replaced file is served without a restart.
    std::fs::write(&client, b"new client").unwrap();
    assert_eq!(d.req("GET", "/client", &[]).await.body, b"new client");
}

#[tokio::test]
async fn missing_or_unreadable_client_is_404_with_a_hint() {
    let b = Builder::new();
    let missing = b.path("no-such-fpaste");
    let d = b.toml(&client_path(&missing)).spawn();
    for method in ["GET", "HEAD"] {
        let resp = d.req(method, "/client", &[]).await;
        assert_eq!(resp.status, 404, "{method}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    }
    let resp = d.req("GET", "/client", &[]).await;
    let body = resp.json();
    assert_eq!(body["error"], "Client not available", "{body}");
    let hint = body["hint"].as_str().unwrap();
    assert!(
        hint.contains("client_path") && hint.contains("client feature"),
        "{hint}"
    );
    let text = String::from_utf8_lossy(&resp.body);
    assert!(!text.contains("no-such-fpaste"), "the path leaked: {text}");

    // A directory opens, but is no client either.
    let b = Builder::new();
    let dir = b.dir.path().to_owned();
    let d = b.toml(&client_path(&dir)).spawn();
    let resp = d.req("GET", "/client", &[]).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["error"], "Client not available");
}

#[tokio::test]
async fn client_route_is_listed_and_takes_only_get_and_head() {
    let d = Builder::new().spawn();
    let info = d.req("GET", "/", &[]).await.json().to_string();
    assert!(info.contains("/client"), "{info}");
    let resp = d.req("POST", "/client", &[]).await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
}

#[test]
fn version_names_the_default_client() {
    let out = Builder::new().arg("--version").run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let line = format!("client: {}", default_client().display());
    assert!(out.stdout.lines().any(|l| l == line), "{}", out.stdout);
}

/// Cargo puts `fpaste` beside `flaskpaste` when it builds the client.
#[cfg(feature = "client")]
#[tokio::test]
async fn default_serves_the_fpaste_beside_the_daemon() {
    if let Some(path) = flaskpaste::config::DEFAULT_CLIENT_PATH {
        eprintln!("skipped: this build serves {path} by default");
        return;
    }
    let fpaste = std::fs::canonicalize(env!("CARGO_BIN_EXE_fpaste")).unwrap();
    assert_eq!(fpaste, default_client());
    let bytes = std::fs::read(&fpaste).unwrap();
    let d = Builder::new().spawn();
    let resp = d.req("GET", "/client", &[]).await;
    assert_eq!(resp.status, 200, "{:?}", resp.headers);
    assert_download_headers(&resp);
    assert!(
        resp.body == bytes,
        "the served bytes differ from {}",
        fpaste.display()
    );
}

//! HTTP plumbing against the real binary: routing under url_prefix, JSON error bodies,
//! security headers on every response, request ids, the info and health endpoints.

mod common;

use common::{Builder, Resp};

const SECURITY_HEADERS: [(&str, &str); 8] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "permissions-policy",
        "geolocation=(), microphone=(), camera=()",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "cache-control",
        "no-store, no-cache, must-revalidate, private",
    ),
    ("pragma", "no-cache"),
];

fn assert_security_headers(resp: &Resp, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(resp.header(name), Some(value), "{what}: {name}");
    }
    assert!(
        resp.header("x-request-id").is_some(),
        "{what}: x-request-id"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let b = Builder::new();
    let db = b.path("pastes.db");
    let d = b.spawn();
    for (method, path) in [
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/health"),
        ("HEAD", "/health"),
        ("GET", "/no/such/thing"),
        ("HEAD", "/no/such/thing"),
        ("DELETE", "/"),
        ("OPTIONS", "/health"),
    ] {
        let resp = d.req(method, path, &[]).await;
        assert_security_headers(&resp, &format!("{method} {path}"));
    }
    std::fs::rename(&db, d.path("elsewhere.db")).unwrap();
    let resp = d.req("GET", "/health", &[]).await;
    assert_eq!(resp.status, 503);
    assert_security_headers(&resp, "503");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let d = Builder::new().spawn();
    for path in [
        "/health/",
        "/health/x",
        "//",
        "/a/b/c",
        "/abcdef123456/raw/x",
    ] {
        let resp = d.req("GET", path, &[]).await;
        assert_eq!(resp.status, 404, "{path}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.json()["error"], "Not found", "{path}");
    }
}

#[tokio::test]
async fn malformed_paste_ids_get_a_json_400() {
    let d = Builder::new().spawn();
    for path in [
        "/nope",
        "/%00",
        "/ABCDEF123456",
        "/abc",
        "/abcdef12345g/raw",
    ] {
        let resp = d.req("GET", path, &[]).await;
        assert_eq!(resp.status, 400, "{path}");
        assert_eq!(resp.json()["error"], "Invalid paste ID format", "{path}");
    }
}

#[tokio::test]
async fn wrong_methods_get_a_json_405_with_allow() {
    let d = Builder::new().spawn();
    for (method, path, allow) in [
        ("POST", "/health", "GET, HEAD"),
        ("DELETE", "/", "GET, HEAD, POST"),
        ("PUT", "/health", "GET, HEAD"),
        ("PATCH", "/", "GET, HEAD, POST"),
        ("POST", "/abcdef123456", "GET, HEAD, PUT, DELETE"),
        ("DELETE", "/abcdef123456/raw", "GET, HEAD, POST"),
        ("POST", "/pastes", "GET, HEAD"),
    ] {
        let resp = d.req(method, path, &[]).await;
        assert_eq!(resp.status, 405, "{method} {path}");
        assert_eq!(resp.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(resp.json()["error"], "Method not allowed");
    }
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let d = Builder::new().spawn();
    let get = d.req("GET", "/", &[]).await;
    let head = d.req("HEAD", "/", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(
        head.header("content-length").unwrap(),
        get.body.len().to_string()
    );
}

#[tokio::test]
async fn request_ids_are_echoed_when_printable_and_short() {
    let d = Builder::new().spawn();
    let resp = d
        .req("GET", "/health", &[("x-request-id", "my-trace-123")])
        .await;
    assert_eq!(resp.header("x-request-id"), Some("my-trace-123"));
    let long = "a".repeat(200);
    let resp = d.req("GET", "/health", &[("x-request-id", &long)]).await;
    let generated = resp.header("x-request-id").unwrap();
    assert_eq!(generated.len(), 36, "{generated}");
    let resp = d.req("GET", "/nope", &[]).await;
    let a = resp.header("x-request-id").unwrap().to_owned();
    let b = d
        .req("GET", "/nope", &[])
        .await
        .header("x-request-id")
        .unwrap()
        .to_owned();
    assert_ne!(a, b, "generated ids must differ");
}

#[tokio::test]
async fn info_document_names_the_version_and_existing_endpoints() {
    let d = Builder::new().spawn();
    let info = d.req("GET", "/", &[]).await.json();
    assert_eq!(info["name"], "FlaskPaste");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["endpoints"]["GET /health"].is_string(), "{info}");
    assert!(info["endpoints"]["GET /"].is_string(), "{info}");
}

#[tokio::test]
async fn health_is_a_real_database_check() {
    let b = Builder::new();
    let db = b.path("pastes.db");
    let mut d = b.spawn();
    let ok = d.req("GET", "/health", &[]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.json(),
        serde_json::json!({"status": "healthy", "database": "ok"})
    );
    // The file the daemon writes to is no longer the one at the configured path.
    std::fs::rename(&db, d.path("elsewhere.db")).unwrap();
    let bad = d.req("GET", "/health", &[]).await;
    assert_eq!(bad.status, 503);
    let body = bad.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"], "error");
    assert!(body["error"].is_string());
    d.wait_log("health check failed");
}

#[tokio::test]
async fn url_prefix_moves_every_route() {
    let d = Builder::new().toml("url_prefix = \"/paste/\"").spawn();
    assert_eq!(d.req("GET", "/paste/health", &[]).await.status, 200);
    let info = d.req("GET", "/paste", &[]).await;
    assert_eq!(info.status, 200);
    assert!(
        info.json()["endpoints"]["GET /paste/health"].is_string(),
        "{}",
        info.json()
    );
    assert_eq!(d.req("GET", "/paste/", &[]).await.status, 200);
    assert_eq!(d.req("GET", "/health", &[]).await.status, 404);
    assert_eq!(d.req("GET", "/pastex/health", &[]).await.status, 404);
}

#[tokio::test]
async fn each_request_is_logged_once_with_its_facts() {
    let mut d = Builder::new().toml("log_format = \"json\"").spawn();
    d.req("GET", "/a/b/c", &[("x-request-id", "rid-log-1")])
        .await;
    let log = d.wait_log("rid-log-1");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("rid-log-1"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    let line = &lines[0];
    assert_eq!(line["rid"], "rid-log-1");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/a/b/c");
    assert_eq!(line["status"], 404);
    assert!(line["bytes"].as_u64().unwrap() > 0, "{line}");
    assert!(line["duration_us"].is_u64(), "{line}");
}

#[tokio::test]
async fn client_certificate_header_counts_only_with_the_proxy_secret() {
    const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
    let mut d = Builder::new()
        .env("FLASKPASTE_PROXY_SECRET", "s3cret")
        .spawn();
    d.req(
        "GET",
        "/",
        &[("x-ssl-client-sha1", FP), ("x-request-id", "no-secret")],
    )
    .await;
    d.req(
        "GET",
        "/",
        &[
            ("x-ssl-client-sha1", FP),
            ("x-proxy-secret", "s3cret"),
            ("x-request-id", "with-secret"),
        ],
    )
    .await;
    let log = d.wait_log("with-secret");
    let line = |rid: &str| log.lines().find(|l| l.contains(rid)).unwrap().to_owned();
    assert!(line("no-secret").contains("client=\"-\""), "{log}");
    assert!(
        line("with-secret").contains(&format!("client=\"{FP}\"")),
        "{log}"
    );
}

//! Rate limits on creation and content updates against the real binary: per client address,
//! with headers, the certificate multiplier, and clients behind a trusted proxy.

mod common;

use common::{Builder, FP};

#[tokio::test]
async fn creations_are_rate_limited_per_client_with_headers() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 2\nrate_window = 60\nrate_auth_mult = 2")
        .spawn();
    let first = d.post("one", &[]).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("1"));
    let reset: i64 = first.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset > first.json()["created_at"].as_i64().unwrap());
    assert_eq!(d.post("two", &[]).await.status, 201);
    let refused = d.post("three", &[]).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["error"], "Rate limit exceeded");
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Reads are not limited.
    assert_eq!(d.req("GET", "/", &[]).await.status, 200);
}

#[tokio::test]
async fn certificates_multiply_the_rate_limit() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 1\nrate_auth_mult = 3")
        .spawn();
    let fp = [("x-ssl-client-sha1", FP)];
    for i in 0..3 {
        let resp = d.post(format!("a{i}"), &fp).await;
        assert_eq!(
            (resp.status, resp.header("x-ratelimit-limit")),
            (201, Some("3"))
        );
    }
    assert_eq!(d.post("a3", &fp).await.status, 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let trusted = Builder::new()
        .toml("rate_limit = true\nrate_max = 1\ntrusted_proxies = [\"unix\"]")
        .spawn();
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    assert_eq!(trusted.post("a", &from("198.51.100.1")).await.status, 201);
    assert_eq!(trusted.post("b", &from("198.51.100.2")).await.status, 201);
    assert_eq!(trusted.post("c", &from("198.51.100.1")).await.status, 429);
    // An untrusted peer's X-Forwarded-For is ignored: both requests are the peer's.
    let direct = Builder::new()
        .toml("rate_limit = true\nrate_max = 1")
        .spawn();
    assert_eq!(direct.post("a", &from("198.51.100.1")).await.status, 201);
    assert_eq!(direct.post("b", &from("198.51.100.2")).await.status, 429);
}

#[tokio::test]
async fn updates_count_against_the_rate_limit_with_headers() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 2\nrate_window = 60")
        .spawn();
    let created = d.create("first", &[]).await;
    let path = format!("/{}", common::id(&created));
    let token = created["owner_token"].as_str().unwrap().to_owned();
    let owner = [("x-owner-token", token.as_str())];
    let updated = d.send("PUT", &path, &owner, "second").await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(updated.header("x-ratelimit-remaining"), Some("0"));
    assert!(updated.header("x-ratelimit-reset").is_some());
    let refused = d.send("PUT", &path, &owner, "third").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["error"], "Rate limit exceeded");
    assert!(refused.header("retry-after").is_some());
    // The refused update changed nothing.
    let raw = d.req("GET", &format!("{path}/raw"), &[]).await;
    assert_eq!(raw.body, b"second");
}

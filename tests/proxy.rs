//! Proxy headers mean what the operator thinks: who may vouch for a client certificate,
//! doubled headers, and which X-Forwarded-For hop is the client.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use common::{Builder, request_tcp, tcp_address};

const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
const FP_HEADER: (&str, &str) = ("x-ssl-client-sha1", FP);

async fn owner_over_tcp(addr: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let resp = request_tcp(addr, "POST", "/", headers, b"content".to_vec()).await;
    assert_eq!(
        resp.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    resp.json()["owner"].clone()
}

#[tokio::test]
async fn without_a_secret_the_certificate_header_is_believed_only_from_local_peers() {
    // Unix socket and loopback TCP: a proxy on this host.
    let mut d = Builder::new().listen(&["127.0.0.1:0"]).spawn();
    let log = d.wait_log("listening on");
    assert!(!log.contains("neither proxy_secret"), "{log}");
    assert_eq!(owner_over_tcp(&tcp_address(&log), &[FP_HEADER]).await, FP);
    drop(d);
    let d = Builder::new().spawn();
    assert_eq!(d.create("x", &[FP_HEADER]).await["owner"], FP);
}

/// The owner a paste created through an inetd daemon gets: its peer is whoever inetd
/// accepted, not a local proxy.
fn owner_over_inetd(toml: &str, secret: Option<&str>) -> serde_json::Value {
    use std::io::{Read, Write};
    use std::os::fd::OwnedFd;
    use std::process::Stdio;

    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let out = theirs.try_clone().unwrap();
    let mut d = Builder::new()
        .toml(toml)
        .listen(&["inetd"])
        .stdio(
            Stdio::from(OwnedFd::from(theirs)),
            Stdio::from(OwnedFd::from(out)),
        )
        .spawn();
    let secret = secret.map_or(String::new(), |s| format!("X-Proxy-Secret: {s}\r\n"));
    ours.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-SSL-Client-SHA1: {FP}\r\n{secret}\
             Content-Length: 7\r\nConnection: close\r\n\r\ncontent"
        )
        .as_bytes(),
    )
    .unwrap();
    ours.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let mut resp = String::new();
    ours.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp:?}");
    assert_eq!(d.wait_exit().code(), Some(0), "{}", d.log());
    let body = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str::<serde_json::Value>(body).unwrap()["owner"].clone()
}

#[test]
fn a_certificate_header_from_a_peer_that_is_not_a_local_proxy_is_ignored() {
    assert_eq!(owner_over_inetd("", None), serde_json::Value::Null);
    // With a shared secret, a proxy anywhere may vouch, by presenting it.
    let toml = "proxy_secret = \"s3\"";
    assert_eq!(owner_over_inetd(toml, Some("s3")), FP);
    assert_eq!(owner_over_inetd(toml, Some("s4")), serde_json::Value::Null);
}

#[tokio::test]
async fn listening_beyond_loopback_without_secret_or_trusted_proxies_is_warned_of() {
    // Bound on every address, asked only through loopback.
    let mut d = Builder::new().listen(&["0.0.0.0:0"]).spawn();
    let log = d.wait_log("listening on");
    assert!(
        log.contains("neither proxy_secret nor trusted_proxies"),
        "no start-up warning:\n{log}"
    );
    drop(d);
    let mut d = Builder::new()
        .toml("trusted_proxies = [\"10.0.0.0/8\"]")
        .listen(&["0.0.0.0:0"])
        .spawn();
    let log = d.wait_log("listening on");
    assert!(!log.contains("neither proxy_secret"), "{log}");
}

#[tokio::test]
async fn with_a_secret_the_certificate_header_needs_it_even_from_local_peers() {
    let d = Builder::new().toml("proxy_secret = \"s3cret\"").spawn();
    assert!(d.create("a", &[FP_HEADER]).await.get("owner").is_none());
    let wrong = [FP_HEADER, ("x-proxy-secret", "guess")];
    assert!(d.create("b", &wrong).await.get("owner").is_none());
    let right = [FP_HEADER, ("x-proxy-secret", "s3cret")];
    assert_eq!(d.create("c", &right).await["owner"], FP);
}

#[tokio::test]
async fn a_doubled_certificate_or_secret_header_is_anonymous() {
    let other = "0000000000000000000000000000000000000000";
    let d = Builder::new().spawn();
    let doubled = [FP_HEADER, ("x-ssl-client-sha1", other)];
    assert!(d.create("a", &doubled).await.get("owner").is_none());
    let same_twice = [FP_HEADER, FP_HEADER];
    assert!(d.create("b", &same_twice).await.get("owner").is_none());
    drop(d);

    let d = Builder::new().toml("proxy_secret = \"s3cret\"").spawn();
    let secret_twice = [
        FP_HEADER,
        ("x-proxy-secret", "guess"),
        ("x-proxy-secret", "s3cret"),
    ];
    assert!(d.create("c", &secret_twice).await.get("owner").is_none());
    let fp_twice = [
        FP_HEADER,
        ("x-ssl-client-sha1", other),
        ("x-proxy-secret", "s3cret"),
    ];
    assert!(d.create("d", &fp_twice).await.get("owner").is_none());
}

#[tokio::test]
async fn forwarded_for_lines_ports_and_garbage_buy_no_fresh_rate_window() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 1\ntrusted_proxies = [\"unix\"]")
        .spawn();
    // The proxy appends the client with its port; the client's own line comes first.
    let xff = |v: &'static str| ("x-forwarded-for", v);
    assert_eq!(d.post("a", &[xff("198.51.100.1:1000")]).await.status, 201);
    assert_eq!(
        d.post("b", &[xff("203.0.113.7, 198.51.100.1:1001")])
            .await
            .status,
        429,
        "a client-chosen hop left of its real address"
    );
    assert_eq!(
        d.post("c", &[xff("203.0.113.8"), xff("198.51.100.1")])
            .await
            .status,
        429,
        "a second X-Forwarded-For line"
    );
    // Garbage nearest the proxy: the walk stops there, so the client is the peer, once.
    assert_eq!(d.post("d", &[xff("bogus")]).await.status, 201);
    assert_eq!(
        d.post("e", &[xff("203.0.113.9, bogus")]).await.status,
        429,
        "a hop behind garbage"
    );
    assert_eq!(d.post("f", &[xff("198.51.100.2")]).await.status, 201);
}

#[tokio::test]
async fn forwarded_ipv6_clients_share_a_window_per_prefix() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 1\ntrusted_proxies = [\"unix\"]")
        .spawn();
    let xff = |v: &'static str| [("x-forwarded-for", v)];
    assert_eq!(d.post("a", &xff("2001:db8:1:2::1")).await.status, 201);
    assert_eq!(
        d.post("b", &xff("[2001:db8:1:2:ffff::9]:443")).await.status,
        429,
        "the same /64"
    );
    assert_eq!(d.post("c", &xff("2001:db8:1:3::1")).await.status, 201);
    drop(d);

    let d = Builder::new()
        .toml(
            "rate_limit = true\nrate_max = 1\ntrusted_proxies = [\"unix\"]\nrate_ipv6_prefix = 128",
        )
        .spawn();
    assert_eq!(d.post("a", &xff("2001:db8:1:2::1")).await.status, 201);
    assert_eq!(d.post("b", &xff("2001:db8:1:2::2")).await.status, 201);
}

#[test]
fn rate_ipv6_prefix_outside_1_to_128_is_a_config_error() {
    for bad in ["0", "129"] {
        let out = Builder::new()
            .toml(&format!("rate_ipv6_prefix = {bad}"))
            .arg("--check-config")
            .run();
        assert_eq!(out.code, Some(78), "{}", out.stderr);
        assert!(out.stderr.contains("rate_ipv6_prefix"), "{}", out.stderr);
    }
}

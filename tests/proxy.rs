//! Proxy headers mean what the operator thinks: who may vouch for a client certificate,
//! doubled headers, and which X-Forwarded-For hop is the client.

mod common;

use common::{Builder, request_tcp, tcp_address};

const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
const FP_HEADER: (&str, &str) = ("x-ssl-client-sha1", FP);

/// A local address that is not loopback (this host's address on a network), if it has one.
/// Connecting a UDP socket sends nothing; it only picks the source address.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("203.0.113.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

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
    let local = tcp_address(&d.wait_log("listening on"));
    assert_eq!(owner_over_tcp(&local, &[FP_HEADER]).await, FP);
    drop(d);
    let d = Builder::new().spawn();
    assert_eq!(d.create("x", &[FP_HEADER]).await["owner"], FP);
    drop(d);

    let Some(ip) = non_loopback_address() else {
        eprintln!("skipped the non-loopback part: this host has no non-loopback address");
        return;
    };
    let listen = std::net::SocketAddr::new(ip, 0).to_string();
    let mut d = Builder::new().listen(&[listen.as_str()]).spawn();
    let log = d.wait_log("listening on");
    let remote = tcp_address(&log);
    assert!(
        log.contains("neither proxy_secret nor trusted_proxies"),
        "no start-up warning:\n{log}"
    );
    // Connecting to this host's own network address: the peer is that address, not loopback.
    assert_eq!(
        owner_over_tcp(&remote, &[FP_HEADER]).await,
        serde_json::Value::Null
    );

    // Named as a trusted proxy, the same peer may vouch again, and nothing is warned.
    let mut d = Builder::new()
        .toml(&format!("trusted_proxies = [\"{ip}\"]"))
        .listen(&[listen.as_str()])
        .spawn();
    let log = d.wait_log("listening on");
    assert!(!log.contains("neither proxy_secret"), "{log}");
    assert_eq!(owner_over_tcp(&tcp_address(&log), &[FP_HEADER]).await, FP);
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

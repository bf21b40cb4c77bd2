//! Rate limits on creation and content updates against the real binary: per client address,
//! with headers, the certificate multiplier, clients behind a trusted proxy, and the bound
//! on how many client addresses are tracked.
#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

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

/// Sends one empty `POST /` per forwarded client address, pipelined in batches over one
/// connection, and returns the status of each answer.
fn post_from_each(sock: &std::path::Path, clients: impl Iterator<Item = String>) -> Vec<u16> {
    let conn = UnixStream::connect(sock).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    let clients: Vec<String> = clients.collect();
    let mut statuses = Vec::with_capacity(clients.len());
    for batch in clients.chunks(500) {
        let mut out = String::new();
        for client in batch {
            out.push_str(&format!(
                "POST / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {client}\r\n\
                 Content-Length: 0\r\n\r\n"
            ));
        }
        writer.write_all(out.as_bytes()).unwrap();
        for _ in batch {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            statuses.push(line.split(' ').nth(1).unwrap().parse().unwrap());
            let mut length = 0;
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
        }
    }
    statuses
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_flood_from_many_addresses_is_tracked_in_bounded_memory_and_still_limited() {
    // 100,000 addresses are tracked at most; each gets one creation (an empty body is
    // counted, then refused with 400, so nothing is stored).
    const TRACKED: u32 = 100_000;
    let d = Builder::new()
        .toml(
            "rate_limit = true\nrate_max = 1\nrate_window = 3600\n\
             trusted_proxies = [\"unix\"]\nlog_level = \"warn\"",
        )
        // No "listening on" line at this log level: ready when the socket answers.
        .quiet()
        .spawn();
    let address = |i: u32| {
        let [_, a, b, c] = (0x0a00_0000 + i).to_be_bytes();
        format!("10.{a}.{b}.{c}")
    };
    let first = post_from_each(&d.sock, (0..TRACKED).map(address));
    assert!(
        first.iter().all(|&s| s == 400),
        "every new address has its own window"
    );
    let tracked_rss = rss_kib(d.pid());
    // Beyond the cap, new addresses share one window: the first gets its creation, every
    // other one is refused, and none of them takes memory of its own.
    let beyond = post_from_each(&d.sock, (TRACKED..TRACKED + 50_000).map(address));
    assert_eq!(beyond[0], 400);
    assert!(
        beyond[1..].iter().all(|&s| s == 429),
        "the shared window is used up"
    );
    let grown = rss_kib(d.pid()).saturating_sub(tracked_rss);
    assert!(
        grown < 4096,
        "50,000 more addresses grew the daemon by {grown} KiB"
    );
    // Addresses tracked before the flood keep their own windows.
    assert_eq!(post_from_each(&d.sock, [address(7)].into_iter()), [429]);
}

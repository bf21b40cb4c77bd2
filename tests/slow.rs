//! Slow and stalled clients against the real binary: they get bounded time, then lose their
//! connection, and `/health` keeps answering meanwhile.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{Builder, PATIENCE};
use tokio::io::AsyncWriteExt;

/// The daemon's stall limit for request bodies (`http::request::BODY_STALL`).
const BODY_STALL: Duration = Duration::from_secs(10);

/// `/health` answers within a second.
async fn assert_healthy_quickly(d: &common::Daemon) {
    let started = Instant::now();
    let resp = tokio::time::timeout(Duration::from_secs(1), d.req("GET", "/health", &[]))
        .await
        .expect("/health did not answer within 1 s");
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn stalled_body_gets_408_and_frees_the_connection() {
    let d = Builder::new().toml("max_connections = 2").spawn();
    // Both connection slots: a body that declares 1000 bytes, sends three, and stops.
    let mut stalled: Vec<UnixStream> = (0..2)
        .map(|_| {
            let mut conn = UnixStream::connect(&d.sock).unwrap();
            conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
                .unwrap();
            conn
        })
        .collect();
    let started = Instant::now();
    for conn in &mut stalled {
        let (got, _) = common::read_until_closed(conn);
        assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
        assert!(
            got.to_ascii_lowercase().contains("connection: close"),
            "{got:?}"
        );
        assert!(got.ends_with(r#"{"error":"Request timeout"}"#), "{got:?}");
    }
    let took = started.elapsed();
    assert!(took < BODY_STALL + Duration::from_secs(5), "{took:?}");
    // The slots are free again.
    assert_healthy_quickly(&d).await;
}

#[tokio::test]
async fn health_answers_while_many_bodies_trickle() {
    let d = Builder::new().spawn();
    let mut tricklers = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let sock = d.sock.clone();
        tricklers.spawn(async move {
            let mut conn = tokio::net::UnixStream::connect(sock).await.unwrap();
            conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
                .await
                .unwrap();
            // One byte every 2 s: never a stall, bounded by the test's own end.
            for _ in 0..10 {
                if conn.write_all(b"x").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }
    let until = Instant::now() + Duration::from_secs(10).min(PATIENCE);
    while Instant::now() < until {
        assert_healthy_quickly(&d).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Closes the connections now, not when the daemon's drain gives up on them.
    tricklers.shutdown().await;
}

/// The daemon's virtual memory size in KiB (`VmSize` of `/proc/PID/status`).
fn vm_size_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn declared_lengths_reserve_no_memory_before_the_bytes_arrive() {
    let d = Builder::new()
        .toml("max_anon = 52428800\nmax_auth = 52428800")
        .spawn();
    let request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\nabc";
    // One first, so the memory every request needs anyway is in the baseline.
    let mut warm = tokio::net::UnixStream::connect(&d.sock).await.unwrap();
    warm.write_all(request).await.unwrap();
    assert_healthy_quickly(&d).await;
    let before = vm_size_kib(d.pid());
    let mut idle = Vec::new();
    for _ in 0..40 {
        let mut conn = tokio::net::UnixStream::connect(&d.sock).await.unwrap();
        conn.write_all(request).await.unwrap();
        idle.push(conn);
    }
    // The bodies wait well inside BODY_STALL; every request has reached its handler once
    // a few later requests on other connections have been answered.
    for _ in 0..3 {
        assert_healthy_quickly(&d).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown_mib = vm_size_kib(d.pid()).saturating_sub(before) / 1024;
    // 40 × 50 MiB would be 2000 MiB reserved up front.
    assert!(grown_mib < 256, "VmSize grew by {grown_mib} MiB");
    drop((warm, idle));
}

#[tokio::test]
async fn a_client_that_stops_reading_loses_its_connection_after_write_timeout() {
    let d = Builder::new()
        .toml("max_connections = 1\nwrite_timeout = 2\nmax_anon = 8388608\nmax_auth = 8388608")
        .spawn();
    let size = 6 * 1024 * 1024;
    let id = common::id(&d.create(common::noise(size), &[]).await);
    // Asks for 6 MiB, far more than the socket buffers hold, and never reads.
    let mut stalled = UnixStream::connect(&d.sock).unwrap();
    write!(stalled, "GET /{id}/raw HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = Instant::now();
    // The only connection slot comes back once the daemon gives up on the reader.
    let limit = Duration::from_secs(2 + 5);
    let resp = tokio::time::timeout(limit, d.req("GET", "/health", &[]))
        .await
        .expect("the stalled reader still holds the only slot");
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_secs(2));
    let (got, _) = common::read_until_closed(&mut stalled);
    assert!(
        got.starts_with("HTTP/1.1 200"),
        "{:?}",
        &got[..got.len().min(80)]
    );
    assert!(got.len() < size, "the whole paste was sent");
}

#[test]
fn loopback_clients_are_not_held_to_max_connections_per_ip() {
    use std::io::Read;
    let mut d = Builder::new()
        .toml("max_connections_per_ip = 2")
        .listen(&["127.0.0.1:0"])
        .spawn();
    let addr = common::tcp_address(&d.wait_log("listening on"));
    // Six connections open at once from one (loopback) address, each served.
    let mut conns: Vec<std::net::TcpStream> = (0..6)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    for conn in &mut conns {
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    for conn in &mut conns {
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]);
        assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
    }
}

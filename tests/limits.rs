//! Limits on what may come in, against the real binary: size limits by trust level (declared
//! and streamed), the minimum size, required binary content, entropy, and the duplicate
//! content throttle.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Builder, FP, noise};

#[tokio::test]
async fn oversized_paste_gets_413_with_its_facts() {
    let d = Builder::new()
        .toml("max_anon = 100\nmax_auth = 200")
        .spawn();
    let resp = d.post(vec![b'a'; 150], &[]).await;
    assert_eq!(resp.status, 413);
    let v = resp.json();
    assert_eq!(v["error"], "Paste too large");
    assert_eq!(v["size"], 150);
    assert_eq!(v["max_size"], 100);
    assert_eq!(v["authenticated"], false);
    // A certificate raises the limit.
    d.create(vec![b'a'; 150], &[("x-ssl-client-sha1", FP)])
        .await;
    let resp = d.post(vec![b'a'; 250], &[("x-ssl-client-sha1", FP)]).await;
    assert_eq!(
        (resp.status, resp.json()["authenticated"].as_bool()),
        (413, Some(true))
    );
}

#[test]
fn declared_oversize_is_refused_before_the_body_is_sent() {
    let d = Builder::new().toml("max_anon = 100").spawn();
    let mut conn = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    // Announce 10 MB and send none of it: the answer must come anyway.
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 2048];
    let n = conn.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"size\":10000000"), "{text}");
}

#[test]
fn chunked_upload_is_cut_off_at_the_limit() {
    let d = Builder::new().toml("max_anon = 1000").spawn();
    let mut conn = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 600, "a".repeat(600));
    conn.write_all(chunk.as_bytes()).unwrap();
    let _ = conn.write_all(chunk.as_bytes());
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 2048];
    let n = conn.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn paste_below_min_size_is_refused() {
    let d = Builder::new().toml("min_size = 10").spawn();
    let resp = d.post("short", &[]).await;
    assert_eq!(resp.status, 400);
    let v = resp.json();
    assert_eq!(v["error"], "Paste too small");
    assert_eq!(
        (v["size"].as_u64(), v["min_size"].as_u64()),
        (Some(5), Some(10))
    );
    d.create("long enough!", &[]).await;
}

#[tokio::test]
async fn require_binary_refuses_recognisable_content() {
    let d = Builder::new().toml("require_binary = true").spawn();
    let resp = d.post("plain text", &[]).await;
    assert_eq!(resp.status, 400);
    let v = resp.json();
    assert_eq!(v["error"], "Recognizable format not allowed");
    assert_eq!(v["detected"], "text/plain");
    assert!(v["hint"].is_string());
    assert_eq!(
        d.post("%PDF-1.4\n", &[]).await.json()["detected"],
        "application/pdf"
    );
    d.create(noise(300), &[]).await;
}

#[tokio::test]
async fn low_entropy_content_is_refused_when_required() {
    let d = Builder::new()
        .toml("min_entropy = 6.0\nmin_entropy_size = 64")
        .spawn();
    let text = "the same old words again and again ".repeat(4);
    let resp = d.post(text, &[]).await;
    assert_eq!(resp.status, 400);
    let v = resp.json();
    assert_eq!(v["error"], "Content entropy too low");
    assert!(v["entropy"].as_f64().unwrap() < 6.0);
    assert_eq!(v["min_entropy"], 6.0);
    assert!(v["hint"].is_string());
    d.create("short text is exempt", &[]).await;
    d.create(noise(4096), &[]).await;
}

#[tokio::test]
async fn identical_content_is_throttled_per_window() {
    let d = Builder::new()
        .toml("dedup_max = 2\ndedup_window = 3600")
        .spawn();
    d.create("same", &[]).await;
    d.create("same", &[]).await;
    let resp = d.post("same", &[]).await;
    assert_eq!(resp.status, 429);
    let v = resp.json();
    assert_eq!(v["error"], "Duplicate content rate limit exceeded");
    assert_eq!(
        (v["count"].as_i64(), v["window_seconds"].as_i64()),
        (Some(2), Some(3600))
    );
    d.create("different", &[]).await;
}

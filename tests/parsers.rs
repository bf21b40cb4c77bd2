//! Parsers cannot be turned against the daemon: crafted uploads cost bounded time and
//! memory, and large uploads are checked off the async workers.

mod common;

use std::time::{Duration, Instant};

use common::{Builder, Daemon, PATIENCE};

/// The daemon's peak resident memory (`VmHWM`), in KiB.
fn peak_kib(d: &Daemon) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid()))
        .expect("the daemon's /proc/PID/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM in KiB")
}

/// An OLE compound file whose DIFAT chain runs through every sector, each entry naming
/// sector 1 as a FAT sector: a parser that follows it reads the same sector once per
/// entry, 127 times per 512 bytes of input, and holds 128 FAT entries for each.
fn ole_bomb(len: usize) -> Vec<u8> {
    let sectors = u32::try_from(len / 512 - 1).expect("a length of u32 sectors");
    let mut f = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
    f.extend_from_slice(&[0; 16]); // CLSID
    f.extend_from_slice(&0x3eu16.to_le_bytes()); // minor version
    f.extend_from_slice(&3u16.to_le_bytes()); // major version 3: 512-byte sectors
    f.extend_from_slice(&0xfffeu16.to_le_bytes()); // byte order
    f.extend_from_slice(&9u16.to_le_bytes()); // sector shift
    f.extend_from_slice(&6u16.to_le_bytes()); // mini sector shift
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&0u32.to_le_bytes()); // directory sectors
    f.extend_from_slice(&sectors.to_le_bytes()); // FAT sectors
    f.extend_from_slice(&0xffff_fffeu32.to_le_bytes()); // first directory sector
    f.extend_from_slice(&0u32.to_le_bytes()); // transaction
    f.extend_from_slice(&4096u32.to_le_bytes()); // mini stream cutoff
    f.extend_from_slice(&0xffff_fffeu32.to_le_bytes()); // first mini FAT sector
    f.extend_from_slice(&0u32.to_le_bytes()); // mini FAT sectors
    f.extend_from_slice(&0u32.to_le_bytes()); // first DIFAT sector
    f.extend_from_slice(&sectors.to_le_bytes()); // DIFAT sectors
    while f.len() < 512 {
        f.extend_from_slice(&1u32.to_le_bytes()); // 109 header DIFAT entries
    }
    for s in 0..sectors {
        for _ in 0..127 {
            f.extend_from_slice(&1u32.to_le_bytes());
        }
        let next = if s + 1 == sectors { 0xffff_fffe } else { s + 1 };
        f.extend_from_slice(&u32::to_le_bytes(next));
    }
    f
}

#[tokio::test]
async fn ole_bomb_is_sniffed_in_bounded_time_and_memory() {
    let d = Builder::new().toml("max_anon = 3145728").spawn();
    let bomb = ole_bomb(3 * 1024 * 1024 - 512);
    let start = Instant::now();
    let resp = d.post(bomb, &[]).await;
    let took = start.elapsed();
    assert_eq!(
        resp.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.json()["mime_type"], "application/x-ole-storage");
    assert!(took < Duration::from_secs(2), "the upload took {took:?}");
    let peak = peak_kib(&d);
    assert!(peak < 150 * 1024, "peak memory {peak} KiB");
}

#[tokio::test]
async fn huge_json_without_content_string_costs_no_memory_and_answers_400() {
    let d = Builder::new().toml("max_anon = 52428800").spawn();
    let json = [("content-type", "application/json")];
    let zeros = "0,".repeat(10 * 1024 * 1024);
    let bodies = [
        format!("[{zeros}0]"),
        format!(r#"{{"content": [{zeros}0]}}"#),
        format!(r#"{{"other": [{zeros}0], "content": {{"a": [{zeros}0]}}}}"#),
    ];
    for body in bodies {
        let resp = d.post(body, &json).await;
        assert_eq!(resp.status, 400);
        assert_eq!(resp.json()["error"], "No content provided");
    }
    let peak = peak_kib(&d);
    assert!(peak < 200 * 1024, "peak memory {peak} KiB");
    // Skipped values nest without recursion: deep arrays are valid JSON without content.
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let resp = d.post(deep, &json).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "No content provided");
    assert!(peak_kib(&d) < 200 * 1024);
    let resp = d.post(r#"{"content": [1,"#, &json).await;
    assert_eq!(resp.json()["error"], "Invalid JSON body");
    let resp = d.post(r#"{"content": "kept"}"#, &json).await;
    assert_eq!(resp.status, 201);
}

#[tokio::test]
async fn health_answers_while_large_uploads_are_checked() {
    let d = Builder::new()
        .toml("max_anon = 52428800\nrate_limit = false")
        .spawn();
    // Tens of millions of values to skip: seconds of parsing each, in constant memory.
    let body = format!(r#"{{"content": [{}0]}}"#, "0,".repeat(24 * 1024 * 1024));
    let uploads: Vec<_> = (0..6)
        .map(|_| {
            let sock = d.sock.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let json = [("content-type", "application/json")];
                common::request_unix(&sock, "POST", "/", &json, body.into_bytes()).await
            })
        })
        .collect();
    let deadline = Instant::now() + PATIENCE;
    let mut slowest = Duration::ZERO;
    while !uploads.iter().all(tokio::task::JoinHandle::is_finished) {
        assert!(Instant::now() < deadline, "uploads still running");
        let start = Instant::now();
        let resp = d.req("GET", "/health", &[]).await;
        assert_eq!(resp.status, 200);
        slowest = slowest.max(start.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for upload in uploads {
        let resp = upload.await.unwrap();
        assert_eq!(resp.status, 400);
        assert_eq!(resp.json()["error"], "No content provided");
    }
    assert!(slowest < Duration::from_secs(1), "/health took {slowest:?}");
}

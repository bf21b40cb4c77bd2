//! `fpaste`'s memory at the 50 MiB limit: an upload and a download each stay within about
//! three times the file's size. Alone in its binary: the peak resident size of reaped
//! children (`getrusage(RUSAGE_CHILDREN)`) then covers the fpaste runs only (the daemon
//! is reaped after the measurement).

#![cfg(feature = "client")]

mod common;

use std::process::Command;

use common::{Builder, tcp_address};
use nix::sys::resource::{UsageWho, getrusage};

const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";

#[test]
fn fifty_mib_round_trip_stays_within_three_times_its_size() {
    let mut daemon = Builder::new().listen(&["127.0.0.1:0"]).spawn();
    let server = format!("http://{}", tcp_address(&daemon.wait_log("listening on")));
    let home = tempfile::tempdir().unwrap();
    // The largest content whose frame (32 bytes more) an authenticated client may store.
    let size = 50 * 1024 * 1024 - 32;
    let mut data = vec![0u8; size];
    flaskpaste::ids::fill_random(&mut data);
    let file = home.path().join("big.bin");
    std::fs::write(&file, &data).unwrap();
    let fpaste = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fpaste"))
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("FLASKPASTE_SERVER", &server)
            .env("FLASKPASTE_CERT_SHA1", FP)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let url = String::from_utf8(fpaste(&[file.to_str().unwrap()])).unwrap();
    let back = home.path().join("back.bin");
    fpaste(&["get", "-o", back.to_str().unwrap(), url.trim()]);
    assert!(std::fs::read(&back).unwrap() == data, "content differs");
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();
    let limit_kib = i64::try_from(3 * size / 1024).unwrap();
    assert!(
        peak_kib > 0 && peak_kib <= limit_kib,
        "peak {peak_kib} KiB > {limit_kib} KiB"
    );
    daemon.stop();
}

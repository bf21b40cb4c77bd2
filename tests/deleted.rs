//! Deleted means gone: burned and deleted pastes are not left readable in the database file
//! or its WAL once the sweep has run, nor after a clean stop.

mod common;

use common::{Builder, Daemon, id};

/// Content of `len` bytes in which `marker` appears again and again.
fn content(marker: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + marker.len());
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(marker.as_bytes());
        out.extend_from_slice(format!(" {i:08} ").as_bytes());
        i += 1;
    }
    out
}

/// The database files that hold `marker`, with how many times.
fn files_holding(d: &Daemon, marker: &str) -> Vec<(String, usize)> {
    let needle = marker.as_bytes();
    ["pastes.db", "pastes.db-wal", "pastes.db-shm"]
        .iter()
        .filter_map(|name| {
            let bytes = std::fs::read(d.path(name)).ok()?;
            let n = bytes.windows(needle.len()).filter(|w| *w == needle).count();
            (n > 0).then(|| ((*name).to_owned(), n))
        })
        .collect()
}

fn sweeps(d: &Daemon) -> usize {
    d.log().matches("expiry sweep:").count()
}

#[tokio::test]
async fn burned_and_deleted_content_is_gone_from_the_files_after_the_sweep_and_a_stop() {
    let mut d = Builder::new()
        .toml("cleanup_interval = 1\nlog_level = \"debug\"")
        .spawn();
    // The temp dir's random name: a hit in the files is this test's content.
    let tag = d
        .dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (small, large, kept) = (
        format!("BURNED-{tag}"),
        format!("DELETED-{tag}"),
        format!("KEPT-{tag}"),
    );
    let burned = d
        .create(content(&small, 200), &[("x-burn-after-read", "true")])
        .await;
    let deleted = d.create(content(&large, 300 * 1024), &[]).await;
    d.create(content(&kept, 200), &[]).await;
    // Burned small and burned large: both go through the same delete.
    let burned_large = d
        .create(
            content(&small, 280 * 1024),
            &[("x-burn-after-read", "true")],
        )
        .await;
    for v in [&burned, &burned_large] {
        let read = d.req("GET", &format!("/{}/raw", id(v)), &[]).await;
        assert_eq!(read.status, 200);
    }
    let token = deleted["owner_token"].as_str().unwrap();
    let gone = d
        .req(
            "DELETE",
            &format!("/{}", id(&deleted)),
            &[("x-owner-token", token)],
        )
        .await;
    assert_eq!(gone.status, 200);

    // Two sweeps begun after the deletions: one has surely run from start to end.
    let target = sweeps(&d) + 2;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while sweeps(&d) < target {
        assert!(
            std::time::Instant::now() < deadline,
            "no sweep:\n{}",
            d.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !files_holding(&d, &kept).is_empty(),
        "the scan finds content that is still there"
    );
    for marker in [&small, &large] {
        assert_eq!(files_holding(&d, marker), [], "{marker} after the sweep");
    }

    assert_eq!(d.stop().code(), Some(0));
    for marker in [&small, &large] {
        assert_eq!(files_holding(&d, marker), [], "{marker} after a clean stop");
    }
    assert!(!files_holding(&d, &kept).is_empty());
}

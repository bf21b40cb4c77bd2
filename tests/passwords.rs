//! Password hashing cannot exhaust the CPU: hashing runs about one per core behind a short
//! queue (503 past it).

mod common;

use common::{Builder, Daemon, Resp};

/// Sends `n` requests at once; `path` and headers for each come from `make`.
async fn all_at_once(
    d: &Daemon,
    n: usize,
    make: impl Fn(usize) -> (String, String, Vec<u8>),
) -> Vec<tokio::task::JoinHandle<Resp>> {
    (0..n)
        .map(|i| {
            let sock = d.sock.clone();
            let (method, path, body) = make(i);
            tokio::spawn(async move {
                let pw = [("x-paste-password", "wrong")];
                common::request_unix(&sock, &method, &path, &pw, body).await
            })
        })
        .collect()
}

#[tokio::test]
async fn concurrent_hashing_past_the_queue_gets_503_with_retry_after() {
    let d = Builder::new().toml("rate_limit = false").spawn();
    let creations = all_at_once(&d, 40, |i| {
        ("POST".into(), "/".into(), format!("paste {i}").into_bytes())
    })
    .await;
    let (mut created, mut busy) = (0, 0);
    for req in creations {
        let resp = req.await.unwrap();
        match resp.status {
            201 => created += 1,
            503 => {
                assert_eq!(resp.header("retry-after"), Some("1"));
                assert!(resp.json()["error"].is_string());
                busy += 1;
            }
            other => panic!("unexpected {other}: {resp:?}"),
        }
    }
    assert!(created >= 1, "nothing was created");
    assert!(busy >= 1, "all {created} creations hashed at once");
}

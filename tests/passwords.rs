//! Password hashing cannot exhaust the CPU nor guess quickly: hashing runs about one per
//! core behind a short queue (503 past it), and guesses are limited per client and paste.

mod common;

use std::time::{Duration, Instant};

use common::{Builder, Daemon, PATIENCE, Resp, id};

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

/// Probes `/health` until every request finished; returns the slowest probe.
async fn slowest_health_while(d: &Daemon, running: &[tokio::task::JoinHandle<Resp>]) -> Duration {
    let deadline = Instant::now() + PATIENCE;
    let mut slowest = Duration::ZERO;
    while !running.iter().all(tokio::task::JoinHandle::is_finished) {
        assert!(Instant::now() < deadline, "requests still running");
        let start = Instant::now();
        assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
        slowest = slowest.max(start.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    slowest
}

#[tokio::test]
async fn wrong_password_flood_is_refused_early_and_health_stays_responsive() {
    let d = Builder::new().spawn();
    let paste = id(&d.create("secret", &[("x-paste-password", "right")]).await);
    let start = Instant::now();
    let flood = all_at_once(&d, 60, |_| ("GET".into(), format!("/{paste}"), Vec::new())).await;
    let slowest = slowest_health_while(&d, &flood).await;
    let mut refused = 0;
    for req in flood {
        let resp = req.await.unwrap();
        match resp.status {
            403 => {}
            429 | 503 => {
                assert!(resp.header("retry-after").is_some(), "{resp:?}");
                assert!(resp.json()["error"].is_string());
                refused += 1;
            }
            other => panic!("unexpected {other}: {resp:?}"),
        }
    }
    let took = start.elapsed();
    assert!(refused >= 40, "only {refused} of 60 refused before hashing");
    assert!(slowest < Duration::from_secs(1), "/health took {slowest:?}");
    assert!(took < Duration::from_secs(20), "the flood took {took:?}");
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

#[tokio::test]
async fn eleventh_guess_in_a_window_is_refused_even_with_the_right_password() {
    let d = Builder::new().toml("password_fail_window = 8").spawn();
    let right = [("x-paste-password", "right")];
    let paste = id(&d.create("secret", &right).await);
    let other = id(&d.create("another secret", &right).await);
    // Two batches of five fit the hashing queue even on one core.
    for _ in 0..2 {
        let batch = all_at_once(&d, 5, |_| ("GET".into(), format!("/{paste}"), Vec::new())).await;
        for req in batch {
            assert_eq!(req.await.unwrap().status, 403);
        }
    }
    let refused = d.req("GET", &format!("/{paste}/raw"), &right).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.json()["error"], "Too many failed password attempts");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=8).contains(&retry), "Retry-After: {retry}");
    let resp = d.req("GET", &format!("/{other}/raw"), &right).await;
    assert_eq!(resp.status, 200, "another paste is not affected");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let resp = d.req("GET", &format!("/{paste}/raw"), &right).await;
    assert_eq!(resp.status, 200, "the right password after the window");
    assert_eq!(resp.body, b"secret");
}

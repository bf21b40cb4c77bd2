//! `max_storage` and `max_storage_per_identity` against the real binary: 507 past a limit
//! (reaching it is fine), nothing stored by a refused upload, the figures exact through
//! deletes, burns, sweeps and updates, under concurrent uploads from several identities,
//! and checked against the pastes at a restart.
#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Builder, Daemon, FP, OTHER_FP, PATIENCE, id, noise, request_unix};

/// A `max_storage` small enough to fill, with every other brake off.
const LIMIT: u64 = 10_000;
/// One byte past [`LIMIT`]: never fits.
const PAST: usize = 10_001;

fn quota(extra: &str) -> Builder {
    Builder::new().toml(&format!(
        "max_storage = {LIMIT}\nrate_limit = false\ndedup_max = 0\n{extra}"
    ))
}

/// Distinct content of `n` bytes (the `seed` makes it differ from other calls).
fn content(seed: u8, n: usize) -> Vec<u8> {
    let mut v = noise(n + 8);
    v.rotate_left(usize::from(seed));
    v.truncate(n);
    if let Some(last) = v.last_mut() {
        *last = seed;
    }
    v
}

/// The stored total as a refused upload reports it: one byte more than the limit never fits.
async fn stored(d: &Daemon) -> u64 {
    let resp = d.post(content(0, PAST), &[]).await;
    assert_eq!(
        resp.status,
        507,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    resp.json()["stored"].as_u64().unwrap()
}

/// Waits until the stored total is `want` (the sweep runs on its own timer).
async fn wait_stored(d: &Daemon, want: u64) {
    let deadline = Instant::now() + PATIENCE;
    while stored(d).await != want {
        assert!(Instant::now() < deadline, "stored never became {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn reaching_the_limit_is_allowed_and_passing_it_is_507_storing_nothing() {
    let d = quota("").spawn();
    d.create(content(1, 6000), &[]).await;
    let refused = d.post(content(2, 4001), &[]).await;
    assert_eq!(refused.status, 507);
    let body = refused.json();
    assert_eq!(body["error"], "Storage quota exceeded");
    assert_eq!(body["scope"], "total");
    assert_eq!(body["stored"], 6000);
    assert_eq!(body["size"], 4001);
    assert_eq!(body["max_storage"], LIMIT);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(stored(&d).await, 6000, "the refused upload was stored");
    d.create(content(3, 4000), &[]).await;
    assert_eq!(stored(&d).await, LIMIT);
    assert_eq!(d.post(content(4, 1), &[]).await.status, 507);
}

#[tokio::test]
async fn deletes_burns_sweeps_and_updates_keep_the_total_exact() {
    let d = quota("cleanup_interval = 1").spawn();
    let me = [("x-ssl-client-sha1", FP)];
    let kept = id(&d.create(content(1, 1000), &me).await);
    let deleted = id(&d.create(content(2, 2000), &me).await);
    let burned = id(&d
        .create(content(3, 300), &[("x-burn-after-read", "true")])
        .await);
    d.create(content(4, 400), &[("x-expiry", "1")]).await;
    assert_eq!(stored(&d).await, 3700);

    assert_eq!(
        d.req("DELETE", &format!("/{deleted}"), &me).await.status,
        200
    );
    assert_eq!(stored(&d).await, 1700);
    assert_eq!(
        d.req("GET", &format!("/{burned}/raw"), &[]).await.status,
        200
    );
    assert_eq!(stored(&d).await, 1400);
    // The expired paste counts until the sweep removes it.
    wait_stored(&d, 1000).await;

    // An update that would pass the limit changes nothing; one that fits is counted.
    let path = format!("/{kept}");
    let too_big = d.send("PUT", &path, &me, content(5, 10_001)).await;
    assert_eq!(too_big.status, 507);
    assert_eq!(too_big.json()["stored"], 1000);
    assert_eq!(
        d.req("GET", &format!("{path}/raw"), &[]).await.body,
        content(1, 1000)
    );
    assert_eq!(
        d.send("PUT", &path, &me, content(6, 10_000)).await.status,
        200
    );
    assert_eq!(stored(&d).await, LIMIT);
    assert_eq!(d.send("PUT", &path, &me, content(7, 10)).await.status, 200);
    assert_eq!(stored(&d).await, 10);
}

#[tokio::test]
async fn concurrent_uploads_from_several_identities_never_pass_either_limit() {
    // Per identity room for 5 uploads of 200 bytes, in all for 12.
    let d = Arc::new(
        Builder::new()
            .toml("max_storage = 2500\nmax_storage_per_identity = 1000\nrate_limit = false")
            .spawn(),
    );
    let identities = ["a", "b", "c", "d"].map(|c| c.repeat(40));
    let mut uploads = Vec::new();
    for (i, fp) in identities.iter().enumerate() {
        for j in 0..10u8 {
            let (d, fp) = (Arc::clone(&d), fp.clone());
            let body = content(u8::try_from(i).unwrap() * 16 + j, 200);
            uploads.push(tokio::spawn(async move {
                let resp = d.post(body, &[("x-ssl-client-sha1", &fp)]).await;
                (fp, resp.status, resp.json())
            }));
        }
    }
    let mut created = std::collections::HashMap::<String, u64>::new();
    for upload in uploads {
        let (fp, status, body) = upload.await.unwrap();
        match status {
            201 => *created.entry(fp).or_default() += 1,
            507 => {
                let limit = body["max_storage"]
                    .as_u64()
                    .or(body["max_storage_per_identity"].as_u64())
                    .unwrap();
                assert!(body["stored"].as_u64().unwrap() + 200 > limit, "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(created.values().sum::<u64>(), 12, "{created:?}");
    assert!(created.values().all(|&n| n <= 5), "{created:?}");
    let probe = d
        .post(content(200, 200), &[("x-ssl-client-sha1", OTHER_FP)])
        .await;
    assert_eq!(probe.status, 507);
    assert_eq!(probe.json()["stored"], 2400);
}

#[tokio::test]
async fn the_per_identity_limit_counts_only_that_identity() {
    let d = quota("max_storage_per_identity = 1000").spawn();
    let me = [("x-ssl-client-sha1", FP)];
    d.create(content(1, 1000), &me).await;
    let refused = d.post(content(2, 1), &me).await;
    assert_eq!(refused.status, 507);
    let body = refused.json();
    assert_eq!(body["scope"], "identity");
    assert_eq!(body["max_storage_per_identity"], 1000);
    d.create(content(3, 1000), &[("x-ssl-client-sha1", OTHER_FP)])
        .await;
    d.create(content(4, 1000), &[]).await;
}

#[tokio::test]
async fn refusals_are_counted_in_the_metrics() {
    let b = quota("");
    let metrics = b.path("metrics.sock");
    let d = b
        .toml(&format!(
            "metrics_listen = [{:?}]",
            metrics.display().to_string()
        ))
        .spawn();
    assert_eq!(d.post(content(1, PAST), &[]).await.status, 507);
    assert_eq!(d.post(content(2, PAST), &[]).await.status, 507);
    let text = request_unix(&metrics, "GET", "/metrics", &[], Vec::new()).await;
    let text = String::from_utf8(text.body).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "flaskpaste_quota_exceeded_total 2"),
        "{text}"
    );
}

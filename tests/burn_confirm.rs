//! `X-Burn-After-Read: confirm` against the real binary: no GET or HEAD burns such a paste
//! (link previews, ranges, conditional requests); only `POST /{id}/raw` reads and burns it,
//! after its password, atomically.

mod common;

use std::sync::Arc;

use common::{Builder, id};

#[tokio::test]
async fn previews_never_burn_a_confirm_paste() {
    let d = Builder::new().spawn();
    let v = d
        .create("for your eyes", &[("x-burn-after-read", "confirm")])
        .await;
    assert_eq!(v["burn_after_read"], true);
    assert_eq!(v["burn"], "confirm");
    let id = id(&v);
    let raw = format!("/{id}/raw");
    for headers in [
        &[][..],
        &[("range", "bytes=0-3")][..],
        &[("if-none-match", "\"whatever\"")][..],
        &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")][..],
        &[("user-agent", "Slackbot-LinkExpanding 1.0")][..],
    ] {
        let resp = d.req("GET", &raw, headers).await;
        assert_eq!(resp.status, 409, "{headers:?}");
        let body = resp.json();
        assert!(
            body["error"].as_str().unwrap().contains("confirm"),
            "{body}"
        );
        assert!(body["hint"].as_str().unwrap().starts_with("POST"), "{body}");
        assert!(
            !body["hint"].as_str().unwrap().contains("Password"),
            "{body}"
        );
    }
    let head = d.req("HEAD", &raw, &[]).await;
    assert_eq!(head.status, 409);
    assert!(head.body.is_empty());
    // The metadata neither burns nor hides the mode.
    let meta = d.req("GET", &format!("/{id}"), &[]).await;
    assert_eq!(meta.status, 200);
    assert_eq!(meta.json()["burn"], "confirm");

    let read = d.req("POST", &raw, &[]).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, b"for your eyes");
    assert_eq!(read.header("x-burn-after-read"), Some("true"));
    assert_eq!(d.req("POST", &raw, &[]).await.status, 404);
    assert_eq!(d.req("GET", &raw, &[]).await.status, 404);
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 404);
}

#[tokio::test]
async fn a_wrong_or_missing_password_burns_nothing() {
    let d = Builder::new().spawn();
    let v = d
        .create(
            "locked",
            &[
                ("x-burn-after-read", "Confirm"),
                ("x-paste-password", "s3cret"),
            ],
        )
        .await;
    let raw = format!("/{}/raw", id(&v));
    let preview = d.req("GET", &raw, &[]).await;
    assert_eq!(preview.status, 409);
    assert!(
        preview.json()["hint"]
            .as_str()
            .unwrap()
            .contains("X-Paste-Password")
    );
    assert_eq!(d.req("POST", &raw, &[]).await.status, 401);
    let wrong = d.req("POST", &raw, &[("x-paste-password", "nope")]).await;
    assert_eq!(wrong.status, 403);
    let read = d.req("POST", &raw, &[("x-paste-password", "s3cret")]).await;
    assert_eq!((read.status, read.body.as_slice()), (200, &b"locked"[..]));
    assert_eq!(
        d.req("POST", &raw, &[("x-paste-password", "s3cret")])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn of_racing_confirmed_reads_exactly_one_gets_the_paste() {
    let d = Arc::new(Builder::new().spawn());
    for round in 0..5 {
        let v = d
            .create(format!("once {round}"), &[("x-burn-after-read", "confirm")])
            .await;
        let path = format!("/{}/raw", id(&v));
        common::one_of_racing_reads_wins(&d, "POST", &path, 8).await;
    }
}

#[tokio::test]
async fn true_keeps_the_reference_behaviour_and_post_is_only_for_confirm() {
    let d = Builder::new().spawn();
    let v = d.create("classic", &[("x-burn-after-read", "true")]).await;
    assert!(v.get("burn").is_none(), "{v}");
    let raw = format!("/{}/raw", id(&v));
    // POST does not read (or burn) other pastes.
    let post = d.req("POST", &raw, &[]).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(d.req("GET", &raw, &[]).await.body, b"classic");
    assert_eq!(d.req("GET", &raw, &[]).await.status, 404);

    let plain = d.create("plain", &[]).await;
    let raw = format!("/{}/raw", id(&plain));
    assert_eq!(d.req("POST", &raw, &[]).await.status, 405);
    assert_eq!(d.req("GET", &raw, &[]).await.status, 200);
    // A confirm paste is never counted as duplicate content, like any burning paste.
    for _ in 0..5 {
        d.create("same", &[("x-burn-after-read", "confirm")]).await;
    }
}

#[tokio::test]
async fn the_mode_survives_a_restart() {
    let b = Builder::new();
    let db = b.path("kept.db");
    let toml = format!("db = {:?}", db.display().to_string());
    let mut d = Builder::new().toml(&toml).spawn();
    let v = d.create("kept", &[("x-burn-after-read", "confirm")]).await;
    assert_eq!(d.stop().code(), Some(0));
    let d = Builder::new().toml(&toml).spawn();
    let raw = format!("/{}/raw", id(&v));
    assert_eq!(d.req("GET", &raw, &[]).await.status, 409);
    let listed = d.req("GET", &format!("/{}", id(&v)), &[]).await.json();
    assert_eq!(listed["burn"], "confirm");
    assert_eq!(d.req("POST", &raw, &[]).await.body, b"kept");
}

//! Small leaks and edges against the real binary: the duplicate throttle ignores private
//! pastes, passwords are UTF-8, display names cannot hide characters, expiry keys are
//! bounded, secrets are taken as written, and `If-None-Match` compares weakly.

mod common;

use common::{Builder, FP, id};

#[tokio::test]
async fn private_pastes_are_not_counted_by_the_duplicate_throttle() {
    let d = Builder::new().toml("dedup_max = 2").spawn();
    let guess = "the content someone else may have pasted";
    d.create(guess, &[("x-paste-password", "secret")]).await;
    d.create(guess, &[("x-burn-after-read", "true")]).await;
    // Had the private pastes counted, the first of these would already be refused.
    d.create(guess, &[]).await;
    d.create(guess, &[]).await;
    let third = d.post(guess, &[]).await;
    assert_eq!(
        third.status, 429,
        "the throttle still holds for public pastes"
    );
    // Nor are private pastes refused by it.
    d.create(guess, &[("x-paste-password", "other")]).await;
}

#[tokio::test]
async fn a_password_that_is_not_utf8_is_a_400() {
    let d = Builder::new().spawn();
    let resp = d
        .req_bytes("POST", "/", &[("x-paste-password", b"caf\xe9")], b"text")
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "Password must be valid UTF-8");
    // Two different invalid byte strings must not open one paste.
    let p = id(&d
        .create("locked", &[("x-paste-password", "caf\u{fffd}")])
        .await);
    let resp = d
        .req_bytes(
            "GET",
            &format!("/{p}/raw"),
            &[("x-paste-password", b"caf\xe9")],
            b"",
        )
        .await;
    assert_eq!(resp.status, 400);
    let resp = d
        .req(
            "GET",
            &format!("/{p}/raw"),
            &[("x-paste-password", "caf\u{fffd}")],
        )
        .await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn display_names_refuse_hidden_and_breaking_characters() {
    let d = Builder::new().spawn();
    for name in [
        "invoice\u{202e}fdp.exe",
        "ad\u{200b}min",
        "\u{feff}name",
        "one\u{2028}two",
        "one\u{2029}two",
    ] {
        let resp = d
            .post("x", &[("x-ssl-client-sha1", FP), ("x-display-name", name)])
            .await;
        assert_eq!(resp.status, 400, "{name:?}");
        assert_eq!(
            resp.json()["error"],
            "Display name contains invalid characters"
        );
    }
    let ok = d
        .create(
            "y",
            &[("x-ssl-client-sha1", FP), ("x-display-name", "Zoë's notes")],
        )
        .await;
    assert_eq!(ok["display_name"], "Zoë's notes");
}

#[test]
fn expiry_keys_beyond_their_bounds_are_refused_at_start() {
    for (key, value) in [
        ("max_expiry", "9223372036854775807"),
        ("expiry_anon", "18446744073709551615"),
        ("rate_window", "9223372036854775807"),
    ] {
        let out = Builder::new().toml(&format!("{key} = {value}")).run();
        assert_eq!(out.code, Some(78), "{key}: {}", out.stderr);
        assert!(out.stderr.contains(key), "{key}: {}", out.stderr);
    }
}

#[tokio::test]
async fn a_secret_from_the_environment_is_taken_as_written() {
    let d = Builder::new()
        .env("FLASKPASTE_PROXY_SECRET", "00123")
        .spawn();
    let mine = d
        .create(
            "x",
            &[("x-ssl-client-sha1", FP), ("x-proxy-secret", "00123")],
        )
        .await;
    assert_eq!(mine["owner"], FP);
    let forged = d
        .create("y", &[("x-ssl-client-sha1", FP), ("x-proxy-secret", "123")])
        .await;
    assert!(forged.get("owner").is_none(), "{forged}");
}

#[tokio::test]
async fn weak_if_none_match_gives_304() {
    let d = Builder::new().spawn();
    let p = id(&d.create("cache me", &[]).await);
    let etag = d.req("GET", &format!("/{p}/raw"), &[]).await;
    let etag = etag.header("etag").unwrap().to_owned();
    let weak = format!("W/{etag}");
    let resp = d
        .req("GET", &format!("/{p}/raw"), &[("if-none-match", &weak)])
        .await;
    assert_eq!(resp.status, 304);
    assert_eq!(resp.header("etag"), Some(etag.as_str()));
    let other = d
        .req(
            "GET",
            &format!("/{p}/raw"),
            &[("if-none-match", "W/\"other\"")],
        )
        .await;
    assert_eq!(other.status, 200);
}

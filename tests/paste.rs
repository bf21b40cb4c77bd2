//! The paste API against the real binary: creation, metadata, expiry, burn-after-read,
//! passwords, updates, deletion and durability. Limits, raw content, listing and rate
//! limits have files of their own.

mod common;

use std::time::Duration;

use common::{Builder, Daemon, FP, OTHER_FP, id, noise};
use serde_json::Value;

// --- creating ---------------------------------------------------------------------------

#[tokio::test]
async fn raw_text_paste_is_created_with_the_documented_fields() {
    let d = Builder::new().spawn();
    let v = d.create("Hello, World!\n", &[]).await;
    let id = id(&v);
    assert_eq!(id.len(), 12);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(v["url"], format!("/{id}"));
    assert_eq!(v["raw"], format!("/{id}/raw"));
    assert_eq!(v["mime_type"], "text/plain");
    let created = v["created_at"].as_i64().unwrap();
    assert_eq!(v["expires_at"].as_i64().unwrap() - created, 86_400);
    assert!(v.get("owner").is_none() && v.get("burn_after_read").is_none());
    assert!(v.get("password_protected").is_none());
    let raw = d.req("GET", &format!("/{id}/raw"), &[]).await;
    assert_eq!(raw.body, b"Hello, World!\n");
}

#[tokio::test]
async fn json_content_is_stored_and_bad_json_is_a_400() {
    let d = Builder::new().spawn();
    let ct = [("content-type", "application/json")];
    let v = d.create(r#"{"content":"Hello from JSON!"}"#, &ct).await;
    let raw = d.req("GET", &format!("/{}/raw", id(&v)), &[]).await;
    assert_eq!(raw.body, b"Hello from JSON!");
    let bad = d.post("{not json", &ct).await;
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (400, Some("Invalid JSON body"))
    );
    let none = d.post(r#"{"text":"x"}"#, &ct).await;
    assert_eq!(
        (none.status, none.json()["error"].as_str()),
        (400, Some("No content provided"))
    );
    let empty = d.post(r#"{"content":""}"#, &ct).await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn empty_body_is_refused() {
    let d = Builder::new().spawn();
    let resp = d.post("", &[]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "No content provided");
}

#[tokio::test]
async fn mime_type_comes_from_magic_then_declared_type_then_utf8() {
    let d = Builder::new().spawn();
    let png = [
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    let v = d
        .create(png.to_vec(), &[("content-type", "text/plain")])
        .await;
    assert_eq!(v["mime_type"], "image/png");
    let v = d.create("%PDF-1.7\n", &[]).await;
    assert_eq!(v["mime_type"], "application/pdf");
    let v = d
        .create("a,b\n", &[("content-type", "Text/CSV; charset=utf-8")])
        .await;
    assert_eq!(v["mime_type"], "text/csv");
    let v = d
        .create(
            "plain words",
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(v["mime_type"], "text/plain");
    let v = d.create(noise(64), &[]).await;
    assert_eq!(v["mime_type"], "application/octet-stream");
}

#[tokio::test]
async fn urls_carry_the_url_prefix() {
    let d = Builder::new().toml("url_prefix = \"/paste\"").spawn();
    let resp = d.send("POST", "/paste", &[], "prefixed").await;
    assert_eq!(resp.status, 201);
    let v = resp.json();
    let id = id(&v);
    assert_eq!(v["url"], format!("/paste/{id}"));
    assert_eq!(v["raw"], format!("/paste/{id}/raw"));
    assert_eq!(
        d.req("GET", &format!("/paste/{id}/raw"), &[]).await.body,
        b"prefixed"
    );
    assert_eq!(
        d.req("GET", &format!("/paste/{id}"), &[]).await.json()["raw"],
        format!("/paste/{id}/raw")
    );
}

#[tokio::test]
async fn id_length_is_configurable() {
    let d = Builder::new().toml("id_length = 20").spawn();
    assert_eq!(id(&d.create("x", &[]).await).len(), 20);
}

#[tokio::test]
async fn expiry_header_is_capped_and_bad_values_mean_the_default() {
    let d = Builder::new().toml("max_expiry = 7200").spawn();
    let span = |v: &Value| v["expires_at"].as_i64().unwrap() - v["created_at"].as_i64().unwrap();
    assert_eq!(span(&d.create("a", &[("x-expiry", "3600")]).await), 3600);
    assert_eq!(span(&d.create("b", &[("x-expiry", "999999")]).await), 7200);
    for bad in ["-5", "0", "soon"] {
        assert_eq!(
            span(&d.create(format!("c{bad}"), &[("x-expiry", bad)]).await),
            86_400,
            "{bad}"
        );
    }
    let fp = [("x-ssl-client-sha1", FP)];
    assert_eq!(
        span(&d.create("d", &fp).await),
        604_800,
        "untrusted default"
    );
}

#[tokio::test]
async fn authenticated_pastes_have_an_owner_and_anonymous_ones_a_token() {
    let d = Builder::new().spawn();
    let v = d.create("mine", &[("x-ssl-client-sha1", FP)]).await;
    assert_eq!(v["owner"], FP);
    assert!(v.get("owner_token").is_none());
    let v = d.create("anon", &[]).await;
    let token = v["owner_token"].as_str().unwrap();
    assert_eq!(token.len(), 32, "128 bits");
    // A malformed fingerprint is anonymous.
    let v = d
        .create(
            "x",
            &[(
                "x-ssl-client-sha1",
                "A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4E5F6A1B2",
            )],
        )
        .await;
    assert!(v.get("owner").is_none());
}

#[tokio::test]
async fn display_names_are_for_authenticated_clients_and_checked() {
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let v = d
        .create("x", &[fp, ("x-display-name", "project notes")])
        .await;
    assert_eq!(v["display_name"], "project notes");
    let v = d.create("y", &[("x-display-name", "anon name")]).await;
    assert!(v.get("display_name").is_none());
    let long = "n".repeat(129);
    let resp = d.post("z", &[fp, ("x-display-name", &long)]).await;
    assert_eq!(
        (resp.status, resp.json()["error"].as_str()),
        (400, Some("Display name too long (max 128 chars)"))
    );
    let resp = d.post("z", &[fp, ("x-display-name", "tab\there")]).await;
    assert_eq!(
        resp.json()["error"],
        "Display name contains invalid characters"
    );
}

// --- reading ------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_has_the_documented_fields_and_head_has_no_body() {
    let d = Builder::new().spawn();
    let id = id(&d.create("hello", &[]).await);
    let meta = d.req("GET", &format!("/{id}"), &[]).await;
    assert_eq!(meta.status, 200);
    let v = meta.json();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["size"], 5);
    assert_eq!(v["mime_type"], "text/plain");
    assert_eq!(v["raw"], format!("/{id}/raw"));
    assert!(v["created_at"].is_i64() && v["expires_at"].is_i64());
    let head = d.req("HEAD", &format!("/{id}"), &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length").unwrap(),
        meta.body.len().to_string()
    );
}

#[tokio::test]
async fn bad_and_unknown_ids_are_400_and_404() {
    let d = Builder::new().spawn();
    for path in ["/ABCDEF", "/xyz", "/abc"] {
        for p in [path.to_owned(), format!("{path}/raw")] {
            let resp = d.req("GET", &p, &[]).await;
            assert_eq!(
                (resp.status, resp.json()["error"].as_str()),
                (400, Some("Invalid paste ID format")),
                "{p}"
            );
        }
    }
    for p in ["/abcdef123456", "/abcdef123456/raw"] {
        let resp = d.req("GET", p, &[]).await;
        assert_eq!(
            (resp.status, resp.json()["error"].as_str()),
            (404, Some("Paste not found")),
            "{p}"
        );
    }
}

#[tokio::test]
async fn repeated_reads_never_outlive_an_update_a_delete_or_the_expiry() {
    // Small pastes read again are served from memory until the next commit; every change
    // must still show at once.
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let path = format!("/{}", id(&d.create("one", &[fp]).await));
    let raw = format!("{path}/raw");
    for _ in 0..3 {
        assert_eq!(d.req("GET", &raw, &[]).await.body, b"one");
    }
    assert_eq!(d.send("PUT", &path, &[fp], "two").await.status, 200);
    for _ in 0..3 {
        assert_eq!(d.req("GET", &raw, &[]).await.body, b"two");
    }
    assert_eq!(d.send("DELETE", &path, &[fp], "").await.status, 200);
    assert_eq!(d.req("GET", &raw, &[]).await.status, 404);

    // No commit happens when a paste expires (the sweep runs hourly here).
    let raw = format!(
        "/{}/raw",
        id(&d.create("brief", &[("x-expiry", "2")]).await)
    );
    // Two seconds, not one: a paste expires at a whole second, so one made late in a
    // second would be gone after a few milliseconds' wait for the next.
    for _ in 0..3 {
        assert_eq!(d.req("GET", &raw, &[]).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(d.req("GET", &raw, &[]).await.status, 404);
}

#[tokio::test]
async fn expired_pastes_are_gone_before_and_after_the_sweep() {
    let b = Builder::new().toml("cleanup_interval = 1");
    let db = b.path("pastes.db");
    let mut d = b.spawn();
    // Two seconds: see repeated_reads_never_outlive_an_update_a_delete_or_the_expiry.
    let id = id(&d.create("short-lived", &[("x-expiry", "2")]).await);
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 404);
    assert_eq!(d.req("GET", &format!("/{id}/raw"), &[]).await.status, 404);
    d.wait_log("deleted 1 expired paste");
    let conn = rusqlite::Connection::open(db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM pastes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

// --- burn after read ------------------------------------------------------------------------

#[tokio::test]
async fn burn_after_read_paste_is_gone_after_first_get() {
    let d = Builder::new().spawn();
    let v = d.create("secret", &[("x-burn-after-read", "true")]).await;
    assert_eq!(v["burn_after_read"], true);
    let id = id(&v);
    // Metadata, HEAD and ranges do not burn.
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 200);
    assert_eq!(d.req("HEAD", &format!("/{id}/raw"), &[]).await.status, 200);
    let first = d
        .req("GET", &format!("/{id}/raw"), &[("range", "bytes=0-1")])
        .await;
    assert_eq!(
        (first.status, first.body.as_slice()),
        (200, &b"secret"[..]),
        "range ignored, burned"
    );
    assert_eq!(first.header("x-burn-after-read"), Some("true"));
    assert_eq!(d.req("GET", &format!("/{id}/raw"), &[]).await.status, 404);
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 404);
}

#[tokio::test]
async fn burn_after_read_accepts_the_documented_spellings() {
    let d = Builder::new().spawn();
    for (i, yes) in ["1", "yes", "TRUE"].iter().enumerate() {
        let v = d
            .create(format!("s{i}"), &[("x-burn-after-read", yes)])
            .await;
        assert_eq!(v["burn_after_read"], true, "{yes}");
    }
    let v = d.create("n", &[("x-burn-after-read", "no")]).await;
    assert!(v.get("burn_after_read").is_none());
}

#[tokio::test]
async fn of_concurrent_reads_of_a_burning_paste_exactly_one_gets_it() {
    let d = std::sync::Arc::new(Builder::new().spawn());
    for round in 0..5 {
        let id = id(&d
            .create(format!("once {round}"), &[("x-burn-after-read", "1")])
            .await);
        common::one_of_racing_reads_wins(&d, "GET", &format!("/{id}/raw"), 8).await;
    }
}

// --- passwords ------------------------------------------------------------------------------

#[tokio::test]
async fn password_protected_paste_needs_its_password() {
    let d = Builder::new().spawn();
    let v = d
        .create("protected", &[("x-paste-password", "sécret pass")])
        .await;
    assert_eq!(v["password_protected"], true);
    let id = id(&v);
    for path in [format!("/{id}"), format!("/{id}/raw")] {
        let none = d.req("GET", &path, &[]).await;
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(
            none.json(),
            serde_json::json!({"error": "Password required", "password_protected": true})
        );
        let wrong = d.req("GET", &path, &[("x-paste-password", "guess")]).await;
        assert_eq!(
            (wrong.status, wrong.json()["error"].as_str()),
            (403, Some("Invalid password"))
        );
    }
    let meta = d
        .req(
            "GET",
            &format!("/{id}"),
            &[("x-paste-password", "sécret pass")],
        )
        .await;
    assert_eq!(
        (meta.status, meta.json()["password_protected"].as_bool()),
        (200, Some(true))
    );
    let raw = d
        .req(
            "GET",
            &format!("/{id}/raw"),
            &[("x-paste-password", "sécret pass")],
        )
        .await;
    assert_eq!(raw.body, b"protected");
}

#[tokio::test]
async fn password_over_1024_characters_is_refused() {
    let d = Builder::new().spawn();
    let long = "p".repeat(1025);
    let resp = d.post("x", &[("x-paste-password", &long)]).await;
    assert_eq!(
        (resp.status, resp.json()["error"].as_str()),
        (400, Some("Password too long (max 1024 chars)"))
    );
}

// --- updating and deleting --------------------------------------------------------------------

#[tokio::test]
async fn owner_updates_content_password_expiry_and_display_name() {
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let v = d.create("first", &[fp]).await;
    let path = format!("/{}", id(&v));
    let before = v["expires_at"].as_i64().unwrap();
    let resp = d
        .send(
            "PUT",
            &path,
            &[fp, ("x-display-name", "notes"), ("x-extend-expiry", "100")],
            "second version",
        )
        .await;
    assert_eq!(resp.status, 200);
    let u = resp.json();
    assert_eq!(u["size"], 14);
    assert_eq!(u["mime_type"], "text/plain");
    assert_eq!(u["display_name"], "notes");
    assert_eq!(u["expires_at"].as_i64().unwrap(), before + 100);
    assert_eq!(
        d.req("GET", &format!("{path}/raw"), &[]).await.body,
        b"second version"
    );

    let resp = d
        .send("PUT", &path, &[fp, ("x-paste-password", "pw")], "")
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(d.req("GET", &path, &[]).await.status, 401);
    d.send(
        "PUT",
        &path,
        &[
            fp,
            ("x-remove-password", "true"),
            ("x-remove-display-name", "true"),
        ],
        "",
    )
    .await;
    let meta = d.req("GET", &path, &[]).await.json();
    assert!(
        meta.get("password_protected").is_none() && meta.get("display_name").is_none(),
        "{meta}"
    );
}

#[tokio::test]
async fn large_content_replaces_small_and_small_replaces_large() {
    // Content over 256 KiB is written in chunks after a zeroblob; both ways must round-trip.
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let v = d.create("small", &[fp]).await;
    let path = format!("/{}", id(&v));
    let big = noise(700 * 1024 + 3);
    let resp = d.send("PUT", &path, &[fp], big.clone()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["size"], big.len());
    let got = d.req("GET", &format!("{path}/raw"), &[]).await;
    assert!(got.body == big, "large replacement differs");
    let resp = d.send("PUT", &path, &[fp], "small again").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        d.req("GET", &format!("{path}/raw"), &[]).await.body,
        b"small again"
    );
}

#[tokio::test]
async fn update_errors_follow_the_reference() {
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let path = format!("/{}", id(&d.create("x", &[fp]).await));
    let check = |resp: common::Resp, status: u16, error: &str| {
        assert_eq!(resp.status, status, "{error}");
        assert_eq!(resp.json()["error"], error);
    };
    check(
        d.send("PUT", "/XYZ", &[fp], "y").await,
        400,
        "Invalid paste ID format",
    );
    check(
        d.send("PUT", &path, &[], "y").await,
        401,
        "Authentication required",
    );
    check(
        d.send("PUT", &path, &[("x-ssl-client-sha1", OTHER_FP)], "y")
            .await,
        403,
        "Permission denied",
    );
    check(
        d.send("PUT", "/abcdef123456", &[fp], "y").await,
        404,
        "Paste not found",
    );
    check(
        d.send("PUT", &path, &[fp], "").await,
        400,
        "No updates provided",
    );
    let long = "n".repeat(129);
    check(
        d.send("PUT", &path, &[fp, ("x-display-name", &long)], "")
            .await,
        400,
        "Display name too long (max 128 chars)",
    );
    check(
        d.send("PUT", &path, &[fp, ("x-display-name", "tab\there")], "")
            .await,
        400,
        "Display name contains invalid characters",
    );
    let burn = format!(
        "/{}",
        id(&d.create("b", &[fp, ("x-burn-after-read", "1")]).await)
    );
    check(
        d.send("PUT", &burn, &[fp], "y").await,
        400,
        "Cannot update burn-after-read paste",
    );
}

#[tokio::test]
async fn delete_needs_the_owner_and_follows_the_reference() {
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let path = format!("/{}", id(&d.create("x", &[fp]).await));
    let check = |resp: common::Resp, status: u16, error: &str| {
        assert_eq!(resp.status, status, "{error}");
        assert_eq!(resp.json()["error"], error);
    };
    check(
        d.req("DELETE", "/XYZ", &[fp]).await,
        400,
        "Invalid paste ID format",
    );
    check(
        d.req("DELETE", &path, &[]).await,
        401,
        "Authentication required",
    );
    check(
        d.req("DELETE", &path, &[("x-ssl-client-sha1", OTHER_FP)])
            .await,
        403,
        "Permission denied",
    );
    check(
        d.req("DELETE", "/abcdef123456", &[fp]).await,
        404,
        "Paste not found",
    );
    let ok = d.req("DELETE", &path, &[fp]).await;
    assert_eq!(
        (ok.status, ok.json()["message"].as_str()),
        (200, Some("Paste deleted"))
    );
    assert_eq!(d.req("GET", &path, &[]).await.status, 404);
}

#[tokio::test]
async fn owner_token_lets_an_anonymous_uploader_update_and_delete() {
    let d = Builder::new().spawn();
    let v = d.create("anon", &[]).await;
    let (path, token) = (
        format!("/{}", id(&v)),
        v["owner_token"].as_str().unwrap().to_owned(),
    );
    let wrong = d
        .req(
            "DELETE",
            &path,
            &[("x-owner-token", "0123456789abcdef0123456789abcdef")],
        )
        .await;
    assert_eq!(wrong.status, 403);
    // A certificate that does not own the paste is no owner either.
    assert_eq!(
        d.req("DELETE", &path, &[("x-ssl-client-sha1", FP)])
            .await
            .status,
        403
    );
    let put = d
        .send("PUT", &path, &[("x-owner-token", &token)], "changed")
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(
        d.req("DELETE", &path, &[("x-owner-token", &token)])
            .await
            .status,
        200
    );
    assert_eq!(d.req("GET", &path, &[]).await.status, 404);
}

// --- durability -----------------------------------------------------------------------------

#[tokio::test]
async fn acknowledged_pastes_survive_kill_9() {
    let b = Builder::new();
    let dir_db = b.path("pastes.db").display().to_string();
    let d = std::sync::Arc::new(b.spawn());
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let d = std::sync::Arc::clone(&d);
            tokio::spawn(async move {
                let resp = common::request_unix(
                    &d.sock,
                    "POST",
                    "/",
                    &[],
                    format!("paste {i}").into_bytes(),
                )
                .await;
                (resp.status == 201).then(|| resp.json()["id"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut acked = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            acked.push(id);
        }
    }
    assert_eq!(acked.len(), 60);
    d.signal(nix::sys::signal::Signal::SIGKILL);
    let d: Daemon = std::sync::Arc::try_unwrap(d)
        .ok()
        .expect("no other holders");
    // A fresh daemon on the same database finds every acknowledged paste.
    let again = Builder::new().toml(&format!("db = {dir_db:?}")).spawn();
    for (i, id) in acked.iter().enumerate() {
        let resp = again.req("GET", &format!("/{id}/raw"), &[]).await;
        assert_eq!(resp.status, 200, "{id}");
        let body = String::from_utf8(resp.body).unwrap();
        assert!(body.starts_with("paste "), "{i}: {body}");
    }
    drop(d);
}

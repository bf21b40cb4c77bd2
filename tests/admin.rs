//! The admin API against the real binary: `GET /admin/stats` counts what the store holds
//! and reports its file sizes, `POST /admin/cleanup` runs one expiry sweep and says what it
//! deleted, and only the admin (the first identity registered through the PKI) may use
//! either: 401 without a certificate, 403 with anyone else's.

mod common;

use common::{Builder, Daemon, FP};

const ENDPOINTS: [(&str, &str); 2] = [("GET", "/admin/stats"), ("POST", "/admin/cleanup")];

/// Status and `error` text of an answer.
fn error(resp: &common::Resp) -> (u16, String) {
    (
        resp.status,
        resp.json()["error"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn anonymous_is_refused(d: &Daemon) {
    for (method, path) in ENDPOINTS {
        let resp = d.send(method, path, &[], "").await;
        assert_eq!(
            error(&resp),
            (401, "Authentication required".to_owned()),
            "{method} {path}"
        );
    }
}

async fn certificate_is_refused(d: &Daemon, fp: &str) {
    for (method, path) in ENDPOINTS {
        let resp = d.send(method, path, &[("x-ssl-client-sha1", fp)], "").await;
        assert_eq!(
            error(&resp),
            (403, "Admin access required".to_owned()),
            "{method} {path} as {fp}"
        );
    }
}

#[tokio::test]
async fn api_information_lists_the_admin_endpoints() {
    let d = Builder::new().spawn();
    let v = d.req("GET", "/", &[]).await.json();
    for (method, path) in ENDPOINTS {
        let key = format!("{method} {path}");
        assert!(v["endpoints"][&key].is_string(), "{key} missing from {v}");
    }
}

#[cfg(not(feature = "pki"))]
#[tokio::test]
async fn without_the_pki_nobody_is_admin() {
    let d = Builder::new()
        .toml("pki_enabled = true\npki_ca_password = \"test-pass\"")
        .spawn();
    anonymous_is_refused(&d).await;
    certificate_is_refused(&d, FP).await;
}

#[cfg(feature = "pki")]
mod with_pki {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use common::OTHER_FP;

    const PKI: &str =
        "pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 0\naudit = \"log\"";

    async fn as_admin(d: &Daemon, admin: &str, method: &str, path: &str) -> Value {
        let resp = d
            .send(method, path, &[("x-ssl-client-sha1", admin)], "")
            .await;
        assert_eq!(
            resp.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.json()
    }

    #[tokio::test]
    async fn only_the_admin_may_see_stats_or_clean_up() {
        let d = Builder::new().toml(PKI).spawn();
        // Before anyone registered there is no admin at all.
        anonymous_is_refused(&d).await;
        certificate_is_refused(&d, FP).await;
        let admin = d.registered().await;
        let user = d.registered().await;
        anonymous_is_refused(&d).await;
        certificate_is_refused(&d, &user).await;
        certificate_is_refused(&d, OTHER_FP).await;
        as_admin(&d, &admin, "GET", "/admin/stats").await;
        as_admin(&d, &admin, "POST", "/admin/cleanup").await;
        let wrong = d.req("GET", "/admin/cleanup", &[]).await;
        assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    }

    #[tokio::test]
    async fn stats_count_pastes_short_urls_bytes_certificates_and_files() {
        let d = Builder::new().toml(PKI).spawn();
        let admin = d.registered().await;
        let v = as_admin(&d, &admin, "GET", "/admin/stats").await;
        assert_eq!(v["pastes"], json!({"count": 0, "bytes": 0}), "{v}");
        assert_eq!(v["short_urls"], json!({"count": 0}), "{v}");
        assert_eq!(
            v["certificates"],
            json!({"issued": 1, "active": 1, "revoked": 0}),
            "{v}"
        );

        d.create("hello", &[]).await;
        d.create(vec![0_u8; 1000], &[("x-ssl-client-sha1", &admin)])
            .await;
        let short = d.send("POST", "/s", &[], "https://example.com/a").await;
        assert_eq!(
            short.status,
            201,
            "{:?}",
            String::from_utf8_lossy(&short.body)
        );
        d.registered().await;

        let v = as_admin(&d, &admin, "GET", "/admin/stats").await;
        assert_eq!(v["pastes"], json!({"count": 2, "bytes": 1005}), "{v}");
        assert_eq!(v["short_urls"], json!({"count": 1}), "{v}");
        assert_eq!(
            v["certificates"],
            json!({"issued": 2, "active": 2, "revoked": 0}),
            "{v}"
        );
        let db = std::fs::metadata(d.path("pastes.db")).unwrap().len();
        assert!(db > 0);
        assert_eq!(v["database"]["bytes"], db, "{v}");
        // The WAL moves with every write; that it is reported, and holds the writes above.
        let wal = v["database"]["wal_bytes"].as_u64().unwrap();
        assert!(wal > 0, "{v}");
    }

    #[tokio::test]
    async fn cleanup_deletes_what_expired_once_and_then_nothing() {
        // Proof-of-work on, with short-lived tokens, so a spent nonce expires too; the
        // timer sweeps only at start here.
        let d = Builder::new()
            .toml(PKI)
            .toml("pow_difficulty = 2\npow_ttl = 1")
            .spawn();
        let admin = d.registered().await;
        let (token, solution) = d.solve().await;
        let brief = d
            .create(
                "brief",
                &[
                    ("x-expiry", "1"),
                    ("x-pow-token", &token),
                    ("x-pow-solution", &solution),
                ],
            )
            .await;
        let (token, solution) = d.solve().await;
        let kept = d
            .create(
                "kept",
                &[("x-pow-token", &token), ("x-pow-solution", &solution)],
            )
            .await;
        tokio::time::sleep(Duration::from_millis(2100)).await;

        let v = as_admin(&d, &admin, "POST", "/admin/cleanup").await;
        assert_eq!(v["pastes"], 1, "{v}");
        assert_eq!(v["short_urls"], 0, "{v}");
        assert_eq!(v["pow_nonces"], 2, "{v}");
        // A reader may keep the checkpoint from truncating; that it says which.
        assert!(v["wal_truncated"].is_boolean(), "{v}");
        let v = as_admin(&d, &admin, "POST", "/admin/cleanup").await;
        assert_eq!(
            (&v["pastes"], &v["short_urls"], &v["pow_nonces"]),
            (&json!(0), &json!(0), &json!(0)),
            "{v}"
        );

        let conn = rusqlite::Connection::open_with_flags(
            d.path("pastes.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM pastes")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, [common::id(&kept)], "{brief}");
        let v = as_admin(&d, &admin, "GET", "/admin/stats").await;
        assert_eq!(v["pastes"], json!({"count": 1, "bytes": 4}), "{v}");
        assert!(
            d.log().contains("admin cleanup: deleted 1 paste(s)"),
            "{}",
            d.log()
        );
    }
}

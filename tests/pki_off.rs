//! A build without the `pki` feature: the PKI is not served even when configured.

#![cfg(not(feature = "pki"))]

mod common;

use common::Builder;
use serde_json::json;

#[tokio::test]
async fn without_the_feature_the_pki_is_off_even_when_enabled() {
    let d = Builder::new()
        .toml("pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 4\naudit = \"log\"")
        .spawn();
    assert_eq!(
        d.req("GET", "/pki", &[]).await.json(),
        json!({"enabled": false})
    );
    assert_eq!(
        d.req("GET", "/register/challenge", &[]).await.json(),
        json!({"enabled": false, "difficulty": 0})
    );
    let mut statuses = Vec::new();
    for path in ["/register", "/pki/ca", "/pki/issue"] {
        let resp = d
            .send("POST", path, &[("content-type", "application/json")], "{}")
            .await;
        statuses.push((
            path,
            resp.status,
            resp.header("allow").map(str::to_owned),
            String::from_utf8_lossy(&resp.body).into_owned(),
        ));
    }
    for path in ["/pki/ca.crt", "/pki/crl", "/pki/certs"] {
        assert_eq!(d.req("GET", path, &[]).await.status, 404, "{path}");
    }
    let v = d.req("GET", "/", &[]).await.json();
    let endpoints = v["endpoints"].as_object().unwrap();
    assert!(!endpoints.contains_key("POST /register"), "{v}");
    assert!(!endpoints.contains_key("POST /pki/ca"), "{v}");
    // Checked last so that the rest runs: POST /register once answered 405, "register"
    // taken for a paste id when its route was left out.
    assert!(
        statuses.iter().all(|(_, status, _, _)| *status == 404),
        "{statuses:?}"
    );
}

#[test]
fn version_does_not_list_pki() {
    let out = Builder::new().arg("--version").run();
    assert_eq!(out.code, Some(0));
    let features = out
        .stdout
        .lines()
        .find(|l| l.starts_with("features:"))
        .unwrap();
    assert!(
        !features.split_whitespace().any(|f| f == "pki"),
        "{features}"
    );
}

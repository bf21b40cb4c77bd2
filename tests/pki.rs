//! The PKI end to end, against the real binary: the CA, issuance (new keys and signing
//! requests), listing, revocation and the CRL, registration with proof-of-work, the trust
//! and admin standing it gives, and the audit trail. Certificates are checked with the
//! `openssl` command-line tool.

#![cfg(feature = "pki")]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: any failure is the test's failure"
)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Builder, Daemon, FP, OTHER_FP, Resp};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");
const PKI: &str = "pki_enabled = true\npki_ca_password = \"test-pass\"\naudit = \"log\"";

/// A daemon serving the PKI, with `extra` config lines (registration proof-of-work off
/// unless they set it).
fn pki(extra: &str) -> Builder {
    let b = Builder::new().toml(PKI).toml(extra);
    if extra.contains("register_pow") {
        b
    } else {
        b.toml("register_pow = 0")
    }
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn text(resp: &Resp) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

/// Status and `error` text of an answer.
fn error(resp: &Resp) -> (u16, String) {
    (
        resp.status,
        resp.json()["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn cert(fp: &str) -> (&'static str, &str) {
    ("x-ssl-client-sha1", fp)
}

/// Runs `openssl args` in `dir`; returns success and stdout + stderr.
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), all)
}

/// `openssl args`, failing unless it succeeds; its stdout + stderr.
fn ossl(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{out}");
    out
}

fn write(d: &Daemon, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = d.path(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// The SHA-1 fingerprint of a PEM certificate file, 40 lower-case hex digits.
fn fingerprint(dir: &Path, pem: &str) -> String {
    let out = ossl(
        dir,
        &["x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
    );
    out.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_ascii_lowercase()
}

/// The public key (PEM) of a certificate file.
fn cert_pubkey(dir: &Path, pem: &str) -> String {
    ossl(dir, &["x509", "-in", pem, "-noout", "-pubkey"])
}

/// The public key (PEM) of a private key file.
fn key_pubkey(dir: &Path, pem: &str) -> String {
    ossl(dir, &["pkey", "-in", pem, "-pubout"])
}

/// The line after the one containing `label` in `openssl x509 -text` output, trimmed.
fn after(textout: &str, label: &str) -> String {
    let mut lines = textout.lines();
    while let Some(l) = lines.next() {
        if l.contains(label) {
            return lines.next().unwrap_or_default().trim().to_owned();
        }
    }
    panic!("no {label:?} in:\n{textout}");
}

/// Unix seconds of an OpenSSL ISO-8601 date (`2026-12-02 03:39:19Z`).
fn unix(date: &str) -> i64 {
    let (d, t) = date.trim().trim_end_matches('Z').split_once(' ').unwrap();
    let d: Vec<i64> = d.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = t.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant).
    let (y, m, day) = (d[0], d[1], d[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

/// notBefore and notAfter of a certificate file, Unix seconds.
fn validity(dir: &Path, pem: &str) -> (i64, i64) {
    let out = ossl(
        dir,
        &[
            "x509",
            "-in",
            pem,
            "-noout",
            "-startdate",
            "-enddate",
            "-dateopt",
            "iso_8601",
        ],
    );
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(unix)
            .unwrap_or_else(|| panic!("no {k} in {out}"))
    };
    (get("notBefore="), get("notAfter="))
}

/// `POST /pki/ca` with `body`, failing unless 201.
async fn make_ca(d: &Daemon, body: &str) -> Value {
    let resp = d.send("POST", "/pki/ca", &[JSON], body).await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    resp.json()
}

/// `GET /pki/ca.crt` written to `ca.pem`; its path.
async fn fetch_ca(d: &Daemon) -> PathBuf {
    let resp = d.req("GET", "/pki/ca.crt", &[]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(resp.header("content-type"), Some("application/x-pem-file"));
    write(d, "ca.pem", &resp.body)
}

/// `POST /pki/issue` with `body` and `headers`, failing unless 201.
async fn issue(d: &Daemon, body: Value, headers: &[(&str, &str)]) -> Value {
    let mut all = vec![JSON];
    all.extend_from_slice(headers);
    let resp = d.send("POST", "/pki/issue", &all, body.to_string()).await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    resp.json()
}

/// `POST /register` with `body` and `headers`.
async fn register(d: &Daemon, body: &str, headers: &[(&str, &str)]) -> Resp {
    let mut all = vec![JSON];
    all.extend_from_slice(headers);
    d.send("POST", "/register", &all, body).await
}

/// A solved `GET /register/challenge`: token and solution.
async fn solve_register(d: &Daemon) -> (String, String) {
    let c = d.req("GET", "/register/challenge", &[]).await.json();
    assert_eq!(c["enabled"], true, "{c}");
    let bits = u8::try_from(c["difficulty"].as_u64().unwrap()).unwrap();
    let n = flaskpaste::security::pow::solve(c["nonce"].as_str().unwrap(), bits);
    (c["token"].as_str().unwrap().to_owned(), n.to_string())
}

/// The serial of the certificate `fp` holds, from `GET /pki/certs`.
async fn serial_of(d: &Daemon, fp: &str) -> String {
    let v = d.req("GET", "/pki/certs", &[cert(fp)]).await.json();
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["fingerprint_sha1"] == fp)
        .unwrap_or_else(|| panic!("{fp} not listed: {v}"))["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn span(v: &Value) -> i64 {
    v["expires_at"].as_i64().unwrap() - v["created_at"].as_i64().unwrap()
}

// --- 1. GET /pki -------------------------------------------------------------------------

#[tokio::test]
async fn status_shapes_off_without_ca_and_with_ca() {
    let off = Builder::new()
        .toml("pki_ca_password = \"test-pass\"\naudit = \"log\"")
        .spawn();
    assert_eq!(
        off.req("GET", "/pki", &[]).await.json(),
        json!({"enabled": false})
    );
    let resp = off
        .send("POST", "/pki/issue", &[JSON], r#"{"common_name":"alice"}"#)
        .await;
    assert_eq!(error(&resp), (404, "PKI not enabled".into()));
    let resp = off.send("POST", "/pki/ca", &[JSON], "{}").await;
    assert_eq!(error(&resp), (404, "PKI not enabled".into()));
    let resp = register(&off, "{}", &[]).await;
    assert_eq!(error(&resp), (404, "PKI not enabled".into()));
    assert_eq!(
        off.req("GET", "/register/challenge", &[]).await.json(),
        json!({"enabled": false, "difficulty": 0})
    );

    let d = pki("").spawn();
    assert_eq!(
        d.req("GET", "/pki", &[]).await.json(),
        json!({"enabled": true, "ca_exists": false, "hint": "POST /pki/ca to generate CA"})
    );
    let resp = d.req("GET", "/pki/ca.crt", &[]).await;
    assert_eq!(resp.status, 404, "{}", text(&resp));
    let made = make_ca(&d, "{}").await;
    let v = d.req("GET", "/pki", &[]).await.json();
    assert_eq!(v["enabled"], true);
    assert_eq!(v["ca_exists"], true);
    assert_eq!(v["common_name"], "FlaskPaste CA");
    assert_eq!(v["fingerprint_sha1"], made["fingerprint_sha1"]);
    assert_eq!(v["created_at"], made["created_at"]);
    assert_eq!(v["expires_at"], made["expires_at"]);
    assert_eq!(v["key_algorithm"], "ec:secp384r1");
}

// --- 2. POST /pki/ca ---------------------------------------------------------------------

#[tokio::test]
async fn ca_is_made_once_and_is_a_p384_signing_only_ca() {
    let d = pki("pki_ca_days = 100").spawn();
    let before = now();
    let v = make_ca(&d, r#"{"common_name":"My CA"}"#).await;
    assert_eq!(v["message"], "CA generated");
    assert_eq!(v["common_name"], "My CA");
    assert_eq!(v["download"], "/pki/ca.crt");
    let fp = v["fingerprint_sha1"].as_str().unwrap();
    assert!(
        fp.len() == 40 && fp.bytes().all(|b| b.is_ascii_hexdigit()),
        "{v}"
    );
    let created = v["created_at"].as_i64().unwrap();
    assert!((before - 1..=now() + 1).contains(&created), "{v}");
    assert!((span(&v) - 100 * 86_400).abs() <= 2, "{v}");

    let resp = d.send("POST", "/pki/ca", &[JSON], "{}").await;
    assert_eq!(error(&resp), (409, "CA already exists".into()));
    assert_eq!(
        d.req("GET", "/pki", &[]).await.json()["common_name"],
        "My CA"
    );

    let ca = fetch_ca(&d).await;
    let dir = d.dir.path();
    let t = ossl(
        dir,
        &["x509", "-in", ca.to_str().unwrap(), "-noout", "-text"],
    );
    assert!(t.contains("X509v3 Basic Constraints: critical"), "{t}");
    assert_eq!(after(&t, "X509v3 Basic Constraints"), "CA:TRUE, pathlen:0");
    assert!(t.contains("X509v3 Key Usage: critical"), "{t}");
    assert!(
        after(&t, "X509v3 Key Usage").contains("Certificate Sign, CRL Sign"),
        "{t}"
    );
    assert!(t.contains("id-ecPublicKey") && t.contains("384 bit"), "{t}");
    assert!(t.contains("ASN1 OID: secp384r1"), "{t}");
    assert!(t.contains("Subject: CN = My CA"), "{t}");
    assert_eq!(fingerprint(dir, "ca.pem"), fp);
    let (nb, na) = validity(dir, "ca.pem");
    assert_eq!(na, v["expires_at"].as_i64().unwrap());
    assert!(nb <= created, "{nb} > {created}");
}

#[tokio::test]
async fn ca_without_a_password_is_a_500() {
    let d = Builder::new()
        .toml("pki_enabled = true\nregister_pow = 0\naudit = \"log\"")
        .spawn();
    let resp = d.send("POST", "/pki/ca", &[JSON], "{}").await;
    assert_eq!(resp.status, 500);
    assert_eq!(
        resp.json(),
        json!({"error": "PKI_CA_PASSWORD not configured"})
    );
    let resp = register(&d, "{}", &[]).await;
    assert_eq!(error(&resp), (500, "PKI_CA_PASSWORD not configured".into()));
    assert_eq!(d.req("GET", "/pki", &[]).await.json()["ca_exists"], false);
}

// --- 3. The CA key at rest and across restarts -------------------------------------------

#[tokio::test]
async fn ca_key_is_encrypted_at_rest_and_survives_restarts_with_its_password_only() {
    let dbdir = tempfile::tempdir().unwrap();
    let db = dbdir.path().join("p.db");
    let dbline = format!("db = {:?}", db.display().to_string());
    let mut first = pki(&dbline).spawn();
    make_ca(&first, "{}").await;
    let ca = fetch_ca(&first).await;
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    let first_log = {
        assert_eq!(first.stop().code(), Some(0));
        first.log()
    };

    let key_pem: String = {
        let c =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        c.query_row("SELECT key_pem FROM pki_ca", [], |r| r.get(0))
            .unwrap()
    };
    assert!(
        key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key_pem}"
    );
    let dir = dbdir.path();
    std::fs::write(dir.join("enc.pem"), &key_pem).unwrap();
    let (ok, out) = openssl(dir, &["pkey", "-in", "enc.pem", "-passin", "pass:wrong"]);
    assert!(!ok, "opened with a wrong password: {out}");
    let plain = ossl(
        dir,
        &["pkey", "-in", "enc.pem", "-passin", "pass:test-pass"],
    );
    assert!(plain.contains("-----BEGIN PRIVATE KEY-----"), "{plain}");
    // The key's public half is the CA certificate's.
    std::fs::write(dir.join("plain.pem"), &plain).unwrap();
    std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
    assert_eq!(key_pubkey(dir, "plain.pem"), cert_pubkey(dir, "ca.pem"));
    ossl(
        dir,
        &[
            "pkey",
            "-in",
            "plain.pem",
            "-outform",
            "DER",
            "-out",
            "plain.der",
        ],
    );
    let der = std::fs::read(dir.join("plain.der")).unwrap();
    let b64: Vec<&str> = plain
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    assert!(!b64.is_empty());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("p.db") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(der.len()).any(|w| w == der.as_slice()),
            "plaintext key DER in {name}"
        );
        let lossy = String::from_utf8_lossy(&bytes);
        for line in &b64 {
            assert!(!lossy.contains(line), "plaintext key PEM in {name}");
        }
    }
    for line in &b64 {
        assert!(!first_log.contains(line), "plaintext key in the log");
    }

    // Same password: issuance works, and chains to the CA fetched before the restart.
    let again = pki(&dbline).spawn();
    let v = issue(&again, json!({"common_name": "after-restart"}), &[]).await;
    let c = write(&again, "c.pem", v["certificate_pem"].as_str().unwrap());
    write(&again, "ca.pem", &ca_pem);
    let out = ossl(
        again.dir.path(),
        &["verify", "-CAfile", "ca.pem", c.to_str().unwrap()],
    );
    assert!(out.contains(": OK"), "{out}");
    drop(again);

    // Wrong password: a 500 with JSON, the daemon keeps serving, the log says why.
    let mut wrong = Builder::new()
        .toml(&dbline)
        .toml("pki_enabled = true\npki_ca_password = \"not-the-pass\"\nregister_pow = 0\naudit = \"log\"")
        .spawn();
    let resp = wrong
        .send("POST", "/pki/issue", &[JSON], r#"{"common_name":"x"}"#)
        .await;
    assert_eq!(resp.status, 500, "{}", text(&resp));
    assert_eq!(
        resp.json(),
        json!({"error": "CA key cannot be opened with PKI_CA_PASSWORD"})
    );
    let resp = register(&wrong, "{}", &[]).await;
    assert_eq!(resp.status, 500, "{}", text(&resp));
    assert_eq!(wrong.req("GET", "/health", &[]).await.status, 200);
    assert_eq!(
        wrong.req("GET", "/pki", &[]).await.json()["ca_exists"],
        true
    );
    let log = wrong.wait_log("cannot be decrypted");
    assert!(!log.contains("panicked"), "{log}");
    assert!(matches!(wrong.child.try_wait(), Ok(None)), "daemon died");
}

// --- 4. POST /pki/issue ------------------------------------------------------------------

#[tokio::test]
async fn issued_certificate_and_key_check_out_with_openssl() {
    let d = pki("pki_cert_days = 30").spawn();
    make_ca(&d, "{}").await;
    let ca = fetch_ca(&d).await;
    let before = now();
    let v = issue(&d, json!({"common_name": "alice"}), &[]).await;
    assert_eq!(v["message"], "Certificate issued");
    assert_eq!(v["common_name"], "alice");
    let serial = v["serial"].as_str().unwrap();
    assert!(
        serial.len() == 32 && serial.bytes().all(|b| b.is_ascii_hexdigit()),
        "{v}"
    );
    let created = v["created_at"].as_i64().unwrap();
    assert!((before - 1..=now() + 1).contains(&created), "{v}");
    let dir = d.dir.path();
    let c = write(&d, "alice.pem", v["certificate_pem"].as_str().unwrap());
    let k = write(&d, "alice.key", v["private_key_pem"].as_str().unwrap());
    let (c, k) = (c.to_str().unwrap(), k.to_str().unwrap());
    let out = ossl(
        dir,
        &[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            "-purpose",
            "sslclient",
            c,
        ],
    );
    assert!(out.contains(": OK"), "{out}");
    // Not a server certificate.
    let (ok, out) = openssl(
        dir,
        &[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            "-purpose",
            "sslserver",
            c,
        ],
    );
    assert!(!ok, "{out}");
    assert_eq!(fingerprint(dir, c), v["fingerprint_sha1"]);
    let out = ossl(dir, &["x509", "-in", c, "-noout", "-serial"]);
    assert_eq!(
        out.trim()
            .strip_prefix("serial=")
            .unwrap()
            .to_ascii_lowercase(),
        serial.to_ascii_lowercase()
    );
    assert_eq!(cert_pubkey(dir, c), key_pubkey(dir, k));
    let t = ossl(dir, &["x509", "-in", c, "-noout", "-text"]);
    assert_eq!(
        after(&t, "X509v3 Extended Key Usage"),
        "TLS Web Client Authentication"
    );
    assert_eq!(after(&t, "X509v3 Key Usage"), "Digital Signature");
    assert!(t.contains("Subject: CN = alice"), "{t}");
    assert!(t.contains("Issuer: CN = FlaskPaste CA"), "{t}");
    assert!(!t.contains("CA:TRUE"), "{t}");
    let (nb, na) = validity(dir, c);
    assert!((120..=600).contains(&(created - nb)), "{created} - {nb}");
    assert_eq!(na, v["expires_at"].as_i64().unwrap());
    assert!((span(&v) - 30 * 86_400).abs() <= 2, "{v}");

    for body in [r#"{"csr": null}"#, "{}", ""] {
        let resp = d.send("POST", "/pki/issue", &[JSON], body).await;
        assert_eq!(
            resp.json(),
            json!({"error": "common_name required"}),
            "{body:?}"
        );
        assert_eq!(resp.status, 400);
    }
    let resp = d.send("POST", "/pki/issue", &[JSON], "{not json").await;
    assert_eq!(resp.status, 400, "{}", text(&resp));
    assert!(resp.json()["error"].is_string());
}

// --- 5. Signing requests ----------------------------------------------------------------

#[tokio::test]
async fn signing_requests_get_certificates_without_keys_and_bad_ones_are_refused() {
    let d = pki("").spawn();
    make_ca(&d, "{}").await;
    let ca = fetch_ca(&d).await;
    let dir = d.dir.path();
    ossl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-subj",
            "/CN=fromcsr",
            "-keyout",
            "k.pem",
            "-out",
            "r.pem",
        ],
    );
    let csr = std::fs::read_to_string(d.path("r.pem")).unwrap();
    let v = issue(&d, json!({"common_name": "override", "csr": csr}), &[]).await;
    assert!(v.get("private_key_pem").is_none(), "{v}");
    write(&d, "c.pem", v["certificate_pem"].as_str().unwrap());
    let t = ossl(dir, &["x509", "-in", "c.pem", "-noout", "-subject"]);
    assert_eq!(t.trim(), "subject=CN = override");
    assert_eq!(cert_pubkey(dir, "c.pem"), key_pubkey(dir, "k.pem"));
    let out = ossl(
        dir,
        &[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            "-purpose",
            "sslclient",
            "c.pem",
        ],
    );
    assert!(out.contains(": OK"), "{out}");
    assert_eq!(fingerprint(dir, "c.pem"), v["fingerprint_sha1"]);

    let w = issue(&d, json!({"common_name": "override", "csr": csr}), &[]).await;
    assert_ne!(v["serial"], w["serial"]);
    assert_ne!(v["fingerprint_sha1"], w["fingerprint_sha1"]);

    // Without a common_name in the body, the request's own subject names the certificate;
    // a request without one needs the body's.
    let named = issue(&d, json!({"csr": csr}), &[]).await;
    assert_eq!(named["common_name"], "fromcsr", "{named}");
    write(&d, "n.pem", named["certificate_pem"].as_str().unwrap());
    let t = ossl(dir, &["x509", "-in", "n.pem", "-noout", "-subject"]);
    assert_eq!(t.trim(), "subject=CN = fromcsr");
    ossl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "k.pem",
            "-subj",
            "/O=nameless",
            "-out",
            "anon.pem",
        ],
    );
    let nameless = std::fs::read_to_string(d.path("anon.pem")).unwrap();
    let resp = d
        .send(
            "POST",
            "/pki/issue",
            &[("content-type", "application/json")],
            json!({"csr": nameless}).to_string(),
        )
        .await;
    assert_eq!(error(&resp), (400, "common_name required".into()));

    // A flipped byte in the signature (the last byte of the DER).
    ossl(
        dir,
        &["req", "-in", "r.pem", "-outform", "DER", "-out", "r.der"],
    );
    let mut der = std::fs::read(d.path("r.der")).unwrap();
    *der.last_mut().unwrap() ^= 0x01;
    std::fs::write(d.path("bad.der"), &der).unwrap();
    ossl(
        dir,
        &[
            "req", "-inform", "DER", "-in", "bad.der", "-outform", "PEM", "-out", "bad.pem",
        ],
    );
    // OpenSSL 3.0 exits 0 here, but says so.
    let (_, out) = openssl(dir, &["req", "-in", "bad.pem", "-verify", "-noout"]);
    assert!(out.contains("verify failure"), "{out}");
    let bad = std::fs::read_to_string(d.path("bad.pem")).unwrap();
    let resp = d
        .send(
            "POST",
            "/pki/issue",
            &[JSON],
            json!({"common_name": "x", "csr": bad}).to_string(),
        )
        .await;
    let (status, e) = error(&resp);
    assert_eq!(status, 400, "{e}");
    assert!(e.starts_with("Invalid certificate signing request"), "{e}");

    let resp = d
        .send(
            "POST",
            "/pki/issue",
            &[JSON],
            json!({"common_name": "x", "csr": "garbage"}).to_string(),
        )
        .await;
    let (status, e) = error(&resp);
    assert_eq!(status, 400, "{e}");
    assert!(e.starts_with("Invalid certificate signing request"), "{e}");
}

// --- 6. GET /pki/certs -------------------------------------------------------------------

#[tokio::test]
async fn certs_lists_what_the_caller_asked_for_or_holds() {
    let d = pki("").spawn();
    make_ca(&d, "{}").await;
    let v = issue(&d, json!({"common_name": "bob"}), &[cert(FP)]).await;
    let holder = v["fingerprint_sha1"].as_str().unwrap();

    assert_eq!(
        d.req("GET", "/pki/certs", &[]).await.json(),
        json!({"certificates": [], "count": 0})
    );
    for who in [FP, holder] {
        let list = d.req("GET", "/pki/certs", &[cert(who)]).await.json();
        assert_eq!(list["count"], 1, "{who}: {list}");
        let c = &list["certificates"][0];
        assert_eq!(c["serial"], v["serial"]);
        assert_eq!(c["common_name"], "bob");
        assert_eq!(c["fingerprint_sha1"], holder);
        assert_eq!(c["created_at"], v["created_at"]);
        assert_eq!(c["expires_at"], v["expires_at"]);
        assert_eq!(c["status"], "valid");
        assert_eq!(c["issued_to"], FP);
    }
    let list = d.req("GET", "/pki/certs", &[cert(OTHER_FP)]).await.json();
    assert_eq!(list["count"], 0, "{list}");
    // Anonymous issuance: no issued_to.
    let anon = issue(&d, json!({"common_name": "carol"}), &[]).await;
    let own = anon["fingerprint_sha1"].as_str().unwrap();
    let list = d.req("GET", "/pki/certs", &[cert(own)]).await.json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["certificates"][0]["issued_to"], Value::Null);
}

// --- 7. Revocation and the CRL -----------------------------------------------------------

#[tokio::test]
async fn revocation_by_the_issuer_and_the_crl() {
    let d = pki("").spawn();
    make_ca(&d, "{}").await;
    let ca = fetch_ca(&d).await;
    let ca = ca.to_str().unwrap();
    let dir = d.dir.path();
    let doomed = issue(&d, json!({"common_name": "doomed"}), &[cert(FP)]).await;
    let kept = issue(&d, json!({"common_name": "kept"}), &[cert(FP)]).await;
    write(
        &d,
        "doomed.pem",
        doomed["certificate_pem"].as_str().unwrap(),
    );
    write(&d, "kept.pem", kept["certificate_pem"].as_str().unwrap());
    let serial = doomed["serial"].as_str().unwrap();
    let path = format!("/pki/revoke/{serial}");

    let resp = d.req("POST", &path, &[]).await;
    assert_eq!(error(&resp), (401, "Authentication required".into()));
    let resp = d.req("POST", &path, &[cert(OTHER_FP)]).await;
    assert_eq!(resp.status, 403, "{}", text(&resp));
    let resp = d
        .req(
            "POST",
            "/pki/revoke/0123456789abcdef0123456789abcdef",
            &[cert(FP)],
        )
        .await;
    assert_eq!(error(&resp), (404, "Certificate not found".into()));
    let resp = d.req("POST", &path, &[cert(FP)]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(
        resp.json(),
        json!({"message": "Certificate revoked", "serial": serial})
    );
    let resp = d.req("POST", &path, &[cert(FP)]).await;
    assert_eq!(error(&resp), (409, "Certificate already revoked".into()));

    let list = d.req("GET", "/pki/certs", &[cert(FP)]).await.json();
    let status = |s: &Value| {
        list["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["serial"] == *s)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&doomed["serial"]), "revoked", "{list}");
    assert_eq!(status(&kept["serial"]), "valid", "{list}");

    let resp = d.req("GET", "/pki/crl", &[]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(resp.header("content-type"), Some("application/x-pem-file"));
    write(&d, "crl.pem", &resp.body);
    let t = ossl(
        dir,
        &["crl", "-in", "crl.pem", "-CAfile", ca, "-noout", "-text"],
    );
    assert!(t.contains("verify OK"), "{t}");
    assert!(
        t.to_ascii_lowercase()
            .contains(&format!("serial number: {serial}")),
        "{serial} not in:\n{t}"
    );
    assert!(
        !t.to_ascii_lowercase()
            .contains(&kept["serial"].as_str().unwrap().to_ascii_lowercase()),
        "{t}"
    );
    let (ok, out) = openssl(
        dir,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            ca,
            "-CRLfile",
            "crl.pem",
            "doomed.pem",
        ],
    );
    assert!(!ok && out.contains("revoked"), "{out}");
    let out = ossl(
        dir,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            ca,
            "-CRLfile",
            "crl.pem",
            "kept.pem",
        ],
    );
    assert!(out.contains(": OK"), "{out}");

    // The holder may revoke its own certificate.
    let own = kept["fingerprint_sha1"].as_str().unwrap();
    let resp = d
        .req(
            "POST",
            &format!("/pki/revoke/{}", kept["serial"].as_str().unwrap()),
            &[cert(own)],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
}

// --- 8. Registration ---------------------------------------------------------------------

#[tokio::test]
async fn register_challenge_shapes_and_proof_of_work() {
    let off = pki("").spawn();
    assert_eq!(
        off.req("GET", "/register/challenge", &[]).await.json(),
        json!({"enabled": false, "difficulty": 0})
    );
    drop(off);

    let d = pki("register_pow = 4\npow_difficulty = 2").spawn();
    let c = d.req("GET", "/register/challenge", &[]).await.json();
    assert_eq!(c["enabled"], true, "{c}");
    assert_eq!(c["difficulty"], 4);
    let nonce = c["nonce"].as_str().unwrap();
    assert!(!nonce.is_empty() && nonce.bytes().all(|b| b.is_ascii_hexdigit()));
    let expires = c["expires"].as_i64().unwrap();
    assert!(expires > now(), "{c}");
    let token = c["token"].as_str().unwrap();
    assert!(token.starts_with(&format!("{nonce}:{expires}:4:")), "{c}");

    let resp = register(&d, "{}", &[]).await;
    assert_eq!(error(&resp), (400, "Proof-of-work required".into()));

    // A paste challenge (2 bits) does not pay for a registration (4 bits).
    let (token, solution) = d.solve().await;
    let resp = register(
        &d,
        "{}",
        &[("x-pow-token", &token), ("x-pow-solution", &solution)],
    )
    .await;
    assert_eq!(
        error(&resp),
        (
            400,
            "Proof-of-work failed: Challenge difficulty too low".into()
        )
    );

    let (token, solution) = solve_register(&d).await;
    let pow = [
        ("x-pow-token", token.as_str()),
        ("x-pow-solution", solution.as_str()),
    ];
    let resp = register(&d, r#"{"common_name":"alice"}"#, &pow).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    // Spent.
    let resp = register(&d, r#"{"common_name":"alice"}"#, &pow).await;
    assert_eq!(
        error(&resp),
        (400, "Proof-of-work failed: Challenge already used".into())
    );
}

#[tokio::test]
async fn registration_answers_a_pkcs12_bundle_and_makes_the_ca() {
    let d = pki("pki_cert_days = 10").spawn();
    assert_eq!(d.req("GET", "/pki", &[]).await.json()["ca_exists"], false);
    let before = now();
    let resp = register(&d, r#"{"common_name":"alice"}"#, &[]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(resp.header("content-type"), Some("application/x-pkcs12"));
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename=\"client.p12\"")
    );
    let fp = resp.header("x-fingerprint-sha1").unwrap().to_owned();
    let expires: i64 = resp
        .header("x-certificate-expires")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (expires - before - 10 * 86_400).abs() <= 3,
        "{expires} {before}"
    );
    let status = d.req("GET", "/pki", &[]).await.json();
    assert_eq!(status["ca_exists"], true, "{status}");
    assert_eq!(status["common_name"], "FlaskPaste CA");

    let dir = d.dir.path();
    write(&d, "client.p12", &resp.body);
    let all = ossl(
        dir,
        &["pkcs12", "-in", "client.p12", "-passin", "pass:", "-nokeys"],
    );
    assert_eq!(
        all.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{all}"
    );
    ossl(
        dir,
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-passin",
            "pass:",
            "-nokeys",
            "-clcerts",
            "-out",
            "client.pem",
        ],
    );
    ossl(
        dir,
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-passin",
            "pass:",
            "-nokeys",
            "-cacerts",
            "-out",
            "chain.pem",
        ],
    );
    ossl(
        dir,
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-passin",
            "pass:",
            "-nocerts",
            "-nodes",
            "-out",
            "client.key",
        ],
    );
    assert_eq!(fingerprint(dir, "client.pem"), fp);
    assert_eq!(fingerprint(dir, "chain.pem"), status["fingerprint_sha1"]);
    assert_eq!(
        cert_pubkey(dir, "client.pem"),
        key_pubkey(dir, "client.key")
    );
    let t = ossl(dir, &["x509", "-in", "client.pem", "-noout", "-text"]);
    assert!(t.contains("Subject: CN = alice"), "{t}");
    assert!(t.contains("ASN1 OID: secp384r1"), "{t}");
    let ca = fetch_ca(&d).await;
    let out = ossl(
        dir,
        &[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            "-purpose",
            "sslclient",
            "client.pem",
        ],
    );
    assert!(out.contains(": OK"), "{out}");
    let list = d.req("GET", "/pki/certs", &[cert(&fp)]).await.json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["certificates"][0]["expires_at"], expires);

    // Without a common_name, the CN is a UUID.
    let resp = register(&d, "", &[]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    write(&d, "anon.p12", &resp.body);
    ossl(
        dir,
        &[
            "pkcs12", "-in", "anon.p12", "-passin", "pass:", "-nokeys", "-clcerts", "-out",
            "anon.pem",
        ],
    );
    let subject = ossl(dir, &["x509", "-in", "anon.pem", "-noout", "-subject"]);
    let cn = subject.trim().strip_prefix("subject=CN = ").unwrap();
    let dashes: Vec<usize> = cn.match_indices('-').map(|(i, _)| i).collect();
    assert!(
        cn.len() == 36
            && dashes == [8, 13, 18, 23]
            && cn.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()),
        "{cn}"
    );
}

#[tokio::test]
async fn registration_with_a_signing_request_answers_pem() {
    let d = pki("").spawn();
    let dir = d.dir.path();
    ossl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-subj",
            "/CN=csrreg",
            "-keyout",
            "k.pem",
            "-out",
            "r.pem",
        ],
    );
    let csr = std::fs::read_to_string(d.path("r.pem")).unwrap();
    let resp = register(&d, &json!({"csr": csr}).to_string(), &[]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(resp.header("content-type"), Some("application/x-pem-file"));
    let fp = resp.header("x-fingerprint-sha1").unwrap().to_owned();
    assert!(
        resp.header("x-certificate-expires")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > now()
    );
    let body = text(&resp);
    assert!(!body.contains("PRIVATE KEY"), "{body}");
    let certs: Vec<&str> = body
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|s| s.contains("BEGIN CERTIFICATE"))
        .collect();
    assert_eq!(certs.len(), 2, "{body}");
    write(&d, "leaf.pem", certs[0]);
    write(&d, "second.pem", certs[1]);
    assert_eq!(fingerprint(dir, "leaf.pem"), fp);
    assert_eq!(cert_pubkey(dir, "leaf.pem"), key_pubkey(dir, "k.pem"));
    let ca = d.req("GET", "/pki", &[]).await.json();
    assert_eq!(fingerprint(dir, "second.pem"), ca["fingerprint_sha1"]);
    let out = ossl(
        dir,
        &[
            "verify",
            "-CAfile",
            "second.pem",
            "-purpose",
            "sslclient",
            "leaf.pem",
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

// --- 9. Trust and admins -----------------------------------------------------------------

#[tokio::test]
async fn registered_identities_are_trusted_and_the_first_is_admin() {
    let d = pki("").spawn();
    let admin = d.registered().await;
    let user = d.registered().await;

    let v = d.create("by the admin", &[cert(&admin)]).await;
    assert_eq!(span(&v), 2_592_000, "{v}");
    assert_eq!(v["owner"], admin.as_str());
    let mine = d.create("by the user", &[cert(&user)]).await;
    assert_eq!(span(&mine), 2_592_000, "{mine}");
    assert_eq!(mine["owner"], user.as_str());
    let stranger = d.create("by an unknown certificate", &[cert(FP)]).await;
    assert_eq!(span(&stranger), 604_800, "{stranger}");
    assert_eq!(stranger["owner"], FP);
    let anon = d.create("anonymous", &[]).await;
    assert_eq!(span(&anon), 86_400, "{anon}");
    assert!(anon.get("owner").is_none(), "{anon}");

    // Listing everyone's pastes.
    let resp = d.req("GET", "/pastes?all=1", &[cert(&admin)]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    let ids: Vec<String> = resp.json()["pastes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    for p in [&mine, &stranger] {
        assert!(ids.contains(&common::id(p)), "{ids:?}");
    }
    for who in [user.as_str(), FP] {
        let resp = d.req("GET", "/pastes?all=1", &[cert(who)]).await;
        assert_eq!(error(&resp), (403, "Admin access required".into()), "{who}");
    }
    let resp = d.req("GET", "/pastes", &[cert(&user)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["pastes"].as_array().unwrap().len(), 1);

    // Deleting someone else's paste.
    let resp = d
        .req("DELETE", &format!("/{}", common::id(&v)), &[cert(&user)])
        .await;
    assert_eq!(resp.status, 403, "{}", text(&resp));
    let resp = d
        .req(
            "DELETE",
            &format!("/{}", common::id(&mine)),
            &[cert(&admin)],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(
        d.req("GET", &format!("/{}", common::id(&mine)), &[])
            .await
            .status,
        404
    );

    // Short URLs.
    let short = |fp: String| {
        let d = &d;
        async move {
            let resp = d
                .send(
                    "POST",
                    "/s",
                    &[JSON, cert(&fp)],
                    json!({"url": "https://example.com/x"}).to_string(),
                )
                .await;
            assert_eq!(resp.status, 201, "{}", text(&resp));
            resp.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let users_short = short(user.clone()).await;
    let admins_short = short(admin.clone()).await;
    let resp = d.req("GET", "/s?all=1", &[cert(&admin)]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(resp.json()["total"], 2, "{}", text(&resp));
    let resp = d.req("GET", "/s?all=1", &[cert(&user)]).await;
    assert_eq!(error(&resp), (403, "Admin access required".into()));
    let resp = d
        .req("DELETE", &format!("/s/{admins_short}"), &[cert(&user)])
        .await;
    assert_eq!(resp.status, 403, "{}", text(&resp));
    let resp = d
        .req("DELETE", &format!("/s/{users_short}"), &[cert(&admin)])
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert_eq!(
        d.req("GET", &format!("/s/{users_short}/info"), &[])
            .await
            .status,
        404
    );
}

// --- 10. Revoked certificates count as anonymous -----------------------------------------

#[tokio::test]
async fn a_revoked_certificate_counts_as_anonymous() {
    let d = pki("").spawn();
    let fp = d.registered().await;
    assert_eq!(d.req("GET", "/pastes", &[cert(&fp)]).await.status, 200);
    let serial = serial_of(&d, &fp).await;
    let resp = d
        .req("POST", &format!("/pki/revoke/{serial}"), &[cert(&fp)])
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));

    let v = d.create("after revocation", &[cert(&fp)]).await;
    assert!(v.get("owner").is_none(), "{v}");
    assert!(v["owner_token"].is_string(), "{v}");
    assert_eq!(span(&v), 86_400, "{v}");
    let resp = d.req("GET", "/pastes", &[cert(&fp)]).await;
    assert_eq!(error(&resp), (401, "Authentication required".into()));
    let list = d.req("GET", "/pki/certs", &[cert(&fp)]).await.json();
    assert_eq!(list, json!({"certificates": [], "count": 0}));
    // The revoked admin is no admin.
    let resp = d.req("GET", "/pastes?all=1", &[cert(&fp)]).await;
    assert_eq!(resp.status, 401, "{}", text(&resp));
    let log = d.log();
    assert!(log.contains("auth_failure"), "{log}");
}

// --- 11. Audit via syslog ----------------------------------------------------------------

/// Splits `<PRI>header: JSON` into PRI and JSON.
fn datagram(text: &str) -> (u8, Value) {
    let rest = text.strip_prefix('<').unwrap_or_else(|| panic!("{text}"));
    let (pri, rest) = rest.split_once('>').unwrap();
    let (_, message) = rest.split_once(": ").unwrap();
    (
        pri.parse().unwrap(),
        serde_json::from_str(message).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[tokio::test]
async fn audit_events_go_to_syslog_as_authpriv_json() {
    let b = Builder::new();
    let sock = b.path("audit.sock");
    let syslog = UnixDatagram::bind(&sock).unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let d = b
        .toml("pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 0")
        .toml(&format!(
            "audit = \"syslog\"\nsyslog_socket = {:?}",
            sock.display().to_string()
        ))
        .spawn();
    let admin = d.registered().await;
    let user = d.registered().await;
    let serial = serial_of(&d, &user).await;
    let resp = d
        .req("POST", &format!("/pki/revoke/{serial}"), &[cert(&admin)])
        .await;
    // The admin did not issue it: only the issuer or holder revokes.
    assert_eq!(resp.status, 403, "{}", text(&resp));
    let resp = d
        .req("POST", &format!("/pki/revoke/{serial}"), &[cert(&user)])
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    d.create("revoked user", &[cert(&user)]).await;
    let victim = d.create("someone's", &[cert(FP)]).await;
    let resp = d
        .req(
            "DELETE",
            &format!("/{}", common::id(&victim)),
            &[cert(&admin)],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", text(&resp));

    let wanted = [
        "cert_issued",
        "cert_revoked",
        "auth_failure",
        "admin_delete",
    ];
    let mut got: Vec<(u8, Value)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 65_536];
    while !wanted
        .iter()
        .all(|w| got.iter().any(|(_, v)| v["event"] == *w))
    {
        assert!(Instant::now() < deadline, "syslog got: {got:?}");
        if let Ok(n) = syslog.recv(&mut buf) {
            got.push(datagram(&String::from_utf8_lossy(&buf[..n])));
        }
    }
    let find = |e: &str| got.iter().find(|(_, v)| v["event"] == e).unwrap().clone();
    for (pri, v) in &got {
        for field in [
            "time",
            "level",
            "logger",
            "event",
            "outcome",
            "client_id",
            "client_ip",
            "details",
        ] {
            assert!(v.get(field).is_some(), "no {field}: {v}");
        }
        assert_eq!(v["logger"], "app.audit");
        assert!(v["client_ip"].is_string(), "{v}");
        let expected = if v["outcome"] == "success" { 86 } else { 84 };
        assert_eq!(*pri, expected, "{v}");
    }
    let (pri, issued) = find("cert_issued");
    assert_eq!(pri, 86);
    assert_eq!(issued["level"], "INFO");
    assert_eq!(issued["outcome"], "success");
    assert_eq!(issued["details"]["type"], "registration");
    assert_eq!(issued["details"]["fingerprint"], admin.as_str());
    let issued_count = got
        .iter()
        .filter(|(_, v)| v["event"] == "cert_issued")
        .count();
    assert!(issued_count >= 1);
    let (_, revoked) = find("cert_revoked");
    assert_eq!(revoked["details"]["serial"], serial.as_str());
    assert_eq!(revoked["details"]["fingerprint"], user.as_str());
    assert_eq!(revoked["client_id"], user.as_str());
    let (pri, failure) = find("auth_failure");
    assert_eq!(pri, 84);
    assert_eq!(failure["level"], "WARNING");
    assert_eq!(failure["outcome"], "failure");
    assert_eq!(failure["details"]["reason"], "revoked");
    assert_eq!(failure["details"]["fingerprint"], user.as_str());
    let (_, deleted) = find("admin_delete");
    assert_eq!(deleted["client_id"], admin.as_str());
    assert_eq!(deleted["details"]["what"], "paste");
    assert_eq!(deleted["details"]["id"], common::id(&victim).as_str());
    assert_eq!(deleted["details"]["owner"], FP);
    // Not also in the main log.
    assert!(!d.log().contains("\"cert_issued\""), "{}", d.log());
}

#[tokio::test]
async fn a_missing_audit_socket_falls_back_to_the_log_with_one_warning() {
    let b = Builder::new();
    let missing = b.path("missing.sock");
    let mut d = b
        .toml("pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 0")
        .toml(&format!(
            "audit = \"syslog\"\nsyslog_socket = {:?}",
            missing.display().to_string()
        ))
        .spawn();
    // The first registration makes the CA too; the second is a plain issuance.
    d.registered().await;
    let started = Instant::now();
    let fp = d.registered().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let log = d.wait_log(&fp);
    assert_eq!(log.matches("\"cert_issued\"").count(), 2, "{log}");
    assert_eq!(
        log.matches("cannot send to the audit socket").count(),
        1,
        "{log}"
    );
}

// --- 12. GET / ---------------------------------------------------------------------------

#[tokio::test]
async fn info_lists_the_pki_endpoints() {
    let d = pki("").spawn();
    let v = d.req("GET", "/", &[]).await.json();
    let endpoints = v["endpoints"].as_object().unwrap();
    for name in [
        "GET /pki",
        "POST /pki/ca",
        "GET /pki/ca.crt",
        "GET /pki/crl",
        "POST /pki/issue",
        "GET /pki/certs",
        "POST /register",
        "GET /register/challenge",
        "POST /pki/revoke/<serial>",
    ] {
        assert!(endpoints.contains_key(name), "{name} not in {v}");
    }
}

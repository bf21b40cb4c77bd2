//! `fpaste` against the real daemon over loopback TCP: round trips, encryption by
//! default, failures without plaintext, options that reach the server, proof-of-work,
//! short URLs, identities (register, cert) and owner tokens.

#![cfg(feature = "client")]
#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{Builder, Daemon, Resp, fpaste, request_tcp, tcp_address};

const FPASTE: &str = env!("CARGO_BIN_EXE_fpaste");

/// A daemon on loopback TCP, and a user of fpaste with an empty home.
struct Setup {
    daemon: Daemon,
    addr: String,
    home: tempfile::TempDir,
}

fn setup(toml: &str) -> Setup {
    let mut daemon = Builder::new().toml(toml).listen(&["127.0.0.1:0"]).spawn();
    let addr = tcp_address(&daemon.wait_log("listening on"));
    Setup {
        daemon,
        addr,
        home: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn server(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs fpaste with `stdin`, an environment of only HOME, PATH and the server (and `env`).
    fn run_env(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        let server = self.server();
        let mut all = vec![("FLASKPASTE_SERVER", server.as_str())];
        all.extend_from_slice(env);
        fpaste(self.home.path(), args, stdin, &all)
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_env(args, stdin, &[])
    }

    /// Runs fpaste and insists on success; returns stdout.
    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "fpaste {args:?} failed: {}",
            stderr(&out)
        );
        out.stdout
    }

    /// Runs fpaste and insists on success; returns stdout as one trimmed line.
    fn line(&self, args: &[&str], stdin: &[u8]) -> String {
        text(&self.ok(args, stdin))
    }

    async fn http(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        request_tcp(&self.addr, method, path, headers, Vec::new()).await
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The id and key of `http://host/ID#KEY`.
fn id_and_key(url: &str) -> (String, Option<String>) {
    let (rest, key) = match url.split_once('#') {
        Some((r, k)) => (r, Some(k.to_owned())),
        None => (url, None),
    };
    (rest.rsplit('/').next().unwrap().to_owned(), key)
}

/// Asserts a failure: non-zero exit, one line on stderr containing `needle`, nothing on stdout.
fn assert_fails(out: &Output, needle: &str) {
    assert!(
        !out.status.success(),
        "succeeded; stdout {:?}",
        text(&out.stdout)
    );
    let err = stderr(out);
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(
        out.stdout.is_empty(),
        "stdout not empty: {:?}",
        text(&out.stdout)
    );
}

#[tokio::test]
async fn stdin_text_round_trips_encrypted_by_default_with_pow_solved() {
    let s = setup("pow_difficulty = 12");
    let url = s.line(&[], b"hello from stdin\n");
    let (id, key) = id_and_key(&url);
    assert!(url.starts_with(&s.server()), "{url}");
    assert_eq!(key.as_deref().map(str::len), Some(43), "{url}");
    assert_eq!(s.ok(&["get", &url], b""), b"hello from stdin\n");
    let stored = s.http("GET", &format!("/{id}/raw"), &[]).await;
    assert_eq!(stored.status, 200);
    assert!(stored.body.starts_with(b"FPE\x01"));
    assert!(!stored.body.windows(5).any(|w| w == b"hello"));
    // Nothing of the key reached the server: no request carries it, so no log line does.
    assert!(!s.daemon.log().contains(key.as_deref().unwrap()));
}

#[tokio::test]
async fn binary_file_round_trips_to_stdout_and_output_file() {
    let s = setup("");
    let data = flaskpaste::ids::random_bytes(300_000);
    let file = s.path("blob.bin");
    std::fs::write(&file, &data).unwrap();
    let url = s.line(&[file.to_str().unwrap()], b"");
    assert_eq!(s.ok(&["get", &url], b""), data);
    let out = s.path("out.bin");
    s.ok(&["get", "-o", out.to_str().unwrap(), &url], b"");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    // -E: stored as it is, and read back without a key.
    let plain = s.line(&["-E", file.to_str().unwrap()], b"");
    assert!(!plain.contains('#'));
    let (id, _) = id_and_key(&plain);
    assert_eq!(s.http("GET", &format!("/{id}/raw"), &[]).await.body, data);
    assert_eq!(s.ok(&["get", &id], b""), data);
}

#[tokio::test]
async fn encrypted_content_passes_min_entropy_that_plaintext_fails() {
    let s = setup("min_entropy = 6.0\nmin_entropy_size = 64");
    let boring = "all work and no play makes jack a dull boy\n".repeat(50);
    let url = s.line(&["create"], boring.as_bytes());
    let (id, _) = id_and_key(&url);
    let stored = s.http("GET", &format!("/{id}/raw"), &[]).await.body;
    assert_ne!(stored, boring.as_bytes());
    let bits = flaskpaste::security::entropy::bits_per_byte(&stored);
    assert!(bits >= 6.0, "{bits}");
    assert_eq!(s.ok(&["get", &url], b""), boring.as_bytes());
    let out = s.run(&["create", "--no-encrypt"], boring.as_bytes());
    assert_fails(&out, "entropy");
}

#[tokio::test]
async fn wrong_key_truncated_key_and_tampered_data_fail_without_plaintext() {
    let s = setup("");
    let secret = b"the launch code is 0000\n";
    let url = s.line(&[], secret);
    let other = s.line(&[], b"another paste\n");
    let (id, key) = id_and_key(&url);
    let (_, other_key) = id_and_key(&other);
    let out_file = s.path("plain.txt");
    let o = out_file.to_str().unwrap();

    let wrong = format!("{}/{id}#{}", s.server(), other_key.unwrap());
    assert_fails(&s.run(&["get", "-o", o, &wrong], b""), "wrong key");
    assert_fails(&s.run(&["get", &wrong], b""), "wrong key");
    let key = key.unwrap();
    let truncated = format!("{}/{id}#{}", s.server(), &key[..30]);
    assert_fails(&s.run(&["get", "-o", o, &truncated], b""), "key");
    assert!(!out_file.exists(), "-o FILE written on failure");

    // Alter one ciphertext byte on the server (as the owner, with the kept token).
    let mut frame = s.http("GET", &format!("/{id}/raw"), &[]).await.body;
    frame[20] ^= 0x40;
    let tampered = s.path("tampered.bin");
    std::fs::write(&tampered, &frame).unwrap();
    s.ok(&["update", &id, tampered.to_str().unwrap(), "-E"], b"");
    let out = s.run(&["get", "-o", o, &url], b"");
    assert_fails(&out, "altered");
    assert!(!out_file.exists());
    let out = s.run(&["get", &url], b"");
    assert_fails(&out, "altered");
}

#[tokio::test]
async fn a_confirm_burn_survives_previews_and_fpaste_get_reads_it() {
    let s = setup("");
    let usage = s.run(&["--confirm"], b"x");
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("--burn"), "{}", stderr(&usage));
    let out = s.run(&["-b", "--confirm"], b"read me once\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let url = text(&out.stdout);
    let (id, _) = id_and_key(&url);
    let meta = s.http("GET", &format!("/{id}"), &[]).await.json();
    assert_eq!(
        (meta["burn_after_read"].clone(), meta["burn"].clone()),
        (true.into(), "confirm".into())
    );
    // A link preview: GET and HEAD of the raw URL leave it alone.
    assert_eq!(s.http("GET", &format!("/{id}/raw"), &[]).await.status, 409);
    assert_eq!(s.http("HEAD", &format!("/{id}/raw"), &[]).await.status, 409);
    let out = s.run(&["get", &url], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"read me once\n");
    assert!(stderr(&out).contains("burn-after-read"), "{}", stderr(&out));
    assert_fails(&s.run(&["get", &url], b""), "Paste not found");
}

#[tokio::test]
async fn burn_expiry_password_and_display_name_reach_the_server() {
    let s = setup("");
    let fp = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
    let env = [("FLASKPASTE_CERT_SHA1", fp)];
    let out = s.run_env(
        &["-b", "-x", "600", "-p", "hunter2", "-n", "my notes"],
        b"burn me\n",
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let url = text(&out.stdout);
    let (id, _) = id_and_key(&url);
    let meta = s
        .http("GET", &format!("/{id}"), &[("X-Paste-Password", "hunter2")])
        .await
        .json();
    assert_eq!(meta["display_name"], "my notes");
    assert_eq!(meta["password_protected"], true);
    assert_eq!(meta["burn_after_read"], true, "{meta}");
    let in_ten_minutes =
        meta["expires_at"].as_i64().unwrap() - meta["created_at"].as_i64().unwrap();
    assert!((590..=610).contains(&in_ten_minutes), "{meta}");

    assert_fails(&s.run(&["get", &url], b""), "Password required");
    assert_fails(
        &s.run(&["get", "-p", "wrong", &url], b""),
        "Invalid password",
    );
    // FPASTE_PASSWORD keeps the password off the command line; `get -` the URL too.
    let out = s.run_env(
        &["get", "-"],
        url.as_bytes(),
        &[("FPASTE_PASSWORD", "hunter2")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"burn me\n");
    assert!(stderr(&out).contains("burn-after-read"), "{}", stderr(&out));
    assert_fails(
        &s.run(&["get", "-p", "hunter2", &url], b""),
        "Paste not found",
    );
}

#[tokio::test]
async fn metadata_and_json_outputs_are_documents() {
    let s = setup("");
    let out = s.ok(&["create", "--json"], b"json please\n");
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let id = doc["id"].as_str().unwrap();
    assert!(doc["url"].as_str().unwrap().contains('#'));
    assert_eq!(doc["raw"], format!("{}/{id}/raw", s.server()));
    assert!(doc["owner_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["expires_at"].as_i64().is_some());
    let meta: serde_json::Value =
        serde_json::from_slice(&s.ok(&["get", "-m", "--json", id], b"")).unwrap();
    assert_eq!(meta["id"], id);
    let info: serde_json::Value = serde_json::from_slice(&s.ok(&["info", "--json"], b"")).unwrap();
    assert!(info["endpoints"].is_object());
}

#[tokio::test]
async fn short_urls_redirect_after_pow() {
    let s = setup("pow_difficulty = 10");
    let short = s.line(&["shorten", "https://example.com/some/long/path?q=1"], b"");
    let id = short.rsplit('/').next().unwrap();
    assert_eq!(short, format!("{}/s/{id}", s.server()));
    let resp = s.http("GET", &format!("/s/{id}"), &[]).await;
    assert_eq!(resp.status, 302);
    assert_eq!(
        resp.header("location"),
        Some("https://example.com/some/long/path?q=1")
    );
    assert_fails(&s.run(&["shorten", "javascript:alert(1)"], b""), "");
}

#[tokio::test]
async fn anonymous_paste_is_deleted_with_the_kept_owner_token() {
    let s = setup("");
    let url = s.line(&[], b"mine alone\n");
    let (id, _) = id_and_key(&url);
    let history = s.path(".local/share/fpaste/history");
    let mode = std::fs::metadata(&history).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&history).unwrap().contains(&id));
    assert_eq!(s.line(&["delete", &url], b""), format!("Deleted: {id}"));
    assert_eq!(s.http("GET", &format!("/{id}"), &[]).await.status, 404);
    assert!(!std::fs::read_to_string(&history).unwrap().contains(&id));

    let kept_no_token = s.line(&["--no-history"], b"not kept\n");
    let (id, _) = id_and_key(&kept_no_token);
    assert_fails(&s.run(&["delete", &id], b""), "Authentication required");
    assert_eq!(s.http("GET", &format!("/{id}"), &[]).await.status, 200);
}

#[tokio::test]
async fn update_replaces_content_under_a_new_key() {
    let s = setup("");
    let url = s.line(&[], b"first version\n");
    let (id, _) = id_and_key(&url);
    let new_file = s.path("v2.txt");
    std::fs::write(&new_file, b"second version\n").unwrap();
    let new_url = s.line(&["update", &url, new_file.to_str().unwrap()], b"");
    assert_ne!(new_url, url);
    assert_eq!(id_and_key(&new_url).0, id);
    assert_eq!(s.ok(&["get", &new_url], b""), b"second version\n");
    assert_fails(&s.run(&["get", &url], b""), "wrong key");
    assert_fails(&s.run(&["update", &id], b""), "nothing to update");
}

#[tokio::test]
async fn register_then_authenticated_list_and_delete() {
    let s = setup("pki_enabled = true\npki_ca_password = \"test-ca-pass\"\nregister_pow = 8");
    let fp = s.line(&["register", "-n", "alice"], b"");
    assert_eq!(fp.len(), 40, "{fp}");
    let dir = s.path(".config/fpaste");
    let config = std::fs::read_to_string(dir.join("config")).unwrap();
    assert!(config.contains(&format!("cert_sha1 = {fp}")), "{config}");
    for f in ["client.crt", "client.key", "config"] {
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let pem = std::fs::read_to_string(dir.join("client.crt")).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let key = std::fs::read_to_string(dir.join("client.key")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    // A second registration does not overwrite the identity unless told to.
    assert_fails(&s.run(&["register"], b""), "--force");

    let url = s.line(&["--no-history"], b"registered paste\n");
    let (id, _) = id_and_key(&url);
    let listed = s.line(&["list"], b"");
    assert!(listed.contains(&id), "{listed}");
    assert_eq!(s.line(&["delete", &id], b""), format!("Deleted: {id}"));
    let doc: serde_json::Value = serde_json::from_slice(&s.ok(&["list", "--json"], b"")).unwrap();
    assert_eq!(doc["pastes"].as_array().map(Vec::len), Some(0), "{doc}");
}

#[tokio::test]
async fn list_without_identity_names_the_servers_refusal() {
    let s = setup("");
    assert_fails(&s.run(&["list"], b""), "Authentication required");
}

#[tokio::test]
async fn cert_configure_writes_a_working_config() {
    let s = setup("");
    let fp = s.line(
        &["cert", "--configure", "-c", "secp256r1", "-n", "laptop"],
        b"",
    );
    assert_eq!(fp.len(), 40);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    let dir = s.path(".config/fpaste");
    let config = std::fs::read_to_string(dir.join("config")).unwrap();
    for key in [
        "client_cert = ",
        "client_key = ",
        &format!("cert_sha1 = {fp}"),
    ] {
        assert!(config.contains(key), "{config}");
    }
    let openssl = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(dir.join("client.crt"))
        .output()
        .unwrap();
    let shown = text(&openssl.stdout).replace(':', "").to_lowercase();
    assert!(shown.ends_with(&fp), "{shown} vs {fp}");
    // The configured identity owns what it creates.
    let url = s.line(&["--no-history"], b"owned by the certificate\n");
    let (id, _) = id_and_key(&url);
    assert!(s.line(&["list"], b"").contains(&id));
    s.ok(&["delete", &id], b"");
    // Without --configure: files in -o DIR, the config untouched.
    let out_dir = s.path("elsewhere");
    std::fs::create_dir(&out_dir).unwrap();
    let rsa = s.line(
        &[
            "cert",
            "-a",
            "rsa",
            "-b",
            "2048",
            "-o",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    assert_ne!(rsa, fp);
    assert!(out_dir.join("client.crt").exists() && out_dir.join("client.key").exists());
    assert_eq!(std::fs::read_to_string(dir.join("config")).unwrap(), config);
}

#[test]
fn unreachable_server_is_a_one_line_failure() {
    let home = tempfile::tempdir().unwrap();
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(FPASTE)
        .args([
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "get",
            "abc123",
        ])
        .env_clear()
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_fails(&out, "cannot reach");
}

#[test]
fn every_command_has_help_and_completions_print() {
    let commands = [
        "create",
        "get",
        "delete",
        "update",
        "list",
        "info",
        "shorten",
        "register",
        "cert",
        "completions",
    ];
    for c in commands {
        let out = Command::new(FPASTE).args([c, "--help"]).output().unwrap();
        assert!(out.status.success(), "{c} --help");
        assert!(text(&out.stdout).contains("Usage: fpaste"), "{c}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(FPASTE)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(text(&out.stdout).contains("shorten"), "{shell}");
    }
    let out = Command::new(FPASTE)
        .args(["get", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The long options of `fpaste [COMMAND] --help`.
fn long_options(command: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new(FPASTE);
    cmd.args(command).arg("--help");
    let help = text(&cmd.output().unwrap().stdout);
    help.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.trim_end_matches([',', '='])
                .split('=')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

#[test]
fn man_page_documents_every_command_and_option() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/fpaste.1"))
        .unwrap()
        .replace("\\-", "-");
    let commands = [
        "create",
        "get",
        "delete",
        "update",
        "list",
        "info",
        "shorten",
        "register",
        "cert",
        "completions",
    ];
    let mut checked = 0;
    for command in std::iter::once(None).chain(commands.iter().map(|c| Some(*c))) {
        if let Some(c) = command {
            assert!(page.contains(&format!(".SS \"{c}")), "no section for {c}");
        }
        for opt in long_options(command) {
            assert!(
                page.contains(&format!("--{opt}")),
                "{command:?} --{opt} not in fpaste.1"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} options seen");
    for needle in [
        "FLASKPASTE_SERVER",
        "FLASKPASTE_CA_CERT",
        "FPASTE_PASSWORD",
        "FPE",
        "EXIT STATUS",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
}

/// fpaste in a blocking thread, so the in-process TLS front keeps serving meanwhile.
async fn fpaste_async(home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = home.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fpaste(&home, &args, b"mutual TLS\n", &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_through_a_tls_front_that_requires_a_client_certificate() {
    let daemon = Builder::new().spawn();
    let home = tempfile::tempdir().unwrap();
    let front = common::tls_front::TlsFront::start(&daemon.path("fp.sock"), home.path()).await;
    let (url, ca) = (front.url(), front.ca_path().display().to_string());
    let env = [
        ("FLASKPASTE_SERVER", url.as_str()),
        ("FLASKPASTE_CA_CERT", ca.as_str()),
    ];

    // No client certificate: the front refuses the handshake.
    assert_fails(
        &fpaste_async(home.path(), &["info"], &env).await,
        "cannot reach",
    );
    // Under TLS 1.3 the client may finish before the front has failed the handshake.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while front.refused_handshakes() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the front refused no handshake"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let config = home.path().join(".config/fpaste/config");
    let kinds: [&[&str]; 4] = [
        &["-c", "secp256r1"],
        &["-c", "secp384r1"],
        &["-c", "secp521r1"],
        &["-a", "rsa", "-b", "2048"],
    ];
    for kind in kinds {
        let curve = kind.join(" ");
        let mut args = vec!["cert", "--configure", "--force"];
        args.extend_from_slice(kind);
        let out = fpaste_async(home.path(), &args, &[]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let fp = text(&out.stdout);
        // Identity only through TLS: drop the fingerprint header from the config.
        let kept: String = std::fs::read_to_string(&config)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("cert_sha1"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&config, kept).unwrap();

        let out = fpaste_async(home.path(), &["--no-history"], &env).await;
        assert!(out.status.success(), "{curve}: {}", stderr(&out));
        let paste_url = text(&out.stdout);
        assert!(paste_url.starts_with(&url), "{paste_url}");
        let got = fpaste_async(home.path(), &["get", &paste_url], &env).await;
        assert_eq!(got.stdout, b"mutual TLS\n", "{curve}: {}", stderr(&got));
        let (id, _) = id_and_key(&paste_url);
        // Owned by the certificate fpaste printed the fingerprint of.
        let theirs = daemon
            .req("GET", "/pastes", &[("X-SSL-Client-SHA1", &fp)])
            .await;
        assert!(
            String::from_utf8_lossy(&theirs.body).contains(&id),
            "{curve}"
        );
        let listed = fpaste_async(home.path(), &["list"], &env).await;
        assert!(
            text(&listed.stdout).contains(&id),
            "{curve}: {}",
            stderr(&listed)
        );
    }

    // The server is always verified: without the front's CA, the system roots refuse it.
    let out = fpaste_async(home.path(), &["info"], &env[..1]).await;
    assert_fails(&out, "cannot reach");
}

#[tokio::test]
async fn flags_win_over_the_environment_which_wins_over_the_config_file() {
    let s = setup("");
    let config = s.path(".config/fpaste/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    // The file alone names the server.
    std::fs::write(&config, format!("# mine\nserver = {}\n", s.server())).unwrap();
    let home = s.home.path();
    let out = fpaste(home, &["info", "--json"], b"", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The environment overrides the file.
    let env = [("FLASKPASTE_SERVER", dead.as_str())];
    assert_fails(&fpaste(home, &["info"], b"", &env), &dead);
    // A flag overrides the environment.
    let server = s.server();
    let out = fpaste(home, &["--server", &server, "info"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // A typo in the file is an error that names it.
    std::fs::write(&config, "sever = http://x\n").unwrap();
    assert_fails(&fpaste(home, &["info"], b"", &[]), "sever");
}

/// A loopback TCP relay to `upstream` that records every byte clients send through it.
fn recording_relay(upstream: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use std::io::Read;
    use std::net::{Shutdown, TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let mut server = TcpStream::connect(&upstream).unwrap();
            let (mut client_r, mut server_w) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let record = std::sync::Arc::clone(&record);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = client_r.read(&mut buf) {
                    if n == 0 || server_w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = server_w.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(Shutdown::Both);
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn no_request_carries_the_key() {
    let s = setup("pow_difficulty = 8");
    let (relay, seen) = recording_relay(s.addr.clone());
    let env = [("FLASKPASTE_SERVER", relay.as_str())];
    let out = fpaste(s.home.path(), &[], b"keep the key to yourself\n", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let url = text(&out.stdout);
    let out = fpaste(s.home.path(), &["get", &url], b"", &env);
    assert_eq!(
        out.stdout,
        b"keep the key to yourself\n",
        "{}",
        stderr(&out)
    );
    let (id, key) = id_and_key(&url);
    let key = key.unwrap();
    // The relay's threads may still be recording what they passed on.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let bytes = loop {
        let bytes = seen.lock().unwrap().clone();
        if String::from_utf8_lossy(&bytes).contains(&format!("GET /{id}/raw"))
            || std::time::Instant::now() > deadline
        {
            break bytes;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let sent = String::from_utf8_lossy(&bytes);
    assert!(
        sent.contains(&format!("GET /{id}/raw")),
        "the relay saw the requests: {sent}"
    );
    // Neither as text, nor as raw bytes, nor in hex.
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&key)
        .unwrap();
    assert!(!sent.contains(&key[..16]), "the key went over the wire");
    assert!(
        !bytes.windows(16).any(|w| w == &raw[..16]),
        "the key's bytes went over the wire"
    );
    assert!(
        !sent
            .to_lowercase()
            .contains(&flaskpaste::ids::hex(&raw[..16]))
    );
    assert!(
        !sent.contains("keep the key"),
        "the plaintext went over the wire"
    );
}

#[tokio::test]
async fn a_history_that_cannot_be_written_does_not_lose_the_url() {
    let s = setup("");
    // A file where the data directory should be: the history cannot be created.
    let share = s.path(".local/share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("fpaste"), b"not a directory").unwrap();
    let out = s.run(&[], b"still here\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let url = text(&out.stdout);
    assert!(
        stderr(&out).contains("owner token not kept"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.ok(&["get", &url], b""), b"still here\n");
}

/// Runs fpaste on a pseudo-terminal (util-linux `script`), types `answer` once `prompt` has
/// appeared, and returns all the terminal showed.
fn on_terminal(
    home: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
    prompt: &str,
    answer: &str,
) -> String {
    use std::io::Read;
    let line: Vec<String> = std::iter::once(FPASTE)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let mut child = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        // Progress bars draw only on a terminal that names its type, as every real one does.
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&shown);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains(prompt) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {prompt:?} on the terminal"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(answer.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    assert!(status.success(), "{text}");
    text
}

#[tokio::test]
async fn ask_password_prompts_on_the_terminal_without_echo() {
    let s = setup("");
    let out = s.run_env(
        &[],
        b"behind a prompt\n",
        &[("FPASTE_PASSWORD", "s3cret-pw")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let url = text(&out.stdout);
    let server = s.server();
    let env = [("FLASKPASTE_SERVER", server.as_str())];
    let shown = on_terminal(
        s.home.path(),
        &env,
        &["get", "-P", &url],
        "Password: ",
        "s3cret-pw\n",
    );
    assert!(shown.contains("behind a prompt"), "{shown}");
    assert!(
        !shown.contains("s3cret-pw"),
        "the password was echoed: {shown}"
    );
}

#[tokio::test]
async fn a_large_upload_shows_progress_on_a_terminal_only() {
    let s = setup("pow_difficulty = 10");
    let file = s.path("big.bin");
    std::fs::write(&file, flaskpaste::ids::random_bytes(2 << 20)).unwrap();
    let f = file.to_str().unwrap();
    let server = s.server();
    let fp = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
    let env = [
        ("FLASKPASTE_SERVER", server.as_str()),
        ("FLASKPASTE_CERT_SHA1", fp),
    ];
    let shown = on_terminal(s.home.path(), &env, &[f], "", "");
    assert!(shown.contains("uploading"), "{shown}");
    assert!(shown.contains(&server), "{shown}");
    // Not a terminal: no bar, stderr stays empty.
    let out = s.run_env(&[f], b"", &[("FLASKPASTE_CERT_SHA1", fp)]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

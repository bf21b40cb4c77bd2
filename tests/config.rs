//! Configuration through the real binary: layer precedence, --check-config, secrets, and
//! every configuration error path with exit code 78.

mod common;

use common::Builder;

fn effective(b: Builder) -> toml::Table {
    let out = b.arg("--check-config").run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout.parse().expect("--check-config prints TOML")
}

#[test]
fn check_config_prints_defaults_as_toml() {
    let t = effective(Builder::new().listen(&[]));
    assert_eq!(
        t["listen"].as_array().unwrap()[0].as_str(),
        Some("127.0.0.1:5000")
    );
    assert_eq!(t["socket_mode"].as_str(), Some("0660"));
    assert_eq!(t["log_target"].as_str(), Some("stderr"));
    assert_eq!(t["log_format"].as_str(), Some("text"));
    assert_eq!(t["log_level"].as_str(), Some("info"));
    assert_eq!(t["shutdown_timeout"].as_integer(), Some(30));
    assert_eq!(t["idle_timeout"].as_integer(), Some(0));
    assert_eq!(t["max_connections"].as_integer(), Some(1024));
    assert!(t.get("user").is_none() && t.get("proxy_secret").is_none());
}

#[test]
fn layers_apply_defaults_then_file_then_env_then_flags() {
    let b = Builder::new()
        .toml("shutdown_timeout = 5\nidle_timeout = 6\nlog_level = \"debug\"\nlisten = [\"/file.sock\"]")
        .env("FLASKPASTE_IDLE_TIMEOUT", "7")
        .env("FLASKPASTE_LISTEN", "/env.sock")
        .listen(&[]);
    let t = effective(b);
    assert_eq!(
        t["shutdown_timeout"].as_integer(),
        Some(5),
        "file over default"
    );
    assert_eq!(t["idle_timeout"].as_integer(), Some(7), "env over file");
    assert_eq!(t["log_level"].as_str(), Some("debug"));
    assert_eq!(
        t["listen"].as_array().unwrap()[0].as_str(),
        Some("/env.sock")
    );
    let b = Builder::new()
        .toml("listen = [\"/file.sock\"]")
        .env("FLASKPASTE_LISTEN", "/env.sock")
        .listen(&["/flag.sock", "127.0.0.1:9"]);
    let t = effective(b);
    let listen: Vec<_> = t["listen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listen, ["/flag.sock", "127.0.0.1:9"], "flags over env");
}

#[test]
fn default_config_file_is_read_when_present_and_optional_when_not() {
    let b = Builder::new().no_config().listen(&[]);
    std::fs::write(b.path("flaskpaste.toml"), "shutdown_timeout = 9\n").unwrap();
    // The harness writes flaskpaste.toml itself; give it the setting through its own file.
    let t = effective(b.toml("shutdown_timeout = 9"));
    assert_eq!(t["shutdown_timeout"].as_integer(), Some(9));
    let out = Builder::new()
        .no_config()
        .listen(&[])
        .arg("--check-config")
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn secrets_are_redacted_from_every_source() {
    let b = Builder::new();
    std::fs::write(b.path("secret"), "from-file\n").unwrap();
    let file = b.path("secret").display().to_string();
    let out = b
        .env("FLASKPASTE_PROXY_SECRET_FILE", &file)
        .arg("--check-config")
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("proxy_secret = \"<redacted>\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("from-file"));

    let b = Builder::new();
    std::fs::create_dir(b.path("creds")).unwrap();
    std::fs::write(b.path("creds/proxy_secret"), "from-creds").unwrap();
    let creds = b.path("creds").display().to_string();
    let out = b
        .env("CREDENTIALS_DIRECTORY", &creds)
        .arg("--check-config")
        .run();
    assert!(
        out.stdout.contains("proxy_secret = \"<redacted>\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("from-creds"));

    let out = Builder::new()
        .toml("proxy_secret = \"in-toml\"")
        .arg("--check-config")
        .run();
    assert!(
        out.stdout.contains("proxy_secret = \"<redacted>\"") && !out.stdout.contains("in-toml")
    );
}

/// Runs --check-config and expects exit 78 with every `needles` entry in the message.
fn rejects(b: Builder, needles: &[&str]) {
    let out = b.arg("--check-config").run();
    assert_eq!(
        out.code,
        Some(78),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{needle:?} missing from: {}",
            out.stderr
        );
    }
}

#[test]
fn unknown_file_key_names_the_key_and_file() {
    let b = Builder::new().toml("max_connectoins = 5");
    let file = b.path("flaskpaste.toml").display().to_string();
    rejects(b, &["max_connectoins", &file]);
}

#[test]
fn wrong_types_name_the_key_and_layer() {
    let b = Builder::new().toml("shutdown_timeout = \"soon\"");
    let file = b.path("flaskpaste.toml").display().to_string();
    rejects(b, &["shutdown_timeout", &file]);
    rejects(
        Builder::new().env("FLASKPASTE_MAX_CONNECTIONS", "lots"),
        &["FLASKPASTE_MAX_CONNECTIONS", "environment"],
    );
    rejects(
        Builder::new().toml("log_level = \"loud\""),
        &["log_level", "loud"],
    );
    rejects(
        Builder::new().toml("socket_mode = \"0999\""),
        &["socket_mode"],
    );
    rejects(
        Builder::new()
            .listen(&[])
            .env("FLASKPASTE_LISTEN", "localhost:80"),
        &["FLASKPASTE_LISTEN", "localhost:80"],
    );
}

#[test]
fn invalid_values_are_rejected() {
    rejects(
        Builder::new().toml("max_connections = 0"),
        &["max_connections"],
    );
    rejects(
        Builder::new().toml("url_prefix = \"paste\""),
        &["url_prefix"],
    );
    rejects(Builder::new().toml("listen = []").listen(&[]), &["listen"]);
}

#[test]
fn paste_size_limits_are_checked_against_each_other() {
    rejects(
        Builder::new().toml("max_anon = 200\nmax_auth = 100"),
        &["`max_anon` and `max_auth`", "200", "100"],
    );
    rejects(Builder::new().toml("max_anon = 0"), &["max_anon"]);
    rejects(Builder::new().toml("max_auth = 0"), &["max_auth"]);
}

#[test]
fn durations_above_100_years_are_rejected_naming_key_and_layer() {
    let b = Builder::new().toml("max_expiry = 3155760001");
    let file = b.path("flaskpaste.toml").display().to_string();
    rejects(b, &["max_expiry", &file, "100 years"]);
    rejects(
        Builder::new().env("FLASKPASTE_CLEANUP_INTERVAL", "99999999999"),
        &["FLASKPASTE_CLEANUP_INTERVAL", "environment"],
    );
}

#[test]
fn unreadable_or_conflicting_secrets_are_errors() {
    rejects(
        Builder::new().env("FLASKPASTE_PROXY_SECRET_FILE", "/nonexistent/secret"),
        &["FLASKPASTE_PROXY_SECRET_FILE", "/nonexistent/secret"],
    );
    let b = Builder::new();
    std::fs::write(b.path("secret"), "x").unwrap();
    let file = b.path("secret").display().to_string();
    rejects(
        b.env("FLASKPASTE_PROXY_SECRET_FILE", &file)
            .env("FLASKPASTE_PROXY_SECRET", "y"),
        &["FLASKPASTE_PROXY_SECRET"],
    );
}

#[test]
fn missing_explicit_config_file_is_an_error() {
    let out = Builder::new()
        .no_config()
        .arg("--config")
        .arg("/nonexistent/flaskpaste.toml")
        .run();
    assert_eq!(out.code, Some(78), "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/flaskpaste.toml"),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_toml_names_the_file() {
    let b = Builder::new().toml("listen = [");
    let file = b.path("flaskpaste.toml").display().to_string();
    rejects(b, &[&file]);
}

#[test]
fn config_errors_stop_startup_with_78_too() {
    let out = Builder::new().toml("bogus = 1").run();
    assert_eq!(out.code, Some(78), "{}", out.stderr);
    assert!(!out.dir.path().join("fp.sock").exists());
}

#[test]
fn unknown_flaskpaste_variables_are_warned_about_and_client_ones_ignored() {
    let mut d = Builder::new()
        .env("FLASKPASTE_MAX_ANNON", "1")
        .env("FLASKPASTE_SERVER", "https://paste.example")
        .env("FLASKPASTE_CERT_SHA1", "abc")
        .spawn();
    let log = d.wait_log("listening on");
    assert!(log.contains("FLASKPASTE_MAX_ANNON"), "{log}");
    assert!(
        !log.contains("FLASKPASTE_SERVER") && !log.contains("FLASKPASTE_CERT_SHA1"),
        "{log}"
    );
}

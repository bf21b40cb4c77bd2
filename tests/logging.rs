//! Log output: journald level prefixes, JSON lines, syslog, and the level filter.

mod common;

use std::time::Duration;

use common::Builder;

#[tokio::test]
async fn journald_gets_level_prefixes_and_no_timestamps() {
    let mut d = Builder::new().env("JOURNAL_STREAM", "8:1234").spawn();
    d.req("GET", "/", &[]).await;
    let log = d.wait_log("request");
    for line in log.lines().filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with("<6>") || line.starts_with("<4>"),
            "{line:?}"
        );
    }
    assert!(log.contains("<6>listening on"), "{log}");
    assert!(
        !log.contains("Z "),
        "journald adds its own timestamps: {log}"
    );
}

#[tokio::test]
async fn json_format_writes_one_object_per_line() {
    let mut d = Builder::new().toml("log_format = \"json\"").spawn();
    d.req("GET", "/health", &[]).await;
    let log = d.wait_log("\"request\"");
    for line in log.lines().filter(|l| !l.is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn log_level_filters_lines() {
    let mut d = Builder::new()
        .env("FLASKPASTE_LOG_LEVEL", "warn")
        .env("FLASKPASTE_TYPO", "1")
        .quiet()
        .spawn();
    d.req("GET", "/health", &[]).await;
    d.wait_log("FLASKPASTE_TYPO");
    std::thread::sleep(Duration::from_millis(200));
    let log = d.log();
    assert!(
        !log.contains("listening on") && !log.contains("request"),
        "{log}"
    );
}

#[cfg(feature = "syslog")]
#[tokio::test]
async fn syslog_target_sends_to_the_configured_socket_with_daemon_facility() {
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;
    let b = Builder::new();
    let sock = b.path("log.sock");
    let syslog = UnixDatagram::bind(&sock).unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let d = b
        .toml(&format!(
            "log_target = \"syslog\"\nsyslog_socket = {:?}",
            sock.display().to_string()
        ))
        .quiet()
        .spawn();
    d.req("GET", "/health", &[("x-request-id", "via-syslog")])
        .await;
    let deadline = Instant::now() + common::PATIENCE;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    while !got.iter().any(|m: &String| m.contains("via-syslog")) {
        assert!(Instant::now() < deadline, "syslog got: {got:?}");
        if let Ok(n) = syslog.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    // <30> = facility daemon (3) * 8 + severity info (6).
    let listening = got
        .iter()
        .find(|m| m.contains("listening on"))
        .expect("listening line");
    assert!(listening.starts_with("<30>"), "{listening}");
    assert!(listening.contains("flaskpaste["), "{listening}");
    assert!(d.log().is_empty(), "nothing goes to stderr: {}", d.log());
}

#[cfg(feature = "syslog")]
#[test]
fn unreachable_syslog_socket_fails_startup() {
    let out = Builder::new()
        .toml("log_target = \"syslog\"\nsyslog_socket = \"/nonexistent/log\"")
        .run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("/nonexistent/log"), "{}", out.stderr);
}

#[cfg(not(feature = "syslog"))]
#[test]
fn syslog_target_without_the_feature_is_a_configuration_error() {
    let out = Builder::new().toml("log_target = \"syslog\"").run();
    assert_eq!(out.code, Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("syslog"), "{}", out.stderr);
}

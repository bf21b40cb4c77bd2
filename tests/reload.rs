//! SIGHUP against the real binary: live keys take effect for new requests without dropping
//! one in flight, restart-only keys keep their running value with a warning that names
//! them, and a file that does not load keeps the daemon serving with the old configuration.
#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Builder, Daemon, PATIENCE, noise};
use nix::sys::signal::Signal;

/// The lines of the config file a [`Builder`] wrote, with `key = value` lines replaced or
/// added from `changes`.
fn rewrite(d: &Daemon, changes: &[(&str, &str)]) {
    let path = d.path("flaskpaste.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| {
            !changes
                .iter()
                .any(|(k, _)| l.trim_start().starts_with(&format!("{k} ")))
        })
        .map(str::to_owned)
        .collect();
    lines.extend(changes.iter().map(|(k, v)| format!("{k} = {v}")));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// Sends SIGHUP and waits until the reload is over: `RELOADING=1` with `MONOTONIC_USEC`,
/// then `READY=1` where the build notifies; and the `n`th outcome line in the log (none
/// for 0: a log level may silence it).
fn reload(d: &mut Daemon, n: usize) {
    d.notes.clear();
    d.signal(Signal::SIGHUP);
    if cfg!(feature = "systemd") {
        let reloading = d.wait_notify("RELOADING=1");
        assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
        d.wait_notify("READY=1");
    }
    if n == 0 {
        return;
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let log = d.log();
        let done = log.matches("configuration reloaded").count()
            + log.matches("configuration not reloaded").count();
        if done >= n {
            return;
        }
        assert!(Instant::now() < deadline, "reload {n} never ended:\n{log}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_changed_limit_applies_without_dropping_a_request_in_flight() {
    let mut d = Builder::new().toml("max_anon = 1000").spawn();
    assert_eq!(d.post(noise(1500), &[]).await.status, 413);

    // Headers and half a body, sent before the reload, the rest after it.
    let body = noise(600);
    let mut conn = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        conn,
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..300]).unwrap();

    rewrite(&d, &[("max_anon", "2000"), ("max_storage", "3000")]);
    reload(&mut d, 1);
    let log = d.log();
    assert!(log.contains("max_anon"), "{log}");
    assert!(log.contains("max_storage"), "{log}");

    conn.write_all(&body[300..]).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let mut bigger = noise(1600);
    bigger[5] ^= 1;
    assert_eq!(d.post(bigger, &[]).await.status, 201);
    // 600 + 1600 stored: 900 more do not fit under the new quota.
    let mut quota = noise(900);
    quota[5] ^= 2;
    assert_eq!(d.post(quota, &[]).await.status, 507);
}

#[tokio::test]
async fn a_broken_file_keeps_the_daemon_serving_with_the_old_configuration() {
    let mut d = Builder::new().toml("max_anon = 1000").spawn();
    let path = d.path("flaskpaste.toml");
    let good = std::fs::read_to_string(&path).unwrap();

    std::fs::write(&path, format!("{good}max_anon = \n")).unwrap();
    reload(&mut d, 1);
    rewrite(&d, &[("max_anon", "\"lots\"")]);
    reload(&mut d, 2);
    rewrite(&d, &[("max_anon", "2000"), ("max_auth", "1500")]);
    reload(&mut d, 3);
    let log = d.log();
    assert_eq!(
        log.matches("configuration not reloaded").count(),
        3,
        "{log}"
    );
    assert!(log.contains("max_anon"), "the error names the key:\n{log}");

    assert!(d.child.try_wait().unwrap().is_none(), "the daemon stopped");
    assert_eq!(d.post(noise(1500), &[]).await.status, 413, "old limit");
    assert_eq!(d.post(noise(900), &[]).await.status, 201);
}

#[tokio::test]
async fn restart_only_keys_are_named_and_keep_their_running_value() {
    let mut d = Builder::new().spawn();
    let elsewhere = d.path("elsewhere.db").display().to_string();
    rewrite(
        &d,
        &[
            ("db", &format!("{elsewhere:?}")),
            ("cleanup_interval", "5"),
            ("id_length", "16"),
        ],
    );
    reload(&mut d, 1);
    let log = d.wait_log("not applied until a restart");
    let warning = log
        .lines()
        .find(|l| l.contains("not applied until a restart"))
        .unwrap_or_else(|| panic!("no warning:\n{log}"));
    assert!(
        warning.contains("db") && warning.contains("cleanup_interval"),
        "{warning}"
    );
    assert!(!warning.contains("id_length"), "{warning}");
    let v = d.create("still here", &[]).await;
    assert_eq!(v["id"].as_str().unwrap().len(), 16, "{v}");
    assert!(!std::path::Path::new(&elsewhere).exists());
    assert!(d.path("pastes.db").exists());
}

#[tokio::test]
async fn the_log_level_changes_live() {
    let mut d = Builder::new().spawn();
    rewrite(&d, &[("log_level", "\"warn\"")]);
    reload(&mut d, 1);
    assert!(d.log().contains("now in force: log_level"), "{}", d.log());
    d.req("GET", "/quietly-missing", &[]).await;
    // A warning after the request: once it is in the log, the request's line would be too.
    rewrite(
        &d,
        &[("log_level", "\"warn\""), ("socket_mode", "\"0600\"")],
    );
    d.signal(Signal::SIGHUP);
    let log = d.wait_log("socket_mode (the running values stay)");
    assert!(!log.contains("quietly-missing"), "{log}");
    rewrite(&d, &[("log_level", "\"info\"")]);
    d.signal(Signal::SIGHUP);
    // Logged once the level is back; nothing says when that is but the log itself.
    let deadline = Instant::now() + PATIENCE;
    while !d.log().contains("loudly-missing") {
        assert!(Instant::now() < deadline, "{}", d.log());
        d.req("GET", "/loudly-missing", &[]).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

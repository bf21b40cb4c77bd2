//! The daemon's life: readiness, watchdog, draining on SIGTERM, privilege drop, idle exit,
//! exit codes and socket cleanup, all against the real binary.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::{Builder, PATIENCE, is_root};
use nix::sys::signal::Signal;

#[cfg(feature = "systemd")]
#[tokio::test]
async fn readiness_is_notified_with_a_status_after_listening() {
    let mut d = Builder::new().spawn();
    let note = d.wait_notify("READY=1");
    assert!(note.contains("STATUS=serving on"), "{note:?}");
    assert!(note.contains("fp.sock"), "{note:?}");
    let log = d.wait_log("listening on");
    assert!(
        log.contains(&format!("listening on {}", d.sock.display())),
        "{log}"
    );
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let mut d = Builder::new().spawn();
    let mut conn = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    d.signal(Signal::SIGTERM);
    d.wait_stopping();
    // A slow client: the daemon must still be waiting for it.
    std::thread::sleep(Duration::from_millis(500));
    conn.write_all(b"\r\n").unwrap();
    let mut resp = String::new();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp:?}");
    assert_eq!(d.wait_exit().code(), Some(0));
}

#[tokio::test]
async fn shutdown_timeout_bounds_the_drain() {
    let mut d = Builder::new().toml("shutdown_timeout = 1").spawn();
    let mut conn = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(d.stop().code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        d.log().contains("still busy after shutdown_timeout"),
        "{}",
        d.log()
    );
}

#[tokio::test]
async fn sigterm_and_sigint_exit_zero_and_remove_our_socket_and_wal() {
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        let mut d = Builder::new().spawn();
        assert!(d.sock.exists());
        d.signal(sig);
        assert_eq!(d.wait_exit().code(), Some(0), "{sig}: {}", d.log());
        assert!(!d.sock.exists(), "{sig}: socket left behind");
        assert!(d.path("pastes.db").exists());
        assert!(
            !d.path("pastes.db-wal").exists(),
            "{sig}: database not closed cleanly"
        );
        assert!(d.log().contains("stopped"));
    }
}

#[tokio::test]
async fn sighup_with_an_unchanged_file_reloads_nothing_and_keeps_serving() {
    let mut d = Builder::new().spawn();
    d.signal(Signal::SIGHUP);
    d.wait_log("configuration reloaded; nothing else changed");
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

#[cfg(feature = "systemd")]
#[test]
fn watchdog_is_pinged_at_half_the_interval() {
    let mut d = Builder::new().env("WATCHDOG_USEC", "200000").spawn();
    let notes = d.collect_notes(Duration::from_millis(700));
    let pings = notes.iter().filter(|n| n.contains("WATCHDOG=1")).count();
    assert!((3..=12).contains(&pings), "{pings} pings: {notes:?}");
}

#[cfg(feature = "systemd")]
#[test]
fn watchdog_for_another_process_is_not_pinged() {
    let mut d = Builder::new()
        .env("WATCHDOG_USEC", "200000")
        .env("WATCHDOG_PID", "1")
        .spawn();
    let notes = d.collect_notes(Duration::from_millis(500));
    assert!(!notes.iter().any(|n| n.contains("WATCHDOG=1")), "{notes:?}");
}

#[tokio::test]
async fn privileges_are_dropped_to_user_and_group_when_root() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let b = Builder::new().toml("user = \"nobody\"\ngroup = \"nogroup\"");
    // The service user must be able to remove its socket and close the database cleanly.
    let b = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(b.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        b
    };
    let mut d = b.spawn();
    let tasks = std::fs::read_dir(format!("/proc/{}/task", d.pid())).unwrap();
    for task in tasks {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap()
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(field("Uid:"), "65534 65534 65534 65534");
        assert_eq!(field("Gid:"), "65534 65534 65534 65534");
        assert!(!field("Groups:").split(' ').any(|g| g == "0"), "{status}");
    }
    let sock = std::fs::metadata(&d.sock).unwrap();
    assert_eq!((sock.uid(), sock.gid()), (65534, 65534));
    assert_eq!(std::fs::metadata(d.path("pastes.db")).unwrap().uid(), 65534);
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
    assert_eq!(d.stop().code(), Some(0));
    assert!(!d.sock.exists());
}

#[test]
fn failing_privilege_drop_exits_77() {
    if !is_root() {
        eprintln!("skipped: needs root to start as another user");
        return;
    }
    let out = Builder::new()
        .toml("user = \"root\"")
        .run_as(65534, 65534)
        .run();
    assert_eq!(out.code, Some(77), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot drop privileges"),
        "{}",
        out.stderr
    );
    assert!(
        !out.dir.path().join("fp.sock").exists(),
        "socket left behind"
    );
}

#[test]
fn unknown_user_is_a_configuration_error() {
    let out = Builder::new().toml("user = \"no-such-user-fp\"").run();
    assert_eq!(out.code, Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("no-such-user-fp"), "{}", out.stderr);
}

#[test]
fn bad_command_line_exits_64() {
    for args in [
        &["--bogus"][..],
        &["--listen", "localhost:80"],
        &["--listen"],
    ] {
        let mut b = Builder::new();
        for a in args {
            b = b.arg(a);
        }
        let out = b.run();
        assert_eq!(out.code, Some(64), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn help_and_version_exit_zero() {
    let out = Builder::new().arg("--help").run();
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("--check-config"));
    let out = Builder::new().arg("--version").run();
    assert_eq!(out.code, Some(0));
    assert!(
        out.stdout
            .starts_with(&format!("flaskpaste {}", env!("CARGO_PKG_VERSION")))
    );
    assert!(
        out.stdout.contains("db: ") && out.stdout.contains("config: "),
        "{}",
        out.stdout
    );
    #[cfg(feature = "systemd")]
    assert!(out.stdout.contains("systemd"));
}

#[test]
fn uncreatable_database_exits_73() {
    let out = Builder::new()
        .toml("db = \"/proc/flaskpaste/pastes.db\"")
        .run();
    assert_eq!(out.code, Some(73), "{}", out.stderr);
    assert!(out.stderr.contains("/proc/flaskpaste"), "{}", out.stderr);
    assert!(
        !out.dir.path().join("fp.sock").exists(),
        "socket left behind"
    );
}

#[test]
fn unbindable_sockets_exit_73() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Builder::new().listen(&[&addr]).run();
    assert_eq!(out.code, Some(73), "{}", out.stderr);
    assert!(out.stderr.contains(&addr), "{}", out.stderr);
    let out = Builder::new().listen(&["/nonexistent-dir/fp.sock"]).run();
    assert_eq!(out.code, Some(73), "{}", out.stderr);
    let out = Builder::new().listen(&["sd-listen"]).run();
    assert_eq!(out.code, Some(73), "{}", out.stderr);
    assert!(out.stderr.contains("LISTEN_FDS"), "{}", out.stderr);
}

#[test]
fn a_newer_database_is_refused_with_73() {
    let b = Builder::new();
    common::make_database_with_user_version(&b.path("pastes.db"), 999);
    let out = b.run();
    assert_eq!(out.code, Some(73), "{}", out.stderr);
    assert!(out.stderr.contains("newer"), "{}", out.stderr);
}

#[tokio::test]
async fn socket_activated_daemon_exits_after_idle_timeout_and_keeps_inherited_socket() {
    let b = Builder::new().toml("idle_timeout = 1");
    let act = b.path("act.sock");
    let act_arg = act.display().to_string();
    let mut d = b
        .listen(&["sd-listen"])
        .socket_activated(&[&act_arg], None)
        .start();
    common::wait_socket(&act);
    // The first connection starts the daemon; it is served once the daemon is ready.
    let resp = common::request_unix(&act, "GET", "/health", &[], Vec::new()).await;
    assert_eq!(resp.status, 200);
    let started = Instant::now();
    assert_eq!(d.wait_exit().code(), Some(0), "{}", d.log());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(d.log().contains("idle_timeout"), "{}", d.log());
    assert!(act.exists(), "an inherited socket must never be removed");
}

#[tokio::test]
async fn idle_timeout_does_not_apply_without_socket_activation() {
    let mut d = Builder::new().toml("idle_timeout = 1").spawn();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(d.child.try_wait().unwrap().is_none(), "exited: {}", d.log());
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

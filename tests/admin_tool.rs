//! `flaskpaste admin` against the real binary: every action in text and `--json`, its exit
//! codes (64 usage, 73 no database, 1 not found or refused), a missing database left
//! uncreated; beside a running daemon, which notices a deletion or a revocation within two
//! seconds, and a backup taken under a write load that holds every acknowledged paste.
//! (tests/admin.rs is the HTTP admin API's.)

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test: any failure is the test's"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{BIN, Builder, Daemon, PATIENCE};

/// How soon the daemon must notice what the tool changed.
const NOTICE: Duration = Duration::from_secs(2);

/// One run of `flaskpaste --config CONFIG admin ARGS`.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {:?} / {:?}", self.stdout, self.stderr))
    }
}

fn admin(config: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `admin ARGS`, failing unless it exits 0; returns stdout.
fn ok(config: &Path, args: &[&str]) -> String {
    let run = admin(config, args);
    assert_eq!(run.code, 0, "{args:?}: {:?} {:?}", run.stdout, run.stderr);
    run.stdout
}

/// `admin --json ARGS`, failing unless it exits 0; returns the object.
fn ok_json(config: &Path, args: &[&str]) -> Value {
    let all: Vec<&str> = ["admin", "--json"].iter().chain(args).copied().collect();
    let run = admin(config, &all);
    assert_eq!(run.code, 0, "{args:?}: {:?} {:?}", run.stdout, run.stderr);
    run.json()
}

fn config_of(d: &Daemon) -> PathBuf {
    d.path("flaskpaste.toml")
}

/// Polls `done` until it holds, failing after `within`.
async fn soon<F, Fut>(within: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if done().await {
            return;
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn integrity(path: &Path) -> (String, rusqlite::Connection) {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let verdict: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    (verdict, c)
}

#[test]
fn usage_errors_exit_64_and_a_missing_database_is_neither_opened_nor_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/pastes.db");
    let config = dir.path().join("flaskpaste.toml");
    std::fs::write(&config, format!("db = {:?}\n", db.display().to_string())).unwrap();

    for args in [
        &["admin"][..],
        &["admin", "frobnicate"],
        &["admin", "stats", "extra"],
        &["admin", "show"],
        &["admin", "list", "--limit", "0"],
        &["frobnicate"],
        &["--listen", "/tmp/x.sock", "admin", "stats"],
        &["--check-config", "admin", "check"],
    ] {
        let run = admin(&config, args);
        assert_eq!(run.code, 64, "{args:?}: {}", run.stderr);
    }
    let run = admin(&config, &["admin", "stats"]);
    assert_eq!(run.code, 73, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot open database"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = admin(&config, &["admin", "check", "--json"]);
    assert_eq!(run.code, 73);
    assert!(run.json()["error"].as_str().unwrap().contains("pastes.db"));
    assert!(!db.exists() && !dir.path().join("sub").exists());

    std::fs::write(&config, "no_such_key = 1\n").unwrap();
    assert_eq!(admin(&config, &["admin", "stats"]).code, 78);
    let run = admin(&config, &["admin", "stats", "--json"]);
    assert_eq!(run.code, 78);
    assert!(
        run.json()["error"]
            .as_str()
            .unwrap()
            .contains("no_such_key"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn every_action_answers_in_text_and_json_beside_a_running_daemon() {
    let mut d = Builder::new().spawn();
    let cfg = config_of(&d);
    let text = common::id(&d.create("some text", &[]).await);
    let png = [
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    let image = common::id(&d.create(png.to_vec(), &[]).await);

    // stats
    let v = ok_json(&cfg, &["stats"]);
    assert_eq!(v["pastes"]["count"], 2, "{v}");
    assert!(v["database"]["bytes"].as_u64().unwrap() > 0, "{v}");
    let out = ok(&cfg, &["admin", "stats"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("pastes ") && l.contains(" 2 (")),
        "{out}"
    );

    // list, with a filter
    let v = ok_json(&cfg, &["list", "--type", "image/*"]);
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["pastes"][0]["id"], image.as_str(), "{v}");
    assert_eq!(v["pastes"][0]["mime_type"], "image/png", "{v}");
    let out = ok(&cfg, &["admin", "list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID ") && lines[0].contains("TYPE"),
        "{out}"
    );
    // Aligned: every row's TYPE column starts where the header's does.
    let column = lines[0].find("TYPE").unwrap();
    for row in &lines[1..3] {
        assert!(
            row[column..].starts_with("text/") || row[column..].starts_with("image/"),
            "{out}"
        );
    }
    assert!(out.contains(&text) && out.contains(&image), "{out}");
    assert!(out.ends_with("2 of 2 paste(s)\n"), "{out}");

    // show
    let v = ok_json(&cfg, &["show", &image]);
    assert_eq!(
        (v["id"].as_str(), v["size"].as_u64()),
        (Some(image.as_str()), Some(16))
    );
    let out = ok(&cfg, &["admin", "show", &text]);
    assert!(out.starts_with("id ") && out.contains(&text), "{out}");
    assert!(out.contains("text/plain"), "{out}");
    assert_eq!(admin(&cfg, &["admin", "show", "NOT-AN-ID"]).code, 64);
    let missing = admin(&cfg, &["admin", "--json", "show", "abcdef123456"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.json()["error"], "paste abcdef123456 not found");
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);

    // delete
    let out = ok(&cfg, &["admin", "delete", &text]);
    assert_eq!(out, format!("deleted paste {text}\n"));
    let run = admin(&cfg, &["admin", "delete", &text, "--json"]);
    assert_eq!(run.code, 1);
    assert!(run.json()["error"].as_str().unwrap().contains("not found"));
    assert_eq!(
        ok_json(&cfg, &["delete", &image]),
        serde_json::json!({"deleted": image})
    );

    // purge: the brief paste expires, the daemon's hourly sweep has not run since start.
    let brief = d.create("brief", &[("x-expiry", "1")]).await;
    let expires = brief["expires_at"].as_i64().unwrap();
    soon(PATIENCE, "the brief paste expires", || async move {
        flaskpaste::clock::now() > expires
    })
    .await;
    let v = ok_json(&cfg, &["purge"]);
    assert_eq!(v["pastes"], 1, "{v}");
    let out = ok(&cfg, &["admin", "purge"]);
    assert!(out.starts_with("purged 0 expired paste(s)"), "{out}");

    // check
    assert_eq!(ok(&cfg, &["admin", "check"]), "ok\n");
    assert_eq!(ok_json(&cfg, &["check"])["ok"], true);

    // backup, text and JSON; never over an existing file
    let kept = common::id(&d.create("kept", &[]).await);
    let first = d.path("backup-1.db");
    let out = ok(&cfg, &["admin", "backup", first.to_str().unwrap()]);
    assert!(
        out.contains("1 paste(s)") && out.contains("integrity ok"),
        "{out}"
    );
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (verdict, c) = integrity(&first);
    assert_eq!(verdict, "ok");
    let ids: String = c
        .query_row("SELECT group_concat(id) FROM pastes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ids, kept);
    let second = d.path("backup-2.db");
    let v = ok_json(&cfg, &["backup", second.to_str().unwrap()]);
    assert_eq!(v["pastes"], 1, "{v}");
    assert_eq!(v["bytes"], std::fs::metadata(&second).unwrap().len(), "{v}");
    let before = std::fs::read(&first).unwrap();
    let again = admin(
        &cfg,
        &["admin", "--json", "backup", first.to_str().unwrap()],
    );
    assert_eq!(again.code, 1);
    assert!(again.json()["error"].as_str().unwrap().contains("exists"));
    assert_eq!(std::fs::read(&first).unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(d.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // With the daemon stopped, the same database.
    assert!(d.stop().success());
    assert_eq!(ok_json(&cfg, &["stats"])["pastes"]["count"], 1);
    assert_eq!(ok(&cfg, &["admin", "check"]), "ok\n");
}

#[tokio::test]
async fn a_cached_paste_deleted_by_the_tool_is_gone_from_the_daemon_within_two_seconds() {
    let d = Builder::new().spawn();
    let id = common::id(&d.create("read, cached, then deleted", &[]).await);
    let raw = format!("/{id}/raw");
    for _ in 0..2 {
        assert_eq!(d.req("GET", &raw, &[]).await.status, 200);
    }
    ok(&config_of(&d), &["admin", "delete", &id]);
    let (daemon, path) = (&d, raw.as_str());
    soon(NOTICE, "the daemon answers 404", || async move {
        daemon.req("GET", path, &[]).await.status == 404
    })
    .await;
    assert_eq!(d.req("GET", &format!("/{id}"), &[]).await.status, 404);
}

#[cfg(feature = "pki")]
#[tokio::test]
async fn a_certificate_revoked_by_the_tool_stops_being_trusted_within_two_seconds() {
    let d = Builder::new()
        .toml("pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 0\naudit = \"log\"")
        .spawn();
    let cfg = config_of(&d);
    let fp = d.registered().await;
    let cert = [("x-ssl-client-sha1", fp.as_str())];
    // Trusted, and its standing now cached by the daemon.
    for _ in 0..2 {
        assert_eq!(d.req("GET", "/pastes", &cert).await.status, 200);
    }
    let serial: String = {
        let c = rusqlite::Connection::open(d.path("pastes.db")).unwrap();
        c.query_row(
            "SELECT serial FROM certificates WHERE fingerprint = ?1",
            [&fp],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(ok_json(&cfg, &["stats"])["certificates"]["active"], 1);

    let out = ok(&cfg, &["admin", "revoke", &serial.to_ascii_uppercase()]);
    assert!(
        out.starts_with(&format!("revoked certificate {serial}")),
        "{out}"
    );
    let (daemon, cert) = (&d, &cert);
    soon(
        NOTICE,
        "the revoked certificate counts for nothing",
        || async move { daemon.req("GET", "/pastes", cert).await.status == 401 },
    )
    .await;

    let again = admin(&cfg, &["admin", "revoke", &serial, "--json"]);
    assert_eq!(again.code, 1);
    assert!(
        again.json()["error"]
            .as_str()
            .unwrap()
            .contains("already revoked")
    );
    let unknown = admin(&cfg, &["admin", "revoke", "00ff"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("not found"), "{}", unknown.stderr);
    assert_eq!(admin(&cfg, &["admin", "revoke", "xyz"]).code, 64);
    let v = ok_json(&cfg, &["stats"]);
    assert_eq!(v["certificates"]["revoked"], 1, "{v}");
    // The daemon signs a CRL that knows of it when asked next.
    let crl = d.req("GET", "/pki/crl", &[]).await;
    assert_eq!(crl.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_a_write_load_holds_every_acknowledged_paste() {
    let d = Arc::new(Builder::new().spawn());
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (d, acknowledged, stop) = (d.clone(), acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                let deadline = Instant::now() + PATIENCE;
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline
                {
                    let v = d.create(format!("writer {w} paste {n}"), &[]).await;
                    acknowledged.lock().unwrap().push(common::id(&v));
                    n += 1;
                }
            })
        })
        .collect();
    let ack = &acknowledged;
    soon(PATIENCE, "writers got going", || async move {
        ack.lock().unwrap().len() >= 40
    })
    .await;

    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let path = d.path("under-load.db");
    let (cfg, dest) = (config_of(&d), path.clone());
    let run = tokio::task::spawn_blocking(move || {
        admin(&cfg, &["admin", "--json", "backup", dest.to_str().unwrap()])
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(run.code, 0, "{:?} {:?}", run.stdout, run.stderr);

    let (verdict, c) = integrity(&path);
    assert_eq!(verdict, "ok");
    let mut st = c.prepare("SELECT id FROM pastes").unwrap();
    let held: std::collections::HashSet<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let lost: Vec<&String> = before.iter().filter(|id| !held.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged pastes missing: {lost:?}",
        lost.len()
    );
    assert_eq!(run.json()["pastes"], held.len(), "{:?}", run.stdout);
}

#[tokio::test]
async fn stats_show_the_quota_figures_and_check_finds_them_drifted() {
    let d = Builder::new().toml("max_storage = 100000").spawn();
    d.create(vec![b'q'; 1234], &[]).await;
    let config = config_of(&d);
    let stats = ok_json(&config, &["stats"]);
    assert_eq!(stats["storage"]["bytes"], 1234, "{stats}");
    assert_eq!(stats["storage"]["max_storage"], 100_000, "{stats}");
    assert!(ok(&config, &["admin", "stats"]).contains("1234 of 100000 bytes"));
    assert_eq!(ok_json(&config, &["check"])["ok"], true);

    let c = rusqlite::Connection::open(d.path("pastes.db")).unwrap();
    c.execute("UPDATE storage_usage SET bytes = 7 WHERE owner = ''", [])
        .unwrap();
    let run = admin(&config, &["admin", "check"]);
    assert_eq!(run.code, 1, "{:?} {:?}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("7 kept, the pastes hold 1234"),
        "{}",
        run.stderr
    );
    // With the daemon running, --recount puts the figures right.
    let run = admin(&config, &["admin", "check", "--recount"]);
    assert_eq!(run.code, 0, "{:?} {:?}", run.stdout, run.stderr);
    assert_eq!(ok_json(&config, &["stats"])["storage"]["bytes"], 1234);
}

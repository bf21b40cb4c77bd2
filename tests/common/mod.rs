//! Test harness: spawns the real `flaskpaste` binary in a temp dir, waits for its readiness
//! notification, talks HTTP to it, and stops it (printing its log when a test failed).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test harness: any failure is the test's failure"
)]

pub mod tls_front;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long any wait in a test may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub const BIN: &str = env!("CARGO_BIN_EXE_flaskpaste");

/// What to start.
pub struct Builder {
    pub dir: tempfile::TempDir,
    toml: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    listen: Option<Vec<String>>,
    program: Option<Vec<String>>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    run_as: Option<(u32, u32)>,
    no_config: bool,
    quiet: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            dir: tempfile::tempdir().unwrap(),
            toml: String::new(),
            env: Vec::new(),
            args: Vec::new(),
            listen: None,
            program: None,
            stdin: None,
            stdout: None,
            run_as: None,
            no_config: false,
            quiet: false,
        }
    }

    /// Adds lines to the config file (which already sets `db` inside the temp dir).
    pub fn toml(mut self, text: &str) -> Self {
        self.toml.push_str(text);
        self.toml.push('\n');
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Replaces the default `--listen <dir>/fp.sock`; an empty list passes no `--listen`.
    pub fn listen(mut self, addrs: &[&str]) -> Self {
        self.listen = Some(addrs.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// Runs the daemon under `systemd-socket-activate`, which binds `sockets` (with the
    /// optional `:`-separated `names`) and starts the daemon on the first connection.
    pub fn socket_activated(self, sockets: &[&str], names: Option<&str>) -> Self {
        let mut wrapper = vec!["systemd-socket-activate".to_owned()];
        for socket in sockets {
            wrapper.extend(["-l".to_owned(), (*socket).to_owned()]);
        }
        if let Some(names) = names {
            wrapper.push(format!("--fdname={names}"));
        }
        wrapper.extend(["-E", "NOTIFY_SOCKET", "--"].map(String::from));
        Builder {
            program: Some(wrapper),
            ..self
        }
    }

    /// Starts the daemon through `wrapper` (e.g. `ip netns exec NAME`), which runs it.
    pub fn run_in(self, wrapper: &[&str]) -> Self {
        Builder {
            program: Some(wrapper.iter().map(|s| (*s).to_owned()).collect()),
            ..self
        }
    }

    pub fn stdio(mut self, stdin: Stdio, stdout: Stdio) -> Self {
        self.stdin = Some(stdin);
        self.stdout = Some(stdout);
        self
    }

    /// Starts the process as this uid and gid (the temp dir is opened up for it).
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        self.run_as = Some((uid, gid));
        self
    }

    /// The daemon will not log `listening on` to stderr (syslog, or a higher level): without
    /// the `systemd` feature, readiness is then the default socket accepting connections.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Passes no `--config`: the daemon looks for its default file (in the temp dir).
    pub fn no_config(mut self) -> Self {
        self.no_config = true;
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&mut self) -> Command {
        let config = self.path("flaskpaste.toml");
        let db = self.path("pastes.db");
        let sets = |key: &str| self.toml.lines().any(|l| l.trim_start().starts_with(key));
        let mut text = String::new();
        if !sets("db ") {
            text.push_str(&format!("db = {:?}\n", db.display().to_string()));
        }
        // Tests create many pastes from one peer; those about limits turn it on.
        if !sets("rate_limit ") {
            text.push_str("rate_limit = false\n");
        }
        // Proof-of-work is on by default; the tests about it solve real challenges.
        if !sets("pow_difficulty ") {
            text.push_str("pow_difficulty = 0\n");
        }
        text.push_str(&self.toml);
        std::fs::write(&config, text).unwrap();
        let mut cmd = match &self.program {
            Some(p) => {
                let mut c = Command::new(&p[0]);
                c.args(&p[1..]).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        if !self.no_config {
            cmd.arg("--config").arg(&config);
        }
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        let listen = self
            .listen
            .clone()
            .unwrap_or_else(|| vec![self.path("fp.sock").display().to_string()]);
        for addr in listen {
            cmd.arg("--listen").arg(addr);
        }
        cmd.args(&self.args)
            .current_dir(self.dir.path())
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(self.stdin.take().unwrap_or_else(Stdio::null))
            .stdout(self.stdout.take().unwrap_or_else(Stdio::piped))
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs to completion without waiting for readiness (error paths, --check-config).
    pub fn run(mut self) -> Finished {
        let out = self.command().output().unwrap();
        Finished {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir,
        }
    }

    /// Starts the daemon without waiting for anything.
    pub fn start(mut self) -> Daemon {
        let notify_path = self.path("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        {
            // Like systemd's, the socket must stay writable after a privilege drop.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&notify_path, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut cmd = self.command();
        cmd.env("NOTIFY_SOCKET", &notify_path);
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Daemon {
            reader: Some(reader),
            quiet: self.quiet,
            sock: self.path("fp.sock"),
            dir: self.dir,
            child,
            log,
            notify,
            notes: Vec::new(),
        }
    }

    /// Starts the daemon and waits until it is ready.
    pub fn spawn(self) -> Daemon {
        let mut d = self.start();
        d.wait_ready();
        d
    }
}

/// A daemon run that has ended.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub dir: tempfile::TempDir,
}

/// A running daemon.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub child: Child,
    log: Arc<Mutex<String>>,
    notify: UnixDatagram,
    /// Every notification received so far.
    pub notes: Vec<String>,
    quiet: bool,
    /// Copies stderr into `log`; ends when the daemon's stderr closes.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Everything the daemon wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; returns the whole log.
    pub fn wait_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "daemon exited ({status}) before logging {needle:?}:\n{}",
                    self.log()
                );
            }
            assert!(Instant::now() < deadline, "no {needle:?} in log:\n{log}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for readiness: `READY=1` where the build notifies (feature `systemd`), otherwise
    /// the `listening on` line (logged after the privilege drop), or for a quiet daemon its
    /// default socket answering.
    pub fn wait_ready(&mut self) {
        if cfg!(feature = "systemd") {
            self.wait_notify("READY=1");
            return;
        }
        let deadline = Instant::now() + PATIENCE;
        let ready = |d: &Daemon| {
            if d.quiet {
                std::os::unix::net::UnixStream::connect(&d.sock).is_ok()
            } else {
                d.log().contains("listening on")
            }
        };
        while !ready(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "daemon exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "never ready; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the daemon has begun to drain (`STOPPING=1`, or its log line).
    pub fn wait_stopping(&mut self) {
        if cfg!(feature = "systemd") {
            self.wait_notify("STOPPING=1");
        } else {
            self.wait_log("draining");
        }
    }

    /// Waits for a notification containing `needle`; returns it.
    pub fn wait_notify(&mut self, needle: &str) -> String {
        if let Some(n) = self.notes.iter().find(|n| n.contains(needle)) {
            return n.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        let mut buf = vec![0u8; 4096];
        loop {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.notes.push(text.clone());
                if text.contains(needle) {
                    return text;
                }
                continue;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "daemon exited ({status}) before {needle:?}:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} notification; log:\n{}",
                self.log()
            );
        }
    }

    /// Collects notifications for `span`.
    pub fn collect_notes(&mut self, span: Duration) -> Vec<String> {
        let until = Instant::now() + span;
        let mut buf = vec![0u8; 4096];
        while Instant::now() < until {
            if let Ok(n) = self.notify.recv(&mut buf) {
                self.notes
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        self.notes.clone()
    }

    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// Waits for the daemon to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The log is complete once the reader has seen stderr close.
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit()
    }

    pub async fn req(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        request_unix(&self.sock, method, path, headers, Vec::new()).await
    }

    /// A request with a body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Resp {
        request_unix(&self.sock, method, path, headers, body.into()).await
    }

    /// A request whose header values are raw bytes, not necessarily UTF-8.
    pub async fn req_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Resp {
        let mut req = build(method, path, &[], body.to_vec());
        for (k, v) in headers {
            req.headers_mut().append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        let io = tokio::net::UnixStream::connect(&self.sock).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .unwrap();
        tokio::spawn(conn);
        collect(sender.send_request(req).await.unwrap()).await
    }

    /// `POST /` with `body`; returns the response.
    pub async fn post(&self, body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Resp {
        self.send("POST", "/", headers, body).await
    }

    /// A solved challenge from `GET /challenge`: the `X-PoW-Token` and `X-PoW-Solution`
    /// values. Fails unless proof-of-work is on.
    pub async fn solve(&self) -> (String, String) {
        let c = self.req("GET", "/challenge", &[]).await.json();
        assert_eq!(c["enabled"], true, "{c}");
        let difficulty = u8::try_from(c["difficulty"].as_u64().unwrap()).unwrap();
        let n = flaskpaste::security::pow::solve(c["nonce"].as_str().unwrap(), difficulty);
        (c["token"].as_str().unwrap().to_owned(), n.to_string())
    }

    /// Registers through `POST /register` (its proof-of-work off), failing unless 200;
    /// returns the new certificate's fingerprint.
    pub async fn registered(&self) -> String {
        let resp = self
            .send(
                "POST",
                "/register",
                &[("content-type", "application/json")],
                "{}",
            )
            .await;
        assert_eq!(
            resp.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.header("x-fingerprint-sha1").unwrap().to_owned()
    }

    /// Creates a paste and returns its JSON, failing unless the answer is 201.
    pub async fn create(
        &self,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> serde_json::Value {
        let resp = self.post(body, headers).await;
        assert_eq!(
            resp.status,
            201,
            "{:?}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.json()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
            let deadline = Instant::now() + PATIENCE;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- daemon log ---\n{}--- end ---", self.log());
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

pub async fn request_unix(
    path: &Path,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let io = tokio::net::UnixStream::connect(path).await.unwrap();
    send_h1(io, method, uri, headers, body).await
}

pub async fn request_tcp(
    addr: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let io = tokio::net::TcpStream::connect(addr).await.unwrap();
    send_h1(io, method, uri, headers, body).await
}

fn build(method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Full::new(Bytes::from(body))).unwrap()
}

pub async fn send_h1<IO>(
    io: IO,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(build(method, uri, headers, body))
        .await
        .unwrap();
    collect(resp).await
}

pub async fn send_h2<IO>(io: IO, method: &str, uri: &str) -> Resp
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(io),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(format!("http://localhost{uri}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    collect(sender.send_request(req).await.unwrap()).await
}

async fn collect(resp: http::Response<hyper::body::Incoming>) -> Resp {
    let (parts, body) = resp.into_parts();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

/// The `listening on` address of a TCP listener from the daemon's log.
pub fn tcp_address(log: &str) -> String {
    log.lines()
        .find_map(|l| l.split("listening on ").nth(1))
        .map(|a| a.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no listening line in:\n{log}"))
}

/// Whether a tool is on PATH. CI installs every tool these tests use, so there a missing one
/// fails the test instead of skipping it.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is missing in CI"
    );
    if !found {
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

/// Runs fpaste with `stdin` and an environment of only HOME, PATH and `env`.
#[cfg(feature = "client")]
pub fn fpaste(
    home: &Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpaste"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // fpaste may not read stdin at all (a FILE argument): a broken pipe is fine.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Sends `method path` from `n` tasks at once; asserts that exactly one got 200 and the
/// rest 404 (of racing burning reads, one gets the paste).
pub async fn one_of_racing_reads_wins(d: &Arc<Daemon>, method: &'static str, path: &str, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (d, path) = (Arc::clone(d), path.to_owned());
            tokio::spawn(async move { d.req(method, &path, &[]).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 404),
        "{statuses:?}"
    );
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Writes a database whose `user_version` is `version`, using the daemon itself to create it.
pub fn make_database_with_user_version(path: &std::path::Path, version: u32) {
    // SQLite keeps user_version as a big-endian integer at offset 60 of the header.
    let mut d = Builder::new()
        .toml(&format!("db = {:?}", path.display().to_string()))
        .spawn();
    assert_eq!(d.stop().code(), Some(0));
    let mut bytes = std::fs::read(path).unwrap();
    bytes[60..64].copy_from_slice(&version.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// Waits until a Unix socket accepts connections (systemd-socket-activate binds it).
pub fn wait_socket(path: &Path) {
    let deadline = Instant::now() + PATIENCE;
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} never accepted",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A loopback TCP address that was free a moment ago.
pub fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// Reads until the daemon closes the connection; returns what came and how long it took.
pub fn read_until_closed(conn: &mut std::os::unix::net::UnixStream) -> (String, Duration) {
    let started = Instant::now();
    conn.set_read_timeout(Some(PATIENCE + PATIENCE)).unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(conn, &mut got).unwrap();
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

/// A fingerprint the tests present as their client certificate.
pub const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
/// A second client certificate.
pub const OTHER_FP: &str = "b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3";

/// The `id` of a paste document.
pub fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("a paste id").to_owned()
}

/// Bytes that look random (high entropy, not UTF-8 text, no known magic).
pub fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = vec![0xffu8, 0xfe];
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

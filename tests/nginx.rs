//! The shipped nginx config (packaging/nginx/flaskpaste.conf) with real nginx in front of
//! the real daemon: only its deployment values are replaced; curl and `fpaste` talk TLS to
//! it on loopback, with and without client certificates from the daemon's own PKI.

#![cfg(all(feature = "pki", feature = "client"))]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test: any failure is the test's"
)]

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::tls_front::{common_name, localhost_identity};
use common::{Builder, Daemon, PATIENCE, have};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const SECRET: &str = "nginx-e2e-proxy-secret";
/// Expiries the test sets, all different, so a paste's says who the daemon thought it was.
const EXPIRY_ANON: i64 = 3_600;
const EXPIRY_UNTRUSTED: i64 = 5_400;
const EXPIRY_TRUSTED: i64 = 7_200;

fn shipped_config() -> String {
    std::fs::read_to_string(Path::new(REPO).join("packaging/nginx/flaskpaste.conf")).unwrap()
}

/// The shipped site config with only its deployment values replaced (and its comments,
/// which repeat some paths, left out). Each value must be there exactly once.
fn site_config(port: u16, sock: &Path, files: &Files) -> String {
    let mut text: String = shipped_config()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = |p: &Path| p.display().to_string();
    let replacements = [
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{port} ssl http2;"),
        ),
        // The test talks only to 127.0.0.1.
        ("listen [::]:443 ssl http2;", String::new()),
        (
            "server_name paste.example.com;",
            "server_name localhost;".into(),
        ),
        (
            "/etc/ssl/certs/paste.example.com.pem",
            path(&files.server_cert),
        ),
        (
            "/etc/ssl/private/paste.example.com.key",
            path(&files.server_key),
        ),
        ("/etc/flaskpaste/client-ca.pem", path(&files.client_ca)),
        ("/etc/flaskpaste/client-crl.pem", path(&files.crl)),
        (
            "unix:/run/flaskpaste/flaskpaste.sock",
            format!("unix:{}", path(sock)),
        ),
        ("\"change-me\"", format!("\"{SECRET}\"")),
    ];
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} in the shipped config"
        );
        text = text.replace(from, &to);
    }
    text
}

/// Where nginx finds its certificates, the client CA and the CRL.
struct Files {
    server_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_ca: PathBuf,
    crl: PathBuf,
}

/// A CA for nginx's server certificate and that certificate (localhost, 127.0.0.1).
fn write_server_identity(dir: &Path) -> Files {
    let id = localhost_identity("nginx e2e server CA");
    let files = Files {
        server_ca: dir.join("server-ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_ca: dir.join("client-ca.pem"),
        crl: dir.join("client-crl.pem"),
    };
    std::fs::write(&files.server_ca, id.ca.pem()).unwrap();
    std::fs::write(&files.server_cert, id.cert.pem()).unwrap();
    std::fs::write(&files.server_key, id.key.serialize_pem()).unwrap();
    files
}

/// nginx in the foreground (`daemon off`), everything it writes inside `dir`.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(dir: &Path, site: &str, port: u16) -> Nginx {
        // As root the workers would run as nobody, who cannot reach the daemon's socket
        // (0660, root's) in a 0700 temp dir; in production, nginx's user joins the group.
        let user = if common::is_root() {
            "user root;\n"
        } else {
            ""
        };
        let d = dir.display();
        let main = format!(
            "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n access_log {d}/access.log;\n client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let child = Command::new("nginx")
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx {
            child,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited ({status}):\n{}", nginx.log());
            }
            assert!(Instant::now() < deadline, "nginx never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap())
    }

    /// SIGHUP: the master reads its config and files again and starts new workers.
    fn reload(&self) {
        kill(self.pid(), Signal::SIGHUP).unwrap();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers, then exits.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(self.pid(), Signal::SIGTERM);
            let deadline = Instant::now() + PATIENCE;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- nginx error log ---\n{}--- end ---", self.log());
        }
    }
}

/// A response as curl got it; status 0 when there was none.
struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// curl against one base URL with fixed options (the CA, a Unix socket).
struct Curl {
    base: String,
    options: Vec<String>,
    dir: PathBuf,
    count: Cell<u32>,
}

impl Curl {
    /// A request to `path`, with extra curl arguments (headers, data, a certificate).
    fn go(&self, path: &str, args: &[&str]) -> Reply {
        let n = self.count.get() + 1;
        self.count.set(n);
        let body = self.dir.join(format!("curl-{n}.body"));
        let headers = self.dir.join(format!("curl-{n}.headers"));
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "-w", "%{http_code}", "-o"])
            .arg(&body)
            .arg("-D")
            .arg(&headers)
            .args(&self.options)
            .args(args)
            .arg(format!("{}{path}", self.base))
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout);
        Reply {
            status: code.trim().parse().unwrap_or(0),
            headers: std::fs::read_to_string(&headers).unwrap_or_default(),
            body: std::fs::read(&body).unwrap_or_default(),
        }
    }
}

/// A key and a signing request for it, as PEM.
fn key_and_csr(cn: &str) -> (String, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(cn);
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    (key.serialize_pem(), csr)
}

/// A self-signed client certificate (as `fpaste cert` makes) and its key, as PEM files.
fn self_signed_client(dir: &Path) -> (String, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name("not from the daemon's CA");
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("stranger.crt"), dir.join("stranger.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

/// Runs fpaste (see [`common::fpaste`]) and insists on success.
fn fpaste(home: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let out = common::fpaste(home, args, stdin, env);
    assert!(
        out.status.success(),
        "fpaste {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// How long a paste lives without being read: the expiry the daemon chose for its creator.
fn lifetime(paste: &serde_json::Value) -> i64 {
    paste["expires_at"].as_i64().unwrap() - paste["created_at"].as_i64().unwrap()
}

fn start_daemon() -> Daemon {
    Builder::new()
        .toml(&format!(
            "pki_enabled = true\npki_ca_password = \"nginx-e2e-ca\"\nregister_pow = 0\n\
             proxy_secret = \"{SECRET}\"\ntrusted_proxies = [\"unix\", \"127.0.0.0/8\"]\n\
             expiry_anon = {EXPIRY_ANON}\nexpiry_untrusted = {EXPIRY_UNTRUSTED}\n\
             expiry_trusted = {EXPIRY_TRUSTED}"
        ))
        .spawn()
}

#[test]
fn client_max_body_size_is_the_daemons_max_auth() {
    let shipped = shipped_config();
    let size = shipped
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_max_body_size "))
        .expect("client_max_body_size is set");
    let mib: u64 = size.strip_suffix("m;").unwrap().parse().unwrap();
    let out = Builder::new().listen(&[]).arg("--check-config").run();
    let table: toml::Table = out.stdout.parse().expect("--check-config prints TOML");
    let max_auth = table["max_auth"].as_integer().unwrap();
    assert_eq!(i64::try_from(mib * 1024 * 1024).unwrap(), max_auth);
}

#[test]
fn the_shipped_nginx_config_fronts_the_daemon_with_optional_client_certificates() {
    if !have("nginx") || !have("curl") {
        return;
    }
    let started = Instant::now();
    let d = start_daemon();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files = write_server_identity(dir);
    let direct = Curl {
        base: "http://localhost".into(),
        options: vec!["--unix-socket".into(), d.sock.display().to_string()],
        dir: dir.to_owned(),
        count: Cell::new(0),
    };

    // The operator's steps: a CA, then its certificate and CRL for nginx.
    assert_eq!(direct.go("/pki/ca", &["-X", "POST"]).status, 201);
    let ca = direct.go("/pki/ca.crt", &[]);
    assert_eq!(ca.status, 200);
    std::fs::write(&files.client_ca, &ca.body).unwrap();
    let crl = direct.go("/pki/crl", &[]);
    assert_eq!(crl.status, 200);
    assert!(
        crl.text().starts_with("-----BEGIN X509 CRL-----"),
        "{}",
        crl.text()
    );
    std::fs::write(&files.crl, &crl.body).unwrap();

    let port = common::free_port()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let nginx = Nginx::start(dir, &site_config(port, &d.sock, &files), port);
    let front = Curl {
        base: format!("https://127.0.0.1:{port}"),
        options: vec!["--cacert".into(), files.server_ca.display().to_string()],
        dir: dir.to_owned(),
        count: Cell::new(0),
    };
    assert_eq!(front.go("/health", &[]).status, 200);

    // Registration through nginx, anonymously: a certificate for our signing request.
    let (key_pem, csr) = key_and_csr("nginx e2e client");
    let request = serde_json::json!({ "csr": csr }).to_string();
    let registered = front.go(
        "/register",
        &[
            "-H",
            "content-type: application/json",
            "--data-binary",
            &request,
        ],
    );
    assert_eq!(registered.status, 200, "{}", registered.text());
    let fp = registered.header("x-fingerprint-sha1").unwrap();
    let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
    std::fs::write(&cert, &registered.body).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mine: [&str; 4] = ["--cert", &cert, "--key", &key];

    // With the certificate: nginx verifies it and names it; the daemon trusts it.
    let created = front.go(
        "/",
        &[&mine[..], &["--data-binary", "through nginx"]].concat(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let paste = created.json();
    assert_eq!(paste["owner"], fp.as_str(), "{paste}");
    assert!(paste.get("owner_token").is_none(), "{paste}");
    assert_eq!(lifetime(&paste), EXPIRY_TRUSTED, "{paste}");
    let id = paste["id"].as_str().unwrap().to_owned();
    let listed = front.go("/pastes", &mine).json();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["pastes"][0]["id"], id.as_str());
    // A client's own X-Proxy-Secret is replaced by nginx's (doubled, it would count for
    // nothing and the client would be anonymous).
    let with_secret = front.go(
        "/pastes",
        &[&mine[..], &["-H", "X-Proxy-Secret: bogus"]].concat(),
    );
    assert_eq!(with_secret.status, 200, "{}", with_secret.text());
    let certs = front.go("/pki/certs", &mine).json();
    let serial = certs["certificates"][0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        certs["certificates"][0]["fingerprint_sha1"],
        fp.as_str(),
        "{certs}"
    );
    let deleted = front.go(&format!("/{id}"), &[&mine[..], &["-X", "DELETE"]].concat());
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(front.go("/pastes", &mine).json()["total"], 0);

    // A certificate of another CA: nginx refuses the request (400), nothing reaches the daemon.
    let (other_cert, other_key) = self_signed_client(dir);
    let stranger = ["--cert", &other_cert, "--key", &other_key];
    let healths = || d.log().matches("path=/health ").count();
    let before = healths();
    assert_eq!(front.go("/health", &stranger).status, 400);
    assert_eq!(healths(), before);

    // Without a certificate: anonymous pastes, no listing.
    let anon = front.go("/", &["--data-binary", "anonymous through nginx"]);
    assert_eq!(anon.status, 201, "{}", anon.text());
    let anon = anon.json();
    assert!(anon.get("owner").is_none(), "{anon}");
    assert!(anon["owner_token"].is_string(), "{anon}");
    assert_eq!(lifetime(&anon), EXPIRY_ANON, "{anon}");
    assert_eq!(front.go("/pastes", &[]).status, 401);

    // A client naming the fingerprint itself, even with the right secret, stays anonymous:
    // nginx sends its own (empty, so no) X-SSL-Client-SHA1 and its own X-Proxy-Secret.
    let forged_fp = format!("X-SSL-Client-SHA1: {fp}");
    let forged_secret = format!("X-Proxy-Secret: {SECRET}");
    let forged = front.go("/", &["-H", &forged_fp, "--data-binary", "forged"]);
    assert_eq!(forged.status, 201, "{}", forged.text());
    assert!(forged.json().get("owner").is_none(), "{}", forged.text());
    assert_eq!(lifetime(&forged.json()), EXPIRY_ANON);
    let forged = front.go("/pastes", &["-H", &forged_fp, "-H", &forged_secret]);
    assert_eq!(forged.status, 401, "{}", forged.text());
    // The daemon needs the secret: the socket's peer alone does not vouch for a fingerprint.
    assert_eq!(direct.go("/pastes", &["-H", &forged_fp]).status, 401);
    assert_eq!(
        direct
            .go("/pastes", &["-H", &forged_fp, "-H", &forged_secret])
            .status,
        200
    );

    // The address the daemon counts is the one nginx saw, whatever the client claims; even
    // where loopback is trusted too (as if a local balancer fronted nginx), since nginx
    // replaces the client's X-Forwarded-For instead of appending to it.
    let tagged = front.go("/health", &["-H", "X-Forwarded-For: 203.0.113.9"]);
    let rid = tagged.header("x-request-id").unwrap();
    let log = d.log();
    let seen = log.lines().find(|l| l.contains(&rid)).unwrap();
    assert!(
        seen.contains("addr=127.0.0.1") && !seen.contains("203.0.113.9"),
        "{seen}"
    );

    // Revoked: the daemon stops trusting the certificate at once, nginx once it has the new
    // CRL (until then it still passes the handshake).
    let revoked = front.go(
        &format!("/pki/revoke/{serial}"),
        &[&mine[..], &["-X", "POST"]].concat(),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(front.go("/health", &mine).status, 200);
    assert_eq!(front.go("/pastes", &mine).status, 401);
    let crl = direct.go("/pki/crl", &[]);
    assert_eq!(crl.status, 200);
    std::fs::write(&files.crl, &crl.body).unwrap();
    nginx.reload();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = front.go("/health", &mine).status;
        if status == 400 {
            break;
        }
        assert_eq!(status, 200, "while nginx reloads");
        assert!(
            Instant::now() < deadline,
            "nginx still accepts the revoked certificate"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        nginx.log().contains("certificate revoked"),
        "{}",
        nginx.log()
    );
    // Others are served as before.
    assert_eq!(front.go("/health", &[]).status, 200);

    // fpaste with a fresh certificate, registered through nginx, over mTLS.
    let home = tempfile::tempdir().unwrap();
    let server = front.base.clone();
    let server_ca = files.server_ca.display().to_string();
    let env = [
        ("FLASKPASTE_SERVER", server.as_str()),
        ("FLASKPASTE_CA_CERT", server_ca.as_str()),
    ];
    let fresh = line(&fpaste(
        home.path(),
        &["register", "-n", "fpaste via nginx"],
        b"",
        &env,
    ));
    assert_eq!(fresh.len(), 40, "{fresh}");
    assert_ne!(fresh, fp);
    // The identity only through TLS: no fingerprint header from fpaste.
    let config = home.path().join(".config/fpaste/config");
    let kept: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("cert_sha1"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        kept.contains("client_cert") && kept.contains("client_key"),
        "{kept}"
    );
    std::fs::write(&config, kept).unwrap();
    let url = line(&fpaste(
        home.path(),
        &["--no-history"],
        b"fpaste through nginx\n",
        &env,
    ));
    assert!(url.starts_with(&server), "{url}");
    let got = fpaste(home.path(), &["get", &url], b"", &env);
    assert_eq!(got.stdout, b"fpaste through nginx\n");
    let id = url.rsplit('/').next().unwrap().split('#').next().unwrap();
    let listed = line(&fpaste(home.path(), &["list"], b"", &env));
    assert!(listed.contains(id), "{listed}");
    let theirs = direct.go(
        "/pastes",
        &[
            "-H",
            &format!("X-SSL-Client-SHA1: {fresh}"),
            "-H",
            &forged_secret,
        ],
    );
    assert!(theirs.text().contains(id), "{}", theirs.text());

    eprintln!("nginx end to end: {:?}", started.elapsed());
}

//! flaskpaste: a security-hardened pastebin REST API served by a Unix daemon.
//!
//! ```text
//! main.rs          parse args, call daemon::run, return its sysexits code
//! cli.rs           clap flags and the admin subcommands; no figment, no I/O
//! config/          Config + defaults + keys + redacted dump (mod.rs), figment layers and
//!                  *_FILE / $CREDENTIALS_DIRECTORY secrets (layers.rs), value types and
//!                  their serde, Seconds (types.rs), validation (validate.rs); durations are
//!                  converted once, here; never binds, opens or logs
//! daemon.rs        lifecycle: bind → open store → drop privileges → READY → serve → drain → close
//! listen.rs        listener addresses, socket_mode, the sockets we created, "listening on"
//! privdrop.rs      user/group lookup, initgroups → setgid → setuid, verification
//! notify.rs        READY/STATUS/STOPPING/WATCHDOG (feature systemd)
//! logging.rs       tracing subscriber: stderr (with <N> prefixes under journald) or syslog;
//!                  logging/text.rs formats text lines' fields and timestamps cheaply
//! audit.rs         AuditEvent → one JSON object → syslog authpriv (audit/socket.rs, never
//!                  waits) | the main log | off; callers pass events, not text
//! metrics.rs       the Prometheus registry and typed metric families (labels from fixed
//!                  sets only); recording is off without metrics_listen
//! serve/           accept loop and connections (HTTP/1.1 and h2c, timeouts, drain, idle
//!                  exit); router.rs: the route table, written once (method + path → handler,
//!                  ids parsed, 404/405), which GET / lists; scrape.rs: GET /metrics on the
//!                  metrics_listen listeners
//! sweep.rs         expiry timer: once at start, then every cleanup_interval
//! admin/           `flaskpaste admin`: offline administration of an existing database
//!                  through store/ (stats, list, show, delete, purge, revoke, check;
//!                  backup.rs: the verified copy put into place; output.rs: text or JSON)
//! api/             handlers, one file per resource (paste, pastes, info, health), and what
//!                  they share: upload.rs (what may come in), access.rs (who may act),
//!                  raw.rs (the raw response), document.rs (the paste document),
//!                  options.rs (headers and query), stream.rs (large content from the store)
//! http/            the toolkit below the handlers: the request value and its context
//!                  (peer.rs: client address behind trusted proxies), responses, the error
//!                  table, security headers, rate-limit windows
//! store/           SQLite: new databases built aside, read pool, group-committing writer,
//!                  migrations, the cache of small pastes read since the last commit; only
//!                  user of rusqlite
//! security/        pure functions: identity header, MIME, entropy, passwords, proof-of-work,
//!                  anti-flood, short URL targets
//! pki.rs           (feature pki) the CA: rcgen, encrypted PKCS#8 key, issuance, CSRs,
//!                  CRL, PKCS#12; pure, persisted through store/pki.rs
//! ids.rs           PasteId, Fingerprint (one newtype pattern), hex and random bytes
//! clock.rs         now(): the one clock of handlers, the sweep and the store's callers
//! bin/fpaste/      (feature client) the fpaste client, a binary of its own: cli, settings,
//!                  http (ureq, rustls), crypto (the versioned AES-256-GCM frame), work
//!                  (proof-of-work on every core), cert, history; of this library it uses
//!                  security::pow and ids only (GET /client serves it: api/client.rs)
//! ```
//!
//! Layers, top to bottom. A module imports only from layers below its own (the test
//! `tests/layout.rs` holds the code to this list):
//!
//! ```text
//! layer: daemon
//! layer: serve sweep admin
//! layer: api
//! layer: http logging audit metrics listen notify privdrop
//! layer: config security store pki
//! layer: cli clock ids
//! ```

pub mod admin;
pub mod api;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod http;
pub mod ids;
pub mod listen;
pub mod logging;
pub mod metrics;
pub mod notify;
#[cfg(feature = "pki")]
pub mod pki;
pub mod privdrop;
pub mod security;
pub mod serve;
pub mod store;
pub mod sweep;

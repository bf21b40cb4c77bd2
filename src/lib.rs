//! flaskpaste: a security-hardened pastebin REST API served by a Unix daemon.
//!
//! ```text
//! main.rs          parse args, call daemon::run, return its sysexits code
//! cli.rs           clap flags; no figment, no I/O
//! config.rs        Config, figment layers, secrets, validation, redacted dump; never binds or logs
//! daemon.rs        lifecycle: bind → open store → drop privileges → READY → serve → drain → close
//! listen.rs        listener addresses, socket_mode, the sockets we created, "listening on"
//! privdrop.rs      user/group lookup, initgroups → setgid → setuid, verification
//! notify.rs        READY/STATUS/STOPPING/WATCHDOG (feature systemd)
//! logging.rs       tracing subscriber: stderr (with <N> prefixes under journald) or syslog;
//!                  logging/text.rs formats text lines' fields and timestamps cheaply
//! http/            accept loop, routing, request context, responses, errors, headers,
//!                  per-address rate limits
//! api/             handlers, one file per resource, their header/query options, and the
//!                  body that streams large content from the store
//! sweep.rs         expiry timer: once at start, then every cleanup_interval
//! store/           SQLite: new databases built aside, read pool, group-committing writer,
//!                  migrations, the cache of small pastes read since the last commit; only
//!                  user of rusqlite
//! ids.rs           PasteId and hex/random helpers
//! security/        pure functions: identity, MIME, entropy, passwords
//! ```
//!
//! Dependencies point downward: `daemon → http → api → {store, security}`.

pub mod api;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod http;
pub mod ids;
pub mod listen;
pub mod logging;
pub mod notify;
pub mod privdrop;
pub mod security;
pub mod store;
pub mod sweep;

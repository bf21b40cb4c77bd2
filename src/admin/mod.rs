//! `flaskpaste admin`: offline administration of the database the configuration names,
//! safe while the daemon runs (SQLite's locking; the daemon notices what changed within a
//! second). Opens an existing database only, never creates one; binds, logs and drops
//! nothing. Output forms are `output.rs`'s, the backup's file handling `backup.rs`'s.

pub mod backup;
pub mod output;

use std::path::Path;

use serde_json::json;

use crate::cli::{Action, AdminArgs, ListArgs};
use crate::config::Config;
use crate::ids::{Fingerprint, PasteId};
use crate::store::{self, Store, paste, pki, stats};
use output::Report;

/// Why an admin action failed; each maps to a sysexits code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed argument: EX_USAGE (64).
    #[error("{0}")]
    Usage(String),
    /// The database is missing or cannot be opened: EX_CANTCREAT (73).
    #[error("{0}")]
    Open(String),
    /// `check` (or a backup's copy) found problems (1).
    #[error("integrity check failed: {}", .0.join("; "))]
    Check(Vec<String>),
    /// Not found, refused, or anything else (1).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// The sysexits code of this failure.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 64,
            Error::Open(_) => 73,
            Error::Check(_) | Error::Failed(_) => 1,
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        Error::Failed(e.to_string())
    }
}

/// Runs one admin action on `config`'s database and prints its report; with `--json`
/// an error is printed as a JSON object too. The caller reports the error on stderr.
///
/// # Errors
/// The action's failure, carrying its exit code.
pub fn run(args: &AdminArgs, config: &Config) -> Result<(), Error> {
    let result = execute(&args.action, config).and_then(|r| output::print(&r, args.json));
    if let Err(e) = &result
        && args.json
    {
        // Stdout may be what failed; the error still reaches stderr and the exit code.
        let _ = output::print_error(e);
    }
    result
}

fn execute(action: &Action, config: &Config) -> Result<Report, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let store = open(&config.db)?;
        let result = act(action, &store, config).await;
        let closed = store.close().await;
        let report = result?;
        closed.map_err(|e| Error::Failed(format!("closing the database: {e}")))?;
        Ok(report)
    })
}

/// Opens the store at `db`, which must exist: a mistyped `db` must not leave an empty
/// database behind, nor report on one.
fn open(db: &Path) -> Result<Store, Error> {
    let cannot = |e: &dyn std::fmt::Display| {
        Error::Open(format!("cannot open database {}: {e}", db.display()))
    };
    std::fs::symlink_metadata(db).map_err(|e| cannot(&e))?;
    Store::open(db).map_err(|e| cannot(&e))
}

async fn act(action: &Action, store: &Store, config: &Config) -> Result<Report, Error> {
    let now = crate::clock::now();
    match action {
        Action::Stats => show_stats(store, now, config.max_storage).await,
        Action::List(args) => list(store, args, now).await,
        Action::Show { id } => show(store, id, now).await,
        Action::Delete { id } => delete(store, id).await,
        Action::Purge => purge(store, config.dedup_window.secs_i64(), now).await,
        Action::Revoke { serial } => revoke(store, serial, now).await,
        Action::Backup { path } => backup::take(store, path).await,
        Action::Check { recount } => check(store, *recount).await,
    }
}

async fn show_stats(store: &Store, now: i64, max_storage: u64) -> Result<Report, Error> {
    let (counts, stored) = store
        .read(move |c| Ok((stats::counts(c, now)?, store::usage::total(c)?)))
        .await?;
    let files = store.sizes();
    let certs = counts.certificates;
    // The shape of GET /admin/stats.
    let json = json!({
        "pastes": {"count": counts.pastes, "bytes": counts.paste_bytes},
        "short_urls": {"count": counts.short_urls},
        "storage": {"bytes": stored, "max_storage": max_storage},
        "database": {"bytes": files.database, "wal_bytes": files.wal},
        "certificates": {
            "issued": certs.issued, "active": certs.active, "revoked": certs.revoked
        },
    });
    let text = output::fields(&[
        (
            "pastes",
            format!("{} ({} bytes)", counts.pastes, counts.paste_bytes),
        ),
        ("short URLs", counts.short_urls.to_string()),
        (
            "storage",
            match max_storage {
                0 => format!("{stored} bytes (no max_storage)"),
                max => format!("{stored} of {max} bytes (max_storage)"),
            },
        ),
        (
            "certificates",
            format!(
                "{} issued, {} active, {} revoked",
                certs.issued, certs.active, certs.revoked
            ),
        ),
        ("database", format!("{} bytes", files.database)),
        ("wal", format!("{} bytes", files.wal)),
    ]);
    Ok(Report { json, text })
}

async fn list(store: &Store, args: &ListArgs, now: i64) -> Result<Report, Error> {
    if let Some(owner) = &args.owner
        && Fingerprint::parse(owner).is_none()
    {
        return Err(Error::Usage(format!(
            "invalid owner {owner:?}: 40 lower-case hex digits expected"
        )));
    }
    let q = paste::ListQuery {
        owner: args.owner.clone(),
        mime_glob: args.mime_type.clone().filter(|t| !t.is_empty()),
        after: args.after,
        before: args.before,
        limit: args.limit,
        offset: args.offset,
    };
    let (limit, offset) = (q.limit, q.offset);
    let (rows, total) = store.read(move |c| paste::list(c, &q, now)).await?;
    let json = json!({
        "pastes": rows.iter().map(output::paste_json).collect::<Vec<_>>(),
        "total": total, "limit": limit, "offset": offset,
    });
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.size.to_string(),
                p.mime_type.clone(),
                output::time(p.created_at),
                output::time(p.expires_at),
                p.owner.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut text = output::table(
        &["ID", "SIZE", "TYPE", "CREATED", "EXPIRES", "OWNER"],
        &cells,
        &[1],
    );
    text.push_str(&format!("{} of {total} paste(s)\n", rows.len()));
    Ok(Report { json, text })
}

fn paste_id(id: &str) -> Result<PasteId, Error> {
    PasteId::parse(id).ok_or_else(|| {
        Error::Usage(format!(
            "invalid paste id {id:?}: 6 to 32 lower-case hex digits expected"
        ))
    })
}

async fn show(store: &Store, id: &str, now: i64) -> Result<Report, Error> {
    let id = paste_id(id)?;
    let key = id.clone();
    let found = store
        .read(move |c| paste::get(c, key.as_str(), now))
        .await?
        .ok_or_else(|| Error::Failed(format!("paste {id} not found")))?;
    Ok(Report {
        json: output::paste_json(&found),
        text: output::paste_text(&found),
    })
}

async fn delete(store: &Store, id: &str) -> Result<Report, Error> {
    let id = paste_id(id)?;
    let key = id.clone();
    if !store.write(move |c| paste::delete(c, key.as_str())).await? {
        return Err(Error::Failed(format!("paste {id} not found")));
    }
    Ok(Report {
        json: json!({"deleted": id.as_str()}),
        text: format!("deleted paste {id}\n"),
    })
}

async fn purge(store: &Store, dedup_window: i64, now: i64) -> Result<Report, Error> {
    // In short writes, as the daemon's sweep: a running daemon's creations are not held up.
    let swept = store.purge(now, dedup_window).await?;
    Ok(Report {
        json: json!({
            "pastes": swept.pastes,
            "short_urls": swept.short_urls,
            "pow_nonces": swept.pow_nonces,
        }),
        text: format!(
            "purged {} expired paste(s), {} short URL(s), {} spent proof-of-work nonce(s)\n",
            swept.pastes, swept.short_urls, swept.pow_nonces
        ),
    })
}

async fn revoke(store: &Store, serial: &str, now: i64) -> Result<Report, Error> {
    let serial = serial.to_ascii_lowercase();
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "invalid serial {serial:?}: hex digits expected"
        )));
    }
    let target = serial.clone();
    match store.write(move |c| pki::revoke(c, &target, now)).await? {
        Ok(()) => {}
        Err(pki::NotRevoked::NotFound) => {
            return Err(Error::Failed(format!("certificate {serial} not found")));
        }
        Err(pki::NotRevoked::Already) => {
            return Err(Error::Failed(format!(
                "certificate {serial} is already revoked"
            )));
        }
    }
    Ok(Report {
        json: json!({"revoked": serial, "revoked_at": now}),
        // The CA key is the daemon's (encrypted with its password): it signs the new CRL.
        text: format!(
            "revoked certificate {serial}; a running daemon stops trusting it within a second \
             or two and signs a new CRL when GET /pki/crl is next asked\n"
        ),
    })
}

async fn check(store: &Store, recount: bool) -> Result<Report, Error> {
    if recount {
        store.write(store::usage::rebuild).await?;
    }
    let problems = store.read(store::backup::problems).await?;
    if !problems.is_empty() {
        return Err(Error::Check(problems));
    }
    Ok(Report {
        json: json!({"ok": true, "problems": []}),
        text: "ok\n".into(),
    })
}

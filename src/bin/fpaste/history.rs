//! The owner tokens of one's anonymous pastes, one JSON line each in
//! `$XDG_DATA_HOME/fpaste/history` (mode 0600), so `delete` and `update` work without a
//! certificate. Holds no content and no encryption key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::settings;

/// One anonymous paste.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub server: String,
    pub id: String,
    pub owner_token: String,
    pub expires_at: Option<i64>,
}

fn path() -> Result<PathBuf> {
    Ok(settings::data_dir()?.join("history"))
}

/// Appends an entry.
///
/// # Errors
/// When the data directory or the file cannot be written.
pub fn record(entry: &Entry) -> Result<()> {
    let path = path()?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(&line))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn entries() -> Result<Vec<Entry>> {
    let path = path()?;
    match fs::read_to_string(&path) {
        // A damaged line is skipped: the others still work.
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The owner token of paste `id` on `server`, if this machine created it.
///
/// # Errors
/// An unreadable history file.
pub fn token_for(server: &str, id: &str) -> Result<Option<String>> {
    Ok(entries()?
        .into_iter()
        .rev()
        .find(|e| e.server == server && e.id == id)
        .map(|e| e.owner_token))
}

/// Drops paste `id` of `server` (after its deletion).
///
/// # Errors
/// When the history cannot be rewritten.
pub fn forget(server: &str, id: &str) -> Result<()> {
    let all = entries()?;
    if !all.iter().any(|e| e.server == server && e.id == id) {
        return Ok(());
    }
    let mut text = Vec::new();
    for e in all.iter().filter(|e| !(e.server == server && e.id == id)) {
        text.extend(serde_json::to_vec(e)?);
        text.push(b'\n');
    }
    settings::write_private(&path()?, &text)
}

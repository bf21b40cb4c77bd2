//! `flaskpaste admin backup PATH`: a consistent copy of the database in one new file, taken
//! while the daemon keeps serving. Written under a temporary name beside PATH (mode 0600 from
//! the start), checked, synced, then linked into place: a crash never leaves half a file at
//! PATH, and an existing PATH is never overwritten. The SQL is `store::backup`'s.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::Error;
use super::output::Report;
use crate::store::{self, Store};

/// Takes the backup and reports where, how many pastes and how many bytes.
///
/// # Errors
/// PATH exists or its directory does not, the copy cannot be written, or it failed its
/// integrity check.
pub async fn take(store: &Store, dest: &Path) -> Result<Report, Error> {
    if std::fs::symlink_metadata(dest).is_ok() {
        return Err(Error::Failed(format!(
            "{} exists; a backup never overwrites a file",
            dest.display()
        )));
    }
    let temp = temp_path(dest)?;
    let written = write(store, dest, &temp).await;
    remove_temp(&temp);
    let (pastes, bytes) = written?;
    Ok(Report {
        json: json!({"path": dest, "pastes": pastes, "bytes": bytes, "integrity": "ok"}),
        text: format!(
            "backup written to {}: {pastes} paste(s), {bytes} bytes, integrity ok\n",
            dest.display()
        ),
    })
}

/// `.NAME.PID.tmp` beside `dest`.
fn temp_path(dest: &Path) -> Result<PathBuf, Error> {
    let name = dest
        .file_name()
        .ok_or_else(|| Error::Usage(format!("{} names no file", dest.display())))?;
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".{}.tmp", std::process::id()));
    Ok(dest.with_file_name(hidden))
}

/// Copies, checks, syncs and links the copy into place; returns its pastes and bytes.
async fn write(store: &Store, dest: &Path, temp: &Path) -> Result<(i64, u64), Error> {
    let file_error =
        |path: &Path, e: std::io::Error| Error::Failed(format!("{}: {e}", path.display()));
    // Empty, and private before a byte of any paste is in it.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .map_err(|e| {
            Error::Failed(format!(
                "cannot write a backup beside {}: {e}",
                dest.display()
            ))
        })?;
    store.vacuum_into(temp.to_owned()).await?;
    let copy = temp.to_owned();
    let inspection = tokio::task::spawn_blocking(move || store::backup::inspect_copy(&copy))
        .await
        .map_err(|e| Error::Failed(e.to_string()))??;
    if !inspection.problems.is_empty() {
        return Err(Error::Check(inspection.problems));
    }
    std::fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_error(temp, e))?;
    // A link, unlike a rename, never replaces a file that appeared at PATH meanwhile.
    match std::fs::hard_link(temp, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Failed(format!(
                "{} appeared while the backup was written; not overwritten",
                dest.display()
            )));
        }
        // A file system without hard links: the rename, right after one more look.
        Err(_) if std::fs::symlink_metadata(dest).is_err() => {
            std::fs::rename(temp, dest).map_err(|e| file_error(dest, e))?;
        }
        Err(e) => return Err(file_error(dest, e)),
    }
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| file_error(dir, e))?;
    let bytes = std::fs::metadata(dest)
        .map_err(|e| file_error(dest, e))?
        .len();
    Ok((inspection.pastes, bytes))
}

/// Removes the temporary copy and any journal SQLite left beside it.
fn remove_temp(temp: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = temp.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_copy_is_hidden_beside_the_backup() {
        let temp = temp_path(Path::new("/srv/b/pastes.db")).unwrap();
        assert_eq!(
            temp,
            PathBuf::from(format!("/srv/b/.pastes.db.{}.tmp", std::process::id()))
        );
        assert!(matches!(temp_path(Path::new("/")), Err(Error::Usage(_))));
    }
}

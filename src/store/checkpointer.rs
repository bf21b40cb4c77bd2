//! The writer's copies of the WAL into the database during writes, in place of SQLite's
//! automatic checkpoint. That one runs inside a commit, so the batch's clients wait for the
//! copy and the sync after it; and idle readers still hold the snapshot of the commit
//! before, so it cannot copy the last commit's pages and the WAL never starts over (it grew
//! to 136 MiB in ten seconds of creations). Here the copy runs once the batch's clients
//! have their answers, after idle readers let go.

use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use super::Error;

/// Frames in the WAL after which a copy is due: the threshold of SQLite's automatic
/// checkpoint.
const FRAMES: c_int = 1000;

/// Whether a copy is due, set by the writer's commits.
pub(super) struct Due(Arc<AtomicBool>);

impl Due {
    /// Hooks the writer's commits, which turns SQLite's automatic checkpoint off.
    ///
    /// # Errors
    /// SQLite errors.
    pub(super) fn hook(writer: &mut Connection) -> Result<Due, Error> {
        let due = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&due);
        writer.wal_hook(Some(move |_: &mut Wal, frames: c_int| {
            if frames >= FRAMES {
                set.store(true, Ordering::Relaxed);
            }
            Ok(())
        }))?;
        Ok(Due(due))
    }

    /// Copies what no reader still needs (PASSIVE: waits for nobody) if a commit made that
    /// due. The writer's next transaction then starts the WAL over, once the readers that
    /// began during the copy have let go as well. Returns whether it ran.
    ///
    /// # Errors
    /// SQLite errors.
    pub(super) fn run(&self, writer: &Connection) -> Result<bool, Error> {
        if !self.0.swap(false, Ordering::Relaxed) {
            return Ok(false);
        }
        writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(true)
    }
}

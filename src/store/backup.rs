//! Copies and checks of the database: a consistent snapshot into a new file (`VACUUM INTO`,
//! which reads one snapshot and never holds up the writer), `PRAGMA integrity_check` and
//! `foreign_key_check`, and the inspection of a copy. Where copies go and how they are put
//! into place is the caller's; nothing here removes or renames a file.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, Error, NOFOLLOW, Store};

/// What a copy of the database holds, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// What `integrity_check` and `foreign_key_check` reported; empty when all is well.
    pub problems: Vec<String>,
    /// Paste rows in the copy, expired ones included.
    pub pastes: i64,
}

/// Writes a consistent copy of the database at `db` into `dest`, which must be absent or an
/// empty file, through a read-only connection of its own: one read transaction, so every
/// commit made before the call is in the copy, and writers go on meanwhile.
///
/// # Errors
/// SQLite errors (`dest` not empty, disk full); a `dest` that is not UTF-8.
pub fn vacuum_into(db: &Path, dest: &Path) -> Result<(), Error> {
    let name = dest.to_str().ok_or_else(|| Error::File {
        path: dest.to_owned(),
        source: std::io::Error::other("the path is not UTF-8"),
    })?;
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | NOFOLLOW,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute("VACUUM INTO ?1", [name])?;
    Ok(())
}

/// What `PRAGMA integrity_check` and `PRAGMA foreign_key_check` find wrong; empty when
/// the database is sound.
///
/// # Errors
/// SQLite errors (a database too damaged to be checked at all).
pub fn problems(c: &Connection) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    {
        let mut st = c.prepare("PRAGMA integrity_check")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            let row = row?;
            if row != "ok" {
                found.push(row);
            }
        }
    }
    let mut st = c.prepare("PRAGMA foreign_key_check")?;
    let rows = st.query_map([], |r| {
        Ok(format!(
            "foreign key: row {} of {} has no parent in {}",
            r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
            r.get::<_, String>(0)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        found.push(row?);
    }
    if found.is_empty() {
        for (owner, kept, counted) in super::usage::verify(c)? {
            found.push(format!(
                "stored bytes of {}: {kept} kept, the pastes hold {counted} (the daemon \
                 recounts them at its next start)",
                owner.as_deref().unwrap_or("all pastes")
            ));
        }
    }
    Ok(found)
}

/// Opens the copy at `path`, makes it a self-contained file (rollback journal, so no WAL
/// or SHM file belongs with it), and checks it.
///
/// # Errors
/// The copy cannot be opened or read as a database.
pub fn inspect_copy(path: &Path) -> Result<Inspection, Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | NOFOLLOW,
    )?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    let problems = problems(&conn)?;
    let pastes = conn.query_row("SELECT count(*) FROM pastes", [], |r| r.get(0))?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(Inspection { problems, pastes })
}

impl Store {
    /// [`vacuum_into`] on the blocking pool, from this store's database.
    ///
    /// # Errors
    /// As [`vacuum_into`].
    pub async fn vacuum_into(&self, dest: PathBuf) -> Result<(), Error> {
        let db = self.inner.path.clone();
        tokio::task::spawn_blocking(move || vacuum_into(&db, &dest))
            .await
            .map_err(|e| Error::Join(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_copy_taken_beside_an_open_writer_is_whole_and_self_contained() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO pastes (id, mime_type, size, content_hash, created_at,
                         last_accessed, expires_at, content)
                     VALUES ('aaaaaa', 'text/plain', 3, 'h', 0, 0, 10, x'616263')",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let copy = dir.path().join("copy.db");
        std::fs::write(&copy, b"").unwrap();
        store.vacuum_into(copy.clone()).await.unwrap();
        let found = inspect_copy(&copy).unwrap();
        assert_eq!(
            found,
            Inspection {
                problems: Vec::new(),
                pastes: 1
            }
        );
        assert!(!dir.path().join("copy.db-wal").exists());
        // A copy is never written over.
        assert!(store.vacuum_into(copy).await.is_err());
        store.close().await.unwrap();
    }

    #[test]
    fn a_sound_database_has_no_problems_and_a_damaged_one_has_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let mut c = Connection::open(&path).unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        assert_eq!(problems(&c).unwrap(), Vec::<String>::new());
        c.execute_batch(
            "CREATE TABLE big (v TEXT); CREATE INDEX big_v ON big (v);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO big SELECT printf('%0200d', i) FROM n;",
        )
        .unwrap();
        let root: i64 = c
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'big_v'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        drop(c);
        // Zero the root page of the index (pages count from 1; 4096 bytes by default).
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096 * (usize::try_from(root).unwrap() - 1);
        bytes[page..page + 4096].fill(0);
        std::fs::write(&path, bytes).unwrap();
        let c = Connection::open(&path).unwrap();
        assert!(!problems(&c).unwrap().is_empty());
    }
}

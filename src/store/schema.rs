//! Ordered schema migrations, tracked in `PRAGMA user_version`. The only place schema changes.

use rusqlite::Connection;

use super::Error;

/// Migration N (1-based) brings the schema from version N-1 to N. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: pastes, as the API reference describes them.
    "CREATE TABLE pastes (
        id               TEXT PRIMARY KEY,
        content          BLOB NOT NULL,
        mime_type        TEXT NOT NULL,
        size             INTEGER NOT NULL,
        content_hash     TEXT NOT NULL,
        owner            TEXT,
        owner_token_hash TEXT,
        created_at       INTEGER NOT NULL,
        last_accessed    INTEGER NOT NULL,
        expires_at       INTEGER,
        burn_after_read  INTEGER NOT NULL DEFAULT 0,
        password_hash    TEXT,
        display_name     TEXT
    );
    CREATE INDEX pastes_owner_created ON pastes(owner, created_at);
    CREATE INDEX pastes_expires ON pastes(expires_at);",
    // 2: inactivity expiry (seconds a read extends the paste by; NULL for a fixed expiry)
    //    and the duplicate-content throttle.
    "ALTER TABLE pastes ADD COLUMN inactivity INTEGER;
    CREATE TABLE content_hashes (
        hash         TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL
    );",
    // 3: content moves to the end of the row. Reading the metadata of a large paste no
    //    longer walks its overflow chain, and SQLite leaves a trailing zeroblob unexpanded,
    //    so large content is written in chunks without being held whole a second time.
    "CREATE TABLE pastes_v3 (
        id               TEXT PRIMARY KEY,
        mime_type        TEXT NOT NULL,
        size             INTEGER NOT NULL,
        content_hash     TEXT NOT NULL,
        owner            TEXT,
        owner_token_hash TEXT,
        created_at       INTEGER NOT NULL,
        last_accessed    INTEGER NOT NULL,
        expires_at       INTEGER,
        inactivity       INTEGER,
        burn_after_read  INTEGER NOT NULL DEFAULT 0,
        password_hash    TEXT,
        display_name     TEXT,
        content          BLOB NOT NULL
    );
    INSERT INTO pastes_v3 (rowid, id, mime_type, size, content_hash, owner, owner_token_hash,
        created_at, last_accessed, expires_at, inactivity, burn_after_read, password_hash,
        display_name, content)
    SELECT rowid, id, mime_type, size, content_hash, owner, owner_token_hash, created_at,
        last_accessed, expires_at, inactivity, burn_after_read, password_hash, display_name,
        content FROM pastes;
    DROP TABLE pastes;
    ALTER TABLE pastes_v3 RENAME TO pastes;
    CREATE INDEX pastes_owner_created ON pastes(owner, created_at);
    CREATE INDEX pastes_expires ON pastes(expires_at);",
];

/// The schema version this build writes.
#[must_use]
pub fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

/// Applies every migration the database lacks, all in one transaction: one commit (and
/// one fsync) for a new database, and no half-migrated schema if one fails.
///
/// # Errors
/// A database from a newer build, or a failing migration (all of them are rolled back).
pub fn migrate(conn: &mut Connection) -> Result<u32, Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(Error::TooNew {
            found: current,
            known: latest(),
        });
    }
    if current == latest() {
        return Ok(current);
    }
    let tx = conn.transaction()?;
    for sql in MIGRATIONS.iter().skip(current as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", latest())?;
    tx.commit()?;
    Ok(latest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM pastes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn moving_content_last_keeps_every_paste_and_its_rowid() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.execute_batch(MIGRATIONS[1]).unwrap();
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.execute(
            "INSERT INTO pastes (rowid, id, content, mime_type, size, content_hash, owner, \
             created_at, last_accessed, expires_at, inactivity, display_name) \
             VALUES (7, 'abcdef', x'00ff', 'application/octet-stream', 2, 'h', 'o', 1, 2, 3, 4, 'n')",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        let row: (i64, Vec<u8>, String, i64, Option<String>) = conn
            .query_row(
                "SELECT rowid, content, mime_type, inactivity, display_name FROM pastes \
                 WHERE id = 'abcdef'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                7,
                vec![0, 255],
                "application/octet-stream".into(),
                4,
                Some("n".into())
            )
        );
        let last: String = conn
            .query_row(
                "SELECT name FROM pragma_table_info('pastes') ORDER BY cid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(last, "content");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::TooNew { .. })));
    }
}

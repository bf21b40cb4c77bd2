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
];

/// The schema version this build writes.
#[must_use]
pub fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

/// Applies every migration the database lacks, each in its own transaction.
///
/// # Errors
/// A database from a newer build, or a failing migration (which is rolled back).
pub fn migrate(conn: &mut Connection) -> Result<u32, Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(Error::TooNew {
            found: current,
            known: latest(),
        });
    }
    for (version, sql) in (current + 1..).zip(MIGRATIONS.iter().skip(current as usize)) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
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
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::TooNew { .. })));
    }
}

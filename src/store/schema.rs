//! Ordered schema migrations, tracked in `PRAGMA user_version`. The only place schema changes.

use rusqlite::Connection;

use super::Error;

/// The table of stored bytes and the triggers that keep it exact (see `store::usage`):
/// the row with the empty owner holds the total, one row per fingerprint owning content.
/// A macro, so that the migration and the latest schema share one text.
macro_rules! usage_schema {
    () => {
        "CREATE TABLE storage_usage (
        owner TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER pastes_usage_insert AFTER INSERT ON pastes BEGIN
        UPDATE storage_usage SET bytes = bytes + NEW.size WHERE owner = '';
    END;
    CREATE TRIGGER pastes_usage_insert_owned AFTER INSERT ON pastes
        WHEN NEW.owner IS NOT NULL BEGIN
        INSERT INTO storage_usage (owner, bytes) VALUES (NEW.owner, NEW.size)
            ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
    END;
    CREATE TRIGGER pastes_usage_delete AFTER DELETE ON pastes BEGIN
        UPDATE storage_usage SET bytes = bytes - OLD.size WHERE owner = '';
    END;
    CREATE TRIGGER pastes_usage_delete_owned AFTER DELETE ON pastes
        WHEN OLD.owner IS NOT NULL BEGIN
        UPDATE storage_usage SET bytes = bytes - OLD.size WHERE owner = OLD.owner;
        DELETE FROM storage_usage WHERE owner = OLD.owner AND bytes = 0;
    END;
    CREATE TRIGGER pastes_usage_update AFTER UPDATE OF size, owner ON pastes BEGIN
        UPDATE storage_usage SET bytes = bytes - OLD.size WHERE owner IN ('', OLD.owner);
        DELETE FROM storage_usage WHERE owner = OLD.owner AND bytes = 0;
        UPDATE storage_usage SET bytes = bytes + NEW.size WHERE owner = '';
        INSERT INTO storage_usage (owner, bytes) SELECT NEW.owner, NEW.size
            WHERE NEW.owner IS NOT NULL
            ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
    END;"
    };
}

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
    // 4: short URLs, spent proof-of-work nonces, and the server's own settings (the
    //    generated challenge-signing key).
    "CREATE TABLE short_urls (
        id               TEXT PRIMARY KEY,
        target_url       TEXT NOT NULL,
        owner            TEXT,
        owner_token_hash TEXT,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        access_count     INTEGER NOT NULL DEFAULT 0,
        last_accessed    INTEGER
    );
    CREATE INDEX short_urls_owner_created ON short_urls(owner, created_at);
    CREATE INDEX short_urls_expires ON short_urls(expires_at);
    CREATE TABLE pow_spent (
        nonce   TEXT PRIMARY KEY,
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;",
    // 5: the PKI: the CA (its key encrypted) with its current CRL, and every certificate
    //    issued, with who asked for it, its revocation and the admin flag.
    "CREATE TABLE pki_ca (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        common_name   TEXT NOT NULL,
        cert_pem      TEXT NOT NULL,
        key_pem       TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        crl_pem       TEXT,
        crl_number    INTEGER NOT NULL DEFAULT 0,
        crl_next      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE certificates (
        serial       TEXT PRIMARY KEY,
        common_name  TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        kind         TEXT NOT NULL,
        issued_to    TEXT,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        admin        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX certificates_fingerprint ON certificates(fingerprint);
    CREATE INDEX certificates_issued_to ON certificates(issued_to);",
    // 6: stored bytes in all and per owner, for the storage quota, counted once here.
    concat!(
        usage_schema!(),
        "
    INSERT INTO storage_usage (owner, bytes) SELECT '', coalesce(sum(size), 0) FROM pastes;
    INSERT INTO storage_usage (owner, bytes) SELECT owner, sum(size) FROM pastes
        WHERE owner IS NOT NULL GROUP BY owner HAVING sum(size) > 0;"
    ),
    // 7: an owner's listing and its count read the index alone (expiry included); pastes
    // without an owner, most of them, stay out of it.
    "DROP INDEX pastes_owner_created;
    CREATE INDEX pastes_owner_created ON pastes(owner, created_at, expires_at)
        WHERE owner IS NOT NULL;",
    // 8: fewer pages written per creation. The dedup counts lose their second b-tree (a
    //    rowid table beside its key's index); spent nonces are kept in expiry order, so
    //    that the nonces of one commit share the last page instead of one random page
    //    each, and a sweep forgets them from the front.
    "CREATE TABLE content_hashes_8 (
        hash         TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO content_hashes_8 SELECT hash, window_start, count FROM content_hashes;
    DROP TABLE content_hashes;
    ALTER TABLE content_hashes_8 RENAME TO content_hashes;
    CREATE TABLE pow_spent_8 (
        nonce   TEXT NOT NULL,
        expires INTEGER NOT NULL,
        PRIMARY KEY (expires, nonce)
    ) WITHOUT ROWID;
    INSERT INTO pow_spent_8 SELECT nonce, expires FROM pow_spent;
    DROP TABLE pow_spent;
    ALTER TABLE pow_spent_8 RENAME TO pow_spent;",
    // 9: the counts of live pastes and their bytes (the metrics after every sweep, the
    //    admin's stats) read the expiry index alone instead of every row of the table.
    "DROP INDEX pastes_expires;
    CREATE INDEX pastes_expires ON pastes(expires_at, size);",
];

/// The schema at the latest version, created in one step for a new database. Replaying the
/// migrations there would rebuild tables that are still empty, which is most of the work of
/// a first start. A test checks that both ways give the same tables, columns and indexes.
const LATEST: &str = concat!(
    "CREATE TABLE pastes (
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
    CREATE INDEX pastes_owner_created ON pastes(owner, created_at, expires_at)
        WHERE owner IS NOT NULL;
    CREATE INDEX pastes_expires ON pastes(expires_at, size);
    CREATE TABLE content_hashes (
        hash         TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE short_urls (
        id               TEXT PRIMARY KEY,
        target_url       TEXT NOT NULL,
        owner            TEXT,
        owner_token_hash TEXT,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        access_count     INTEGER NOT NULL DEFAULT 0,
        last_accessed    INTEGER
    );
    CREATE INDEX short_urls_owner_created ON short_urls(owner, created_at);
    CREATE INDEX short_urls_expires ON short_urls(expires_at);
    CREATE TABLE pow_spent (
        nonce   TEXT NOT NULL,
        expires INTEGER NOT NULL,
        PRIMARY KEY (expires, nonce)
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE pki_ca (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        common_name   TEXT NOT NULL,
        cert_pem      TEXT NOT NULL,
        key_pem       TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        crl_pem       TEXT,
        crl_number    INTEGER NOT NULL DEFAULT 0,
        crl_next      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE certificates (
        serial       TEXT PRIMARY KEY,
        common_name  TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        kind         TEXT NOT NULL,
        issued_to    TEXT,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        admin        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX certificates_fingerprint ON certificates(fingerprint);
    CREATE INDEX certificates_issued_to ON certificates(issued_to);
    ",
    usage_schema!(),
    "
    INSERT INTO storage_usage (owner, bytes) VALUES ('', 0);"
);

/// The name under which the generated challenge-signing key is kept in `settings`.
pub(super) const POW_SECRET: &str = "pow_secret";
/// Bytes of a generated challenge-signing key.
pub(super) const POW_SECRET_LEN: usize = 32;

/// The schema version this build writes.
#[must_use]
pub fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

/// Applies every migration the database lacks, all in one transaction, so that no failure
/// leaves a half-migrated schema. An empty database gets the latest schema in one step.
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
    let empty = current == 0
        && tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })? == 0;
    if empty {
        tx.execute_batch(LATEST)?;
    } else {
        for sql in MIGRATIONS.iter().skip(current as usize) {
            tx.execute_batch(sql)?;
        }
    }
    // Made with the table, so that starting never writes: a new database is built aside
    // without syncs, and a start without a write leaves the WAL empty.
    tx.execute(
        "INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)",
        rusqlite::params![POW_SECRET, crate::ids::random_bytes(POW_SECRET_LEN)],
    )?;
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

    /// Every row of `sql`, its columns as text.
    fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
        use rusqlite::types::Value;
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get::<_, Value>(i)? {
                        Value::Null => "NULL".to_owned(),
                        Value::Integer(v) => v.to_string(),
                        Value::Real(v) => v.to_string(),
                        Value::Text(v) => v,
                        Value::Blob(v) => format!("{v:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Tables, their columns, and their indexes with their columns, in a comparable form
    /// (SQLite names a primary key's index after the table it was created as).
    fn shape(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for table in rows(
            conn,
            "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
        ) {
            let table = &table[0];
            out.push(format!("table {table}"));
            for column in rows(
                conn,
                &format!("SELECT * FROM pragma_table_xinfo('{table}')"),
            ) {
                out.push(format!("  column {}", column.join(" ")));
            }
            let indexes = rows(
                conn,
                &format!(
                    "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{table}') \
                     ORDER BY origin, name"
                ),
            );
            for index in indexes {
                let label = if index[0].starts_with("sqlite_autoindex_") {
                    "(primary key)"
                } else {
                    &index[0]
                };
                out.push(format!("  index {label} {}", index[1..].join(" ")));
                for key in rows(
                    conn,
                    &format!("SELECT * FROM pragma_index_xinfo('{}')", index[0]),
                ) {
                    out.push(format!("    key {}", key.join(" ")));
                }
            }
        }
        for trigger in rows(
            conn,
            "SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name",
        ) {
            out.push(format!("trigger {}", trigger.join(" ")));
        }
        out
    }

    #[test]
    fn a_new_database_gets_the_schema_the_migrations_build() {
        let mut replayed = Connection::open_in_memory().unwrap();
        let tx = replayed.transaction().unwrap();
        for sql in MIGRATIONS {
            tx.execute_batch(sql).unwrap();
        }
        tx.commit().unwrap();
        let mut fresh = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut fresh).unwrap(), latest());
        let want = shape(&replayed);
        assert!(want.len() > 20, "{want:#?}");
        assert_eq!(shape(&fresh), want);
    }

    #[test]
    fn the_usage_migration_counts_the_pastes_already_stored() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..5] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 5).unwrap();
        for (id, owner, size) in [("a", None, 3), ("b", Some("fp"), 4), ("c", Some("fp"), 5)] {
            tx.execute(
                "INSERT INTO pastes (id, mime_type, size, content_hash, owner, created_at, \
                 last_accessed, expires_at, content) VALUES (?1, 't', ?2, 'h', ?3, 1, 1, 9, x'')",
                rusqlite::params![id, size, owner],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        assert_eq!(super::super::usage::total(&conn).unwrap(), 12);
        assert!(super::super::usage::verify(&conn).unwrap().is_empty());
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::TooNew { .. })));
    }
}

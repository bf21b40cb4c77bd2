//! What the store holds, counted for `GET /admin/stats`: live pastes and their bytes, live
//! short URLs, certificates. Plain sync queries; never HTTP types.

use rusqlite::Connection;

use super::Error;

/// Counts of what the database holds at one moment (one read snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Live (unexpired) pastes.
    pub pastes: i64,
    /// Content bytes of the live pastes.
    pub paste_bytes: i64,
    /// Live (unexpired) short URLs.
    pub short_urls: i64,
    /// Certificates the PKI issued.
    pub certificates: Certificates,
}

/// Certificates the PKI issued; all zero when its tables are missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Certificates {
    /// Every certificate ever issued, revoked and expired ones included.
    pub issued: i64,
    /// Neither revoked nor expired.
    pub active: i64,
    /// Revoked.
    pub revoked: i64,
}

/// Live pastes and their bytes: read from the expiry index alone (a test checks the plan),
/// which at a million pastes takes a tenth of the time of visiting every row.
const LIVE_PASTES: &str =
    "SELECT count(*), coalesce(sum(size), 0) FROM pastes WHERE expires_at > ?1";

/// Page cache the counts may fill, KiB. They read a whole index once; a reader's own cache
/// (2 MiB) would keep that much of it, which is a fifth of the daemon's memory at rest.
const COUNT_CACHE_KIB: i64 = 256;

/// Counts what is live at `now`, with the connection's page cache held to
/// [`COUNT_CACHE_KIB`] meanwhile.
///
/// # Errors
/// SQLite errors.
pub fn counts(c: &Connection, now: i64) -> Result<Counts, Error> {
    super::with_cache_kib(c, COUNT_CACHE_KIB, || count(c, now))
}

fn count(c: &Connection, now: i64) -> Result<Counts, Error> {
    let (pastes, paste_bytes) = c
        .prepare_cached(LIVE_PASTES)?
        .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let short_urls = c
        .prepare_cached("SELECT count(*) FROM short_urls WHERE expires_at > ?1")?
        .query_row([now], |r| r.get(0))?;
    Ok(Counts {
        pastes,
        paste_bytes,
        short_urls,
        certificates: certificates(c, now)?,
    })
}

fn certificates(c: &Connection, now: i64) -> Result<Certificates, Error> {
    let present = c
        .prepare_cached(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'certificates'",
        )?
        .exists([])?;
    if !present {
        return Ok(Certificates::default());
    }
    let found = c
        .prepare_cached(
            "SELECT count(*), \
             coalesce(sum(revoked_at IS NULL AND expires_at > ?1), 0), \
             coalesce(sum(revoked_at IS NOT NULL), 0) FROM certificates",
        )?
        .query_row([now], |r| {
            Ok(Certificates {
                issued: r.get(0)?,
                active: r.get(1)?,
                revoked: r.get(2)?,
            })
        })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    #[test]
    fn an_empty_database_counts_zero() {
        assert_eq!(counts(&db(), 100).unwrap(), Counts::default());
    }

    #[test]
    fn only_live_rows_count_and_certificates_by_standing() {
        let c = db();
        c.execute_batch(
            "INSERT INTO pastes (id, mime_type, size, content_hash, created_at, last_accessed,
                 expires_at, content) VALUES
                 ('aaaa', 'text/plain', 3, 'h1', 0, 0, 200, x'616263'),
                 ('bbbb', 'text/plain', 5, 'h2', 0, 0, 200, x'6162636465'),
                 ('cccc', 'text/plain', 7, 'h3', 0, 0, 50, x'61626364656667');
             INSERT INTO short_urls (id, target_url, created_at, expires_at) VALUES
                 ('live0001', 'https://a.example/', 0, 200),
                 ('gone0001', 'https://b.example/', 0, 50);
             INSERT INTO certificates (serial, common_name, fingerprint, kind, created_at,
                 expires_at, revoked_at) VALUES
                 ('01', 'a', 'f1', 'registration', 0, 200, NULL),
                 ('02', 'b', 'f2', 'issue', 0, 200, 60),
                 ('03', 'c', 'f3', 'issue', 0, 50, NULL);",
        )
        .unwrap();
        let found = counts(&c, 100).unwrap();
        assert_eq!(
            found,
            Counts {
                pastes: 2,
                paste_bytes: 8,
                short_urls: 1,
                certificates: Certificates {
                    issued: 3,
                    active: 1,
                    revoked: 1
                },
            }
        );
    }

    #[test]
    fn counting_gives_the_connection_its_page_cache_back() {
        let c = db();
        c.pragma_update(None, "cache_size", -2000).unwrap();
        counts(&c, 100).unwrap();
        let cache: i64 = c.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap();
        assert_eq!(cache, -2000);
    }

    #[test]
    fn live_pastes_and_their_bytes_are_counted_from_the_expiry_index_alone() {
        let plan: Vec<String> = db()
            .prepare(&format!("EXPLAIN QUERY PLAN {LIVE_PASTES}"))
            .unwrap()
            .query_map([100], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH pastes USING COVERING INDEX pastes_expires (expires_at>?)"]
        );
    }

    #[test]
    fn without_the_pki_tables_certificates_count_zero() {
        let c = db();
        c.execute_batch("DROP TABLE certificates").unwrap();
        assert_eq!(
            counts(&c, 100).unwrap().certificates,
            Certificates::default()
        );
    }
}

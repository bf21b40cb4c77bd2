//! One expiry sweep pass, the one definition of it: delete expired pastes and short URLs,
//! forget spent proof-of-work nonces (one write), then truncate the WAL. The timer and
//! `POST /admin/cleanup` both run it; neither logs here.

use rusqlite::Connection;

use super::{Error, Store, paste, pow, short};

/// What the purge of one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired pastes.
    pub pastes: usize,
    /// Expired short URLs.
    pub short_urls: usize,
    /// Spent proof-of-work nonces whose tokens have expired.
    pub pow_nonces: usize,
}

/// What one sweep pass did: its purge, and the checkpoint after it (as
/// [`Store::checkpoint`] answers).
#[derive(Debug)]
pub struct Pass {
    /// The purge's counts.
    pub purged: Result<Swept, Error>,
    /// Whether the WAL was truncated.
    pub checkpoint: Result<bool, Error>,
}

/// Deletes what expired by `now`: pastes, short URLs, dedup windows older than
/// `dedup_window` seconds, and spent nonces.
///
/// # Errors
/// SQLite errors.
pub fn purge_expired(c: &Connection, now: i64, dedup_window: i64) -> Result<Swept, Error> {
    Ok(Swept {
        pastes: paste::purge_expired(c, now, dedup_window)?,
        short_urls: short::purge_expired(c, now)?,
        pow_nonces: pow::purge_spent(c, now)?,
    })
}

impl Store {
    /// Runs one sweep pass: [`purge_expired`] through the writer, then the checkpoint, which
    /// runs even when the purge failed: burned and deleted pastes, too, leave old copies in
    /// the WAL until it is emptied.
    pub async fn sweep(&self, now: i64, dedup_window: i64) -> Pass {
        let purged = self
            .write(move |c| purge_expired(c, now, dedup_window))
            .await;
        let checkpoint = self.checkpoint().await;
        Pass { purged, checkpoint }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_counts_what_it_deleted_and_nothing_the_second_time() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c.execute_batch(
            "INSERT INTO short_urls (id, target_url, created_at, expires_at) VALUES
                 ('gone0001', 'https://a.example/', 0, 10),
                 ('kept0001', 'https://b.example/', 0, 100);
             INSERT INTO pow_spent (nonce, expires) VALUES ('n1', 10), ('n2', 100);",
        )
        .unwrap();
        let first = purge_expired(&c, 50, 0).unwrap();
        assert_eq!(
            first,
            Swept {
                pastes: 0,
                short_urls: 1,
                pow_nonces: 1
            }
        );
        assert_eq!(purge_expired(&c, 50, 0).unwrap(), Swept::default());
    }
}

//! One expiry sweep pass, the one definition of it: delete expired pastes (in short
//! writes), then short URLs and spent proof-of-work nonces (one write), then truncate the
//! WAL. The timer and `POST /admin/cleanup` both run it, `flaskpaste admin purge` its
//! purge; none logs here.

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

/// Expired pastes one write of a daemon's sweep deletes at most: about 50 ms of work, so
/// that creations queued behind it wait that long at worst, not for the whole sweep.
pub const PASTES_PER_WRITE: usize = 500;

impl Store {
    /// Runs one sweep pass: expired pastes in writes of [`PASTES_PER_WRITE`], then the
    /// rest of [`purge_expired`], then the checkpoint, which runs even when the purge
    /// failed: burned and deleted pastes, too, leave old copies in the WAL until it is
    /// emptied.
    pub async fn sweep(&self, now: i64, dedup_window: i64) -> Pass {
        let purged = self.purge(now, dedup_window).await;
        let checkpoint = self.checkpoint().await;
        Pass { purged, checkpoint }
    }

    /// Deletes what expired by `now`: [`purge_expired`], with expired pastes first in
    /// writes of [`PASTES_PER_WRITE`].
    ///
    /// # Errors
    /// SQLite errors; what earlier writes deleted stays deleted.
    pub async fn purge(&self, now: i64, dedup_window: i64) -> Result<Swept, Error> {
        let mut pastes = 0;
        loop {
            let n = self
                .write(move |c| paste::purge_expired_some(c, now, PASTES_PER_WRITE))
                .await?;
            pastes += n;
            if n < PASTES_PER_WRITE {
                break;
            }
        }
        let mut swept = self
            .write(move |c| purge_expired(c, now, dedup_window))
            .await?;
        swept.pastes += pastes;
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sweep_deletes_in_several_writes_every_expired_paste_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        let expired = PASTES_PER_WRITE * 2 + 7;
        store
            .write(move |c| {
                let mut insert = c.prepare(
                    "INSERT INTO pastes (id, mime_type, size, content_hash, created_at, \
                     last_accessed, expires_at, content) VALUES (?1, 'text/plain', 1, 'h', 0, 0, ?2, x'61')",
                )?;
                for i in 0..expired + 3 {
                    let expires = if i < expired { 10 } else { 100 };
                    insert.execute(rusqlite::params![format!("p{i:07}"), expires])?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let pass = store.sweep(50, 0).await;
        assert_eq!(pass.purged.unwrap().pastes, expired);
        let left: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM pastes", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(left, 3);
        assert_eq!(store.sweep(50, 0).await.purged.unwrap(), Swept::default());
        store.close().await.unwrap();
    }

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

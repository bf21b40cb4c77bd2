//! Short URL rows: plain synchronous SQL on a connection, and the redirect counts gathered
//! in memory between writes. Expired rows count as absent everywhere, before the sweep
//! deletes them.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};

pub use super::Refusal;
use super::{Error, dedup};

/// A short URL to insert.
#[derive(Debug, Clone)]
pub struct NewShort {
    pub id: String,
    pub target_url: String,
    pub owner: Option<String>,
    pub owner_token_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A stored short URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    pub id: String,
    pub target_url: String,
    pub owner: Option<String>,
    pub owner_token_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub access_count: i64,
    pub last_accessed: Option<i64>,
}

impl NewShort {
    /// The short URL as a lookup will return it once inserted.
    #[must_use]
    pub fn to_short(&self) -> Short {
        Short {
            id: self.id.clone(),
            target_url: self.target_url.clone(),
            owner: self.owner.clone(),
            owner_token_hash: self.owner_token_hash.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            access_count: 0,
            last_accessed: None,
        }
    }
}

/// The columns [`from_row`] reads.
macro_rules! columns {
    () => {
        "id, target_url, owner, owner_token_hash, created_at, expires_at, access_count, \
         last_accessed"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Short> {
    Ok(Short {
        id: r.get(0)?,
        target_url: r.get(1)?,
        owner: r.get(2)?,
        owner_token_hash: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        access_count: r.get(6)?,
        last_accessed: r.get(7)?,
    })
}

/// Counts the target against the duplicate throttle under `url_key` (a hash of the URL
/// that cannot be a paste's content hash) and inserts the short URL, atomically.
///
/// # Errors
/// SQLite errors.
pub fn insert(
    c: &Connection,
    s: &NewShort,
    url_key: &str,
    dedup_window: i64,
    dedup_max: i64,
) -> Result<Result<(), Refusal>, Error> {
    if c.prepare_cached("SELECT 1 FROM short_urls WHERE id = ?1")?
        .exists([&s.id])?
    {
        return Ok(Err(Refusal::IdTaken));
    }
    if dedup_max > 0
        && let Some(count) = dedup::count(c, url_key, s.created_at, dedup_window, dedup_max)?
    {
        return Ok(Err(Refusal::Duplicate { count }));
    }
    c.prepare_cached(
        "INSERT INTO short_urls (id, target_url, owner, owner_token_hash, created_at, \
         expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.id,
        s.target_url,
        s.owner,
        s.owner_token_hash,
        s.created_at,
        s.expires_at
    ])?;
    Ok(Ok(()))
}

/// The live short URL with this id.
///
/// # Errors
/// SQLite errors.
pub fn get(c: &Connection, id: &str, now: i64) -> Result<Option<Short>, Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM short_urls WHERE id = ?1 AND expires_at > ?2"
    );
    Ok(c.prepare_cached(sql)?
        .query_row(params![id, now], from_row)
        .optional()?)
}

/// The target and expiry of the live short URL with this id: all a redirect needs.
///
/// # Errors
/// SQLite errors.
pub fn target(c: &Connection, id: &str, now: i64) -> Result<Option<(String, i64)>, Error> {
    Ok(c.prepare_cached(
        "SELECT target_url, expires_at FROM short_urls WHERE id = ?1 AND expires_at > ?2",
    )?
    .query_row(params![id, now], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

/// Deletes the short URL; false when there was none.
///
/// # Errors
/// SQLite errors.
pub fn delete(c: &Connection, id: &str) -> Result<bool, Error> {
    Ok(c.execute("DELETE FROM short_urls WHERE id = ?1", [id])? > 0)
}

/// A page of `owner`'s live short URLs (everyone's for `None`), newest first, and how many
/// there are in all.
///
/// # Errors
/// SQLite errors.
pub fn list(
    c: &Connection,
    owner: Option<&str>,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Short>, i64), Error> {
    // `owner = ?1` written out only with an owner: behind `?1 IS NULL OR` SQLite cannot use
    // the (owner, created_at) index, and one identity's listing reads every short URL.
    let mine = if owner.is_some() {
        "owner = ?1"
    } else {
        "?1 IS NULL"
    };
    let total: i64 = c
        .prepare_cached(&format!(
            "SELECT count(*) FROM short_urls WHERE {mine} AND expires_at > ?2"
        ))?
        .query_row(params![owner, now], |r| r.get(0))?;
    let sql = format!(
        "SELECT {} FROM short_urls WHERE {mine} AND expires_at > ?2 \
         ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4",
        columns!()
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![owner, now, limit, offset], from_row)?;
    Ok((rows.collect::<Result<_, _>>()?, total))
}

/// Deletes expired short URLs; returns how many went.
///
/// # Errors
/// SQLite errors.
pub fn purge_expired(c: &Connection, now: i64) -> Result<usize, Error> {
    Ok(c.execute("DELETE FROM short_urls WHERE expires_at <= ?1", [now])?)
}

/// Redirects of one short URL not yet written: how many, and the last one's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub count: i64,
    pub last: i64,
}

/// Adds gathered redirects to their rows (rows deleted meanwhile are skipped).
///
/// # Errors
/// SQLite errors.
pub fn add_hits(c: &Connection, hits: &[(String, Hit)]) -> Result<(), Error> {
    let mut st = c.prepare_cached(
        "UPDATE short_urls SET access_count = access_count + ?2, \
         last_accessed = max(coalesce(last_accessed, 0), ?3) WHERE id = ?1",
    )?;
    for (id, hit) in hits {
        st.execute(params![id, hit.count, hit.last])?;
    }
    Ok(())
}

/// Redirects counted in memory, so that a redirect never waits for a disk sync. They are
/// written in batches ([`Hits::take`], [`add_hits`]); a reader adds the pending ones to what
/// it read ([`Hits::pending`]), so counts show at once.
#[derive(Debug, Default)]
pub struct Hits {
    pending: Mutex<HashMap<String, Hit>>,
}

impl Hits {
    /// Counts one redirect of `id` at `now`; true when it is the first pending one of all
    /// (the writer has work again).
    pub fn record(&self, id: &str, now: i64) -> bool {
        let mut pending = self.lock();
        let first = pending.is_empty();
        if let Some(hit) = pending.get_mut(id) {
            hit.count += 1;
            hit.last = hit.last.max(now);
        } else {
            pending.insert(
                id.to_owned(),
                Hit {
                    count: 1,
                    last: now,
                },
            );
        }
        first
    }

    /// Everything pending, emptied.
    #[must_use]
    pub fn take(&self) -> Vec<(String, Hit)> {
        self.lock().drain().collect()
    }

    /// Puts back what [`Hits::take`] gave, after a write that failed.
    pub fn restore(&self, hits: Vec<(String, Hit)>) {
        let mut pending = self.lock();
        for (id, hit) in hits {
            let entry = pending.entry(id).or_insert(Hit { count: 0, last: 0 });
            entry.count += hit.count;
            entry.last = entry.last.max(hit.last);
        }
    }

    /// What is pending for `id`.
    #[must_use]
    pub fn pending(&self, id: &str) -> Option<Hit> {
        self.lock().get(id).copied()
    }

    /// Whether anything is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hit>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn short(id: &str, owner: Option<&str>, at: i64) -> NewShort {
        NewShort {
            id: id.into(),
            target_url: format!("https://example.com/{id}"),
            owner: owner.map(str::to_owned),
            owner_token_hash: None,
            created_at: at,
            expires_at: at + 100,
        }
    }

    #[test]
    fn a_short_url_lives_until_it_expires() {
        let c = db();
        insert(&c, &short("AbCdEfGh", None, 1000), "u1", 3600, 3)
            .unwrap()
            .unwrap();
        assert_eq!(
            target(&c, "AbCdEfGh", 1099).unwrap(),
            Some(("https://example.com/AbCdEfGh".to_owned(), 1100))
        );
        assert!(get(&c, "AbCdEfGh", 1100).unwrap().is_none());
        assert!(target(&c, "AbCdEfGh", 1100).unwrap().is_none());
        assert_eq!(purge_expired(&c, 1100).unwrap(), 1);
        assert_eq!(
            insert(&c, &short("AbCdEfGh", None, 1000), "u2", 3600, 3).unwrap(),
            Ok(())
        );
        assert_eq!(
            insert(&c, &short("AbCdEfGh", None, 1000), "u3", 3600, 3).unwrap(),
            Err(Refusal::IdTaken)
        );
    }

    #[test]
    fn the_same_target_is_throttled_like_duplicate_content() {
        let c = db();
        for id in ["aaaaaaa1", "aaaaaaa2", "aaaaaaa3"] {
            insert(&c, &short(id, None, 1000), "same", 3600, 3)
                .unwrap()
                .unwrap();
        }
        assert_eq!(
            insert(&c, &short("aaaaaaa4", None, 1000), "same", 3600, 3).unwrap(),
            Err(Refusal::Duplicate { count: 3 })
        );
        insert(&c, &short("aaaaaaa5", None, 4600), "same", 3600, 3)
            .unwrap()
            .unwrap();
    }

    #[test]
    fn hits_are_added_to_their_rows() {
        let c = db();
        insert(&c, &short("AbCdEfGh", None, 1000), "u", 3600, 3)
            .unwrap()
            .unwrap();
        let hits = Hits::default();
        assert!(hits.record("AbCdEfGh", 1010));
        assert!(!hits.record("AbCdEfGh", 1005));
        assert!(!hits.record("gone0000", 1005));
        assert_eq!(
            hits.pending("AbCdEfGh"),
            Some(Hit {
                count: 2,
                last: 1010
            })
        );
        let batch = hits.take();
        assert!(hits.is_empty());
        add_hits(&c, &batch).unwrap();
        let s = get(&c, "AbCdEfGh", 1020).unwrap().unwrap();
        assert_eq!((s.access_count, s.last_accessed), (2, Some(1010)));
        hits.restore(batch);
        assert_eq!(hits.pending("AbCdEfGh").unwrap().count, 2);
    }

    #[test]
    fn list_shows_one_owners_live_urls_newest_first() {
        let c = db();
        for (id, owner, at) in [
            ("aaaaaaa1", Some("o1"), 1000),
            ("aaaaaaa2", Some("o1"), 1001),
            ("aaaaaaa3", Some("o2"), 1002),
            ("aaaaaaa4", Some("o1"), 900),
        ] {
            insert(&c, &short(id, owner, at), id, 3600, 3)
                .unwrap()
                .unwrap();
        }
        let (rows, total) = list(&c, Some("o1"), 1010, 10, 0).unwrap();
        assert_eq!(total, 2, "the one from 900 expired at 1000");
        assert_eq!(
            rows.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["aaaaaaa2", "aaaaaaa1"]
        );
        let (rows, total) = list(&c, Some("o1"), 1010, 1, 1).unwrap();
        assert_eq!((rows.len(), total, rows[0].id.as_str()), (1, 2, "aaaaaaa1"));
    }
}

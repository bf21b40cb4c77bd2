//! Paste rows: plain synchronous SQL on a connection. Returns domain values, never HTTP
//! types. Expired rows count as absent everywhere, before the sweep deletes them.

use bytes::Bytes;
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

pub use super::Refusal;
use super::usage::{self, Exceeded, Quota};
use super::{Error, dedup};

/// Reads that extend an inactivity expiry write at most this often per paste.
pub const TOUCH_GRANULARITY: i64 = 60;
/// Content larger than this is inserted as a zeroblob and then written in chunks of this
/// size: binding it whole would make SQLite copy it twice.
pub const WRITE_CHUNK: usize = 256 * 1024;

/// A paste to insert.
#[derive(Debug, Clone)]
pub struct NewPaste {
    pub id: String,
    /// Shared, not copied: a retried insert and the caller see the same bytes.
    pub content: Bytes,
    pub mime_type: String,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
    pub owner: Option<String>,
    pub owner_token_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Seconds each read extends the expiry to; `None` for a fixed expiry.
    pub inactivity: Option<i64>,
    pub burn_after_read: bool,
    /// Burnt only by a deliberate `POST /{id}/raw`, never by a GET (implies
    /// `burn_after_read`).
    pub burn_confirm: bool,
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
}

impl NewPaste {
    /// The paste as a lookup will return it once inserted (its `rowid` is 0: not known here).
    #[must_use]
    pub fn to_paste(&self) -> Paste {
        Paste {
            rowid: 0,
            id: self.id.clone(),
            mime_type: self.mime_type.clone(),
            size: i64::try_from(self.content.len()).unwrap_or(i64::MAX),
            content_hash: self.content_hash.clone(),
            owner: self.owner.clone(),
            owner_token_hash: self.owner_token_hash.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            inactivity: self.inactivity,
            burn_after_read: self.burn_after_read,
            burn_confirm: self.burn_confirm,
            password_hash: self.password_hash.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

/// A stored paste without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paste {
    pub rowid: i64,
    pub id: String,
    pub mime_type: String,
    pub size: i64,
    pub content_hash: String,
    pub owner: Option<String>,
    pub owner_token_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub inactivity: Option<i64>,
    pub burn_after_read: bool,
    /// Burnt only by a deliberate `POST /{id}/raw` (implies `burn_after_read`).
    pub burn_confirm: bool,
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
}

/// `burn_after_read` as stored: 0 never, 1 by the first full GET, 2 only by
/// `POST /{id}/raw`. Older builds read any non-zero value as burn-after-read.
const BURN_CONFIRM: i64 = 2;

/// The metadata columns [`from_row`] reads, for `concat!` into constant SQL (statements
/// are cached by their text).
macro_rules! columns {
    () => {
        "rowid, id, mime_type, size, content_hash, owner, owner_token_hash, created_at, \
         expires_at, inactivity, burn_after_read, password_hash, display_name"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Paste> {
    Ok(Paste {
        rowid: r.get(0)?,
        id: r.get(1)?,
        mime_type: r.get(2)?,
        size: r.get(3)?,
        content_hash: r.get(4)?,
        owner: r.get(5)?,
        owner_token_hash: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        inactivity: r.get(9)?,
        burn_after_read: r.get::<_, i64>(10)? != 0,
        burn_confirm: r.get::<_, i64>(10)? == BURN_CONFIRM,
        password_hash: r.get(11)?,
        display_name: r.get(12)?,
    })
}

/// Counts the content against the duplicate throttle and inserts the paste, atomically.
/// Password-protected and burn-after-read pastes are neither counted nor refused: their
/// count would tell anyone who posts the same bytes that someone else pasted them.
///
/// # Errors
/// SQLite errors.
pub fn insert(
    c: &Connection,
    p: &NewPaste,
    dedup_window: i64,
    dedup_max: i64,
) -> Result<Result<(), Refusal>, Error> {
    if c.prepare_cached("SELECT 1 FROM pastes WHERE id = ?1")?
        .exists([&p.id])?
    {
        return Ok(Err(Refusal::IdTaken));
    }
    let private = p.password_hash.is_some() || p.burn_after_read;
    if dedup_max > 0
        && !private
        && let Some(count) =
            dedup::count(c, &p.content_hash, p.created_at, dedup_window, dedup_max)?
    {
        return Ok(Err(Refusal::Duplicate { count }));
    }
    through_small_cache(c, p.content.len(), || insert_row(c, p))?;
    Ok(Ok(()))
}

/// The row of [`insert`], checks done.
fn insert_row(c: &Connection, p: &NewPaste) -> Result<(), Error> {
    let size = p.content.len();
    c.prepare_cached(
        "INSERT INTO pastes (id, mime_type, size, content_hash, owner, owner_token_hash, \
         created_at, last_accessed, expires_at, inactivity, burn_after_read, password_hash, \
         display_name, content) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        p.id,
        p.mime_type,
        i64::try_from(size).unwrap_or(i64::MAX),
        p.content_hash,
        p.owner,
        p.owner_token_hash,
        p.created_at,
        p.expires_at,
        p.inactivity,
        if p.burn_confirm {
            BURN_CONFIRM
        } else {
            i64::from(p.burn_after_read)
        },
        p.password_hash,
        p.display_name,
        Content(&p.content),
    ])?;
    write_large(c, c.last_insert_rowid(), &p.content)
}

/// Runs `write`, which stores `len` bytes of content, with the writer's page cache cut to
/// SQLite's default when the content is large (see [`super::LARGE_WRITE_CACHE_KIB`]).
fn through_small_cache<T>(
    c: &Connection,
    len: usize,
    write: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    if len <= WRITE_CHUNK {
        return write();
    }
    super::with_cache_kib(c, super::LARGE_WRITE_CACHE_KIB, write)
}

/// Content as an SQL value: bound directly when small, as a zeroblob to be filled by
/// [`write_large`] otherwise.
struct Content<'a>(&'a [u8]);

impl ToSql for Content<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        if self.0.len() > WRITE_CHUNK {
            Ok(ToSqlOutput::ZeroBlob(self.0.len() as u64))
        } else {
            self.0.to_sql()
        }
    }
}

/// Fills the zeroblob that [`Content`] bound for large content, chunk by chunk.
fn write_large(c: &Connection, rowid: i64, content: &[u8]) -> Result<(), Error> {
    if content.len() <= WRITE_CHUNK {
        return Ok(());
    }
    let mut blob = c.blob_open(rusqlite::MAIN_DB, "pastes", "content", rowid, false)?;
    for (i, chunk) in content.chunks(WRITE_CHUNK).enumerate() {
        blob.write_at(chunk, i * WRITE_CHUNK)?;
    }
    Ok(())
}

/// The live paste with this id.
///
/// # Errors
/// SQLite errors.
pub fn get(c: &Connection, id: &str, now: i64) -> Result<Option<Paste>, Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM pastes WHERE id = ?1 AND expires_at > ?2"
    );
    Ok(c.prepare_cached(sql)?
        .query_row(params![id, now], from_row)
        .optional()?)
}

/// A paste and, when small enough to be read in one go, its content.
pub type WithContent = (Paste, Option<Vec<u8>>);

/// The live paste and, when it is at most `inline_max` bytes, its content: one query.
///
/// # Errors
/// SQLite errors.
pub fn get_with_content(
    c: &Connection,
    id: &str,
    now: i64,
    inline_max: i64,
) -> Result<Option<WithContent>, Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", CASE WHEN size <= ?3 THEN content END FROM pastes WHERE id = ?1 AND expires_at > ?2"
    );
    Ok(c.prepare_cached(sql)?
        .query_row(params![id, now, inline_max], |r| {
            Ok((from_row(r)?, r.get(13)?))
        })
        .optional()?)
}

/// `len` bytes of the content of row `rowid` from `offset`, provided the row still holds
/// the content with hash `hash` (a download must not mix two versions). Run it inside one
/// read transaction, as the store's reads are.
///
/// # Errors
/// [`Error::Changed`] when the content is gone or replaced; SQLite errors.
pub fn read_chunk(
    c: &Connection,
    rowid: i64,
    hash: &str,
    offset: usize,
    len: usize,
) -> Result<Vec<u8>, Error> {
    let current: Option<String> = c
        .prepare_cached("SELECT content_hash FROM pastes WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))
        .optional()?;
    if current.as_deref() != Some(hash) {
        return Err(Error::Changed);
    }
    let blob = c.blob_open(rusqlite::MAIN_DB, "pastes", "content", rowid, true)?;
    let mut buf = vec![0u8; len];
    let n = blob.read_at(&mut buf, offset)?;
    buf.truncate(n);
    Ok(buf)
}

/// Extends an inactivity expiry to `now + inactivity` when that moves it by at least
/// [`TOUCH_GRANULARITY`]; returns the expiry in force afterwards.
///
/// # Errors
/// SQLite errors.
pub fn touch(c: &Connection, id: &str, now: i64) -> Result<Option<i64>, Error> {
    c.execute(
        "UPDATE pastes SET last_accessed = ?2, expires_at = ?2 + inactivity \
         WHERE id = ?1 AND expires_at > ?2 AND inactivity IS NOT NULL \
         AND expires_at <= ?2 + inactivity - ?3",
        params![id, now, TOUCH_GRANULARITY],
    )?;
    Ok(c.query_row(
        "SELECT expires_at FROM pastes WHERE id = ?1 AND expires_at > ?2",
        params![id, now],
        |r| r.get(0),
    )
    .optional()?)
}

/// Whether a read of `p` at `now` should extend its expiry (see [`touch`]).
#[must_use]
pub fn needs_touch(p: &Paste, now: i64) -> bool {
    p.inactivity
        .is_some_and(|i| p.expires_at <= now + i - TOUCH_GRANULARITY)
}

/// Reads and deletes a live paste in one step: of two concurrent callers only one gets it.
///
/// # Errors
/// SQLite errors.
pub fn burn(c: &Connection, id: &str, now: i64) -> Result<Option<(Paste, Vec<u8>)>, Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", content FROM pastes WHERE id = ?1 AND expires_at > ?2"
    );
    let found = c
        .prepare_cached(sql)?
        .query_row(params![id, now], |r| Ok((from_row(r)?, r.get(13)?)))
        .optional()?;
    if found.is_some() {
        c.prepare_cached("DELETE FROM pastes WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(found)
}

/// Deletes the paste; false when there was none.
///
/// # Errors
/// SQLite errors.
pub fn delete(c: &Connection, id: &str) -> Result<bool, Error> {
    Ok(c.execute("DELETE FROM pastes WHERE id = ?1", [id])? > 0)
}

/// What an update changes; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// New content, its MIME type and its hash.
    pub content: Option<(Bytes, String, String)>,
    pub password_hash: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    /// New expiry (already capped by the caller).
    pub expires_at: Option<i64>,
}

impl Changes {
    /// Whether nothing would change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.content.is_none()
            && self.password_hash.is_none()
            && self.display_name.is_none()
            && self.expires_at.is_none()
    }
}

/// Applies `changes` to the live paste; returns it as it is afterwards (`None` when
/// there is none), or the quota that new, larger content would exceed.
///
/// # Errors
/// SQLite errors.
pub fn update(
    c: &Connection,
    id: &str,
    now: i64,
    changes: &Changes,
    quota: Quota,
) -> Result<Result<Option<Paste>, Exceeded>, Error> {
    let Some(current) = get(c, id, now)? else {
        return Ok(Ok(None));
    };
    if let Some((content, mime, hash)) = &changes.content {
        let growth = (content.len() as u64).saturating_sub(current.size.unsigned_abs());
        if growth > 0
            && let Err(exceeded) = usage::admit(c, current.owner.as_deref(), growth, quota)?
        {
            return Ok(Err(exceeded));
        }
        through_small_cache(c, content.len(), || {
            c.execute(
                "UPDATE pastes SET content = ?2, size = ?3, mime_type = ?4, content_hash = ?5 \
                 WHERE rowid = ?1",
                params![
                    current.rowid,
                    Content(content),
                    i64::try_from(content.len()).unwrap_or(i64::MAX),
                    mime,
                    hash
                ],
            )?;
            write_large(c, current.rowid, content)
        })?;
    }
    if let Some(password_hash) = &changes.password_hash {
        c.execute(
            "UPDATE pastes SET password_hash = ?2 WHERE id = ?1",
            params![id, password_hash],
        )?;
    }
    if let Some(name) = &changes.display_name {
        c.execute(
            "UPDATE pastes SET display_name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
    }
    if let Some(expires_at) = changes.expires_at {
        c.execute(
            "UPDATE pastes SET expires_at = ?2 WHERE id = ?1",
            params![id, expires_at],
        )?;
    }
    Ok(Ok(get(c, id, now)?))
}

/// Filters of a paste listing.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Only this owner's pastes; `None` lists everyone's.
    pub owner: Option<String>,
    /// SQLite GLOB over the MIME type, e.g. `image/*`.
    pub mime_glob: Option<String>,
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of live pastes, newest first, and how many match in all.
///
/// # Errors
/// SQLite errors.
pub fn list(c: &Connection, q: &ListQuery, now: i64) -> Result<(Vec<Paste>, i64), Error> {
    let (count, page) = list_sql(q);
    let args = params![now, q.owner, q.mime_glob, q.after, q.before];
    let total: i64 = c.query_row(&count, args, |r| r.get(0))?;
    let mut st = c.prepare(&page)?;
    let rows = st.query_map(
        params![
            now,
            q.owner,
            q.mime_glob,
            q.after,
            q.before,
            q.limit,
            q.offset
        ],
        from_row,
    )?;
    Ok((rows.collect::<Result<_, _>>()?, total))
}

/// The count and the page query of a listing. Parameters: `?1` now, then owner, MIME glob,
/// after, before, and for the page limit and offset.
fn list_sql(q: &ListQuery) -> (String, String) {
    // Each filter is written out only when it is given, its parameter otherwise tested for
    // NULL alone: behind `?2 IS NULL OR owner = ?2` SQLite cannot use the (owner,
    // created_at, expires_at) index, and one identity's listing scans every paste; behind
    // `?3 IS NULL OR mime_type GLOB ?3` it must read every row to count them. Without a
    // type filter, the count and the rows a page skips are read from the index alone; the
    // order follows the index (pastes of one second: the longest-lived first, then the
    // latest), so no sort is needed however deep the page.
    let given = |present: bool, term: &'static str, absent: &'static str| {
        if present { term } else { absent }
    };
    let owner = given(q.owner.is_some(), "owner = ?2", "?2 IS NULL");
    let mime = given(q.mime_glob.is_some(), "mime_type GLOB ?3", "?3 IS NULL");
    let after = given(q.after.is_some(), "created_at > ?4", "?4 IS NULL");
    let before = given(q.before.is_some(), "created_at < ?5", "?5 IS NULL");
    let filter = format!("expires_at > ?1 AND {owner} AND {mime} AND {after} AND {before}");
    let count = format!("SELECT count(*) FROM pastes WHERE {filter}");
    let page = format!(
        "SELECT {} FROM pastes WHERE {filter} \
         ORDER BY created_at DESC, expires_at DESC, rowid DESC LIMIT ?6 OFFSET ?7",
        columns!()
    );
    (count, page)
}

/// Deletes at most `max` pastes expired by `now`, the oldest expiries first; returns how
/// many went. A sweep repeats it in short transactions, so that creations are not held
/// up behind one long delete (with `secure_delete`, each deleted paste's pages are
/// overwritten).
///
/// # Errors
/// SQLite errors.
pub fn purge_expired_some(c: &Connection, now: i64, max: usize) -> Result<usize, Error> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    Ok(c.prepare_cached(
        "DELETE FROM pastes WHERE rowid IN \
         (SELECT rowid FROM pastes WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
    )?
    .execute(rusqlite::params![now, max])?)
}

/// Deletes expired pastes and stale throttle entries; returns how many pastes went.
///
/// # Errors
/// SQLite errors.
pub fn purge_expired(c: &Connection, now: i64, dedup_window: i64) -> Result<usize, Error> {
    let n = c.execute("DELETE FROM pastes WHERE expires_at <= ?1", [now])?;
    c.execute(
        "DELETE FROM content_hashes WHERE window_start <= ?1",
        [now - dedup_window],
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn paste(id: &str, content: &[u8], now: i64) -> NewPaste {
        NewPaste {
            id: id.into(),
            content: Bytes::copy_from_slice(content),
            mime_type: "text/plain".into(),
            content_hash: crate::ids::hex(content),
            owner: None,
            owner_token_hash: None,
            created_at: now,
            expires_at: now + 100,
            inactivity: Some(100),
            burn_after_read: false,
            burn_confirm: false,
            password_hash: None,
            display_name: None,
        }
    }

    #[test]
    fn expired_pastes_are_absent_before_the_sweep_and_gone_after() {
        let c = db();
        insert(&c, &paste("aaaaaa", b"x", 1000), 3600, 3)
            .unwrap()
            .unwrap();
        assert!(get(&c, "aaaaaa", 1099).unwrap().is_some());
        assert!(get(&c, "aaaaaa", 1100).unwrap().is_none());
        assert_eq!(purge_expired(&c, 1100, 3600).unwrap(), 1);
    }

    #[test]
    fn large_content_passes_through_a_small_cache_and_the_cache_is_given_back() {
        let c = db();
        let cache =
            |c: &Connection| -> i64 { c.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap() };
        c.pragma_update(None, "cache_size", -super::super::WRITER_CACHE_KIB)
            .unwrap();
        let during = |len| through_small_cache(&c, len, || Ok(cache(&c))).unwrap();
        assert_eq!(during(WRITE_CHUNK), -super::super::WRITER_CACHE_KIB);
        assert_eq!(
            during(WRITE_CHUNK + 1),
            -super::super::LARGE_WRITE_CACHE_KIB
        );
        assert_eq!(cache(&c), -super::super::WRITER_CACHE_KIB);

        let large: Vec<u8> = (0..3 * WRITE_CHUNK)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        insert(&c, &paste("aaaaaa", &large, 1000), 3600, 3)
            .unwrap()
            .unwrap();
        assert_eq!(cache(&c), -super::super::WRITER_CACHE_KIB);
        let stored: Vec<u8> = c
            .query_row("SELECT content FROM pastes WHERE id = 'aaaaaa'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(stored == large, "the content as written");
        let changes = Changes {
            content: Some((large[1..].to_vec().into(), "text/plain".into(), "h2".into())),
            ..Changes::default()
        };
        update(&c, "aaaaaa", 1001, &changes, usage::Quota::OFF)
            .unwrap()
            .unwrap();
        assert_eq!(cache(&c), -super::super::WRITER_CACHE_KIB);
    }

    #[test]
    fn touch_is_coarse_and_extends_inactivity_expiry() {
        let c = db();
        insert(&c, &paste("aaaaaa", b"x", 1000), 3600, 3)
            .unwrap()
            .unwrap();
        let p = get(&c, "aaaaaa", 1010).unwrap().unwrap();
        assert!(!needs_touch(&p, 1010), "a touch within a minute is skipped");
        assert!(needs_touch(&p, 1060));
        assert_eq!(touch(&c, "aaaaaa", 1060).unwrap(), Some(1160));
        assert_eq!(touch(&c, "aaaaaa", 1070).unwrap(), Some(1160));
    }

    #[test]
    fn dedup_counts_within_the_window_and_resets_after() {
        let c = db();
        for (i, id) in ["aaaaa1", "aaaaa2", "aaaaa3"].iter().enumerate() {
            let now = 1000 + i64::try_from(i).unwrap();
            insert(&c, &paste(id, b"same", now), 3600, 3)
                .unwrap()
                .unwrap();
        }
        let refused = insert(&c, &paste("aaaaa4", b"same", 1010), 3600, 3).unwrap();
        assert_eq!(refused, Err(Refusal::Duplicate { count: 3 }));
        insert(&c, &paste("aaaaa5", b"other", 1010), 3600, 3)
            .unwrap()
            .unwrap();
        insert(&c, &paste("aaaaa6", b"same", 4600), 3600, 3)
            .unwrap()
            .unwrap();
        assert_eq!(
            insert(&c, &paste("aaaaa6", b"new", 4600), 3600, 3).unwrap(),
            Err(Refusal::IdTaken)
        );
    }

    #[test]
    fn burn_returns_the_content_once() {
        let c = db();
        insert(&c, &paste("aaaaaa", b"secret", 1000), 3600, 3)
            .unwrap()
            .unwrap();
        let (_, content) = burn(&c, "aaaaaa", 1001).unwrap().unwrap();
        assert_eq!(content, b"secret");
        assert!(burn(&c, "aaaaaa", 1001).unwrap().is_none());
    }

    #[test]
    fn chunks_come_from_the_same_content_only() {
        let c = db();
        insert(&c, &paste("aaaaaa", b"0123456789", 1000), 3600, 3)
            .unwrap()
            .unwrap();
        let p = get(&c, "aaaaaa", 1000).unwrap().unwrap();
        assert_eq!(
            read_chunk(&c, p.rowid, &p.content_hash, 3, 4).unwrap(),
            b"3456"
        );
        assert_eq!(
            read_chunk(&c, p.rowid, &p.content_hash, 8, 4).unwrap(),
            b"89"
        );
        let changes = Changes {
            content: Some((
                Bytes::from_static(b"new"),
                "text/plain".into(),
                "other".into(),
            )),
            ..Changes::default()
        };
        update(&c, "aaaaaa", 1000, &changes, Quota::OFF)
            .unwrap()
            .unwrap();
        assert!(matches!(
            read_chunk(&c, p.rowid, &p.content_hash, 0, 4),
            Err(Error::Changed)
        ));
    }

    #[test]
    fn list_filters_by_owner_type_and_time_newest_first() {
        let c = db();
        for (id, owner, mime, at) in [
            ("aaaaa1", Some("o1"), "text/plain", 1000),
            ("aaaaa2", Some("o1"), "image/png", 1001),
            ("aaaaa3", Some("o2"), "image/png", 1002),
            ("aaaaa4", None, "image/gif", 1003),
        ] {
            let mut p = paste(id, id.as_bytes(), at);
            p.owner = owner.map(str::to_owned);
            p.mime_type = mime.into();
            insert(&c, &p, 3600, 3).unwrap().unwrap();
        }
        let mut q = ListQuery {
            owner: Some("o1".into()),
            mime_glob: None,
            after: None,
            before: None,
            limit: 10,
            offset: 0,
        };
        let (rows, total) = list(&c, &q, 1050).unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            rows.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["aaaaa2", "aaaaa1"]
        );
        q.mime_glob = Some("image/*".into());
        assert_eq!(list(&c, &q, 1050).unwrap().1, 1);
        q.owner = None;
        q.after = Some(1001);
        assert_eq!(list(&c, &q, 1050).unwrap().1, 2);
        q.limit = 1;
        q.offset = 1;
        let (rows, total) = list(&c, &q, 1050).unwrap();
        assert_eq!((rows.len(), total), (1, 2));
    }

    #[test]
    fn an_owners_listing_uses_the_owner_index_not_a_scan_of_every_paste() {
        let c = db();
        let q = ListQuery {
            owner: Some("o1".into()),
            mime_glob: None,
            after: None,
            before: None,
            limit: 10,
            offset: 0,
        };
        let (count, page) = list_sql(&q);
        let filter = params![1, "o1", None::<String>, None::<i64>, None::<i64>];
        let paged = params![1, "o1", None::<String>, None::<i64>, None::<i64>, 10, 0];
        for (sql, args) in [(count, filter), (page, paged)] {
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(args, |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let plan = plan.join("; ");
            // The count reads the index alone; no page sorts what the index has in order.
            assert!(
                plan.contains("COVERING INDEX pastes_owner_created (owner=?)")
                    || plan.contains("USING INDEX pastes_owner_created (owner=?)"),
                "{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
        let (count, _) = list_sql(&q);
        let plan: String = c
            .query_row(
                &format!("EXPLAIN QUERY PLAN {count}"),
                params![1, "o1", None::<String>, None::<i64>, None::<i64>],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX"), "{plan}");
    }
}

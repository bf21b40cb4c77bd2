//! Bytes of stored paste content, in all and per owner, and the quota checked against
//! them. Triggers on `pastes` keep the `storage_usage` table exact through every insert,
//! update and delete (the API's, a burn's, the sweep's, the admin tool's), in the same
//! transaction as the change: a check never scans the table, and two uploads cannot both
//! take the last bytes. Plain synchronous SQL; never HTTP types.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use super::Error;

/// The `storage_usage` row holding the total (owners are fingerprints, never empty).
const TOTAL: &str = "";

/// The configured limits, in bytes; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// All stored content (`max_storage`).
    pub total: u64,
    /// Content owned by one certificate fingerprint (`max_storage_per_identity`).
    pub per_identity: u64,
}

impl Quota {
    /// No limit at all.
    pub const OFF: Quota = Quota {
        total: 0,
        per_identity: 0,
    };
}

/// Which limit a change would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `max_storage`.
    Total,
    /// `max_storage_per_identity`.
    Identity,
}

/// A change refused because it would take the stored bytes above a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub scope: Scope,
    /// Bytes stored now, in the scope.
    pub stored: u64,
    /// Bytes the change would add.
    pub adding: u64,
    /// The limit.
    pub limit: u64,
}

/// Checks that adding `adding` bytes owned by `owner` keeps every limit (reaching one
/// exactly is allowed). Run in the transaction that then makes the change.
///
/// # Errors
/// SQLite errors.
pub fn admit(
    c: &Connection,
    owner: Option<&str>,
    adding: u64,
    quota: Quota,
) -> Result<Result<(), Exceeded>, Error> {
    if quota.total > 0 {
        let stored = stored(c, TOTAL)?;
        if stored.saturating_add(adding) > quota.total {
            return Ok(Err(Exceeded {
                scope: Scope::Total,
                stored,
                adding,
                limit: quota.total,
            }));
        }
    }
    if let (Some(owner), true) = (owner, quota.per_identity > 0) {
        let stored = stored(c, owner)?;
        if stored.saturating_add(adding) > quota.per_identity {
            return Ok(Err(Exceeded {
                scope: Scope::Identity,
                stored,
                adding,
                limit: quota.per_identity,
            }));
        }
    }
    Ok(Ok(()))
}

/// Bytes of content stored in all.
///
/// # Errors
/// SQLite errors.
pub fn total(c: &Connection) -> Result<u64, Error> {
    stored(c, TOTAL)
}

/// Bytes of content owned by `owner` (all of it for [`TOTAL`]).
fn stored(c: &Connection, owner: &str) -> Result<u64, Error> {
    let bytes: Option<i64> = c
        .prepare_cached("SELECT bytes FROM storage_usage WHERE owner = ?1")?
        .query_row([owner], |r| r.get(0))
        .optional()?;
    Ok(bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0)))
}

/// Where the kept figures and the content they count disagree: (owner, kept, counted),
/// the owner `None` for the total.
pub type Drift = Vec<(Option<String>, u64, u64)>;

/// Compares the kept figures with a count over every paste. Empty when they agree, which
/// the triggers guarantee unless the file was changed by other means.
///
/// # Errors
/// SQLite errors.
pub fn verify(c: &Connection) -> Result<Drift, Error> {
    let counted = count_all(c)?;
    let mut kept = BTreeMap::new();
    let mut st = c.prepare("SELECT owner, bytes FROM storage_usage")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (owner, bytes) = row?;
        if bytes != 0 {
            kept.insert(owner, u64::try_from(bytes).unwrap_or(0));
        }
    }
    let owners: std::collections::BTreeSet<&String> = counted.keys().chain(kept.keys()).collect();
    let drift = owners
        .into_iter()
        .filter_map(|owner| {
            let k = kept.get(owner).copied().unwrap_or(0);
            let n = counted.get(owner).copied().unwrap_or(0);
            (k != n).then(|| ((owner != TOTAL).then(|| owner.clone()), k, n))
        })
        .collect();
    Ok(drift)
}

/// Rewrites the kept figures from a count over every paste.
///
/// # Errors
/// SQLite errors.
pub fn rebuild(c: &Connection) -> Result<(), Error> {
    let counted = count_all(c)?;
    c.execute("DELETE FROM storage_usage", [])?;
    let mut insert = c.prepare("INSERT INTO storage_usage (owner, bytes) VALUES (?1, ?2)")?;
    insert.execute(rusqlite::params![TOTAL, 0])?;
    for (owner, bytes) in counted {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        if owner == TOTAL {
            c.execute(
                "UPDATE storage_usage SET bytes = ?1 WHERE owner = ''",
                [bytes],
            )?;
        } else {
            insert.execute(rusqlite::params![owner, bytes])?;
        }
    }
    Ok(())
}

/// Bytes per owner and in all ([`TOTAL`]), counted over the pastes; owners with none left
/// out, the total always present.
fn count_all(c: &Connection) -> Result<BTreeMap<String, u64>, Error> {
    let mut counted = BTreeMap::new();
    let mut total = 0u64;
    let mut st = c.prepare("SELECT owner, sum(size) FROM pastes GROUP BY owner")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (owner, bytes) = row?;
        let bytes = u64::try_from(bytes).unwrap_or(0);
        total += bytes;
        if let Some(owner) = owner.filter(|_| bytes > 0) {
            counted.insert(owner, bytes);
        }
    }
    counted.insert(TOTAL.to_owned(), total);
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn add(c: &Connection, id: &str, owner: Option<&str>, size: i64) {
        c.execute(
            "INSERT INTO pastes (id, mime_type, size, content_hash, owner, created_at, \
             last_accessed, expires_at, content) VALUES (?1, 'text/plain', ?2, 'h', ?3, 1, 1, 9, x'')",
            rusqlite::params![id, size, owner],
        )
        .unwrap();
    }

    #[test]
    fn triggers_keep_the_figures_exact_through_insert_update_and_delete() {
        let c = db();
        add(&c, "a", None, 10);
        add(&c, "b", Some("fp1"), 20);
        add(&c, "c", Some("fp1"), 5);
        add(&c, "d", Some("fp2"), 7);
        assert_eq!(total(&c).unwrap(), 42);
        assert_eq!(stored(&c, "fp1").unwrap(), 25);
        c.execute("UPDATE pastes SET size = 2 WHERE id = 'b'", [])
            .unwrap();
        assert_eq!((total(&c).unwrap(), stored(&c, "fp1").unwrap()), (24, 7));
        // Touching other columns leaves the figures alone.
        c.execute("UPDATE pastes SET last_accessed = 5", [])
            .unwrap();
        c.execute("DELETE FROM pastes WHERE owner = 'fp2'", [])
            .unwrap();
        assert_eq!((total(&c).unwrap(), stored(&c, "fp2").unwrap()), (17, 0));
        assert!(verify(&c).unwrap().is_empty());
        let rows: i64 = c
            .query_row("SELECT count(*) FROM storage_usage", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "an owner with nothing left keeps no row");
    }

    #[test]
    fn admit_allows_reaching_a_limit_and_refuses_passing_it() {
        let c = db();
        add(&c, "a", Some("fp1"), 60);
        let quota = Quota {
            total: 100,
            per_identity: 80,
        };
        assert_eq!(admit(&c, None, 40, quota).unwrap(), Ok(()));
        assert_eq!(
            admit(&c, None, 41, quota).unwrap(),
            Err(Exceeded {
                scope: Scope::Total,
                stored: 60,
                adding: 41,
                limit: 100
            })
        );
        assert_eq!(admit(&c, Some("fp1"), 20, quota).unwrap(), Ok(()));
        assert_eq!(
            admit(&c, Some("fp1"), 21, quota)
                .unwrap()
                .unwrap_err()
                .scope,
            Scope::Identity
        );
        assert_eq!(admit(&c, Some("fp2"), 40, quota).unwrap(), Ok(()));
        assert_eq!(admit(&c, Some("fp1"), 1 << 40, Quota::OFF).unwrap(), Ok(()));
    }

    #[test]
    fn drift_is_found_and_rebuilt() {
        let c = db();
        add(&c, "a", Some("fp1"), 10);
        add(&c, "b", None, 3);
        c.execute_batch(
            "UPDATE storage_usage SET bytes = 99 WHERE owner = '';
             DELETE FROM storage_usage WHERE owner = 'fp1';
             INSERT INTO storage_usage VALUES ('ghost', 4);",
        )
        .unwrap();
        let mut drift = verify(&c).unwrap();
        drift.sort();
        assert_eq!(
            drift,
            vec![
                (None, 99, 13),
                (Some("fp1".into()), 0, 10),
                (Some("ghost".into()), 4, 0)
            ]
        );
        rebuild(&c).unwrap();
        assert!(verify(&c).unwrap().is_empty());
        assert_eq!(total(&c).unwrap(), 13);
    }
}

//! Proof-of-work state that must outlive the process: the spent nonces (a token is accepted
//! once, across endpoints and restarts) and the generated signing key.

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::{POW_SECRET as SECRET, POW_SECRET_LEN};
use super::{Error, Refusal};

/// Bytes of a generated signing key.
pub const SECRET_LEN: usize = POW_SECRET_LEN;

/// A solved challenge's nonce, to be spent by the creation it pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    pub nonce: String,
    /// The token's expiry: after it, the token is refused anyway and the row may go.
    pub expires: i64,
}

/// Whether `spend`'s nonce was spent (a nonce is kept under its token's expiry, which the
/// token's signature binds to it).
///
/// # Errors
/// SQLite errors.
pub fn is_spent(c: &Connection, spend: &Spend) -> Result<bool, Error> {
    Ok(
        c.prepare_cached("SELECT 1 FROM pow_spent WHERE expires = ?1 AND nonce = ?2")?
            .exists(params![spend.expires, spend.nonce])?,
    )
}

/// Runs `create` paying with `spend`: refuses with [`Refusal::Spent`] when the nonce was
/// spent, and records it as spent when `create` succeeds; `create`'s own refusals leave it
/// unspent. Run inside one write job, this makes two creations racing with one token give
/// exactly one success.
///
/// # Errors
/// SQLite errors, and `create`'s.
pub fn paying<T>(
    c: &Connection,
    spend: Option<&Spend>,
    create: impl FnOnce(&Connection) -> Result<Result<T, Refusal>, Error>,
) -> Result<Result<T, Refusal>, Error> {
    let Some(spend) = spend else {
        return create(c);
    };
    if is_spent(c, spend)? {
        return Ok(Err(Refusal::Spent));
    }
    let made = create(c)?;
    if made.is_ok() {
        c.prepare_cached("INSERT INTO pow_spent (nonce, expires) VALUES (?1, ?2)")?
            .execute(params![spend.nonce, spend.expires])?;
    }
    Ok(made)
}

/// Forgets nonces whose tokens expired before `now`; returns how many.
///
/// # Errors
/// SQLite errors.
pub fn purge_spent(c: &Connection, now: i64) -> Result<usize, Error> {
    Ok(c.execute("DELETE FROM pow_spent WHERE expires < ?1", [now])?)
}

/// The signing key kept in the database (made with its table); `None` when it is missing
/// or too short.
///
/// # Errors
/// SQLite errors.
pub fn stored_secret(c: &Connection) -> Result<Option<Vec<u8>>, Error> {
    let found: Option<Vec<u8>> = c
        .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row([SECRET], |r| r.get(0))
        .optional()?;
    Ok(found.filter(|s| s.len() >= SECRET_LEN))
}

/// Keeps `secret` as the signing key, replacing one that is missing or too short.
///
/// # Errors
/// SQLite errors.
pub fn store_secret(c: &Connection, secret: &[u8]) -> Result<(), Error> {
    c.execute(
        "INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)",
        params![SECRET, secret],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn spend(nonce: &str) -> Spend {
        Spend {
            nonce: nonce.into(),
            expires: 1300,
        }
    }

    #[test]
    fn a_nonce_pays_for_one_creation_only() {
        let c = db();
        let made = paying(&c, Some(&spend("n1")), |_| Ok(Ok(7))).unwrap();
        assert_eq!(made, Ok(7));
        let again = paying(&c, Some(&spend("n1")), |_| Ok(Ok(8))).unwrap();
        assert_eq!(again, Err(Refusal::Spent));
        assert!(is_spent(&c, &spend("n1")).unwrap());
    }

    #[test]
    fn a_refused_creation_leaves_the_nonce_unspent() {
        let c = db();
        let refused = paying::<()>(&c, Some(&spend("n2")), |_| {
            Ok(Err(Refusal::Duplicate { count: 3 }))
        })
        .unwrap();
        assert_eq!(refused, Err(Refusal::Duplicate { count: 3 }));
        assert!(!is_spent(&c, &spend("n2")).unwrap());
        assert_eq!(paying(&c, None, |_| Ok(Ok(1))).unwrap(), Ok(1));
    }

    #[test]
    fn spent_nonces_are_forgotten_once_their_tokens_expired() {
        let c = db();
        paying(&c, Some(&spend("n3")), |_| Ok(Ok(())))
            .unwrap()
            .unwrap();
        assert_eq!(purge_spent(&c, 1300).unwrap(), 0);
        assert_eq!(purge_spent(&c, 1301).unwrap(), 1);
        assert!(!is_spent(&c, &spend("n3")).unwrap());
    }

    #[test]
    fn a_random_secret_is_made_with_the_database_and_can_be_replaced() {
        let c = db();
        let made = stored_secret(&c).unwrap().unwrap();
        assert_eq!(made.len(), SECRET_LEN);
        assert_ne!(made, db_secret(), "every database gets its own");
        c.execute("DELETE FROM settings", []).unwrap();
        assert_eq!(stored_secret(&c).unwrap(), None);
        store_secret(&c, &[7; SECRET_LEN]).unwrap();
        assert_eq!(stored_secret(&c).unwrap(), Some(vec![7; SECRET_LEN]));
    }

    fn db_secret() -> Vec<u8> {
        stored_secret(&db()).unwrap().unwrap()
    }
}

//! PKI rows: the CA (its key encrypted by the caller, never here) with its current CRL, and
//! the certificates issued, with who asked for them, their revocation and the admin flag.
//! Plain synchronous SQL; the cryptography is `crate::pki`'s.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Error;

/// The stored CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRow {
    pub common_name: String,
    pub cert_pem: String,
    /// Encrypted PKCS#8.
    pub key_pem: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The current CRL, its number, and when it should be made again.
    pub crl_pem: Option<String>,
    pub crl_number: i64,
    pub crl_next: i64,
}

/// What kind of request a certificate was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /register`: the first one is the admin.
    Registration,
    /// `POST /pki/issue`.
    Issue,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Registration => "registration",
            Kind::Issue => "issue",
        }
    }
}

/// A certificate issued here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// 32 lower-case hex digits.
    pub serial: String,
    pub common_name: String,
    /// SHA-1 of the DER, 40 lower-case hex digits.
    pub fingerprint: String,
    /// The fingerprint of the client that asked for it, if it presented one.
    pub issued_to: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub admin: bool,
}

/// What the trust of a fingerprint depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub expires_at: i64,
    pub revoked: bool,
    pub admin: bool,
}

/// Why a revocation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRevoked {
    NotFound,
    Already,
}

/// The CA, if one was made.
///
/// # Errors
/// SQLite errors.
pub fn ca(c: &Connection) -> Result<Option<CaRow>, Error> {
    Ok(c.prepare_cached(
        "SELECT common_name, cert_pem, key_pem, fingerprint, created_at, expires_at, crl_pem, \
         crl_number, crl_next FROM pki_ca WHERE id = 1",
    )?
    .query_row([], |r| {
        Ok(CaRow {
            common_name: r.get(0)?,
            cert_pem: r.get(1)?,
            key_pem: r.get(2)?,
            fingerprint: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            crl_pem: r.get(6)?,
            crl_number: r.get(7)?,
            crl_next: r.get(8)?,
        })
    })
    .optional()?)
}

/// Stores the CA; false when there is one already (it is never replaced).
///
/// # Errors
/// SQLite errors.
pub fn insert_ca(c: &Connection, ca: &CaRow) -> Result<bool, Error> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO pki_ca (id, common_name, cert_pem, key_pem, fingerprint, \
         created_at, expires_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ca.common_name,
            ca.cert_pem,
            ca.key_pem,
            ca.fingerprint,
            ca.created_at,
            ca.expires_at
        ],
    )? == 1)
}

/// Keeps a new CRL with its number and the time it should be made again.
///
/// # Errors
/// SQLite errors.
pub fn set_crl(c: &Connection, pem: &str, number: i64, next: i64) -> Result<(), Error> {
    c.execute(
        "UPDATE pki_ca SET crl_pem = ?1, crl_number = ?2, crl_next = ?3 WHERE id = 1",
        params![pem, number, next],
    )?;
    Ok(())
}

/// Records an issued certificate. The first registration is the admin; returns whether
/// this one is.
///
/// # Errors
/// SQLite errors.
pub fn insert_cert(c: &Connection, cert: &CertRow, kind: Kind) -> Result<bool, Error> {
    let admin = kind == Kind::Registration
        && !c
            .prepare_cached("SELECT 1 FROM certificates WHERE kind = 'registration'")?
            .exists([])?;
    c.prepare_cached(
        "INSERT INTO certificates (serial, common_name, fingerprint, kind, issued_to, \
         created_at, expires_at, admin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        cert.serial,
        cert.common_name,
        cert.fingerprint,
        kind.as_str(),
        cert.issued_to,
        cert.created_at,
        cert.expires_at,
        admin
    ])?;
    Ok(admin)
}

const CERT_COLUMNS: &str =
    "serial, common_name, fingerprint, issued_to, created_at, expires_at, revoked_at, admin";

fn cert_row(r: &Row<'_>) -> rusqlite::Result<CertRow> {
    Ok(CertRow {
        serial: r.get(0)?,
        common_name: r.get(1)?,
        fingerprint: r.get(2)?,
        issued_to: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        admin: r.get(7)?,
    })
}

/// The certificate with this serial.
///
/// # Errors
/// SQLite errors.
pub fn cert(c: &Connection, serial: &str) -> Result<Option<CertRow>, Error> {
    let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row([serial], cert_row)
        .optional()?)
}

/// The certificates `fingerprint` asked for or holds, newest first.
///
/// # Errors
/// SQLite errors.
pub fn certs_of(c: &Connection, fingerprint: &str) -> Result<Vec<CertRow>, Error> {
    let sql = format!(
        "SELECT {CERT_COLUMNS} FROM certificates WHERE issued_to = ?1 OR fingerprint = ?1 \
         ORDER BY created_at DESC, rowid DESC"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map([fingerprint], cert_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes the certificate at `now`.
///
/// # Errors
/// SQLite errors.
pub fn revoke(c: &Connection, serial: &str, now: i64) -> Result<Result<(), NotRevoked>, Error> {
    let Some(found) = cert(c, serial)? else {
        return Ok(Err(NotRevoked::NotFound));
    };
    if found.revoked_at.is_some() {
        return Ok(Err(NotRevoked::Already));
    }
    c.execute(
        "UPDATE certificates SET revoked_at = ?2 WHERE serial = ?1",
        params![serial, now],
    )?;
    // The CRL kept no longer tells the truth: whoever asks next gets a new one.
    c.execute("UPDATE pki_ca SET crl_next = 0 WHERE id = 1", [])?;
    Ok(Ok(()))
}

/// Every revoked certificate: serial and time, for the CRL.
///
/// # Errors
/// SQLite errors.
pub fn revoked(c: &Connection) -> Result<Vec<(String, i64)>, Error> {
    let mut st = c.prepare_cached(
        "SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL \
         ORDER BY revoked_at",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What decides the trust of `fingerprint`: `None` when no certificate issued here has it.
///
/// # Errors
/// SQLite errors.
pub fn standing(c: &Connection, fingerprint: &str) -> Result<Option<Standing>, Error> {
    Ok(c.prepare_cached(
        "SELECT expires_at, revoked_at IS NOT NULL, admin FROM certificates \
         WHERE fingerprint = ?1 ORDER BY revoked_at IS NOT NULL, expires_at DESC LIMIT 1",
    )?
    .query_row([fingerprint], |r| {
        Ok(Standing {
            expires_at: r.get(0)?,
            revoked: r.get(1)?,
            admin: r.get(2)?,
        })
    })
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn row(serial: &str, fp: &str, issued_to: Option<&str>) -> CertRow {
        CertRow {
            serial: serial.into(),
            common_name: "cn".into(),
            fingerprint: fp.into(),
            issued_to: issued_to.map(str::to_owned),
            created_at: 100,
            expires_at: 200,
            revoked_at: None,
            admin: false,
        }
    }

    #[test]
    fn the_ca_is_made_once() {
        let c = db();
        assert!(ca(&c).unwrap().is_none());
        let made = CaRow {
            common_name: "CA".into(),
            cert_pem: "cert".into(),
            key_pem: "key".into(),
            fingerprint: "fp".into(),
            created_at: 1,
            expires_at: 2,
            crl_pem: None,
            crl_number: 0,
            crl_next: 0,
        };
        assert!(insert_ca(&c, &made).unwrap());
        assert!(
            !insert_ca(
                &c,
                &CaRow {
                    common_name: "other".into(),
                    ..made.clone()
                }
            )
            .unwrap()
        );
        assert_eq!(ca(&c).unwrap().unwrap(), made);
        set_crl(&c, "crl", 3, 99).unwrap();
        let ca = ca(&c).unwrap().unwrap();
        assert_eq!(
            (ca.crl_pem.as_deref(), ca.crl_number, ca.crl_next),
            (Some("crl"), 3, 99)
        );
    }

    #[test]
    fn the_first_registration_is_admin_and_revocation_happens_once() {
        let c = db();
        assert!(!insert_cert(&c, &row("01", "f1", None), Kind::Issue).unwrap());
        assert!(insert_cert(&c, &row("02", "f2", None), Kind::Registration).unwrap());
        assert!(!insert_cert(&c, &row("03", "f3", Some("f2")), Kind::Registration).unwrap());
        assert_eq!(
            standing(&c, "f2").unwrap(),
            Some(Standing {
                expires_at: 200,
                revoked: false,
                admin: true
            })
        );
        assert_eq!(standing(&c, "nobody").unwrap(), None);
        let mine: Vec<String> = certs_of(&c, "f2")
            .unwrap()
            .into_iter()
            .map(|r| r.serial)
            .collect();
        assert_eq!(mine, ["03", "02"]);
        assert_eq!(revoke(&c, "03", 150).unwrap(), Ok(()));
        assert_eq!(revoke(&c, "03", 151).unwrap(), Err(NotRevoked::Already));
        assert_eq!(revoke(&c, "99", 151).unwrap(), Err(NotRevoked::NotFound));
        assert!(standing(&c, "f3").unwrap().unwrap().revoked);
        assert_eq!(revoked(&c).unwrap(), [("03".to_owned(), 150)]);
    }
}

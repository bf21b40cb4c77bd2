//! The certificate authority (feature `pki`): an ECDSA P-384 CA made with rcgen, its key at
//! rest as encrypted PKCS#8, client certificates for new keys or for signing requests, the
//! CRL, and PKCS#12 bundles, all in Rust without an OpenSSL library. Pure: no I/O, no
//! store; the callers keep what it makes (`store::pki`) and run it off the async workers.

use pkcs8::der::SecretDocument;
use pkcs8::der::pem::PemLabel;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfoRef, LineEnding, PrivateKeyInfoRef};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PublicKeyData, RevokedCertParams, SerialNumber,
};
use sha1::{Digest, Sha1};
use time::{Duration, OffsetDateTime};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::ids::{certificate_serial, fill_random, hex, unhex};

/// The CA's key algorithm, as `GET /pki` names it.
pub const KEY_ALGORITHM: &str = "ec:secp384r1";
/// Clock skew allowed for: certificates are valid from this long before they were made.
const BACKDATE: Duration = Duration::minutes(5);
/// How long a CRL is valid; it is made again well before.
pub const CRL_DAYS: i64 = 7;

/// What went wrong; never a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("PKCS#8: {0}")]
    Pkcs8(#[from] pkcs8::Error),
    #[error("DER/PEM: {0}")]
    Der(#[from] pkcs8::der::Error),
    #[error("PBES2 parameters: {0}")]
    Pkcs5(#[from] pkcs8::pkcs5::Error),
    /// The stored CA key does not open with the configured password.
    #[error("the CA key cannot be decrypted: wrong pki_ca_password or a damaged key")]
    WrongPassword,
    /// A signing request that is not a PEM PKCS#10 request.
    #[error("the certificate signing request cannot be parsed")]
    CsrParse,
    /// A signing request whose signature does not verify.
    #[error("the certificate signing request's signature does not verify")]
    CsrSignature,
    /// A signing request for a key other than EC P-256 or P-384.
    #[error("the certificate signing request's key is not EC P-256 or P-384")]
    CsrKeyType,
    /// The stored CA certificate cannot be read.
    #[error("the CA certificate cannot be parsed")]
    CaCert,
    #[error("PKCS#12: {0}")]
    P12(String),
    #[error("time out of range")]
    Time,
    /// No common name given, and the signing request names none.
    #[error("no common name")]
    NoCommonName,
    /// The signing request's common name is empty, too long or holds control characters.
    #[error("the signing request's common name is not 1 to 64 printable characters")]
    BadCommonName,
}

/// A CA ready to sign.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_der: Vec<u8>,
    key_id: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A CA as it is kept: the certificate, the key encrypted, and its facts.
#[derive(Debug, Clone)]
pub struct CaRecord {
    pub cert_pem: String,
    /// Encrypted PKCS#8 PEM.
    pub key_pem: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// PKCS#8 PEM and DER of the key, when the key was made here.
    pub key: Option<(String, Vec<u8>)>,
    /// SHA-1 of the DER, 40 lower-case hex digits.
    pub fingerprint: String,
    /// 32 lower-case hex digits.
    pub serial: String,
    pub common_name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Whose key a certificate is for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A new P-384 key, made here and handed out.
    NewKey,
    /// The key of this PEM signing request; the private key never leaves the client.
    Csr(&'a str),
}

/// Makes a CA named `cn`, valid for `days`, its key encrypted under `password`.
///
/// # Errors
/// Key generation, signing or encryption failed.
pub fn create_ca(cn: &str, days: u32, password: &str) -> Result<(Ca, CaRecord), Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
    let now = now_utc()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
    params.serial_number = Some(SerialNumber::from_slice(&certificate_serial()));
    // CA:TRUE with path length 0 (critical) and a subject key identifier.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    // rcgen marks keyUsage critical.
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key)?;
    let record = CaRecord {
        cert_pem: cert.pem(),
        key_pem: encrypt_key(&key, password)?,
        fingerprint: hex(&Sha1::digest(cert.der())),
        created_at: now.unix_timestamp(),
        expires_at: params.not_after.unix_timestamp(),
    };
    let ca = load_ca(&record.cert_pem, key)?;
    Ok((ca, record))
}

/// Opens a kept CA with `password`.
///
/// # Errors
/// [`Error::WrongPassword`] when the key does not open; a damaged certificate.
pub fn open_ca(cert_pem: &str, key_pem: &str, password: &str) -> Result<Ca, Error> {
    load_ca(cert_pem, decrypt_key(key_pem, password)?)
}

fn load_ca(cert_pem: &str, key: KeyPair) -> Result<Ca, Error> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|_| Error::CaCert)?;
    let key_id = {
        let cert = pem.parse_x509().map_err(|_| Error::CaCert)?;
        cert.extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(kid) => {
                    Some(kid.0.to_vec())
                }
                _ => None,
            })
            .ok_or(Error::CaCert)?
    };
    Ok(Ca {
        issuer: Issuer::from_ca_cert_pem(cert_pem, key)?,
        cert_der: pem.contents,
        key_id,
    })
}

/// The key as encrypted PKCS#8 PEM: PBES2 with scrypt (2^14, 8, 1; OpenSSL 3 refuses
/// 2^15) and AES-256-CBC.
fn encrypt_key(key: &KeyPair, password: &str) -> Result<String, Error> {
    let (mut salt, mut iv) = ([0u8; 16], [0u8; 16]);
    fill_random(&mut salt);
    fill_random(&mut iv);
    let scrypt = pkcs8::pkcs5::scrypt::Params::new(14, 8, 1)
        .map_err(|_| Error::P12("scrypt parameters".into()))?;
    let params = pbes2::Parameters::generate_scrypt_aes256cbc(scrypt, &salt, iv)?;
    let info = PrivateKeyInfoRef::try_from(key.serialized_der())?;
    let doc = info.encrypt_with_params(params, password)?;
    Ok(doc
        .to_pem(EncryptedPrivateKeyInfoRef::PEM_LABEL, LineEnding::LF)?
        .to_string())
}

fn decrypt_key(pem: &str, password: &str) -> Result<KeyPair, Error> {
    let (label, doc) = SecretDocument::from_pem(pem).map_err(|_| Error::WrongPassword)?;
    EncryptedPrivateKeyInfoRef::validate_pem_label(label).map_err(|_| Error::WrongPassword)?;
    let encrypted = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())?;
    let plain = encrypted
        .decrypt(password)
        .map_err(|_| Error::WrongPassword)?;
    // A wrong password can pass the padding check by chance; the key then does not parse.
    KeyPair::try_from(plain.as_bytes()).map_err(|_| Error::WrongPassword)
}

/// Issues a client certificate named `cn` (for a signing request without one, the name it
/// asks for), valid for `days`: keyUsage digitalSignature, extended key usage clientAuth
/// only, the CA's key identifier, a random serial.
///
/// # Errors
/// A bad signing request, no name, or signing failed.
pub fn issue(ca: &Ca, subject: Subject<'_>, cn: Option<&str>, days: u32) -> Result<Issued, Error> {
    let serial = certificate_serial();
    match subject {
        Subject::NewKey => {
            let cn = cn.ok_or(Error::NoCommonName)?;
            let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
            let params = client_params(cn, days, &serial)?;
            let mut issued = sign(ca, &params, &key, &serial, cn)?;
            issued.key = Some((key.serialize_pem(), key.serialize_der()));
            Ok(issued)
        }
        Subject::Csr(pem) => {
            let (_, pem) =
                x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| Error::CsrParse)?;
            if pem.label != "CERTIFICATE REQUEST" && pem.label != "NEW CERTIFICATE REQUEST" {
                return Err(Error::CsrParse);
            }
            let (rest, csr) =
                X509CertificationRequest::from_der(&pem.contents).map_err(|_| Error::CsrParse)?;
            if !rest.is_empty() {
                return Err(Error::CsrParse);
            }
            csr.verify_signature().map_err(|_| Error::CsrSignature)?;
            // The key's own algorithm, from its SPKI: rcgen's request parser would take it
            // from the signature algorithm, and OpenSSL signs P-384 requests with SHA-256.
            let spki = rcgen::SubjectPublicKeyInfo::from_der(
                csr.certification_request_info.subject_pki.raw,
            )
            .map_err(|_| Error::CsrKeyType)?;
            let alg = spki.algorithm();
            if alg != &PKCS_ECDSA_P384_SHA384 && alg != &PKCS_ECDSA_P256_SHA256 {
                return Err(Error::CsrKeyType);
            }
            let asked = csr
                .certification_request_info
                .subject
                .iter_common_name()
                .next()
                .map(|a| a.as_str().map(str::trim).map_err(|_| Error::BadCommonName))
                .transpose()?;
            let cn = match (cn, asked) {
                (Some(given), _) => given,
                (None, Some(asked)) if fits_common_name(asked) => asked,
                (None, Some(_)) => return Err(Error::BadCommonName),
                (None, None) => return Err(Error::NoCommonName),
            };
            let params = client_params(cn, days, &serial)?;
            sign(ca, &params, &spki, &serial, cn)
        }
    }
}

/// A common name the CA writes: 1 to 64 characters, none of them a control character.
#[must_use]
pub fn fits_common_name(cn: &str) -> bool {
    !cn.is_empty() && cn.chars().count() <= 64 && !cn.chars().any(char::is_control)
}

fn client_params(cn: &str, days: u32, serial: &[u8; 16]) -> Result<CertificateParams, Error> {
    let now = now_utc()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
    // Never rcgen's default serial: it is derived from the key, so a re-used key repeats it.
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn sign(
    ca: &Ca,
    params: &CertificateParams,
    key: &impl PublicKeyData,
    serial: &[u8; 16],
    cn: &str,
) -> Result<Issued, Error> {
    let cert = params.signed_by(key, &ca.issuer)?;
    let der = cert.der().to_vec();
    Ok(Issued {
        cert_pem: cert.pem(),
        fingerprint: hex(&Sha1::digest(&der)),
        cert_der: der,
        key: None,
        serial: hex(serial),
        common_name: cn.to_owned(),
        created_at: (params.not_before + BACKDATE).unix_timestamp(),
        expires_at: params.not_after.unix_timestamp(),
    })
}

impl Ca {
    /// The CA certificate, PEM.
    #[must_use]
    pub fn cert_pem(&self) -> String {
        pkcs8::der::pem::encode_string("CERTIFICATE", LineEnding::LF, &self.cert_der)
            .unwrap_or_default()
    }

    /// A PKCS#12 bundle of `issued` (with its key), its key and this CA's certificate,
    /// under an empty password: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256
    /// MAC, which OpenSSL 3 opens without its legacy provider.
    ///
    /// # Errors
    /// The certificate has no key here (a signing request's), or the bundle failed.
    pub fn p12(&self, issued: &Issued) -> Result<Vec<u8>, Error> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let p12 = |e: p12_keystore::error::Error| Error::P12(e.to_string());
        let (_, key_der) = issued
            .key
            .as_ref()
            .ok_or_else(|| Error::P12("no private key to bundle".into()))?;
        let chain = PrivateKeyChain::new(
            // localKeyId: SHA-1 of the certificate, as OpenSSL makes it.
            Sha1::digest(&issued.cert_der).to_vec(),
            PrivateKey::from_der(key_der).map_err(p12)?,
            [
                Certificate::from_der(&issued.cert_der).map_err(p12)?,
                Certificate::from_der(&self.cert_der).map_err(p12)?,
            ],
        );
        let mut store = KeyStore::new();
        store.add_entry("client", KeyStoreEntry::PrivateKeyChain(chain));
        store.writer("").write().map_err(p12)
    }

    /// A CRL numbered `number` listing `revoked` (serial hex, Unix time), valid for
    /// [`CRL_DAYS`] from `now`; its authority key identifier is the CA's.
    ///
    /// # Errors
    /// A serial that is not hex, a time out of range, or signing failed.
    pub fn crl(&self, number: u64, revoked: &[(String, i64)]) -> Result<String, Error> {
        let now = now_utc()?;
        let revoked_certs = revoked
            .iter()
            .map(|(serial, at)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&unhex(serial).ok_or(Error::Time)?),
                    revocation_time: OffsetDateTime::from_unix_timestamp(*at)
                        .map_err(|_| Error::Time)?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + Duration::days(CRL_DAYS),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::PreSpecified(self.key_id.clone()),
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }
}

/// `now` without nanoseconds: certificates hold whole seconds, so the times reported are
/// the certificate's own.
fn now_utc() -> Result<OffsetDateTime, Error> {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|_| Error::Time)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_reopens_with_its_password_only_and_signs_after_reopening() {
        let (_, record) = create_ca("Test CA", 10, "pw").unwrap();
        assert!(
            record
                .key_pem
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        );
        assert!(matches!(
            open_ca(&record.cert_pem, &record.key_pem, "wrong"),
            Err(Error::WrongPassword)
        ));
        let ca = open_ca(&record.cert_pem, &record.key_pem, "pw").unwrap();
        assert_eq!(ca.cert_pem(), record.cert_pem);
        let a = issue(&ca, Subject::NewKey, Some("alice"), 1).unwrap();
        let b = issue(&ca, Subject::NewKey, Some("alice"), 1).unwrap();
        assert_ne!(a.serial, b.serial);
        assert_eq!((a.serial.len(), a.fingerprint.len()), (32, 40));
        assert_eq!(a.expires_at - a.created_at, 86_400);
        assert!(!ca.p12(&a).unwrap().is_empty());
        assert!(
            ca.crl(1, &[(a.serial.clone(), a.created_at)])
                .unwrap()
                .contains("X509 CRL")
        );
    }

    #[test]
    fn junk_requests_are_refused_not_panicked_on() {
        let (ca, _) = create_ca("Test CA", 10, "pw").unwrap();
        for junk in [
            "",
            "garbage",
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        ] {
            assert!(
                issue(&ca, Subject::Csr(junk), Some("x"), 1).is_err(),
                "{junk}"
            );
        }
    }

    #[test]
    fn serials_are_positive_and_32_digits() {
        for _ in 0..1000 {
            let s = certificate_serial();
            assert!((1..=0x7f).contains(&s[0]));
        }
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0"), None);
    }
}

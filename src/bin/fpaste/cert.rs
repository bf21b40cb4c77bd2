//! Keys and certificates made on this machine: `fpaste cert`'s self-signed client
//! certificate and `fpaste register`'s signing request. Writes no files.

use base64::Engine as _;
use flaskpaste::ids::{fill_random, hex};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ECDSA_P521_SHA512,
    PKCS_RSA_SHA256, RsaKeySize, SerialNumber, SignatureAlgorithm,
};
use sha1::{Digest as _, Sha1};
use time::{Duration, OffsetDateTime};

/// Clock skew allowed for: a certificate is valid from this long before it was made.
const BACKDATE: Duration = Duration::minutes(5);
/// The longest validity `fpaste cert --days` accepts: about a hundred years.
const MAX_DAYS: u32 = 36_500;

/// The key algorithm of a self-signed certificate (`-a ec|rsa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    Ec,
    Rsa,
}

/// The curve of an EC key (`-c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Curve {
    Secp256r1,
    Secp384r1,
    Secp521r1,
}

/// A certificate and its key, for the caller to write.
#[derive(Clone)]
pub struct Made {
    pub cert_pem: String,
    /// Unencrypted PKCS#8 PEM ("PRIVATE KEY").
    pub key_pem: String,
    /// SHA-1 of the certificate's DER, 40 lower-case hex digits.
    pub fingerprint: String,
    /// The last moment of validity, RFC 3339 in UTC (`2026-01-31T12:00:00Z`).
    pub not_after: String,
}

/// A signing request for `POST /register` and the key it was made with.
#[derive(Clone)]
pub struct SigningRequest {
    pub csr_pem: String,
    /// Unencrypted PKCS#8 PEM ("PRIVATE KEY"); it never leaves this machine.
    pub key_pem: String,
}

/// Why no key, certificate or fingerprint was made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("RSA key size {0} is not one of 2048, 3072, 4096")]
    BadRsaSize(u32),
    #[error("validity must be 1 to {MAX_DAYS} days")]
    BadDays,
    #[error("key or certificate generation failed: {0}")]
    Generation(String),
    #[error("not a PEM certificate: {0}")]
    BadCertificate(String),
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Error::Generation(e.to_string())
    }
}

/// Self-signed certificate for mTLS: CN = `common_name`, key usage digitalSignature
/// (+ keyEncipherment for RSA), extended key usage clientAuth, not a CA, valid from now
/// (less five minutes for clock skew) for `days` days. `curve` is ignored for RSA,
/// `rsa_bits` for EC.
///
/// # Errors
/// [`Error::BadRsaSize`], [`Error::BadDays`], or the key or signature failed.
pub fn self_signed(
    alg: Algorithm,
    curve: Curve,
    rsa_bits: u32,
    common_name: &str,
    days: u32,
) -> Result<Made, Error> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::BadDays);
    }
    let (key, key_usages) = match alg {
        Algorithm::Ec => (
            KeyPair::generate_for(curve_algorithm(curve))?,
            vec![KeyUsagePurpose::DigitalSignature],
        ),
        Algorithm::Rsa => (
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rsa_size(rsa_bits)?)?,
            // TLS 1.2 RSA key exchange encrypts to the key; clients of old servers need it.
            vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ],
        ),
    };
    let now = now_utc()?;
    let not_after = now + Duration::days(i64::from(days));
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.not_before = now - BACKDATE;
    params.not_after = not_after;
    // Never rcgen's default serial: it is derived from the key.
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = key_usages;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key)?;
    Ok(Made {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        fingerprint: hex(&Sha1::digest(cert.der())),
        not_after: rfc3339(not_after),
    })
}

/// P-384 key and a PKCS#10 signing request (CN = `common_name` when given) for
/// `POST /register`.
///
/// # Errors
/// The key or the signature failed.
pub fn signing_request(common_name: Option<&str>) -> Result<SigningRequest, Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
    let mut params = CertificateParams::default();
    // rcgen's default subject is "rcgen self signed cert"; the daemon would take it as a name.
    params.distinguished_name = common_name.map_or_else(DistinguishedName::new, name);
    let csr = params.serialize_request(&key)?;
    Ok(SigningRequest {
        csr_pem: csr.pem()?,
        key_pem: key.serialize_pem(),
    })
}

/// SHA-1 of the first certificate's DER in a PEM text, 40 lower-case hex digits (what
/// nginx's `$ssl_client_fingerprint` and the daemon's `X-SSL-Client-SHA1` use).
///
/// # Errors
/// [`Error::BadCertificate`] when there is no complete, decodable CERTIFICATE block.
pub fn fingerprint(cert_pem: &str) -> Result<String, Error> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let bad = |why: &str| Error::BadCertificate(why.to_owned());
    let (_, after_begin) = cert_pem
        .split_once(BEGIN)
        .ok_or_else(|| bad("no BEGIN CERTIFICATE line"))?;
    let (body, _) = after_begin
        .split_once(END)
        .ok_or_else(|| bad("no END CERTIFICATE line"))?;
    let base64: String = body.split_ascii_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|e| Error::BadCertificate(e.to_string()))?;
    // Every certificate is a DER SEQUENCE; anything else is not one.
    if der.first() != Some(&0x30) {
        return Err(bad("the block is not a DER certificate"));
    }
    Ok(hex(&Sha1::digest(&der)))
}

fn curve_algorithm(curve: Curve) -> &'static SignatureAlgorithm {
    match curve {
        Curve::Secp256r1 => &PKCS_ECDSA_P256_SHA256,
        Curve::Secp384r1 => &PKCS_ECDSA_P384_SHA384,
        // TLS 1.3 signs with P-521 only as ecdsa_secp521r1_sha512.
        Curve::Secp521r1 => &PKCS_ECDSA_P521_SHA512,
    }
}

fn rsa_size(bits: u32) -> Result<RsaKeySize, Error> {
    match bits {
        2048 => Ok(RsaKeySize::_2048),
        3072 => Ok(RsaKeySize::_3072),
        4096 => Ok(RsaKeySize::_4096),
        other => Err(Error::BadRsaSize(other)),
    }
}

/// `now` without nanoseconds: certificates hold whole seconds, so `not_after` is the
/// certificate's own.
fn now_utc() -> Result<OffsetDateTime, Error> {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|e| Error::Generation(e.to_string()))
}

fn rfc3339(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A random positive 128-bit serial, its first byte 1 to 127 (positive, no leading zero).
fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    loop {
        fill_random(&mut serial);
        serial[0] &= 0x7f;
        if serial[0] != 0 {
            return serial;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    /// Runs `openssl args…` with `input` on stdin; returns stdout, failing on a non-zero exit.
    fn openssl(args: &[&str], input: &str) -> String {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the openssl CLI is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Checks what every self-signed certificate must show, and returns `-text` output.
    fn check_certificate(made: &Made, cn: &str) -> String {
        let text = openssl(&["x509", "-noout", "-text"], &made.cert_pem);
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
        assert!(text.contains("Digital Signature"), "{text}");
        assert!(text.contains("CA:FALSE"), "{text}");
        assert!(text.contains(&format!("Subject: CN = {cn}")), "{text}");
        let line = openssl(&["x509", "-noout", "-fingerprint", "-sha1"], &made.cert_pem);
        let theirs = line
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_lowercase();
        assert_eq!(made.fingerprint, theirs);
        assert_eq!(fingerprint(&made.cert_pem).unwrap(), theirs);
        assert!(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // The key belongs to the certificate.
        let from_key = openssl(&["pkey", "-pubout"], &made.key_pem);
        let from_cert = openssl(&["x509", "-noout", "-pubkey"], &made.cert_pem);
        assert_eq!(from_key, from_cert);
        text
    }

    #[test]
    fn every_curve_makes_a_client_certificate_openssl_reads() {
        for (curve, bits, nist) in [
            (Curve::Secp256r1, "256", "P-256"),
            (Curve::Secp384r1, "384", "P-384"),
            (Curve::Secp521r1, "521", "P-521"),
        ] {
            let made = self_signed(Algorithm::Ec, curve, 4096, "alice", 30).unwrap();
            let text = check_certificate(&made, "alice");
            assert!(text.contains("id-ecPublicKey"), "{text}");
            assert!(
                text.contains(&format!("Public-Key: ({bits} bit)")),
                "{text}"
            );
            assert!(text.contains(&format!("NIST CURVE: {nist}")), "{text}");
            assert!(!text.contains("Key Encipherment"), "{text}");
        }
    }

    #[test]
    fn rsa_makes_a_client_certificate_with_key_encipherment() {
        let made = self_signed(Algorithm::Rsa, Curve::Secp384r1, 2048, "bob", 1).unwrap();
        let text = check_certificate(&made, "bob");
        assert!(text.contains("rsaEncryption"), "{text}");
        assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
        assert!(text.contains("Key Encipherment"), "{text}");
    }

    #[test]
    fn not_after_is_days_from_now_and_matches_the_certificate() {
        let made = self_signed(Algorithm::Ec, Curve::Secp256r1, 4096, "c", 365).unwrap();
        let expected = rfc3339(now_utc().unwrap() + Duration::days(365));
        // Made a moment ago: the same second, or the one before.
        assert_eq!(made.not_after.len(), "2026-01-31T12:00:00Z".len());
        assert!(
            made.not_after <= expected,
            "{} vs {expected}",
            made.not_after
        );
        let line = openssl(
            &["x509", "-noout", "-enddate", "-dateopt", "iso_8601"],
            &made.cert_pem,
        );
        assert_eq!(
            line.trim(),
            format!("notAfter={}", made.not_after.replace('T', " "))
        );
    }

    #[test]
    fn bad_rsa_sizes_and_days_are_refused() {
        for bits in [0, 1024, 2047, 8192] {
            assert!(matches!(
                self_signed(Algorithm::Rsa, Curve::Secp384r1, bits, "x", 1),
                Err(Error::BadRsaSize(b)) if b == bits
            ));
        }
        for days in [0, MAX_DAYS + 1] {
            assert!(matches!(
                self_signed(Algorithm::Ec, Curve::Secp384r1, 4096, "x", days),
                Err(Error::BadDays)
            ));
        }
        assert!(self_signed(Algorithm::Ec, Curve::Secp256r1, 0, "x", MAX_DAYS).is_ok());
    }

    #[test]
    fn signing_request_verifies_and_names_its_subject() {
        let req = signing_request(Some("carol")).unwrap();
        assert!(req.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let text = openssl(&["req", "-verify", "-noout", "-text"], &req.csr_pem);
        assert!(text.contains("Subject: CN = carol"), "{text}");
        assert!(text.contains("NIST CURVE: P-384"), "{text}");
        assert_eq!(
            openssl(&["pkey", "-pubout"], &req.key_pem),
            openssl(&["req", "-noout", "-pubkey"], &req.csr_pem)
        );
        let anonymous = signing_request(None).unwrap();
        let text = openssl(
            &["req", "-verify", "-noout", "-subject"],
            &anonymous.csr_pem,
        );
        assert_eq!(text.trim(), "subject=");
    }

    #[test]
    fn fingerprint_refuses_what_is_not_a_certificate() {
        let made = self_signed(Algorithm::Ec, Curve::Secp256r1, 4096, "d", 1).unwrap();
        for junk in [
            "",
            "garbage",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            made.key_pem.as_str(),
        ] {
            assert!(
                matches!(fingerprint(junk), Err(Error::BadCertificate(_))),
                "{junk}"
            );
        }
        // A chain: the first certificate counts; text around the block is ignored.
        let other = self_signed(Algorithm::Ec, Curve::Secp256r1, 4096, "e", 1).unwrap();
        let chain = format!("subject=CN=d\n{}{}", made.cert_pem, other.cert_pem);
        assert_eq!(fingerprint(&chain).unwrap(), made.fingerprint);
    }
}

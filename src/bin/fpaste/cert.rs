//! Keys and certificates made on this machine: `fpaste cert`'s self-signed client
//! certificate and `fpaste register`'s signing request. Writes no files.
//!
//! The self-signed certificate's key comes from aws-lc-rs (RSA and P-521 included) and the
//! certificate from x509-cert's builder; rcgen, which the daemon's PKI shares, keeps its
//! ring backend, so the daemon does not link a second crypto library for the client's sake.

use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use flaskpaste::ids::{certificate_serial, hex};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P384_SHA384};
use sha1::{Digest as _, Sha1};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::asn1::{BitString, Null};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_KP_CLIENT_AUTH,
    SHA_256_WITH_RSA_ENCRYPTION,
};
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{Any, Decode as _, Document, Encode as _, EncodePem as _, SecretDocument};
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension as _};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};

/// Clock skew allowed for: a certificate is valid from this long before it was made.
const BACKDATE: Duration = Duration::from_secs(5 * 60);
/// The longest validity `fpaste cert --days` accepts: about a hundred years.
const MAX_DAYS: u32 = 36_500;
const DAY: u64 = 86_400;

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

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Generation(e.to_string())
}

/// A fresh private key that signs its own certificate.
enum Secret {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// The key, its public half as SubjectPublicKeyInfo DER, and its signature algorithm.
struct Signer {
    secret: Secret,
    spki: Vec<u8>,
    algorithm: ObjectIdentifier,
}

impl Signer {
    fn generate(alg: Algorithm, curve: Curve, rsa_bits: u32) -> Result<Signer, Error> {
        let (secret, algorithm) = match alg {
            Algorithm::Ec => {
                let (signing, oid): (&'static EcdsaSigningAlgorithm, _) = match curve {
                    Curve::Secp256r1 => (&ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_WITH_SHA_256),
                    Curve::Secp384r1 => (&ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_WITH_SHA_384),
                    // TLS 1.3 signs with P-521 only as ecdsa_secp521r1_sha512.
                    Curve::Secp521r1 => (&ECDSA_P521_SHA512_ASN1_SIGNING, ECDSA_WITH_SHA_512),
                };
                let key = EcdsaKeyPair::generate(signing).map_err(failed)?;
                (Secret::Ec(key), oid)
            }
            Algorithm::Rsa => {
                let key = RsaKeyPair::generate(rsa_size(rsa_bits)?).map_err(failed)?;
                (Secret::Rsa(key), SHA_256_WITH_RSA_ENCRYPTION)
            }
        };
        let spki = match &secret {
            Secret::Ec(k) => k.public_key().as_der().map_err(failed)?.as_ref().to_vec(),
            Secret::Rsa(k) => k.public_key().as_der().map_err(failed)?.as_ref().to_vec(),
        };
        Ok(Signer {
            secret,
            spki,
            algorithm,
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        match &self.secret {
            Secret::Ec(k) => Ok(k.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
            Secret::Rsa(k) => {
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
        }
    }

    fn pkcs8_pem(&self) -> Result<String, Error> {
        let der = match &self.secret {
            Secret::Ec(k) => k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Secret::Rsa(k) => k.as_der().map_err(failed)?.as_ref().to_vec(),
        };
        SecretDocument::try_from(der)
            .and_then(|d| d.to_pem("PRIVATE KEY", LineEnding::LF))
            .map(|pem| pem.to_string())
            .map_err(failed)
    }
}

/// The public half, as the builder wants it.
#[derive(Clone)]
struct PublicKey(Vec<u8>);

impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<Document> {
        Ok(Document::try_from(self.0.as_slice())?)
    }
}

impl signature::Keypair for Signer {
    type VerifyingKey = PublicKey;
    fn verifying_key(&self) -> PublicKey {
        PublicKey(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for Signer {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        // RFC 4055: sha256WithRSAEncryption carries NULL parameters; ECDSA ones carry none.
        let parameters = (self.algorithm == SHA_256_WITH_RSA_ENCRYPTION)
            .then(|| Any::encode_from(&Null))
            .transpose()?;
        Ok(AlgorithmIdentifierOwned {
            oid: self.algorithm,
            parameters,
        })
    }
}

/// A self-signed end-entity certificate for TLS clients.
struct ClientProfile {
    subject: Name,
    rsa: bool,
}

impl BuilderProfile for ClientProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut usages = KeyUsages::DigitalSignature.into();
        if self.rsa {
            // TLS 1.2 RSA key exchange encrypts to the key; clients of old servers need it.
            usages |= KeyUsages::KeyEncipherment;
        }
        let mut exts = Vec::new();
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        exts.push(basic.to_extension(tbs.subject(), &exts)?);
        exts.push(KeyUsage(usages).to_extension(tbs.subject(), &exts)?);
        let eku = ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]);
        exts.push(eku.to_extension(tbs.subject(), &exts)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        exts.push(ski.to_extension(tbs.subject(), &exts)?);
        Ok(exts)
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
    let signer = Signer::generate(alg, curve, rsa_bits)?;
    // Whole seconds: certificates hold no more, so `not_after` is the certificate's own.
    let now = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_err(failed)?
                .as_secs(),
        );
    let not_after = now + Duration::from_secs(DAY * u64::from(days));
    let validity = Validity::new(
        Time::try_from(now - BACKDATE).map_err(failed)?,
        Time::try_from(not_after).map_err(failed)?,
    );
    let profile = ClientProfile {
        subject: Name::from_str(&format!("CN={}", escape_rdn(common_name))).map_err(failed)?,
        rsa: alg == Algorithm::Rsa,
    };
    let spki = SubjectPublicKeyInfoOwned::from_der(&signer.spki).map_err(failed)?;
    let serial = SerialNumber::new(&certificate_serial()).map_err(failed)?;
    let mut builder = CertificateBuilder::new(profile, serial, validity, spki).map_err(failed)?;
    let tbs = builder.finalize(&signer).map_err(failed)?;
    let signature = BitString::from_bytes(&signer.sign(&tbs)?).map_err(failed)?;
    let cert = builder.assemble(signature, &signer).map_err(failed)?;
    let der = cert.to_der().map_err(failed)?;
    Ok(Made {
        cert_pem: cert.to_pem(LineEnding::LF).map_err(failed)?,
        key_pem: signer.pkcs8_pem()?,
        fingerprint: hex(&Sha1::digest(&der)),
        not_after: rfc3339(not_after),
    })
}

/// `cn` as an RFC 4514 attribute value: the characters that would end or alter it escaped.
fn escape_rdn(cn: &str) -> String {
    let mut out = String::with_capacity(cn.len());
    for (i, c) in cn.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == cn.chars().count() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

fn rsa_size(bits: u32) -> Result<KeySize, Error> {
    match bits {
        2048 => Ok(KeySize::Rsa2048),
        3072 => Ok(KeySize::Rsa3072),
        4096 => Ok(KeySize::Rsa4096),
        other => Err(Error::BadRsaSize(other)),
    }
}

/// RFC 3339 in UTC, to the second.
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dt = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
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
    fn common_names_with_rdn_specials_stay_one_attribute() {
        let made = self_signed(Algorithm::Ec, Curve::Secp256r1, 0, "a,b=c+d", 1).unwrap();
        let subject = openssl(
            &["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
            &made.cert_pem,
        );
        // One attribute: the comma and the plus did not split it.
        assert_eq!(subject.trim(), r"subject=CN=a\,b=c\+d");
    }

    #[test]
    fn not_after_is_days_from_now_and_matches_the_certificate() {
        let made = self_signed(Algorithm::Ec, Curve::Secp256r1, 4096, "c", 365).unwrap();
        let expected = rfc3339(SystemTime::now() + Duration::from_secs(365 * DAY));
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

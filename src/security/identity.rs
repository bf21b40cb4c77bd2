//! Client identity from the proxy's certificate header: the fingerprint format and the
//! proxy-secret check that decides whether the header is believed.

use std::fmt;

use subtle::ConstantTimeEq;

/// A client certificate's SHA-1 fingerprint: exactly 40 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Parses a fingerprint; anything but 40 lowercase hex characters is `None`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Fingerprint> {
        let ok = s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Fingerprint(s.to_owned()))
    }

    /// The fingerprint text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.0)
    }
}

/// How far a client is trusted; decides size limits and default expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// No certificate.
    Anonymous,
    /// A certificate not registered through the PKI.
    Untrusted,
    /// A certificate registered through the PKI.
    Trusted,
}

/// The one place that decides a client's trust level. Certificates become trusted once the
/// PKI can register them; until then every certificate is untrusted.
#[must_use]
pub fn trust(identity: Option<&Fingerprint>) -> Trust {
    match identity {
        None => Trust::Anonymous,
        Some(_) => Trust::Untrusted,
    }
}

/// The identity a request carries: the fingerprint header counts only when no proxy secret
/// is configured, or when the request presents the configured secret.
#[must_use]
pub fn client_identity(
    fingerprint: Option<&[u8]>,
    presented_secret: Option<&[u8]>,
    configured_secret: Option<&[u8]>,
) -> Option<Fingerprint> {
    if let Some(expected) = configured_secret {
        let presented = presented_secret?;
        // Constant time: the comparison must not tell an attacker how much of it matched.
        if !bool::from(presented.ct_eq(expected)) {
            return None;
        }
    }
    Fingerprint::parse(std::str::from_utf8(fingerprint?).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &[u8] = b"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";

    #[test]
    fn only_forty_lowercase_hex_characters_are_a_fingerprint() {
        assert!(Fingerprint::parse("a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2").is_some());
        for bad in [
            "A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4E5F6A1B2",
            "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b",
            "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2a",
            "g1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2",
            "a1:b2:c3:d4:e5:f6:a1:b2:c3:d4:e5:f6:a1:b2",
            "",
        ] {
            assert!(Fingerprint::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn header_is_believed_without_a_secret() {
        assert!(client_identity(Some(FP), None, None).is_some());
    }

    #[test]
    fn header_needs_the_right_secret_when_one_is_configured() {
        assert!(client_identity(Some(FP), None, Some(b"s3")).is_none());
        assert!(client_identity(Some(FP), Some(b"s4"), Some(b"s3")).is_none());
        assert!(client_identity(Some(FP), Some(b"s3x"), Some(b"s3")).is_none());
        assert!(client_identity(Some(FP), Some(b"s3"), Some(b"s3")).is_some());
    }
}

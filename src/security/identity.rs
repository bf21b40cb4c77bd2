//! Client identity from the proxy's certificate header: the proxy-secret check that decides
//! whether the header is believed. How far an identity is trusted is `api::access`'s call.

use subtle::ConstantTimeEq;

use crate::ids::Fingerprint;

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

//! Client identity from the proxy's certificate header: the proxy-secret check that decides
//! whether the header is believed. How far an identity is trusted is `api::access`'s call.

use subtle::ConstantTimeEq;

use crate::ids::Fingerprint;

/// The identity a request carries. With a proxy secret configured, the fingerprint header
/// counts only when the request presents that secret; without one, only when the peer may
/// vouch for it (`peer_vouches`: a local or trusted proxy). A header given more than once
/// is `None` here, and so is the request: which of two values would the proxy have meant?
#[must_use]
pub fn client_identity(
    fingerprint: Option<&[u8]>,
    presented_secret: Option<&[u8]>,
    configured_secret: Option<&[u8]>,
    peer_vouches: bool,
) -> Option<Fingerprint> {
    match configured_secret {
        Some(expected) => {
            let presented = presented_secret?;
            // Constant time: the comparison must not tell an attacker how much of it matched.
            if !bool::from(presented.ct_eq(expected)) {
                return None;
            }
        }
        None if !peer_vouches => return None,
        None => {}
    }
    Fingerprint::parse(std::str::from_utf8(fingerprint?).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &[u8] = b"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";

    #[test]
    fn without_a_secret_only_a_vouching_peer_is_believed() {
        assert!(client_identity(Some(FP), None, None, true).is_some());
        assert!(client_identity(Some(FP), None, None, false).is_none());
        assert!(client_identity(Some(FP), Some(b"x"), None, false).is_none());
    }

    #[test]
    fn header_needs_the_right_secret_when_one_is_configured() {
        for vouches in [true, false] {
            assert!(client_identity(Some(FP), None, Some(b"s3"), vouches).is_none());
            assert!(client_identity(Some(FP), Some(b"s4"), Some(b"s3"), vouches).is_none());
            assert!(client_identity(Some(FP), Some(b"s3x"), Some(b"s3"), vouches).is_none());
            assert!(client_identity(Some(FP), Some(b"s3"), Some(b"s3"), vouches).is_some());
        }
    }
}

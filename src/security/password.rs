//! Paste passwords: PBKDF2-HMAC-SHA256 with 600,000 iterations and a 32-byte random salt,
//! stored as `pbkdf2_sha256$ITERATIONS$SALT$HASH` (hex), checked in constant time. Callers
//! run these on the blocking pool: each takes a few hundred milliseconds on purpose.

use subtle::ConstantTimeEq;

use crate::ids::{hex, random_bytes, unhex};

/// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
pub const ITERATIONS: u32 = 600_000;
/// Longest password accepted, in characters (hashing cost grows with it).
pub const MAX_CHARS: usize = 1024;
const SALT_BYTES: usize = 32;
const PREFIX: &str = "pbkdf2_sha256";

/// Hashes `password` with a fresh salt.
#[must_use]
pub fn hash(password: &str) -> String {
    hash_with(password, &random_bytes(SALT_BYTES), ITERATIONS)
}

fn hash_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut out);
    format!("{PREFIX}${iterations}${}${}", hex(salt), hex(&out))
}

/// True when `password` matches `stored`; a malformed `stored` matches nothing.
#[must_use]
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(PREFIX), Some(iterations), Some(salt), Some(_), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt)) = (iterations.parse::<u32>(), unhex(salt)) else {
        return false;
    };
    let fresh = hash_with(password, &salt, iterations);
    bool::from(fresh.as_bytes().ct_eq(stored.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        // Few iterations keep the test fast; the format and comparison are the same.
        let stored = hash_with("pässwörd 🔑", &random_bytes(SALT_BYTES), 1000);
        assert!(verify("pässwörd 🔑", &stored));
        assert!(!verify("pässwörd", &stored));
        assert!(!verify("", &stored));
    }

    #[test]
    fn the_real_hash_uses_the_promised_parameters() {
        let stored = hash("x");
        let parts: Vec<&str> = stored.split('$').collect();
        assert_eq!(parts[0], "pbkdf2_sha256");
        assert_eq!(parts[1], "600000");
        assert_eq!(parts[2].len(), SALT_BYTES * 2);
        assert!(verify("x", &stored));
        assert_ne!(hash("x"), stored, "salts must differ");
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for bad in [
            "",
            "pbkdf2_sha256$1$zz$00",
            "md5$1$00$00",
            "pbkdf2_sha256$x$00$00",
        ] {
            assert!(!verify("x", bad), "{bad}");
        }
    }
}

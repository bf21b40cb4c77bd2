//! Proof-of-work challenges: issuing signed tokens, verifying solutions, solving. A token is
//! `nonce:expires:difficulty:signature`: a random 128-bit nonce (32 hex characters), the
//! Unix time it expires, the leading zero bits a solution needs, and the HMAC-SHA256 of the
//! first three fields under the server's secret (64 hex characters), so that neither the
//! difficulty nor the expiry can be changed. A solution N is valid when
//! SHA-256(nonce + ":" + N) starts with `difficulty` zero bits. Pure: no I/O, no clock (the
//! caller passes `now`); whether a nonce was already spent is the store's business.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{fill_random, hex, push_hex};

/// The most leading zero bits a challenge may ask for; beyond this no client could answer.
pub const MAX_DIFFICULTY: u8 = 64;
/// Length of a nonce in hex characters (128 bits).
const NONCE_HEX: usize = 32;
/// Length of a signature in hex characters (HMAC-SHA256).
const SIGNATURE_HEX: usize = 64;
/// Longest solution accepted: the digits of `u64::MAX`.
const MAX_SOLUTION_DIGITS: usize = 20;

/// Why a token and solution were refused; the text follows "Proof-of-work failed: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not four fields of the right shapes.
    #[error("Invalid challenge format")]
    Malformed,
    /// The signature does not match the other fields: tampered, or another server's.
    #[error("Invalid challenge signature")]
    Tampered,
    /// Past its expiry.
    #[error("Challenge expired")]
    Expired,
    /// Asks for less work than this endpoint requires.
    #[error("Challenge difficulty too low")]
    TooEasy,
    /// The nonce was spent by an earlier request.
    #[error("Challenge already used")]
    Spent,
    /// The solution is not a decimal number.
    #[error("Invalid solution format")]
    NotANumber,
    /// The solution's hash has too few leading zero bits.
    #[error("Invalid solution")]
    Wrong,
}

/// A challenge as `GET /challenge` hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub nonce: String,
    pub expires: i64,
    pub difficulty: u8,
    pub token: String,
}

/// A token whose signature, expiry, difficulty and solution checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solved {
    pub nonce: String,
    /// Once past this, the token is refused anyway: the record of its nonce may go.
    pub expires: i64,
    pub difficulty: u8,
}

/// Issues a challenge of `difficulty` bits that expires `ttl` seconds after `now`.
#[must_use]
pub fn issue(secret: &[u8], difficulty: u8, now: i64, ttl: i64) -> Challenge {
    let mut nonce_bytes = [0u8; NONCE_HEX / 2];
    fill_random(&mut nonce_bytes);
    let nonce = hex(&nonce_bytes);
    let expires = now.saturating_add(ttl);
    let signed = format!("{nonce}:{expires}:{difficulty}");
    let mut token = String::with_capacity(signed.len() + 1 + SIGNATURE_HEX);
    token.push_str(&signed);
    token.push(':');
    push_hex(&mut token, &sign(secret, &signed));
    Challenge {
        nonce,
        expires,
        difficulty,
        token,
    }
}

/// Checks `token` and `solution` at `now`: shape, signature (in constant time), expiry, a
/// difficulty of at least `min_difficulty`, then the work itself.
///
/// # Errors
/// The first check that fails.
pub fn verify(
    secret: &[u8],
    token: &str,
    solution: &str,
    min_difficulty: u8,
    now: i64,
) -> Result<Solved, Rejection> {
    let (signed, signature) = token.rsplit_once(':').ok_or(Rejection::Malformed)?;
    let mut fields = signed.split(':');
    let (Some(nonce), Some(expires), Some(difficulty), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Rejection::Malformed);
    };
    let expires = decimal(expires)
        .and_then(|e| i64::try_from(e).ok())
        .ok_or(Rejection::Malformed)?;
    let difficulty = decimal(difficulty)
        .and_then(|d| u8::try_from(d).ok())
        .filter(|&d| d <= MAX_DIFFICULTY)
        .ok_or(Rejection::Malformed)?;
    if nonce.len() != NONCE_HEX || !is_lower_hex(nonce) || signature.len() != SIGNATURE_HEX {
        return Err(Rejection::Malformed);
    }
    let expected = hex(&sign(secret, signed));
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Err(Rejection::Tampered);
    }
    if expires <= now {
        return Err(Rejection::Expired);
    }
    if difficulty < min_difficulty {
        return Err(Rejection::TooEasy);
    }
    let n = decimal(solution.trim()).ok_or(Rejection::NotANumber)?;
    if leading_zero_bits(&attempt(nonce, n)) < u32::from(difficulty) {
        return Err(Rejection::Wrong);
    }
    Ok(Solved {
        nonce: nonce.to_owned(),
        expires,
        difficulty,
    })
}

/// The smallest N that solves `nonce` at `difficulty` (clients and tests; expected work
/// is 2^difficulty hashes).
#[must_use]
pub fn solve(nonce: &str, difficulty: u8) -> u64 {
    (0..=u64::MAX)
        .find(|&n| solves(nonce, n, difficulty))
        .unwrap_or(u64::MAX)
}

/// Whether N solves `nonce` at `difficulty`: what a client that searches in parallel
/// checks for each of its candidates.
#[must_use]
pub fn solves(nonce: &str, n: u64, difficulty: u8) -> bool {
    leading_zero_bits(&attempt(nonce, n)) >= u32::from(difficulty)
}

/// SHA-256(nonce + ":" + N).
fn attempt(nonce: &str, n: u64) -> [u8; 32] {
    let mut digits = itoa::Buffer::new();
    let mut h = Sha256::new();
    h.update(nonce.as_bytes());
    h.update(b":");
    h.update(digits.format(n).as_bytes());
    h.finalize().into()
}

/// Leading zero bits of a hash.
#[must_use]
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for &b in hash {
        if b != 0 {
            return bits + b.leading_zeros();
        }
        bits += 8;
    }
    bits
}

fn sign(secret: &[u8], signed: &str) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(signed.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A plain decimal number: digits only, no sign, no spaces, at most 20 of them.
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_SOLUTION_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test secret";

    fn solved(difficulty: u8) -> (Challenge, String) {
        let c = issue(KEY, difficulty, 1000, 300);
        let n = solve(&c.nonce, difficulty);
        (c, n.to_string())
    }

    #[test]
    fn a_solved_challenge_verifies_until_it_expires() {
        let (c, n) = solved(8);
        assert_eq!(c.expires, 1300);
        assert_eq!(c.token.split(':').count(), 4);
        assert_eq!(c.nonce.len(), 32);
        let ok = verify(KEY, &c.token, &n, 8, 1299).unwrap();
        assert_eq!((ok.nonce, ok.expires, ok.difficulty), (c.nonce, 1300, 8));
        assert_eq!(verify(KEY, &c.token, &n, 8, 1300), Err(Rejection::Expired));
    }

    #[test]
    fn solutions_have_the_leading_zero_bits_asked_for() {
        for d in [0, 1, 4, 12] {
            let (c, n) = solved(d);
            let bits = leading_zero_bits(&attempt(&c.nonce, n.parse().unwrap()));
            assert!(bits >= u32::from(d), "{bits} < {d}");
        }
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
        // The reference's algorithm, spelled out: SHA-256 of "nonce:N" in decimal.
        let digest: [u8; 32] = Sha256::digest(b"abc:42").into();
        assert_eq!(attempt("abc", 42), digest);
    }

    #[test]
    fn a_wrong_or_non_numeric_solution_is_refused() {
        let (c, n) = solved(16);
        let wrong = (0..)
            .find(|&k| leading_zero_bits(&attempt(&c.nonce, k)) < 16)
            .unwrap();
        assert_eq!(
            verify(KEY, &c.token, &wrong.to_string(), 16, 1000),
            Err(Rejection::Wrong)
        );
        for bad in [
            "",
            "-1",
            "+5",
            "1e3",
            "0x10",
            "１",
            "99999999999999999999999",
        ] {
            assert_eq!(
                verify(KEY, &c.token, bad, 16, 1000),
                Err(Rejection::NotANumber),
                "{bad}"
            );
        }
        assert!(verify(KEY, &c.token, &format!(" {n} "), 16, 1000).is_ok());
    }

    #[test]
    fn changing_any_field_breaks_the_signature() {
        let (c, n) = solved(4);
        let parts: Vec<&str> = c.token.split(':').collect();
        let changed = [
            format!("{}:{}:{}:{}", "0".repeat(32), parts[1], parts[2], parts[3]),
            format!("{}:{}:{}:{}", parts[0], 9_999_999, parts[2], parts[3]),
            format!("{}:{}:{}:{}", parts[0], parts[1], 0, parts[3]),
            format!("{}:{}:{}:{}", parts[0], parts[1], parts[2], "0".repeat(64)),
        ];
        for token in &changed {
            assert_eq!(
                verify(KEY, token, &n, 0, 1000),
                Err(Rejection::Tampered),
                "{token}"
            );
        }
        assert_eq!(
            verify(b"another secret", &c.token, &n, 4, 1000),
            Err(Rejection::Tampered)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_hashing() {
        let (c, n) = solved(4);
        let p: Vec<&str> = c.token.split(':').collect();
        for token in [
            String::new(),
            "x".into(),
            format!("{}:{}:{}", p[0], p[1], p[3]),
            format!("{}:{}:{}:{}:{}", p[0], p[1], p[2], p[2], p[3]),
            format!("{}:{}:{}:{}", &p[0][..31], p[1], p[2], p[3]),
            format!("{}:{}:{}:{}", p[0].to_uppercase(), p[1], p[2], p[3]),
            format!("{}:-5:{}:{}", p[0], p[2], p[3]),
            format!("{}:{}:65:{}", p[0], p[1], p[3]),
            format!("{}:{}:{}:{}", p[0], p[1], p[2], &p[3][..63]),
        ] {
            assert_eq!(
                verify(KEY, &token, &n, 0, 1000),
                Err(Rejection::Malformed),
                "{token}"
            );
        }
    }

    #[test]
    fn a_challenge_easier_than_required_is_refused() {
        let (c, n) = solved(4);
        assert_eq!(verify(KEY, &c.token, &n, 5, 1000), Err(Rejection::TooEasy));
        assert!(verify(KEY, &c.token, &n, 3, 1000).is_ok());
    }

    #[test]
    fn nonces_are_fresh() {
        let a = issue(KEY, 1, 0, 1);
        let b = issue(KEY, 1, 0, 1);
        assert_ne!(a.nonce, b.nonce);
    }
}

//! Identifier newtypes, all of one pattern ([`text_id!`]): generated from the OS random
//! source where the daemon makes them, parsed strictly, shown as text. Also hex and random
//! bytes.

use std::fmt;

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends the lower-case hex of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The bytes of hex text (either case); `None` for anything else.
#[must_use]
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Random bytes kept per thread, so that most requests make no system call for them.
const RANDOM_POOL: usize = 4096;

thread_local! {
    static POOL: std::cell::RefCell<(Box<[u8; RANDOM_POOL]>, usize)> =
        std::cell::RefCell::new((Box::new([0; RANDOM_POOL]), RANDOM_POOL));
}

/// Fills `buf` with bytes from the kernel's random source. They are drawn a page at a time
/// into a per-thread pool, each byte handed out once.
pub fn fill_random(buf: &mut [u8]) {
    if buf.len() > RANDOM_POOL / 4 {
        getrandom::fill(buf).expect("the kernel's random source does not fail once booted");
        return;
    }
    POOL.with_borrow_mut(|(pool, used)| {
        if *used + buf.len() > RANDOM_POOL {
            getrandom::fill(&mut pool[..])
                .expect("the kernel's random source does not fail once booted");
            *used = 0;
        }
        let taken = &mut pool[*used..*used + buf.len()];
        buf.copy_from_slice(taken);
        // Handed out bytes do not stay behind in memory.
        taken.fill(0);
        *used += buf.len();
    });
}

/// `n` random bytes from the kernel.
#[must_use]
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf);
    buf
}

/// A random positive 128-bit certificate serial, its first byte 1 to 127: positive, and
/// always 32 hex digits (a leading zero byte would vanish from the DER).
#[must_use]
pub fn certificate_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    loop {
        fill_random(&mut serial);
        serial[0] &= 0x7f;
        if serial[0] != 0 {
            return serial;
        }
    }
}

/// A random (version 4) UUID in its usual text form.
#[must_use]
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (i, part) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            text.push('-');
        }
        push_hex(&mut text, part);
    }
    text
}

/// Declares an identifier newtype: text that passed `$valid`, built only by `parse` (and
/// by the type's own generator), shown as itself, debugged with its type's name.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses the text form; anything the type does not allow is `None`.
            #[must_use]
            pub fn parse(s: &str) -> Option<$name> {
                let valid: fn(&str) -> bool = $valid;
                valid(s).then(|| $name(s.to_owned()))
            }

            /// The text form.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

fn lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

text_id!(
    /// A paste id: lower-case hex, 6 to 32 characters (any configured `id_length`; ids made
    /// under an earlier length stay reachable).
    PasteId,
    |s| (6..=32).contains(&s.len()) && lower_hex(s)
);

impl PasteId {
    /// A fresh random id of `len` hex characters.
    #[must_use]
    pub fn generate(len: usize) -> PasteId {
        let mut text = hex(&random_bytes(len.div_ceil(2)));
        text.truncate(len);
        PasteId(text)
    }
}

text_id!(
    /// A client certificate's SHA-1 fingerprint: exactly 40 lower-case hex characters.
    Fingerprint,
    |s| s.len() == 40 && lower_hex(s)
);

/// The alphabet of short URL ids.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

text_id!(
    /// A short URL id: exactly 8 base62 characters (`[0-9A-Za-z]`).
    ShortId,
    |s| s.len() == ShortId::LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
);

impl ShortId {
    /// Characters in a short URL id.
    pub const LEN: usize = 8;

    /// A fresh random id: each character uniform over the 62, from the OS random source.
    #[must_use]
    pub fn generate() -> ShortId {
        let mut text = String::with_capacity(Self::LEN);
        let mut buf = [0u8; 16];
        while text.len() < Self::LEN {
            fill_random(&mut buf);
            // 248 = 4 × 62: bytes from 248 up would favour the first 8 characters.
            for &b in buf.iter().filter(|&&b| b < 248) {
                if text.len() < Self::LEN {
                    text.push(char::from(BASE62[usize::from(b % 62)]));
                }
            }
        }
        ShortId(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_length_and_alphabet_and_differ() {
        for len in [6, 7, 12, 32] {
            let id = PasteId::generate(len);
            assert_eq!(id.as_str().len(), len);
            assert!(PasteId::parse(id.as_str()).is_some(), "{id}");
        }
        assert_ne!(PasteId::generate(12), PasteId::generate(12));
    }

    #[test]
    fn random_bytes_are_never_handed_out_twice() {
        // Crossing the pool's refill many times; 16-byte draws repeat only if bytes are reused.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * RANDOM_POOL / 16 {
            assert!(seen.insert(random_bytes(16)));
        }
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

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
        let fp = Fingerprint::parse("a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2").unwrap();
        assert_eq!(
            format!("{fp:?}"),
            "Fingerprint(a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2)"
        );
    }

    #[test]
    fn short_ids_are_eight_base62_characters() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = ShortId::generate();
            assert!(ShortId::parse(id.as_str()).is_some(), "{id}");
            seen.extend(id.as_str().chars());
            assert_ne!(id, ShortId::generate());
        }
        assert_eq!(seen.len(), 62, "every character of the alphabet turns up");
        for bad in [
            "AbCdEfG",
            "AbCdEfGhi",
            "AbCd-fGh",
            "AbCdEfG\u{e9}",
            "",
            "abc12345/",
        ] {
            assert!(ShortId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ShortId::parse("AbCdEfGh").is_some());
    }

    #[test]
    fn parse_rejects_anything_but_short_lowercase_hex() {
        for bad in [
            "ABCDEF123456",
            "abc",
            "abcdefg12345",
            "../etc/passwd",
            "abc 123",
            "",
            &"a".repeat(33),
        ] {
            assert!(PasteId::parse(bad).is_none(), "{bad:?}");
        }
    }
}

//! Identifier newtypes: generated from the OS random source, parsed strictly, shown as text.

use std::fmt;

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `n` random bytes from the kernel.
#[must_use]
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the kernel's random source does not fail once booted");
    buf
}

/// A paste id: lower-case hex characters, as many as `id_length`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PasteId(String);

impl PasteId {
    /// A fresh random id of `len` hex characters.
    #[must_use]
    pub fn generate(len: usize) -> PasteId {
        let mut text = hex(&random_bytes(len.div_ceil(2)));
        text.truncate(len);
        PasteId(text)
    }

    /// Parses an id: only lower-case hex, 6 to 32 characters (any configured length; ids
    /// made under an earlier `id_length` stay reachable).
    #[must_use]
    pub fn parse(s: &str) -> Option<PasteId> {
        let ok = (6..=32).contains(&s.len())
            && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| PasteId(s.to_owned()))
    }

    /// The id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PasteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PasteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasteId({})", self.0)
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

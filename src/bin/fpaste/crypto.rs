//! End-to-end encryption: the versioned AES-256-GCM frame that the server stores as opaque
//! bytes, and the key that travels only in the URL fragment. No I/O.
//!
//! Frame, version 1 (all that the server ever sees):
//!
//! ```text
//! offset  size  field
//! 0       3     magic "FPE"
//! 3       1     version, 0x01
//! 4       12    nonce, random per paste
//! 16      n     AES-256-GCM ciphertext of the n plaintext bytes
//! 16+n    16    GCM tag
//! ```
//!
//! The 16 header bytes are the associated data, so neither the version nor the nonce can be
//! altered without the tag failing. The key is 32 random bytes, written base64url without
//! padding (43 characters) after the `#` of the paste's URL.

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The frame's first bytes.
pub const MAGIC: &[u8; 3] = b"FPE";
/// The frame version this client writes.
pub const VERSION: u8 = 1;
/// Magic, version and nonce.
pub const HEADER_LEN: usize = 16;
/// The GCM tag at the end.
pub const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// Why a frame could not be opened. None of them yields any plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("the key in the URL is not 43 base64url characters (truncated or altered?)")]
    BadKey,
    #[error("the paste is not encrypted by fpaste (no FPE header)")]
    NotAFrame,
    #[error("the paste uses encryption format version {0}, which this fpaste does not know")]
    UnknownVersion(u8),
    #[error("decryption failed: wrong key, or the paste was altered")]
    Unauthentic,
}

/// A paste key.
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Key {
        let mut k = [0u8; KEY_LEN];
        flaskpaste::ids::fill_random(&mut k);
        Key(k)
    }

    /// The key as written after `#`.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the fragment of a URL.
    ///
    /// # Errors
    /// [`Error::BadKey`] unless it is exactly 32 bytes of base64url.
    pub fn decode(text: &str) -> Result<Key, Error> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| Error::BadKey)?;
        <[u8; KEY_LEN]>::try_from(bytes.as_slice())
            .map(Key)
            .map_err(|_| Error::BadKey)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

/// A buffer ready to receive `len` plaintext bytes after the header: read the content
/// straight into it, then [`seal`] it in place (the frame then costs no second copy).
#[must_use]
pub fn frame_buffer(len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER_LEN + len + TAG_LEN);
    buf.extend_from_slice(MAGIC);
    buf.push(VERSION);
    let mut nonce = [0u8; NONCE_LEN];
    flaskpaste::ids::fill_random(&mut nonce);
    buf.extend_from_slice(&nonce);
    buf
}

/// Encrypts `buf` (a [`frame_buffer`] followed by the plaintext) in place into a frame.
///
/// # Errors
/// Only for content beyond GCM's 64 GiB limit.
pub fn seal(key: &Key, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    let (header, body) = buf.split_at_mut(HEADER_LEN);
    let nonce = Nonce::try_from(&header[4..]).map_err(|_| anyhow::anyhow!("frame header"))?;
    let tag = key
        .cipher()
        .encrypt_inout_detached(&nonce, header, InOutBuf::from(body))
        .map_err(|_| anyhow::anyhow!("content too large to encrypt"))?;
    buf.extend_from_slice(&tag);
    Ok(())
}

/// Decrypts and authenticates a frame in place; on success the plaintext is
/// `frame[HEADER_LEN..frame.len() - TAG_LEN]`, returned as a slice. On failure the buffer
/// holds no usable plaintext and must not be written anywhere.
///
/// # Errors
/// [`Error`]: not a frame, an unknown version, or a wrong key / altered bytes.
pub fn open<'a>(key: &Key, frame: &'a mut [u8]) -> Result<&'a [u8], Error> {
    if frame.len() < HEADER_LEN + TAG_LEN || !frame.starts_with(MAGIC) {
        return Err(Error::NotAFrame);
    }
    if frame[3] != VERSION {
        return Err(Error::UnknownVersion(frame[3]));
    }
    let (header, rest) = frame.split_at_mut(HEADER_LEN);
    let body_len = rest.len() - TAG_LEN;
    let (body, tag) = rest.split_at_mut(body_len);
    let nonce = Nonce::try_from(&header[4..]).map_err(|_| Error::NotAFrame)?;
    let tag = Tag::try_from(&*tag).map_err(|_| Error::NotAFrame)?;
    if key
        .cipher()
        .decrypt_inout_detached(&nonce, header, InOutBuf::from(&mut *body), &tag)
        .is_err()
    {
        // GCM decrypts before it checks: wipe what it wrote so no caller can leak it.
        body.fill(0);
        return Err(Error::Unauthentic);
    }
    Ok(body)
}

/// Whether bytes look like a frame (a paste fetched without its key).
#[must_use]
pub fn is_frame(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN + TAG_LEN && bytes.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames made by this format's first implementation: key, frame (hex), plaintext.
    /// They must open for as long as version 1 is supported.
    const VECTORS: &str = include_str!("crypto_vectors.txt");

    fn unhex(s: &str) -> Vec<u8> {
        flaskpaste::ids::unhex(s).unwrap()
    }

    fn sealed(key: &Key, plain: &[u8]) -> Vec<u8> {
        let mut buf = frame_buffer(plain.len());
        buf.extend_from_slice(plain);
        seal(key, &mut buf).unwrap();
        buf
    }

    #[test]
    fn committed_test_vectors_decrypt() {
        let mut seen = 0;
        for line in VECTORS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (key, mut frame, plain) = (
                Key::decode(fields[0]).unwrap(),
                unhex(fields[1]),
                fields.get(2).map_or_else(Vec::new, |p| unhex(p)),
            );
            assert_eq!(open(&key, &mut frame).unwrap(), plain.as_slice());
            seen += 1;
        }
        assert!(seen >= 3, "the vectors file lists at least three frames");
    }

    #[test]
    fn round_trip_with_header_layout() {
        let key = Key::generate();
        let mut frame = sealed(&key, b"hello world");
        assert_eq!(&frame[..4], b"FPE\x01");
        assert_eq!(frame.len(), HEADER_LEN + 11 + TAG_LEN);
        assert_eq!(open(&key, &mut frame).unwrap(), b"hello world");
    }

    #[test]
    fn fresh_nonce_and_key_per_paste() {
        let key = Key::generate();
        assert_ne!(sealed(&key, b"same"), sealed(&key, b"same"));
        assert_ne!(Key::generate().encode(), key.encode());
        assert_eq!(key.encode().len(), 43);
    }

    #[test]
    fn wrong_key_fails_and_leaves_no_plaintext() {
        let mut frame = sealed(&Key::generate(), b"top secret text");
        assert_eq!(open(&Key::generate(), &mut frame), Err(Error::Unauthentic));
        assert!(!frame.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let key = Key::generate();
        let frame = sealed(&key, b"abcdef");
        // Byte 3 is the version: altered, it is refused before the tag is checked.
        for i in (0..frame.len()).filter(|&i| i != 3) {
            let mut bad = frame.clone();
            bad[i] ^= 0x01;
            assert!(
                open(&key, &mut bad).is_err(),
                "flipped byte {i} went unnoticed"
            );
        }
        let mut newer = frame.clone();
        newer[3] = 2;
        assert_eq!(open(&key, &mut newer), Err(Error::UnknownVersion(2)));
        let mut short = frame[..frame.len() - 1].to_vec();
        assert!(open(&key, &mut short).is_err());
    }

    #[test]
    fn truncated_or_padded_keys_are_refused() {
        let text = Key::generate().encode();
        assert!(matches!(Key::decode(&text[..42]), Err(Error::BadKey)));
        assert!(matches!(Key::decode(&text[..40]), Err(Error::BadKey)));
        assert!(matches!(
            Key::decode(&format!("{text}AA")),
            Err(Error::BadKey)
        ));
        assert!(matches!(Key::decode("not base64!"), Err(Error::BadKey)));
    }
}

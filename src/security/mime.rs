//! MIME type of uploaded content: magic bytes first, then a specific Content-Type from the
//! client, then UTF-8 text, else octet-stream.

/// What the client's Content-Type says nothing about.
const GENERIC: &[&str] = &[
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/json",
];

/// EBML, the container of Matroska and WebM. `infer` needs the document type within the
/// first 256 bytes of a longer file; the reference lists Matroska by this magic alone.
const EBML: &[u8] = &[0x1a, 0x45, 0xdf, 0xa3];

/// How much of the content the magic library sees. Every format of the reference's table is
/// told by its first few KiB; beyond them its container parsers (OLE compound files above
/// all) would walk attacker-built tables at the cost of seconds and gigabytes.
const MAGIC_PREFIX: usize = 16 * 1024;

/// The MIME type to store for `content`, given the request's Content-Type header.
#[must_use]
pub fn sniff(content: &[u8], content_type: Option<&str>) -> String {
    if let Some(kind) = magic(content) {
        return kind.to_owned();
    }
    if let Some(declared) = content_type.and_then(essence)
        && !GENERIC.contains(&declared.as_str())
    {
        return declared;
    }
    if std::str::from_utf8(content).is_ok() {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// The binary format `content` starts with. The magic library's guesses from text
/// (scripts, markup) are not formats of the reference's table: such text stays text.
fn magic(content: &[u8]) -> Option<&'static str> {
    let head = content.get(..MAGIC_PREFIX).unwrap_or(content);
    match infer::get(head) {
        Some(kind) if kind.matcher_type() != infer::MatcherType::Text => Some(kind.mime_type()),
        _ if head.starts_with(EBML) => Some("video/x-matroska"),
        _ => None,
    }
}

/// `type/subtype` of a Content-Type, lower-cased, when it is well formed; parameters and
/// anything else are dropped.
#[must_use]
pub fn essence(content_type: &str) -> Option<String> {
    let main = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = main.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub)).then_some(main)
}

/// Types a browser would run or render actively: never shown inline.
#[must_use]
pub fn is_active(mime: &str) -> bool {
    matches!(
        mime,
        "text/html"
            | "image/svg+xml"
            | "application/xhtml+xml"
            | "text/xml"
            | "application/xml"
            | "text/javascript"
            | "application/javascript"
            | "application/ecmascript"
            | "text/ecmascript"
    ) || mime.ends_with("+xml")
        || mime.contains("javascript")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win_over_the_declared_type() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff(&png, Some("text/plain")), "image/png");
    }

    #[test]
    fn formats_of_the_reference_are_recognised() {
        let cases: &[(&[u8], &str)] = &[
            (b"GIF89a\x01\x00\x01\x00", "image/gif"),
            (b"%PDF-1.7\n", "application/pdf"),
            (&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0], "application/gzip"),
            (b"PK\x03\x04\x14\x00\x00\x00\x00\x00", "application/zip"),
            (
                &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F'],
                "image/jpeg",
            ),
            (b"BZh91AY&SY", "application/x-bzip2"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0], "application/x-xz"),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0, 0], "application/zstd"),
            (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
            (b"\0asm\x01\0\0\0", "application/wasm"),
            (b"SQLite format 3\0", "application/vnd.sqlite3"),
        ];
        for (bytes, want) in cases {
            assert_eq!(&sniff(bytes, None), want, "{bytes:?}");
        }
    }

    /// Minimal file heads of every format the API reference lists, with the type sniffed.
    #[test]
    fn every_format_of_the_reference_is_recognised() {
        // A ZIP local file header (30 bytes) naming one entry, then that entry's data.
        let zip_with = |name: &str, data: &str| -> Vec<u8> {
            let mut z = b"PK\x03\x04".to_vec();
            z.resize(26, 0);
            z.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            z.extend_from_slice(&[0, 0]);
            z.extend_from_slice(name.as_bytes());
            z.extend_from_slice(data.as_bytes());
            z
        };
        let mut ole = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        ole.resize(2048, 0);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), "image/png"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec(), "image/jpeg"),
            (b"GIF89a\x01\0\x01\0".to_vec(), "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ".to_vec(), "image/webp"),
            (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0".to_vec(), "image/bmp"),
            (b"II*\0\x08\0\0\0".to_vec(), "image/tiff"),
            (
                b"\0\0\x01\0\x01\0\x10\x10".to_vec(),
                "image/vnd.microsoft.icon",
            ),
            (b"\0\0\0\x18ftypisom\0\0\x02\0".to_vec(), "video/mp4"),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm".to_vec(),
                "video/webm",
            ),
            (
                b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska"
                    .to_vec(),
                "video/x-matroska",
            ),
            (b"FLV\x01\x05\0\0\0\x09".to_vec(), "video/x-flv"),
            (b"ID3\x04\0\0\0\0\0\0".to_vec(), "audio/mpeg"),
            (b"fLaC\0\0\0\x22".to_vec(), "audio/x-flac"),
            (b"OggS\0\x02\0\0\0\0".to_vec(), "audio/ogg"),
            (b"%PDF-1.7\n".to_vec(), "application/pdf"),
            (ole, "application/x-ole-storage"),
            (
                zip_with("word/document.xml", ""),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                zip_with("mimetype", "application/vnd.oasis.opendocument.text"),
                "application/vnd.oasis.opendocument.text",
            ),
            (
                b"MZ\x90\0\x03\0\0\0".to_vec(),
                "application/vnd.microsoft.portable-executable",
            ),
            (
                b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec(),
                "application/x-executable",
            ),
            (
                b"\xcf\xfa\xed\xfe\x07\0\0\x01".to_vec(),
                "application/x-mach-binary",
            ),
            (b"\0asm\x01\0\0\0".to_vec(), "application/wasm"),
            (b"PK\x03\x04\x14\0\0\0\0\0".to_vec(), "application/zip"),
            (vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0], "application/gzip"),
            (b"BZh91AY&SY".to_vec(), "application/x-bzip2"),
            (vec![0xfd, b'7', b'z', b'X', b'Z', 0], "application/x-xz"),
            (vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0], "application/zstd"),
            (
                vec![0x04, 0x22, 0x4d, 0x18, 0x64, 0x40],
                "application/x-lz4",
            ),
            (
                b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec(),
                "application/x-7z-compressed",
            ),
            (b"Rar!\x1a\x07\x01\0".to_vec(), "application/vnd.rar"),
            (b"SQLite format 3\0".to_vec(), "application/vnd.sqlite3"),
        ];
        let mut wrong = Vec::new();
        for (head, want) in &cases {
            // Real files are longer than their heads; some matchers look 256 bytes in.
            let mut bytes = head.clone();
            bytes.resize(bytes.len().max(512), 0);
            let got = sniff(&bytes, None);
            if got != *want {
                wrong.push(format!("{want}: got {got}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn scripts_and_markup_are_text_unless_declared() {
        for text in [
            "#!/bin/sh\necho hello\n",
            "#!/usr/bin/env python3\nprint(1)\n",
            "<!DOCTYPE html><html><body>hi</body></html>",
            "<?xml version=\"1.0\"?><a/>",
        ] {
            assert_eq!(sniff(text.as_bytes(), None), "text/plain", "{text}");
        }
        assert_eq!(
            sniff(b"#!/bin/sh\n", Some("application/x-sh")),
            "application/x-sh"
        );
    }

    #[test]
    fn ebml_magic_alone_is_matroska() {
        for len in [4, 64, 300, 4096] {
            let mut mkv = EBML.to_vec();
            mkv.resize(len, 0x42);
            assert_eq!(sniff(&mkv, None), "video/x-matroska", "{len} bytes");
        }
    }

    #[test]
    fn declared_type_is_reduced_to_its_essence() {
        assert_eq!(
            sniff(b"{}", Some("Application/Vnd.Api+JSON; charset=utf-8")),
            "application/vnd.api+json"
        );
        assert_eq!(
            sniff(b"hello", Some("text/plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(sniff(b"hello", Some("garbage")), "text/plain");
        assert_eq!(sniff(b"hello", Some("text/x y")), "text/plain");
    }

    #[test]
    fn text_and_binary_fallbacks() {
        assert_eq!(sniff("héllo".as_bytes(), None), "text/plain");
        assert_eq!(
            sniff(&[0xff, 0xfe, 0x00, 0x81], None),
            "application/octet-stream"
        );
    }

    #[test]
    fn text_is_judged_by_the_whole_content_not_the_magic_prefix() {
        let mut late_binary = vec![b'a'; MAGIC_PREFIX * 2];
        late_binary.push(0xff);
        assert_eq!(sniff(&late_binary, None), "application/octet-stream");
        assert_eq!(sniff(&late_binary[..MAGIC_PREFIX * 2], None), "text/plain");
    }

    #[test]
    fn active_types_are_flagged() {
        for t in [
            "text/html",
            "image/svg+xml",
            "application/javascript",
            "application/xml",
            "text/xml",
        ] {
            assert!(is_active(t), "{t}");
        }
        for t in ["text/plain", "image/png", "application/pdf"] {
            assert!(!is_active(t), "{t}");
        }
    }
}

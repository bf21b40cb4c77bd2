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

/// The MIME type to store for `content`, given the request's Content-Type header.
#[must_use]
pub fn sniff(content: &[u8], content_type: Option<&str>) -> String {
    if let Some(kind) = infer::get(content) {
        return kind.mime_type().to_owned();
    }
    if let Some(declared) = content_type.and_then(essence) {
        if !GENERIC.contains(&declared.as_str()) {
            return declared;
        }
    }
    if std::str::from_utf8(content).is_ok() {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
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

//! Raw content against the real binary: its type, disposition and sandbox, HEAD, ETag and
//! 304, ranges, and large content streamed whole and in parts.

mod common;

use common::{Builder, FP, id, noise};

#[tokio::test]
async fn raw_content_has_its_type_disposition_and_sandbox() {
    let d = Builder::new().spawn();
    let text = id(&d.create("hello", &[]).await);
    let resp = d.req("GET", &format!("/{text}/raw"), &[]).await;
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    assert_eq!(resp.header("content-disposition"), Some("inline"));
    assert_eq!(
        resp.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'; sandbox")
    );
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    let dl = d.req("GET", &format!("/{text}/raw?download=1"), &[]).await;
    assert_eq!(dl.header("content-disposition"), Some("attachment"));
    let bin = id(&d.create(noise(100), &[]).await);
    let resp = d.req("GET", &format!("/{bin}/raw"), &[]).await;
    assert_eq!(resp.header("content-disposition"), Some("attachment"));
    assert_eq!(resp.body, noise(100));
    for active in [
        "text/html",
        "image/svg+xml",
        "application/javascript",
        "application/xml",
    ] {
        let id = id(&d
            .create(format!("<x>{active}</x>"), &[("content-type", active)])
            .await);
        let resp = d.req("GET", &format!("/{id}/raw"), &[]).await;
        assert_eq!(resp.header("content-type"), Some(active));
        assert_eq!(
            resp.header("content-disposition"),
            Some("attachment"),
            "{active}"
        );
    }
}

#[tokio::test]
async fn head_raw_gives_type_and_length_without_content() {
    let d = Builder::new().spawn();
    let id = id(&d.create("twelve bytes", &[]).await);
    let resp = d.req("HEAD", &format!("/{id}/raw"), &[]).await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-length"), Some("12"));
    assert_eq!(resp.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn etag_and_if_none_match_give_304() {
    let d = Builder::new().spawn();
    let id = id(&d.create("cache me", &[]).await);
    let first = d.req("GET", &format!("/{id}/raw"), &[]).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let again = d
        .req("GET", &format!("/{id}/raw"), &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = d
        .req(
            "GET",
            &format!("/{id}/raw"),
            &[("if-none-match", "\"nope\"")],
        )
        .await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn single_ranges_give_206_and_impossible_ones_416() {
    let d = Builder::new().spawn();
    let id = id(&d.create("0123456789", &[]).await);
    let path = format!("/{id}/raw");
    let part = d.req("GET", &path, &[("range", "bytes=2-5")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"2345");
    assert_eq!(part.header("content-range"), Some("bytes 2-5/10"));
    let tail = d.req("GET", &path, &[("range", "bytes=-3")]).await;
    assert_eq!((tail.status, tail.body.as_slice()), (206, &b"789"[..]));
    let bad = d.req("GET", &path, &[("range", "bytes=20-")]).await;
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some("bytes */10"));
    let multi = d.req("GET", &path, &[("range", "bytes=0-1,4-5")]).await;
    assert_eq!((multi.status, multi.body.len()), (200, 10));
}

#[tokio::test]
async fn large_paste_streams_whole_and_in_ranges() {
    let d = Builder::new().spawn();
    let content = noise(3 * 1024 * 1024);
    let v = d
        .create(content.clone(), &[("x-ssl-client-sha1", FP)])
        .await;
    let path = format!("/{}/raw", id(&v));
    let whole = d.req("GET", &path, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(
        whole.header("content-length").unwrap(),
        content.len().to_string()
    );
    assert!(whole.body == content, "streamed content differs");
    let start = 256 * 1024 - 10;
    let range = format!("bytes={start}-{}", start + 999_999);
    let part = d.req("GET", &path, &[("range", &range)]).await;
    assert_eq!(part.status, 206);
    assert!(part.body == content[start..start + 1_000_000]);
}

#[tokio::test]
async fn raw_csp_keeps_frame_ancestors_none_on_every_raw_answer() {
    let d = Builder::new().spawn();
    let text = id(&d.create("framed?", &[]).await);
    let bin = id(&d.create(noise(100), &[]).await);
    let want = Some("default-src 'none'; frame-ancestors 'none'; sandbox");
    for (method, path) in [
        ("GET", format!("/{text}/raw")),
        ("HEAD", format!("/{text}/raw")),
        ("GET", format!("/{bin}/raw?download=1")),
    ] {
        let resp = d.req(method, &path, &[]).await;
        assert_eq!(
            resp.header("content-security-policy"),
            want,
            "{method} {path}"
        );
    }
    let burn = id(&d.create("once", &[("x-burn-after-read", "true")]).await);
    let resp = d.req("GET", &format!("/{burn}/raw"), &[]).await;
    assert_eq!(resp.header("content-security-policy"), want);
}

#[tokio::test]
async fn pasted_scripts_and_markup_are_shown_as_plain_text() {
    let d = Builder::new().spawn();
    for text in [
        "#!/bin/sh\necho hello\n",
        "#!/usr/bin/env python3\nprint('hi')\n",
        "<!DOCTYPE html>\n<html><body>hi</body></html>\n",
    ] {
        let created = d.create(text, &[]).await;
        assert_eq!(created["mime_type"], "text/plain", "{text}");
        let resp = d.req("GET", &format!("/{}/raw", id(&created)), &[]).await;
        assert_eq!(resp.header("content-type"), Some("text/plain"), "{text}");
        assert_eq!(resp.header("content-disposition"), Some("inline"), "{text}");
        assert_eq!(resp.body, text.as_bytes());
    }
}

#[tokio::test]
async fn matroska_is_recognised_by_its_ebml_magic() {
    let d = Builder::new().spawn();
    // An EBML header whose document type is not in the first 256 bytes, then noise.
    let mut mkv = vec![0x1a, 0x45, 0xdf, 0xa3, 0x01, 0x00, 0x00, 0x00];
    mkv.extend(noise(2000));
    let created = d.create(mkv.clone(), &[]).await;
    assert_eq!(created["mime_type"], "video/x-matroska");
    let resp = d.req("GET", &format!("/{}/raw", id(&created)), &[]).await;
    assert_eq!(resp.header("content-type"), Some("video/x-matroska"));
    assert_eq!(resp.body, mkv);
}

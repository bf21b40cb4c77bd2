//! The raw response of a paste's content: ETag and 304, a single Range with 206 and 416,
//! `Content-Disposition` (inline only for passive text and images), and the CSP that
//! sandboxes whatever a browser makes of the content. Decides headers; reads content only
//! through [`ContentStream`].

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;

use super::options::{self, Range};
use super::stream::ContentStream;
use crate::http::error::ApiError;
use crate::http::request::header_str;
use crate::http::response::{Body, empty, with_body, with_bytes};
use crate::security::mime;
use crate::store::Store;
use crate::store::paste::Paste;

/// Sandboxes whatever a browser makes of raw content, and keeps the reference's
/// `frame-ancestors 'none'` of every response.
pub const RAW_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// How the content of a raw response is to be had.
pub enum Content {
    /// All of it, read already.
    Inline(Bytes),
    /// Streamed from the store when the body is polled.
    Stored(Store),
}

/// The answer to `GET`/`HEAD /{id}/raw` of a paste that is not burnt: 304 when
/// `If-None-Match` names its ETag, else 200 or 206 with the content or the asked range.
///
/// # Errors
/// 416 when the range lies outside the content.
pub fn respond(
    p: &Paste,
    content: Content,
    headers: &HeaderMap,
    head: bool,
    download: bool,
) -> Result<Response<Body>, ApiError> {
    let etag = quoted(&p.content_hash);
    if let Some(tags) = header_str(headers, header::IF_NONE_MATCH)
        && none_match_hits(tags, &etag)
    {
        let mut resp = empty(StatusCode::NOT_MODIFIED);
        set_header(&mut resp, header::ETAG, &etag);
        return Ok(resp);
    }
    let size = u64::try_from(p.size).unwrap_or(0);
    let range = match header_str(headers, header::RANGE).map(|r| options::parse_range(r, size)) {
        Some(Range::Unsatisfiable) => return Err(ApiError::RangeNotSatisfiable { size }),
        Some(Range::Part(start, end)) => Some((start, end)),
        Some(Range::Full) | None => None,
    };
    let mut resp = if head {
        head_only(p, download)
    } else {
        let (start, end) = range.unwrap_or((0, size));
        let status = if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        body(p, content, start, end, status, download)
    };
    set_header(&mut resp, header::ETAG, &etag);
    if let (Some((start, end)), false) = (range, head) {
        let value = format!("bytes {start}-{}/{size}", end - 1);
        set_header(&mut resp, header::CONTENT_RANGE, &value);
    }
    Ok(resp)
}

fn body(
    p: &Paste,
    content: Content,
    start: u64,
    end: u64,
    status: StatusCode,
    download: bool,
) -> Response<Body> {
    let (start, end) = (to_usize(start), to_usize(end));
    match content {
        Content::Inline(bytes) => full(p, download, status, bytes.slice(start..end)),
        Content::Stored(store) => {
            let stream = ContentStream::new(store, p.rowid, &p.content_hash, start, end);
            let mut resp = with_body(status, stream.boxed());
            content_headers(&mut resp, p, download);
            resp
        }
    }
}

/// A response whose body is `content`, with the raw headers.
#[must_use]
pub fn full(p: &Paste, download: bool, status: StatusCode, content: Bytes) -> Response<Body> {
    let mut resp = with_bytes(status, content);
    content_headers(&mut resp, p, download);
    resp
}

/// The headers of a raw response without reading the content (HEAD).
#[must_use]
pub fn head_only(p: &Paste, download: bool) -> Response<Body> {
    let mut resp = empty(StatusCode::OK);
    content_headers(&mut resp, p, download);
    set_header(&mut resp, header::CONTENT_LENGTH, &p.size.to_string());
    resp
}

fn content_headers(resp: &mut Response<Body>, p: &Paste, download: bool) {
    let inline = !download
        && !mime::is_active(&p.mime_type)
        && (p.mime_type.starts_with("text/") || p.mime_type.starts_with("image/"));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&p.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(if inline { "inline" } else { "attachment" }),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(RAW_CSP),
    );
    // A burning read is whole: it offers no ranges.
    if !p.burn_after_read {
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
}

/// Whether `If-None-Match` names `etag` (or `*`). The comparison is weak (RFC 9110
/// §13.1.2): `W/"x"` matches `"x"`, as a proxy that compresses turns a strong tag weak.
fn none_match_hits(tags: &str, etag: &str) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `"text"`, the form of an entity tag.
fn quoted(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    q.push_str(text);
    q.push('"');
    q
}

fn set_header(resp: &mut Response<Body>, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        let etag = "\"abc\"";
        for hit in [
            "\"abc\"",
            "W/\"abc\"",
            " W/\"abc\" ",
            "\"x\", W/\"abc\"",
            "*",
        ] {
            assert!(none_match_hits(hit, etag), "{hit}");
        }
        for miss in ["\"abcd\"", "W/\"ab\"", "w/\"abc\"", "abc", "W/abc", ""] {
            assert!(!none_match_hits(miss, etag), "{miss}");
        }
    }
}

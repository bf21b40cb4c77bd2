//! The request value every handler gets ([`Request`]: context, head, body) and what it is
//! built from: request id, peer, client address, the identity the proxy vouches for. Also
//! the bounded body read and header helpers.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use http_body_util::BodyExt;

use super::peer::{Remote, client_address};
use crate::ids::Fingerprint;
use crate::security::identity::client_identity;

/// Longest client-supplied request id that is echoed.
const MAX_REQUEST_ID: usize = 128;

// Looked up on every request: names built at compile time are not parsed per lookup.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_SSL_CLIENT_SHA1: HeaderName = HeaderName::from_static("x-ssl-client-sha1");
const X_PROXY_SECRET: HeaderName = HeaderName::from_static("x-proxy-secret");

/// What every handler knows about its request.
#[derive(Debug)]
pub struct Ctx {
    /// Echoed or generated request id.
    pub request_id: HeaderValue,
    /// The connection's peer.
    pub remote: Remote,
    /// The client certificate fingerprint, when the proxy vouches for it.
    pub identity: Option<Fingerprint>,
    /// The client's address (through trusted proxies), for rate limiting and logs.
    pub client: Arc<str>,
}

impl Ctx {
    /// Builds the context from the request headers.
    #[must_use]
    pub fn new(headers: &HeaderMap, remote: Remote, config: &crate::config::Config) -> Ctx {
        let proxy_secret = config
            .proxy_secret
            .as_ref()
            .map(crate::config::Secret::expose);
        let client = client_address(
            &remote,
            header_str(headers, X_FORWARDED_FOR),
            &config.trusted_proxies,
        );
        Ctx {
            client,
            request_id: request_id(headers.get(X_REQUEST_ID)),
            remote,
            identity: client_identity(
                headers.get(X_SSL_CLIENT_SHA1).map(HeaderValue::as_bytes),
                headers.get(X_PROXY_SECRET).map(HeaderValue::as_bytes),
                proxy_secret,
            ),
        }
    }

    /// The request id as text (always printable ASCII).
    #[must_use]
    pub fn rid(&self) -> &str {
        self.request_id.to_str().unwrap_or("-")
    }
}

/// What the router hands every handler: the context, the request head and its body.
#[derive(Debug)]
pub struct Request<'a> {
    /// Request id, peer, client address and identity (the router keeps it for the log line).
    pub ctx: &'a Ctx,
    /// Method, URI and headers.
    pub head: http::request::Parts,
    /// The body, not yet read.
    pub body: hyper::body::Incoming,
}

impl Request<'_> {
    /// The request's headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// A header as text, when present and valid UTF-8.
    #[must_use]
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        header_str(&self.head.headers, name)
    }

    /// The query string, if any.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.head.uri.query()
    }

    /// Whether this is a HEAD request (the body will be dropped in one place anyway; some
    /// handlers skip reading content for it).
    #[must_use]
    pub fn is_head(&self) -> bool {
        self.head.method == Method::HEAD
    }
}

/// Why a request body could not be taken in.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit arrived; `received` bytes had been read by then.
    TooLarge { received: u64 },
    /// The client stopped sending or the connection failed.
    Read(String),
}

/// The declared `Content-Length`, when present and a number.
#[must_use]
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A header as text, when present and valid UTF-8.
#[must_use]
pub fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the whole body, never holding more than `limit` bytes: a chunked body is cut off
/// as soon as it passes the limit.
///
/// # Errors
/// [`BodyError::TooLarge`] past the limit, [`BodyError::Read`] when the body fails.
pub async fn read_body<B>(
    mut body: B,
    limit: u64,
    declared: Option<u64>,
) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let capacity = usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut buf = BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            let received = (buf.len() + data.len()) as u64;
            if received > limit {
                return Err(BodyError::TooLarge { received });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The client's id when printable and short, a fresh UUID otherwise.
fn request_id(given: Option<&HeaderValue>) -> HeaderValue {
    given
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= MAX_REQUEST_ID && b.iter().all(|c| (0x20..0x7f).contains(c))
        })
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// A random (version 4) UUID, as the API reference promises for generated ids.
fn new_request_id() -> HeaderValue {
    let mut b = [0u8; 16];
    crate::ids::fill_random(&mut b);
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
        crate::ids::push_hex(&mut text, part);
    }
    HeaderValue::from_str(&text).expect("hex digits and dashes are a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_short_ids_are_kept_others_replaced() {
        let keep = HeaderValue::from_static("my-trace 123");
        assert_eq!(request_id(Some(&keep)), keep);
        let long = HeaderValue::from_str(&"x".repeat(129)).unwrap();
        assert_eq!(request_id(Some(&long)).len(), 36);
        let binary = HeaderValue::from_bytes(b"a\xffb").unwrap();
        assert_eq!(request_id(Some(&binary)).len(), 36);
        assert_eq!(request_id(None).len(), 36);
    }

    #[test]
    fn generated_ids_are_distinct_version_4_uuids() {
        let a = new_request_id();
        let a = a.to_str().unwrap();
        assert_ne!(a, new_request_id().to_str().unwrap());
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
    }
}

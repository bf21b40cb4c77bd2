//! The request value every handler gets ([`Request`]: context, head, body) and what it is
//! built from: request id, peer, client address, the identity the proxy vouches for. Also
//! the bounded body read and header helpers.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use http_body_util::BodyExt;

use super::error::ApiError;
use super::peer::{Remote, client_address};
use crate::ids::Fingerprint;
use crate::security::identity::client_identity;

/// A body that sends nothing for this long is given up (408): long enough for a congested
/// mobile link to get its next segment through, short enough that a silent client hands its
/// connection slot back within seconds instead of holding it for good.
pub const BODY_STALL: Duration = Duration::from_secs(10);
/// Every body may take at least this long in total, however little it sends: a client that
/// trickles a byte every few seconds (never stalling) is cut off after it.
pub const BODY_DEADLINE_FLOOR: Duration = Duration::from_secs(60);
/// Past the floor, a body must have averaged this many bytes per second: the total deadline
/// grows by one second per this many bytes received (64 kbit/s, slower than any real
/// uplink; a 50 MiB upload may take almost two hours).
pub const BODY_MIN_RATE: u64 = 8 * 1024;

/// Most room reserved for a body before its bytes arrive: a declared `Content-Length` is
/// only a claim, and reserving it whole let idle requests claim gigabytes between them.
const BODY_FIRST_ALLOCATION: u64 = 64 * 1024;

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
            headers.get_all(X_FORWARDED_FOR),
            &config.trusted_proxies,
        );
        let identity = match (
            single(headers, &X_SSL_CLIENT_SHA1),
            single(headers, &X_PROXY_SECRET),
        ) {
            (Ok(fingerprint), Ok(secret)) => client_identity(
                fingerprint,
                secret,
                proxy_secret,
                remote.may_vouch(&config.trusted_proxies),
            ),
            // Doubled: one value may be the proxy's and the other the client's.
            _ => None,
        };
        Ctx {
            client,
            request_id: request_id(headers.get(X_REQUEST_ID)),
            remote,
            identity,
        }
    }

    /// The request id as text (always printable ASCII).
    #[must_use]
    pub fn rid(&self) -> &str {
        self.request_id.to_str().unwrap_or("-")
    }
}

/// What the router hands every handler (by reference: handlers' futures then stay small,
/// and every request's future is built and moved at their size): the context, the request
/// head and its body.
#[derive(Debug)]
pub struct Request<'a> {
    /// Request id, peer, client address and identity (the router keeps it for the log line).
    pub ctx: &'a Ctx,
    /// Method, URI and headers.
    pub head: http::request::Parts,
    /// The body until a handler takes it.
    body: Option<hyper::body::Incoming>,
}

impl<'a> Request<'a> {
    /// A request of `ctx` with this head and body.
    #[must_use]
    pub fn new(ctx: &'a Ctx, head: http::request::Parts, body: hyper::body::Incoming) -> Self {
        Request {
            ctx,
            head,
            body: Some(body),
        }
    }

    /// The body, for the one handler that reads it.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when it was taken before (a handler's mistake).
    pub fn take_body(&mut self) -> Result<hyper::body::Incoming, ApiError> {
        self.body
            .take()
            .ok_or_else(|| ApiError::Internal("request body taken twice".into()))
    }

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
    /// The body stalled for [`BODY_STALL`] or took longer than its total deadline.
    Timeout,
}

/// How long a body may take: [`read_body`] uses the constants, tests shorter values.
#[derive(Debug, Clone, Copy)]
struct BodyTimes {
    stall: Duration,
    floor: Duration,
    min_rate: u64,
}

impl BodyTimes {
    const REAL: BodyTimes = BodyTimes {
        stall: BODY_STALL,
        floor: BODY_DEADLINE_FLOOR,
        min_rate: BODY_MIN_RATE,
    };

    /// How long to wait for the next frame, `elapsed` into the body with `received` bytes in.
    fn wait(&self, elapsed: Duration, received: u64) -> Duration {
        let earned = Duration::from_secs(received / self.min_rate.max(1));
        let deadline = self.floor.saturating_add(earned);
        self.stall.min(deadline.saturating_sub(elapsed))
    }
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
/// as soon as it passes the limit. A body that stalls for [`BODY_STALL`], or is still
/// arriving past [`BODY_DEADLINE_FLOOR`] plus a second per [`BODY_MIN_RATE`] bytes, is
/// given up.
///
/// # Errors
/// [`BodyError::TooLarge`] past the limit, [`BodyError::Timeout`] when too slow,
/// [`BodyError::Read`] when the body fails.
pub async fn read_body<B>(body: B, limit: u64, declared: Option<u64>) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    read_body_within(body, limit, declared, BodyTimes::REAL).await
}

async fn read_body_within<B>(
    mut body: B,
    limit: u64,
    declared: Option<u64>,
    times: BodyTimes,
) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let started = tokio::time::Instant::now();
    let first = declared.unwrap_or(0).min(limit).min(BODY_FIRST_ALLOCATION);
    let capacity = usize::try_from(first).unwrap_or(0);
    let mut buf = BytesMut::with_capacity(capacity);
    loop {
        let wait = times.wait(started.elapsed(), buf.len() as u64);
        let frame = match tokio::time::timeout(wait, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => return Err(BodyError::Timeout),
        };
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

/// A header given more than once.
struct Doubled;

/// A header's value when it is given at most once.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a [u8]>, Doubled> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().map(HeaderValue::as_bytes);
    match values.next() {
        Some(_) => Err(Doubled),
        None => Ok(first),
    }
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
    HeaderValue::from_str(&crate::ids::uuid_v4())
        .expect("hex digits and dashes are a valid header value")
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::channel::Channel;

    use super::*;

    const FAST: BodyTimes = BodyTimes {
        stall: Duration::from_millis(200),
        floor: Duration::from_millis(600),
        min_rate: 1024,
    };

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let (mut tx, body) = Channel::<Bytes, Infallible>::new(4);
        tx.send_data(Bytes::from_static(b"abc")).await.unwrap();
        let started = std::time::Instant::now();
        let got = read_body_within(body, 100, Some(10), FAST).await;
        assert!(matches!(got, Err(BodyError::Timeout)), "{got:?}");
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(tx);
    }

    #[tokio::test]
    async fn a_trickling_body_is_cut_at_its_total_deadline() {
        let (mut tx, body) = Channel::<Bytes, Infallible>::new(4);
        let trickle = tokio::spawn(async move {
            for _ in 0..40 {
                if tx.send_data(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let started = std::time::Instant::now();
        let got = read_body_within(body, 100, Some(40), FAST).await;
        assert!(matches!(got, Err(BodyError::Timeout)), "{got:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(550) && took < Duration::from_millis(1500));
        trickle.abort();
    }

    #[tokio::test]
    async fn a_steady_body_is_read_whole() {
        let (mut tx, body) = Channel::<Bytes, Infallible>::new(4);
        let feed = tokio::spawn(async move {
            for _ in 0..3 {
                tx.send_data(Bytes::from(vec![7u8; 1024])).await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let got = read_body_within(body, 4096, None, FAST).await.unwrap();
        assert_eq!(got.len(), 3 * 1024);
        feed.await.unwrap();
    }

    #[test]
    fn the_deadline_grows_with_the_bytes_received() {
        let t = BodyTimes::REAL;
        assert_eq!(t.wait(Duration::ZERO, 0), BODY_STALL);
        assert_eq!(t.wait(Duration::from_secs(55), 0), Duration::from_secs(5));
        assert_eq!(t.wait(Duration::from_secs(61), 0), Duration::ZERO);
        let megabyte_late = t.wait(Duration::from_secs(61), 1024 * 1024);
        assert_eq!(megabyte_late, BODY_STALL);
    }

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

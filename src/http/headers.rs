//! Headers every response carries: the API reference's security headers and the request id.

use http::{HeaderName, HeaderValue, Response, header};

use super::request::X_REQUEST_ID;
use super::response::Body;

const fn pair(name: HeaderName, value: &'static str) -> (HeaderName, HeaderValue) {
    (name, HeaderValue::from_static(value))
}

/// Built at compile time: applying them costs no parsing or validation per response.
const SECURITY: [(HeaderName, HeaderValue); 8] = [
    pair(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    pair(header::X_FRAME_OPTIONS, "DENY"),
    pair(header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    pair(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    pair(
        HeaderName::from_static("permissions-policy"),
        "geolocation=(), microphone=(), camera=()",
    ),
    pair(
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
    pair(
        header::CACHE_CONTROL,
        "no-store, no-cache, must-revalidate, private",
    ),
    pair(header::PRAGMA, "no-cache"),
];

/// Adds the security headers (where a handler has not set its own) and `X-Request-ID`.
pub fn apply(resp: &mut Response<Body>, request_id: &HeaderValue) {
    let headers = resp.headers_mut();
    for (name, value) in SECURITY {
        headers.entry(name).or_insert(value);
    }
    headers.insert(X_REQUEST_ID, request_id.clone());
}

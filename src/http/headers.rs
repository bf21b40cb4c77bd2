//! Headers every response carries: the API reference's security headers and the request id.

use http::{HeaderName, HeaderValue, Response};

use super::response::Body;

const SECURITY: [(&str, &str); 8] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "permissions-policy",
        "geolocation=(), microphone=(), camera=()",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "cache-control",
        "no-store, no-cache, must-revalidate, private",
    ),
    ("pragma", "no-cache"),
];

/// Adds the security headers (where a handler has not set its own) and `X-Request-ID`.
pub fn apply(resp: &mut Response<Body>, request_id: &HeaderValue) {
    let headers = resp.headers_mut();
    for (name, value) in SECURITY {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    headers.insert(HeaderName::from_static("x-request-id"), request_id.clone());
}

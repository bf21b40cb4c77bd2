//! Response builders. Handlers return these; HEAD loses its body in one place ([`strip_body`]).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body as _;

/// The body type of every response.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A response with a JSON body.
#[must_use]
pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("documents are maps with string keys");
    bytes_with_type(
        status,
        Bytes::from(bytes),
        HeaderValue::from_static("application/json"),
    )
}

/// Headers a response ends up with at most, commonly: room for them up front spares the
/// map from growing several times per request.
const HEADER_ROOM: usize = 24;

/// A response with `status` and `body`, and room for its headers.
#[must_use]
pub fn with_body(status: StatusCode, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().reserve(HEADER_ROOM);
    resp
}

/// A response whose body is `bytes`; the caller sets its type.
#[must_use]
pub fn with_bytes(status: StatusCode, bytes: Bytes) -> Response<Body> {
    with_body(
        status,
        Full::new(bytes).map_err(|never| match never {}).boxed(),
    )
}

/// A response whose body is `bytes`, of type `content_type`.
#[must_use]
pub fn bytes_with_type(
    status: StatusCode,
    bytes: Bytes,
    content_type: HeaderValue,
) -> Response<Body> {
    let mut resp = with_bytes(status, bytes);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp
}

/// A response without a body.
#[must_use]
pub fn empty(status: StatusCode) -> Response<Body> {
    with_body(status, Empty::new().map_err(|never| match never {}).boxed())
}

/// The exact body length, when known.
#[must_use]
pub fn body_len(resp: &Response<Body>) -> Option<u64> {
    resp.body().size_hint().exact()
}

/// Turns a GET response into its HEAD form: same headers (Content-Length included), no body.
#[must_use]
pub fn strip_body(resp: Response<Body>) -> Response<Body> {
    let len = body_len(&resp);
    let (mut parts, _) = resp.into_parts();
    if let Some(len) = len {
        // A handler that answered HEAD without the body has set the real length already.
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert(HeaderValue::from(len));
    }
    Response::from_parts(parts, Empty::new().map_err(|never| match never {}).boxed())
}

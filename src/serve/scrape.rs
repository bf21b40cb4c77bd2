//! The metrics listeners' one resource: `GET /metrics` (and HEAD) in the Prometheus text
//! format. Every other path is 404 and every other method 405, as JSON like the API's.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use hyper::body::Incoming;

use crate::api::AppState;
use crate::http::error::ApiError;
use crate::http::response::{Body, bytes_with_type, strip_body};
use crate::metrics::CONTENT_TYPE;

/// Answers a request on a metrics listener; never fails.
pub fn handle(state: &AppState, req: &http::Request<Incoming>) -> Response<Body> {
    let method = req.method();
    let resp = if req.uri().path() != "/metrics" {
        ApiError::NotFound.into_response("-")
    } else if method != Method::GET && method != Method::HEAD {
        ApiError::MethodNotAllowed(HeaderValue::from_static("GET, HEAD")).into_response("-")
    } else {
        bytes_with_type(
            StatusCode::OK,
            Bytes::from(state.metrics.render()),
            HeaderValue::from_static(CONTENT_TYPE),
        )
    };
    tracing::debug!(
        "metrics: {method} {} {}",
        req.uri().path(),
        resp.status().as_u16()
    );
    if method == Method::HEAD {
        strip_body(resp)
    } else {
        resp
    }
}

//! `ApiError`: the one table from error to status and the reference's `{"error": ...}` body.
//! Internal causes are logged with the request id and never reach a response.

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::response::{Body, json};
use crate::store;

/// Everything a handler can answer with instead of success.
#[derive(Debug)]
pub enum ApiError {
    /// 404: no such route or resource.
    NotFound,
    /// 405: the path exists, the method does not; carries the `Allow` value.
    MethodNotAllowed(&'static str),
    /// 503 from `/health`.
    Unhealthy,
    /// 500: the cause is logged, the client hears nothing of it.
    Internal(String),
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Sqlite(_)
            | store::Error::File { .. }
            | store::Error::TooNew { .. }
            | store::Error::Closed
            | store::Error::Join(_)
            | store::Error::NotWal(_)
            | store::Error::Batch(_)
            | store::Error::Changed
            | store::Error::Replaced(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl ApiError {
    /// The response for this error; `rid` tags the log line of an internal error.
    #[must_use]
    pub fn into_response(self, rid: &str) -> Response<Body> {
        match self {
            ApiError::NotFound => json(StatusCode::NOT_FOUND, &json!({"error": "Not found"})),
            ApiError::MethodNotAllowed(allow) => {
                let mut resp = json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &json!({"error": "Method not allowed"}),
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                resp
            }
            ApiError::Unhealthy => json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unhealthy", "database": "error", "error": "Database unavailable"}),
            ),
            ApiError::Internal(cause) => {
                tracing::error!("[rid={rid}] internal error: {cause}");
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": "Internal server error"}),
                )
            }
        }
    }
}

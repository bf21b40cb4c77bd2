//! `ApiError`: the one table from error to status and the reference's `{"error": ...}` body.
//! Internal causes are logged with the request id and never reach a response.

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use super::response::{Body, json};
use crate::store;

/// Everything a handler can answer with instead of success.
#[derive(Debug)]
pub enum ApiError {
    /// No such route.
    NotFound,
    /// The path exists, the method does not; carries the `Allow` value.
    MethodNotAllowed(HeaderValue),
    InvalidPasteId,
    PasteNotFound,
    NoContent,
    InvalidJson,
    TooSmall {
        size: u64,
        min_size: u64,
    },
    TooLarge {
        size: u64,
        max_size: u64,
        authenticated: bool,
    },
    PasswordTooLong,
    /// `X-Paste-Password` is not UTF-8.
    PasswordInvalid,
    DisplayNameTooLong,
    DisplayNameInvalid,
    EntropyTooLow {
        entropy: f64,
        min_entropy: f64,
    },
    RecognizableFormat {
        detected: String,
    },
    Duplicate {
        count: i64,
        window_seconds: u64,
    },
    /// The client address used up its creations for this window (verdict, now).
    RateLimited(crate::http::limit::Verdict, i64),
    PasswordRequired,
    InvalidPassword,
    /// The client used up its password guesses at this paste for now.
    TooManyGuesses {
        retry_after: i64,
    },
    /// Every password-hashing slot is taken: 503, retry shortly.
    HashingBusy,
    AuthRequired,
    PermissionDenied,
    AdminRequired,
    NoUpdates,
    BurnNotUpdatable,
    /// A GET or HEAD of a paste only `POST /{id}/raw` burns; `password` when it has one.
    BurnNeedsConfirm {
        password: bool,
    },
    /// A query parameter that is not what it should be; the text names it.
    InvalidParameter(&'static str),
    RangeNotSatisfiable {
        size: u64,
    },
    /// The request body stalled or was too slow; the connection is closed after the answer.
    RequestTimeout,
    /// The content would take the stored bytes above `max_storage` or
    /// `max_storage_per_identity`.
    StorageQuota(store::usage::Exceeded),
    /// Proof-of-work is on and the request carries no token or no solution.
    PowRequired,
    /// The token or solution was refused.
    PowFailed(crate::security::pow::Rejection),
    InvalidShortId,
    ShortNotFound,
    /// A short URL target that may not be redirected to; `max` is `short_url_max`.
    BadTarget {
        refused: crate::security::target::Refused,
        max: usize,
    },
    /// The PKI is not served (`pki_enabled` is off).
    PkiNotEnabled,
    /// No CA was made yet.
    CaMissing,
    /// `POST /pki/ca` when there is one.
    CaExists,
    /// The CA needs `pki_ca_password`, which is not set.
    CaPasswordMissing,
    /// The stored CA key does not open with `pki_ca_password` (logged).
    CaLocked,
    CommonNameRequired,
    /// A `common_name` that is too long or holds control characters.
    CommonNameInvalid,
    /// A signing request that cannot be used; the text says why.
    BadCsr(String),
    CertNotFound,
    CertAlreadyRevoked,
    /// Making a certificate failed; the cause is logged.
    IssuanceFailed(String),
    /// `GET /client` when `client_path` is missing or unreadable (logged): 404, never 500.
    ClientUnavailable,
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
            | store::Error::Replaced(_)
            | store::Error::NoFreeId(_) => ApiError::Internal(err.to_string()),
        }
    }
}

const HINT_ENCRYPT: &str = "Encrypt content before uploading (fpaste encrypts by default)";
// Public: names what the operator can do, never the path.
const HINT_CLIENT: &str = "The server operator can install fpaste next to the flaskpaste binary \
                           (build with the client feature) or set client_path";

impl ApiError {
    fn status_and_body(&self) -> (StatusCode, Value) {
        use crate::security::target::Refused;
        use StatusCode as S;
        let msg = |status, text: &str| (status, json!({ "error": text }));
        match self {
            ApiError::NotFound => msg(S::NOT_FOUND, "Not found"),
            ApiError::MethodNotAllowed(_) => msg(S::METHOD_NOT_ALLOWED, "Method not allowed"),
            ApiError::InvalidPasteId => msg(S::BAD_REQUEST, "Invalid paste ID format"),
            ApiError::PasteNotFound => msg(S::NOT_FOUND, "Paste not found"),
            ApiError::NoContent => msg(S::BAD_REQUEST, "No content provided"),
            ApiError::InvalidJson => msg(S::BAD_REQUEST, "Invalid JSON body"),
            ApiError::TooSmall { size, min_size } => (
                S::BAD_REQUEST,
                json!({"error": "Paste too small", "size": size, "min_size": min_size}),
            ),
            ApiError::TooLarge {
                size,
                max_size,
                authenticated,
            } => (
                S::PAYLOAD_TOO_LARGE,
                json!({"error": "Paste too large", "size": size, "max_size": max_size,
                       "authenticated": authenticated}),
            ),
            ApiError::PasswordTooLong => msg(S::BAD_REQUEST, "Password too long (max 1024 chars)"),
            ApiError::PasswordInvalid => msg(S::BAD_REQUEST, "Password must be valid UTF-8"),
            ApiError::DisplayNameTooLong => {
                msg(S::BAD_REQUEST, "Display name too long (max 128 chars)")
            }
            ApiError::DisplayNameInvalid => {
                msg(S::BAD_REQUEST, "Display name contains invalid characters")
            }
            ApiError::EntropyTooLow {
                entropy,
                min_entropy,
            } => (
                S::BAD_REQUEST,
                json!({"error": "Content entropy too low",
                       "entropy": (entropy * 100.0).round() / 100.0,
                       "min_entropy": min_entropy, "hint": HINT_ENCRYPT}),
            ),
            ApiError::RecognizableFormat { detected } => (
                S::BAD_REQUEST,
                json!({"error": "Recognizable format not allowed", "detected": detected,
                       "hint": HINT_ENCRYPT}),
            ),
            ApiError::Duplicate {
                count,
                window_seconds,
            } => (
                S::TOO_MANY_REQUESTS,
                json!({"error": "Duplicate content rate limit exceeded", "count": count,
                       "window_seconds": window_seconds}),
            ),
            ApiError::RateLimited(verdict, now) => (
                S::TOO_MANY_REQUESTS,
                json!({"error": "Rate limit exceeded",
                       "retry_after": (verdict.reset - now).max(1)}),
            ),
            ApiError::PasswordRequired => (
                S::UNAUTHORIZED,
                json!({"error": "Password required", "password_protected": true}),
            ),
            ApiError::InvalidPassword => msg(S::FORBIDDEN, "Invalid password"),
            ApiError::TooManyGuesses { retry_after } => (
                S::TOO_MANY_REQUESTS,
                json!({"error": "Too many failed password attempts",
                       "retry_after": retry_after}),
            ),
            ApiError::HashingBusy => (
                S::SERVICE_UNAVAILABLE,
                json!({"error": "Server busy, try again shortly", "retry_after": 1}),
            ),
            ApiError::AuthRequired => msg(S::UNAUTHORIZED, "Authentication required"),
            ApiError::PermissionDenied => msg(S::FORBIDDEN, "Permission denied"),
            ApiError::AdminRequired => msg(S::FORBIDDEN, "Admin access required"),
            ApiError::NoUpdates => msg(S::BAD_REQUEST, "No updates provided"),
            ApiError::BurnNotUpdatable => {
                msg(S::BAD_REQUEST, "Cannot update burn-after-read paste")
            }
            ApiError::InvalidParameter(text) => msg(S::BAD_REQUEST, text),
            ApiError::RangeNotSatisfiable { .. } => {
                msg(S::RANGE_NOT_SATISFIABLE, "Requested range not satisfiable")
            }
            ApiError::RequestTimeout => msg(S::REQUEST_TIMEOUT, "Request timeout"),
            ApiError::BurnNeedsConfirm { password } => (
                S::CONFLICT,
                json!({"error": "This paste is deleted when read: confirm to read it",
                "hint": if *password {
                    "POST to this URL with X-Paste-Password to read it; it is then deleted"
                } else {
                    "POST to this URL to read it; it is then deleted"
                }}),
            ),
            ApiError::StorageQuota(e) => {
                let (scope, key) = match e.scope {
                    store::usage::Scope::Total => ("total", "max_storage"),
                    store::usage::Scope::Identity => ("identity", "max_storage_per_identity"),
                };
                (
                    S::INSUFFICIENT_STORAGE,
                    json!({"error": "Storage quota exceeded", "scope": scope,
                           "stored": e.stored, "size": e.adding, key: e.limit}),
                )
            }
            ApiError::PowRequired => (
                S::BAD_REQUEST,
                json!({"error": "Proof-of-work required",
                       "hint": "GET /challenge for a new challenge"}),
            ),
            ApiError::PowFailed(why) => (
                S::BAD_REQUEST,
                json!({"error": format!("Proof-of-work failed: {why}")}),
            ),
            ApiError::InvalidShortId => msg(S::BAD_REQUEST, "Invalid short URL ID format"),
            ApiError::ShortNotFound => msg(S::NOT_FOUND, "Short URL not found"),
            ApiError::BadTarget { refused, max } => match refused {
                Refused::TooLong => (
                    S::BAD_REQUEST,
                    json!({"error": format!("URL too long (max {max} bytes)")}),
                ),
                Refused::Empty | Refused::Characters | Refused::Scheme | Refused::Host => {
                    (S::BAD_REQUEST, json!({"error": refused.to_string()}))
                }
            },
            ApiError::PkiNotEnabled => msg(S::NOT_FOUND, "PKI not enabled"),
            ApiError::CaMissing => msg(S::NOT_FOUND, "CA not initialized"),
            ApiError::CaExists => msg(S::CONFLICT, "CA already exists"),
            ApiError::CaPasswordMissing => {
                msg(S::INTERNAL_SERVER_ERROR, "PKI_CA_PASSWORD not configured")
            }
            ApiError::CaLocked => msg(
                S::INTERNAL_SERVER_ERROR,
                "CA key cannot be opened with PKI_CA_PASSWORD",
            ),
            ApiError::CommonNameRequired => msg(S::BAD_REQUEST, "common_name required"),
            ApiError::CommonNameInvalid => msg(
                S::BAD_REQUEST,
                "Invalid common_name (1 to 64 printable characters)",
            ),
            ApiError::BadCsr(why) => (
                S::BAD_REQUEST,
                json!({"error": format!("Invalid certificate signing request: {why}")}),
            ),
            ApiError::CertNotFound => msg(S::NOT_FOUND, "Certificate not found"),
            ApiError::CertAlreadyRevoked => msg(S::CONFLICT, "Certificate already revoked"),
            ApiError::IssuanceFailed(_) => {
                msg(S::INTERNAL_SERVER_ERROR, "Certificate issuance failed")
            }
            ApiError::ClientUnavailable => (
                S::NOT_FOUND,
                json!({"error": "Client not available", "hint": HINT_CLIENT}),
            ),
            ApiError::Unhealthy => (
                S::SERVICE_UNAVAILABLE,
                json!({"status": "unhealthy", "database": "error",
                       "error": "Database unavailable"}),
            ),
            ApiError::Internal(_) => msg(S::INTERNAL_SERVER_ERROR, "Internal server error"),
        }
    }

    /// The response for this error; `rid` tags the log line of an internal error.
    #[must_use]
    pub fn into_response(self, rid: &str) -> Response<Body> {
        match &self {
            ApiError::Internal(cause) => tracing::error!("[rid={rid}] internal error: {cause}"),
            ApiError::IssuanceFailed(cause) => {
                tracing::error!("[rid={rid}] certificate issuance failed: {cause}");
            }
            _ => {}
        }
        let (status, body) = self.status_and_body();
        let mut resp = json(status, &body);
        let headers = resp.headers_mut();
        match self {
            ApiError::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, allow);
            }
            ApiError::RateLimited(verdict, now) => {
                let retry = (verdict.reset - now).max(1);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry));
                crate::http::limit::apply_headers(headers, &verdict);
            }
            ApiError::TooManyGuesses { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::HashingBusy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::RangeNotSatisfiable { size } => {
                headers.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}"))
                        .expect("digits are a valid header value"),
                );
            }
            // The rest of a slow body is never read: hyper closes the connection after this.
            ApiError::RequestTimeout => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        resp
    }
}

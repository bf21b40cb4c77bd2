//! `GET /health`: a real database round trip; 503 when it fails.

use http::{Response, StatusCode};
use serde_json::json;

use super::AppState;
use crate::http::error::ApiError;
use crate::http::request::Request;
use crate::http::response::{Body, json};

/// 200 `{"status": "healthy", "database": "ok"}`, or 503 when the store fails its check.
///
/// # Errors
/// [`ApiError::Unhealthy`], after logging the cause.
pub async fn get(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    match state.store.health().await {
        Ok(()) => Ok(json(
            StatusCode::OK,
            &json!({"status": "healthy", "database": "ok"}),
        )),
        Err(err) => {
            tracing::error!("[rid={}] health check failed: {err}", req.ctx.rid());
            Err(ApiError::Unhealthy)
        }
    }
}

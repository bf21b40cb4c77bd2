//! One `match` from (method, path under `url_prefix`) to a handler; 404 and 405 decided here.
//! [`handle`] is the whole life of a request: context, dispatch, errors, headers, HEAD, log.

use std::time::Instant;

use http::{Method, Request, Response};

use super::error::ApiError;
use super::headers;
use super::request::{Ctx, Peer};
use super::response::{Body, body_len, strip_body};
use crate::api::{self, AppState};

/// Serves one request; never fails (errors become their JSON responses).
pub async fn handle<B>(state: &AppState, peer: Peer, req: Request<B>) -> Response<Body> {
    let started = Instant::now();
    let secret = state.config.proxy_secret.as_ref().map(|s| s.expose());
    let ctx = Ctx::new(req.headers(), peer, secret);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();

    let result = dispatch(state, &ctx, &method, &path).await;
    let mut resp = result.unwrap_or_else(|err| err.into_response(ctx.rid()));
    if method == Method::HEAD {
        resp = strip_body(resp);
    }
    headers::apply(&mut resp, &ctx.request_id);

    let bytes = body_len(&resp).unwrap_or(0);
    tracing::info!(
        rid = ctx.rid(),
        peer = %ctx.peer,
        client = ctx.identity.as_ref().map_or("-", |f| f.as_str()),
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        bytes,
        duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}

async fn dispatch(
    state: &AppState,
    ctx: &Ctx,
    method: &Method,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    let Some(rest) = strip_prefix(path, &state.config.url_prefix) else {
        return Err(ApiError::NotFound);
    };
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let get = *method == Method::GET || *method == Method::HEAD;
    match segments.as_slice() {
        [""] if get => Ok(api::info::get(state)),
        [""] => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        ["health"] if get => api::health::get(state, ctx).await,
        ["health"] => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        _ => Err(ApiError::NotFound),
    }
}

/// The path below `prefix` (always starting with `/`), or `None` when outside it.
fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_matched_on_segment_boundaries() {
        assert_eq!(strip_prefix("/health", ""), Some("/health"));
        assert_eq!(strip_prefix("/p/health", "/p"), Some("/health"));
        assert_eq!(strip_prefix("/p", "/p"), Some("/"));
        assert_eq!(strip_prefix("/px/health", "/p"), None);
        assert_eq!(strip_prefix("/health", "/p"), None);
    }
}

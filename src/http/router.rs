//! One `match` from (method, path under `url_prefix`) to a handler; 404 and 405 decided here.
//! [`handle`] is the whole life of a request: context, dispatch, errors, headers, HEAD, log.

use std::time::Instant;

use http::{Method, Request, Response, Uri};
use hyper::body::Incoming;

use super::error::ApiError;
use super::headers;
use super::request::{Ctx, Remote};
use super::response::{Body, body_len, strip_body};
use crate::api::{self, AppState};

/// Serves one request; never fails (errors become their JSON responses).
pub async fn handle(state: &AppState, remote: Remote, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let ctx = Ctx::new(req.headers(), remote, &state.config);
    let method = req.method().clone();
    // Handlers take the request; routing and the log line keep this (a shared-bytes clone).
    let uri = req.uri().clone();

    let result = dispatch(state, &ctx, &method, &uri, req).await;
    let mut resp = result.unwrap_or_else(|err| err.into_response(ctx.rid()));
    if method == Method::HEAD {
        resp = strip_body(resp);
    }
    headers::apply(&mut resp, &ctx.request_id);

    let bytes = body_len(&resp).unwrap_or(0);
    tracing::info!(
        rid = ctx.rid(),
        peer = %ctx.remote.text,
        addr = %ctx.client,
        client = ctx.identity.as_ref().map_or("-", |f| f.as_str()),
        method = %method,
        path = %uri.path(),
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
    uri: &Uri,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let Some(rest) = strip_prefix(uri.path(), &state.config.url_prefix) else {
        return Err(ApiError::NotFound);
    };
    let query = uri.query();
    // Up to three segments: every route has one or two, so a third means no route.
    let mut parts = rest.split('/').skip(1);
    let segments = [parts.next(), parts.next(), parts.next()];
    let get = method == Method::GET || method == Method::HEAD;
    let headers = req.headers();
    match (segments, method) {
        ([Some(""), None, _], _) if get => Ok(api::info::get(state)),
        ([Some(""), None, _], &Method::POST) => api::paste::create(state, ctx, req).await,
        ([Some(""), None, _], _) => Err(ApiError::MethodNotAllowed("GET, HEAD, POST")),
        ([Some("health"), None, _], _) if get => api::health::get(state, ctx).await,
        ([Some("health"), None, _], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        ([Some("pastes"), None, _], _) if get => api::pastes::list(state, ctx, query).await,
        ([Some("pastes"), None, _], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        ([Some(id), None, _], _) if get => api::paste::get_meta(state, id, headers).await,
        ([Some(id), None, _], &Method::PUT) => api::paste::update(state, ctx, id, req).await,
        ([Some(id), None, _], &Method::DELETE) => api::paste::delete(state, ctx, id, headers).await,
        ([Some(_), None, _], _) => Err(ApiError::MethodNotAllowed("GET, HEAD, PUT, DELETE")),
        ([Some(id), Some("raw"), None], _) if get => {
            api::paste::get_raw(state, id, method, headers, query).await
        }
        ([Some(_), Some("raw"), None], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
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

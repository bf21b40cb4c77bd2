//! One `match` from (method, path under `url_prefix`) to a handler; 404 and 405 decided here.
//! [`handle`] is the whole life of a request: context, dispatch, errors, headers, HEAD, log.

use std::time::Instant;

use http::{Method, Request, Response};
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
    let path = req.uri().path().to_owned();

    let result = dispatch(state, &ctx, req).await;
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
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    let Some(rest) = strip_prefix(req.uri().path(), &state.config.url_prefix) else {
        return Err(ApiError::NotFound);
    };
    let rest = rest.to_owned();
    let query = req.uri().query().map(str::to_owned);
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let get = method == Method::GET || method == Method::HEAD;
    let headers = req.headers();
    match (segments.as_slice(), &method) {
        ([""], _) if get => Ok(api::info::get(state)),
        ([""], &Method::POST) => api::paste::create(state, ctx, req).await,
        ([""], _) => Err(ApiError::MethodNotAllowed("GET, HEAD, POST")),
        (["health"], _) if get => api::health::get(state, ctx).await,
        (["health"], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        (["pastes"], _) if get => api::pastes::list(state, ctx, query.as_deref()).await,
        (["pastes"], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        ([id], _) if get => api::paste::get_meta(state, id, headers).await,
        ([id], &Method::PUT) => api::paste::update(state, ctx, id, req).await,
        ([id], &Method::DELETE) => api::paste::delete(state, ctx, id, headers).await,
        ([_], _) => Err(ApiError::MethodNotAllowed("GET, HEAD, PUT, DELETE")),
        ([id, "raw"], _) if get => {
            api::paste::get_raw(state, id, &method, headers, query.as_deref()).await
        }
        ([_, "raw"], _) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
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

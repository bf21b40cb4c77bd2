//! The route table, written once: method and path pattern → handler, with the description
//! `GET /` lists. Path ids are parsed here; 404 and 405 (with `Allow` derived from the table)
//! are decided here. [`handle`] is the whole life of a request: context, dispatch, errors,
//! headers, HEAD, log.

use std::sync::LazyLock;
use std::time::Instant;

use http::{HeaderValue, Method, Response};
use hyper::body::Incoming;

use crate::api::{self, AppState};
use crate::http::error::ApiError;
use crate::http::headers;
use crate::http::peer::Remote;
use crate::http::request::{Ctx, Request};
use crate::http::response::{Body, body_len, strip_body};
use crate::ids::{PasteId, ShortId};
use crate::metrics::{self, Metrics};

/// The methods routes are written with; a GET route also answers HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Verb::Get => method == Method::GET || method == Method::HEAD,
            Verb::Post => method == Method::POST,
            Verb::Put => method == Method::PUT,
            Verb::Delete => method == Method::DELETE,
        }
    }
}

/// One segment of a path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg {
    /// This exact text.
    Lit(&'static str),
    /// A paste id (`<id>`), parsed before the handler runs.
    Paste,
    /// A short URL id (`<id>` under `/s`), parsed before the handler runs.
    Short,
    /// A certificate serial (`<serial>`), looked up by the handler.
    #[cfg_attr(
        not(feature = "pki"),
        expect(dead_code, reason = "only PKI routes have one")
    )]
    Serial,
}

/// What a route runs; [`dispatch`] maps each to its handler.
#[derive(Debug, Clone, Copy)]
enum Handler {
    Info,
    Health,
    CreatePaste,
    ListPastes,
    PasteMeta,
    PasteRaw,
    ConfirmBurn,
    UpdatePaste,
    DeletePaste,
    Challenge,
    Client,
    CreateShort,
    ListShorts,
    Redirect,
    ShortInfo,
    DeleteShort,
    PkiStatus,
    RegisterChallenge,
    AdminStats,
    AdminCleanup,
    #[cfg(feature = "pki")]
    CreateCa,
    #[cfg(feature = "pki")]
    CaCert,
    #[cfg(feature = "pki")]
    Crl,
    #[cfg(feature = "pki")]
    IssueCert,
    #[cfg(feature = "pki")]
    ListCerts,
    #[cfg(feature = "pki")]
    Revoke,
    #[cfg(feature = "pki")]
    Register,
    /// A path of a feature this build lacks: 404, as if there were no route, but it keeps
    /// the path from being taken for an id.
    #[cfg(not(feature = "pki"))]
    Absent,
}

struct Route {
    verb: Verb,
    path: &'static [Seg],
    about: &'static str,
    handler: Handler,
}

impl Route {
    /// A route of a feature this build lacks.
    fn absent(&self) -> bool {
        #[cfg(not(feature = "pki"))]
        if matches!(self.handler, Handler::Absent) {
            return true;
        }
        false
    }
}

const fn route(verb: Verb, path: &'static [Seg], about: &'static str, handler: Handler) -> Route {
    Route {
        verb,
        path,
        about,
        handler,
    }
}

/// Every route. A path that fits several patterns takes the first (literals before ids);
/// routes of one pattern stand together, in the order `Allow` lists their methods.
const ROUTES: &[Route] = {
    use Handler as H;
    #[cfg(feature = "pki")]
    use Seg::Serial;
    use Seg::{Lit, Paste, Short};
    use Verb::{Delete, Get, Post, Put};
    &[
        route(Get, &[], "API information", H::Info),
        route(Post, &[], "Create paste", H::CreatePaste),
        route(Get, &[Lit("health")], "Health check", H::Health),
        route(
            Get,
            &[Lit("challenge")],
            "Get proof-of-work challenge",
            H::Challenge,
        ),
        route(
            Get,
            &[Lit("client")],
            "Download fpaste CLI client",
            H::Client,
        ),
        route(Get, &[Lit("pastes")], "List your pastes", H::ListPastes),
        route(Get, &[Lit("s")], "List your short URLs", H::ListShorts),
        route(Post, &[Lit("s")], "Create short URL", H::CreateShort),
        route(
            Get,
            &[Lit("s"), Short],
            "Redirect to target URL",
            H::Redirect,
        ),
        route(
            Delete,
            &[Lit("s"), Short],
            "Delete short URL",
            H::DeleteShort,
        ),
        route(
            Get,
            &[Lit("s"), Short, Lit("info")],
            "Short URL metadata",
            H::ShortInfo,
        ),
        route(Get, &[Lit("pki")], "PKI status", H::PkiStatus),
        #[cfg(feature = "pki")]
        route(Post, &[Lit("pki"), Lit("ca")], "Generate CA", H::CreateCa),
        #[cfg(feature = "pki")]
        route(
            Get,
            &[Lit("pki"), Lit("ca.crt")],
            "Download CA certificate",
            H::CaCert,
        ),
        #[cfg(feature = "pki")]
        route(
            Get,
            &[Lit("pki"), Lit("crl")],
            "Certificate revocation list",
            H::Crl,
        ),
        #[cfg(feature = "pki")]
        route(
            Post,
            &[Lit("pki"), Lit("issue")],
            "Issue client certificate",
            H::IssueCert,
        ),
        #[cfg(feature = "pki")]
        route(
            Get,
            &[Lit("pki"), Lit("certs")],
            "List your certificates",
            H::ListCerts,
        ),
        #[cfg(feature = "pki")]
        route(
            Post,
            &[Lit("pki"), Lit("revoke"), Serial],
            "Revoke certificate",
            H::Revoke,
        ),
        route(
            Get,
            &[Lit("register"), Lit("challenge")],
            "Get registration challenge",
            H::RegisterChallenge,
        ),
        #[cfg(feature = "pki")]
        route(
            Post,
            &[Lit("register")],
            "Register for a client certificate",
            H::Register,
        ),
        #[cfg(not(feature = "pki"))]
        route(Post, &[Lit("register")], "", H::Absent),
        route(
            Get,
            &[Lit("admin"), Lit("stats")],
            "Store statistics (admin)",
            H::AdminStats,
        ),
        route(
            Post,
            &[Lit("admin"), Lit("cleanup")],
            "Run an expiry sweep now (admin)",
            H::AdminCleanup,
        ),
        route(Get, &[Paste], "Retrieve paste metadata", H::PasteMeta),
        route(Put, &[Paste], "Update paste", H::UpdatePaste),
        route(Delete, &[Paste], "Delete paste", H::DeletePaste),
        route(
            Get,
            &[Paste, Lit("raw")],
            "Retrieve raw paste content",
            H::PasteRaw,
        ),
        route(
            Post,
            &[Paste, Lit("raw")],
            "Read and burn a burn-on-confirm paste",
            H::ConfirmBurn,
        ),
    ]
};

/// Most segments any route has.
const MAX_SEGMENTS: usize = 3;

/// The path template of each route (`/<id>/raw`), by its index in [`ROUTES`].
static TEMPLATES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ROUTES
        .iter()
        .map(|r| {
            let mut path = String::new();
            for seg in r.path {
                path.push('/');
                path.push_str(match seg {
                    Seg::Lit(text) => text,
                    Seg::Paste | Seg::Short => "<id>",
                    Seg::Serial => "<serial>",
                });
            }
            if path.is_empty() {
                path.push('/');
            }
            path
        })
        .collect()
});

/// The template of the route at `index`.
fn template(index: usize) -> &'static str {
    &TEMPLATES[index]
}

/// The metrics' route label of the route at `index`.
fn route_label(index: usize) -> metrics::Route {
    metrics::Route::new(index, template(index))
}

/// The endpoints `GET /` lists: (method, path below the prefix, description).
#[must_use]
pub fn endpoints() -> Vec<(&'static str, String, &'static str)> {
    ROUTES
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.absent())
        .map(|(i, r)| (r.verb.name(), template(i).to_owned(), r.about))
        .collect()
}

/// Serves one request; never fails (errors become their JSON responses).
pub async fn handle(
    state: &AppState,
    remote: Remote,
    req: http::Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let _in_flight = state.metrics.in_flight();
    let ctx = Ctx::new(req.headers(), remote, &state.config());
    let (head, body) = req.into_parts();
    // Handlers take the head; the log line keeps these (the URI by a shared-bytes clone).
    let method = head.method.clone();
    let uri = head.uri.clone();
    let mut req = Request::new(&ctx, head, body);

    let mut matched = None;
    let result = route_and_dispatch(state, uri.path(), &mut req, &mut matched).await;
    let mut resp = result.unwrap_or_else(|err| {
        count_refusal(&state.metrics, &err);
        err.into_response(ctx.rid())
    });
    if method == Method::HEAD {
        resp = strip_body(resp);
    }
    headers::apply(&mut resp, &ctx.request_id);

    let bytes = body_len(&resp).unwrap_or(0);
    let took = started.elapsed();
    let status = resp.status().as_u16();
    state.metrics.request(
        metrics::Method::of(&method),
        matched.map_or(metrics::Route::UNMATCHED, route_label),
        status,
        took,
    );
    tracing::info!(
        rid = ctx.rid(),
        peer = %ctx.remote.text,
        addr = %ctx.client,
        client = ctx.identity.as_ref().map_or("-", |f| f.as_str()),
        method = %method,
        path = %uri.path(),
        status,
        bytes,
        duration_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}

/// Counts the refusals the metrics name by their error.
fn count_refusal(metrics: &Metrics, err: &ApiError) {
    match err {
        ApiError::PowRequired => metrics.pow_failure(metrics::PowFailure::Missing),
        ApiError::PowFailed(why) => metrics.pow_failure((*why).into()),
        ApiError::RateLimited(..) => metrics.rate_limited(),
        ApiError::Duplicate { .. } => metrics.duplicate(),
        ApiError::StorageQuota(_) => metrics.quota_exceeded(),
        _ => {}
    }
}

/// Finds the route of `path` (the request's) and runs its handler with the parsed path id;
/// `matched` is set to the index of the path's pattern, once one fits.
async fn route_and_dispatch(
    state: &AppState,
    path: &str,
    req: &mut Request<'_>,
    matched: &mut Option<usize>,
) -> Result<Response<Body>, ApiError> {
    let path = strip_prefix(path, &state.config().url_prefix).ok_or(ApiError::NotFound)?;
    let mut segments = [""; MAX_SEGMENTS];
    let count = split(path, &mut segments).ok_or(ApiError::NotFound)?;
    let segments = &segments[..count];
    let (route, id) = find(&req.head.method, segments, matched)?;
    dispatch(state, route.handler, req, id).await
}

/// Splits `path` (which starts with `/`; `/` alone has no segment) into `out`; `None` when
/// it has more segments than any route.
fn split<'a>(path: &'a str, out: &mut [&'a str; MAX_SEGMENTS]) -> Option<usize> {
    if path == "/" {
        return Some(0);
    }
    let mut count = 0;
    for seg in path[1..].split('/') {
        *out.get_mut(count)? = seg;
        count += 1;
    }
    Some(count)
}

/// The route for `method` on `segments`, and the text of its id segment, if any: 404 when
/// no pattern fits, 405 with the pattern's methods when none of them is `method`. `matched`
/// is set to the index of the first route of the pattern that fits (when this build serves
/// it), so that a 405 is labelled with its pattern too.
fn find<'s>(
    method: &Method,
    segments: &[&'s str],
    matched: &mut Option<usize>,
) -> Result<(&'static Route, &'s str), ApiError> {
    let fits = |r: &Route| {
        r.path.len() == segments.len()
            && r.path.iter().zip(segments).all(|(seg, text)| match seg {
                Seg::Lit(lit) => lit == text,
                Seg::Paste | Seg::Short | Seg::Serial => true,
            })
    };
    let first = ROUTES.iter().position(fits).ok_or(ApiError::NotFound)?;
    let pattern = ROUTES[first].path;
    // Routes of one pattern stand together (a test checks): no second scan of the table.
    let mut same = ROUTES[first..]
        .iter()
        .take_while(|r| r.path == pattern)
        .filter(|r| !r.absent());
    if same.clone().next().is_none() {
        return Err(ApiError::NotFound);
    }
    *matched = Some(first);
    let Some(route) = same.clone().find(|r| r.verb.allows(method)) else {
        return Err(ApiError::MethodNotAllowed(allow(same.by_ref())));
    };
    let id = pattern
        .iter()
        .zip(segments)
        .find(|(seg, _)| !matches!(seg, Seg::Lit(_)))
        .map_or("", |(_, text)| *text);
    Ok((route, id))
}

/// The `Allow` value of the routes of one pattern.
fn allow<'r>(routes: impl Iterator<Item = &'r Route>) -> HeaderValue {
    let mut text = String::new();
    for r in routes {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(r.verb.name());
        if r.verb == Verb::Get {
            text.push_str(", HEAD");
        }
    }
    HeaderValue::from_str(&text).expect("method names are a valid header value")
}

fn paste_id(text: &str) -> Result<PasteId, ApiError> {
    PasteId::parse(text).ok_or(ApiError::InvalidPasteId)
}

fn short_id(text: &str) -> Result<ShortId, ApiError> {
    ShortId::parse(text).ok_or(ApiError::InvalidShortId)
}

/// Runs the handler of a route: one arm each.
async fn dispatch(
    state: &AppState,
    handler: Handler,
    req: &mut Request<'_>,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    use api::{admin, challenge, client, health, info, paste, pastes, short};
    match handler {
        Handler::Info => Ok(info::get(state, &endpoints())),
        Handler::Health => health::get(state, req).await,
        Handler::CreatePaste => paste::create(state, req).await,
        Handler::ListPastes => pastes::list(state, req).await,
        Handler::PasteMeta => paste::get_meta(state, req, paste_id(id)?).await,
        Handler::PasteRaw => paste::get_raw(state, req, paste_id(id)?).await,
        Handler::ConfirmBurn => paste::confirm_burn(state, req, paste_id(id)?).await,
        Handler::UpdatePaste => paste::update(state, req, paste_id(id)?).await,
        Handler::DeletePaste => paste::delete(state, req, paste_id(id)?).await,
        Handler::Challenge => Ok(challenge::get(state)),
        Handler::Client => client::get(state, req).await,
        Handler::CreateShort => short::create(state, req).await,
        Handler::ListShorts => short::list(state, req).await,
        Handler::Redirect => short::resolve(state, req, short_id(id)?).await,
        Handler::ShortInfo => short::info(state, req, short_id(id)?).await,
        Handler::DeleteShort => short::delete(state, req, short_id(id)?).await,
        Handler::RegisterChallenge => Ok(challenge::get_for_registration(state)),
        Handler::AdminStats => admin::stats(state, req).await,
        Handler::AdminCleanup => admin::cleanup(state, req).await,
        #[cfg(not(feature = "pki"))]
        Handler::PkiStatus => Ok(crate::http::response::json(
            http::StatusCode::OK,
            &serde_json::json!({"enabled": false}),
        )),
        #[cfg(feature = "pki")]
        Handler::PkiStatus => api::pki::status(state).await,
        #[cfg(feature = "pki")]
        Handler::CreateCa => api::pki::create_ca(state, req).await,
        #[cfg(feature = "pki")]
        Handler::CaCert => api::pki::ca_cert(state).await,
        #[cfg(feature = "pki")]
        Handler::Crl => api::pki::crl(state).await,
        #[cfg(feature = "pki")]
        Handler::IssueCert => api::pki::issue(state, req).await,
        #[cfg(feature = "pki")]
        Handler::ListCerts => api::pki::certs(state, req).await,
        #[cfg(feature = "pki")]
        Handler::Revoke => api::pki::revoke(state, req, id).await,
        #[cfg(feature = "pki")]
        Handler::Register => api::register::register(state, req).await,
        #[cfg(not(feature = "pki"))]
        Handler::Absent => Err(ApiError::NotFound),
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

    fn routed(method: Method, path: &str) -> Result<(&'static str, String), String> {
        let mut segments = [""; MAX_SEGMENTS];
        let count = split(path, &mut segments).ok_or("404")?;
        match find(&method, &segments[..count], &mut None) {
            Ok((route, id)) => Ok((route.about, id.to_owned())),
            Err(ApiError::NotFound) => Err("404".into()),
            Err(ApiError::MethodNotAllowed(allow)) => {
                Err(format!("405 {}", allow.to_str().unwrap()))
            }
            Err(other) => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn literals_win_over_ids_and_ids_are_passed_on() {
        assert_eq!(
            routed(Method::GET, "/"),
            Ok(("API information", String::new()))
        );
        assert_eq!(
            routed(Method::HEAD, "/health"),
            Ok(("Health check", String::new()))
        );
        assert_eq!(
            routed(Method::GET, "/abc123/raw"),
            Ok(("Retrieve raw paste content", "abc123".into()))
        );
        assert_eq!(
            routed(Method::DELETE, "/abc123"),
            Ok(("Delete paste", "abc123".into()))
        );
        assert_eq!(routed(Method::PUT, "/health"), Err("405 GET, HEAD".into()));
        assert_eq!(
            routed(Method::HEAD, "/client"),
            Ok(("Download fpaste CLI client", String::new()))
        );
        assert_eq!(routed(Method::POST, "/client"), Err("405 GET, HEAD".into()));
        assert_eq!(
            routed(Method::PATCH, "/x"),
            Err("405 GET, HEAD, PUT, DELETE".into())
        );
        assert_eq!(
            routed(Method::GET, "/s/AbCdEfGh/info"),
            Ok(("Short URL metadata", "AbCdEfGh".into()))
        );
        assert_eq!(
            routed(Method::GET, "/s/raw"),
            Ok(("Redirect to target URL", "raw".into())),
            "under /s, the second segment is a short id"
        );
        assert_eq!(routed(Method::PUT, "/s"), Err("405 GET, HEAD, POST".into()));
        assert_eq!(
            routed(Method::POST, "/s/AbCdEfGh"),
            Err("405 GET, HEAD, DELETE".into())
        );
        assert_eq!(
            routed(Method::GET, "/admin/stats"),
            Ok(("Store statistics (admin)", String::new()))
        );
        assert_eq!(
            routed(Method::GET, "/admin/cleanup"),
            Err("405 POST".into())
        );
        for missing in ["/a/b/c", "/a/b", "/abc123/raw/", "/abc123/", "/s/a/b/c"] {
            assert_eq!(routed(Method::GET, missing), Err("404".into()), "{missing}");
        }
    }

    #[test]
    fn routes_of_one_pattern_stand_together() {
        for (i, r) in ROUTES.iter().enumerate() {
            let ends = ROUTES[..i].iter().rposition(|o| o.path == r.path);
            assert!(
                ends.is_none_or(|j| j + 1 == i),
                "{} is apart from the other routes of its pattern",
                r.about
            );
        }
    }

    #[test]
    fn every_route_is_listed_once() {
        let listed = endpoints();
        let mut names: Vec<String> = listed.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
        names.sort_unstable();
        names.dedup();
        let served = ROUTES.iter().filter(|r| !r.absent()).count();
        assert_eq!(names.len(), served, "{listed:?}");
        assert!(names.contains(&"GET /<id>/raw".to_owned()), "{names:?}");
    }
}

//! `/{id}` and `/{id}/raw`, and `POST /`: create, read metadata, read content, update,
//! delete. Each handler parses, authorizes, calls the store, responds.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::stream::{CHUNK, ContentStream};
use super::{AppState, now, options};
use crate::http::error::ApiError;
use crate::http::request::{BodyError, Ctx, content_length, header_str, read_body};
use crate::http::response::{Body, empty, json, with_body, with_bytes};
use crate::ids::{PasteId, hex, random_bytes};
use crate::security::identity::{Trust, trust};
use crate::security::{entropy, mime, password};
use crate::store::cache::Cached;
use crate::store::paste::{self, Changes, NewPaste, Paste, Refusal};

/// Content larger than this is hashed and measured on the blocking pool.
const BLOCKING_WORK: usize = 1024 * 1024;
/// Sandboxes whatever a browser makes of raw content.
const RAW_CSP: &str = "default-src 'none'; sandbox";

/// `POST /`: creates a paste from the raw body or from JSON `{"content": ...}`.
///
/// # Errors
/// The reference's 400, 413 and 429 answers; 500 on storage failure.
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    req: http::Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config;
    let level = trust(ctx.identity.as_ref());
    let authenticated = level != Trust::Anonymous;
    let max_size = if authenticated {
        cfg.max_auth
    } else {
        cfg.max_anon
    };
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let declared = content_length(headers);
    check_declared(declared, max_size, authenticated)?;
    // Every attempt counts, refused ones too: the limit is on what a client asks for.
    let verdict = state.limiter.check(&ctx.client, authenticated, now());
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        return Err(ApiError::RateLimited(v, now()));
    }
    let opts = options::Create::from_headers(headers, authenticated, cfg)?;
    let raw = read_limited(body, declared, max_size, authenticated).await?;
    let content = content_of(headers, raw)?;
    let mime_type =
        check_content(state, &content, header_str(headers, header::CONTENT_TYPE)).await?;

    let content_hash = sha256_hex(&content).await?;
    let password_hash = match opts.password {
        Some(pw) => Some(blocking(move || password::hash(&pw)).await?),
        None => None,
    };
    let owner_token = (!authenticated).then(|| hex(&random_bytes(16)));
    let now = now();
    let (expires_at, inactivity) = match opts.expiry {
        Some(secs) => (now + secs, None),
        None => {
            let secs = default_expiry(cfg, level);
            (now + secs, Some(secs))
        }
    };
    let mut new = NewPaste {
        id: String::new(),
        content,
        mime_type,
        content_hash,
        owner: ctx.identity.as_ref().map(|f| f.as_str().to_owned()),
        owner_token_hash: owner_token
            .as_deref()
            .map(|t| hex(&Sha256::digest(t.as_bytes()))),
        created_at: now,
        expires_at,
        inactivity,
        burn_after_read: opts.burn_after_read,
        password_hash,
        display_name: opts.display_name,
    };
    let (window, max) = (
        i64::try_from(cfg.dedup_window).unwrap_or(i64::MAX),
        i64::try_from(cfg.dedup_max).unwrap_or(i64::MAX),
    );
    // A fresh id collides about never; a few tries make it never in practice.
    for _ in 0..4 {
        new.id = PasteId::generate(cfg.id_length).to_string();
        let attempt = new.clone();
        match state
            .store
            .write(move |c| paste::insert(c, &attempt, window, max))
            .await?
        {
            Ok(()) => {
                let mut resp = created(state, &new, owner_token.as_deref());
                if let Some(v) = &verdict {
                    crate::http::limit::apply_headers(resp.headers_mut(), v);
                }
                return Ok(resp);
            }
            Err(Refusal::Duplicate { count }) => {
                return Err(ApiError::Duplicate {
                    count,
                    window_seconds: cfg.dedup_window,
                });
            }
            Err(Refusal::IdTaken) => {}
        }
    }
    Err(ApiError::Internal("no free paste id after 4 tries".into()))
}

/// The 201 document of a new paste; keys in alphabetical order, as the JSON maps of the
/// other documents are written.
#[derive(serde::Serialize)]
struct Created<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    burn_after_read: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    expires_at: i64,
    id: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_token: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    password_protected: bool,
    raw: String,
    size: usize,
    url: String,
}

fn created(state: &AppState, p: &NewPaste, owner_token: Option<&str>) -> Response<Body> {
    let prefix = &state.config.url_prefix;
    let doc = Created {
        burn_after_read: p.burn_after_read,
        created_at: p.created_at,
        display_name: p.display_name.as_deref(),
        expires_at: p.expires_at,
        id: &p.id,
        mime_type: &p.mime_type,
        owner: p.owner.as_deref(),
        owner_token,
        password_protected: p.password_hash.is_some(),
        raw: format!("{prefix}/{}/raw", p.id),
        size: p.content.len(),
        url: format!("{prefix}/{}", p.id),
    };
    json(StatusCode::CREATED, &doc)
}

/// Refuses a declared `Content-Length` over the limit before a byte of the body is read.
fn check_declared(
    declared: Option<u64>,
    max_size: u64,
    authenticated: bool,
) -> Result<(), ApiError> {
    match declared {
        Some(size) if size > max_size => Err(ApiError::TooLarge {
            size,
            max_size,
            authenticated,
        }),
        _ => Ok(()),
    }
}

/// Reads the body, holding at most `max_size` bytes of it.
async fn read_limited(
    body: Incoming,
    declared: Option<u64>,
    max_size: u64,
    authenticated: bool,
) -> Result<Bytes, ApiError> {
    read_body(body, max_size, declared)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { received } => ApiError::TooLarge {
                size: received,
                max_size,
                authenticated,
            },
            BodyError::Read(_) => ApiError::NoContent,
        })
}

/// The paste content: the `content` string of a JSON body, or the body itself.
fn content_of(headers: &HeaderMap, raw: Bytes) -> Result<Bytes, ApiError> {
    let is_json = header_str(headers, header::CONTENT_TYPE)
        .and_then(mime::essence)
        .is_some_and(|t| t == "application/json");
    let content = if is_json {
        let value: Value = serde_json::from_slice(&raw).map_err(|_| ApiError::InvalidJson)?;
        match value.get("content") {
            Some(Value::String(s)) => Bytes::from(s.clone()),
            _ => return Err(ApiError::NoContent),
        }
    } else {
        raw
    };
    if content.is_empty() {
        return Err(ApiError::NoContent);
    }
    Ok(content)
}

/// Applies the content rules (minimum size, required binary, entropy) and returns the MIME
/// type to store.
async fn check_content(
    state: &AppState,
    content: &Bytes,
    content_type: Option<&str>,
) -> Result<String, ApiError> {
    let cfg = &state.config;
    let size = content.len() as u64;
    if size < cfg.min_size {
        return Err(ApiError::TooSmall {
            size,
            min_size: cfg.min_size,
        });
    }
    if cfg.require_binary {
        let detected = mime::sniff(content, None);
        if detected != "application/octet-stream" {
            return Err(ApiError::RecognizableFormat { detected });
        }
    }
    if cfg.min_entropy > 0.0 && size >= cfg.min_entropy_size {
        let data = content.clone();
        let bits = if data.len() > BLOCKING_WORK {
            blocking(move || entropy::bits_per_byte(&data)).await?
        } else {
            entropy::bits_per_byte(&data)
        };
        if bits < cfg.min_entropy {
            return Err(ApiError::EntropyTooLow {
                entropy: bits,
                min_entropy: cfg.min_entropy,
            });
        }
    }
    Ok(mime::sniff(content, content_type))
}

async fn sha256_hex(content: &Bytes) -> Result<String, ApiError> {
    if content.len() > BLOCKING_WORK {
        let data = content.clone();
        blocking(move || hex(&Sha256::digest(&data))).await
    } else {
        Ok(hex(&Sha256::digest(content)))
    }
}

/// Runs CPU-heavy work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn default_expiry(cfg: &crate::config::Config, level: Trust) -> i64 {
    let secs = match level {
        Trust::Anonymous => cfg.expiry_anon,
        Trust::Untrusted => cfg.expiry_untrusted,
        Trust::Trusted => cfg.expiry_trusted,
    };
    i64::try_from(secs).unwrap_or(i64::MAX / 2)
}

fn parse_id(text: &str) -> Result<PasteId, ApiError> {
    PasteId::parse(text).ok_or(ApiError::InvalidPasteId)
}

/// Checks `X-Paste-Password` against a protected paste (hashing on the blocking pool).
async fn check_password(p: &Paste, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(stored) = p.password_hash.clone() else {
        return Ok(());
    };
    // Decoded exactly as at creation (options::password_header): UTF-8, leniently.
    let given = headers
        .get("x-paste-password")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .ok_or(ApiError::PasswordRequired)?;
    if given.chars().count() > password::MAX_CHARS {
        return Err(ApiError::PasswordTooLong);
    }
    if blocking(move || password::verify(&given, &stored)).await? {
        Ok(())
    } else {
        Err(ApiError::InvalidPassword)
    }
}

/// Extends an inactivity expiry when due (coarsely, see `store::paste::touch`); returns
/// the expiry in force.
async fn touch(state: &AppState, p: &Paste, now: i64) -> Result<i64, ApiError> {
    if !paste::needs_touch(p, now) {
        return Ok(p.expires_at);
    }
    let id = p.id.clone();
    let expires = state
        .store
        .write(move |c| paste::touch(c, &id, now))
        .await?;
    expires.ok_or(ApiError::PasteNotFound)
}

/// `GET`/`HEAD /{id}`: metadata. Never burns.
///
/// # Errors
/// 400 bad id, 401/403 password, 404.
pub async fn get_meta(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let now = now();
    let p = state
        .store
        .lookup(move |c| paste::get(c, id.as_str(), now))
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    check_password(&p, headers).await?;
    let expires_at = if p.burn_after_read {
        p.expires_at
    } else {
        touch(state, &p, now).await?
    };
    Ok(json(StatusCode::OK, &describe(state, &p, expires_at)))
}

/// The metadata document of a paste.
fn describe(state: &AppState, p: &Paste, expires_at: i64) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(p.id));
    body.insert("mime_type".into(), json!(p.mime_type));
    body.insert("size".into(), json!(p.size));
    body.insert("created_at".into(), json!(p.created_at));
    body.insert("expires_at".into(), json!(expires_at));
    body.insert(
        "url".into(),
        json!(format!("{}/{}", state.config.url_prefix, p.id)),
    );
    body.insert(
        "raw".into(),
        json!(format!("{}/{}/raw", state.config.url_prefix, p.id)),
    );
    if p.password_hash.is_some() {
        body.insert("password_protected".into(), json!(true));
    }
    if p.burn_after_read {
        body.insert("burn_after_read".into(), json!(true));
    }
    if let Some(name) = &p.display_name {
        body.insert("display_name".into(), json!(name));
    }
    Value::Object(body)
}

/// The live paste and, for a GET of content up to [`CHUNK`], the content: from the cache
/// when nothing was committed since it was read there, else from the store.
async fn load_raw(
    state: &AppState,
    id: &PasteId,
    now: i64,
    head: bool,
) -> Result<Arc<Cached>, ApiError> {
    // Read before the lookup: the lookup's snapshot has every commit counted here.
    let generation = state.store.commits();
    if let Some(hit) = state.cache.get(id.as_str(), generation) {
        if hit.paste.expires_at > now {
            return Ok(hit);
        }
    }
    let inline_max = if head {
        0
    } else {
        i64::try_from(CHUNK).unwrap_or(0)
    };
    let lookup = id.clone();
    let (paste, content) = state
        .store
        .lookup(move |c| paste::get_with_content(c, lookup.as_str(), now, inline_max))
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    // Burning and password-checked reads gain nothing from it.
    let keep = !paste.burn_after_read && paste.password_hash.is_none();
    let entry = Arc::new(Cached {
        paste,
        content: content.map(Bytes::from),
    });
    if keep {
        state.cache.put(generation, Arc::clone(&entry));
    }
    Ok(entry)
}

/// `GET`/`HEAD /{id}/raw`: the content, with ETag, single ranges and safe disposition.
/// A burn-after-read paste is deleted by the first full GET and ignores ranges.
///
/// # Errors
/// 400 bad id, 401/403 password, 404, 416 unsatisfiable range.
pub async fn get_raw(
    state: &AppState,
    id: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let now = now();
    let head = method == Method::HEAD;
    let entry = load_raw(state, &id, now, head).await?;
    let (p, inline) = (&entry.paste, entry.content.clone());
    check_password(p, headers).await?;
    let download = options::query_flag(query, "download");

    if p.burn_after_read {
        if head {
            return Ok(raw_head(p, download, p.size));
        }
        let burned = state
            .store
            .write(move |c| paste::burn(c, id.as_str(), now))
            .await?;
        let (p, content) = burned.ok_or(ApiError::PasteNotFound)?;
        let mut resp = raw_response(&p, download, StatusCode::OK, Bytes::from(content));
        resp.headers_mut()
            .insert("x-burn-after-read", HeaderValue::from_static("true"));
        return Ok(resp);
    }

    touch(state, p, now).await?;
    let etag = quoted(&p.content_hash);
    if let Some(tags) = header_str(headers, header::IF_NONE_MATCH) {
        if tags.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            let mut resp = empty(StatusCode::NOT_MODIFIED);
            set_header(&mut resp, header::ETAG, &etag);
            return Ok(resp);
        }
    }
    let size = u64::try_from(p.size).unwrap_or(0);
    let range = match header_str(headers, header::RANGE).map(|r| options::parse_range(r, size)) {
        Some(options::Range::Unsatisfiable) => return Err(ApiError::RangeNotSatisfiable { size }),
        Some(options::Range::Part(start, end)) => Some((start, end)),
        Some(options::Range::Full) | None => None,
    };
    let (start, end) = range.unwrap_or((0, size));
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    if head {
        let mut resp = raw_head(p, download, p.size);
        set_header(&mut resp, header::ETAG, &etag);
        return Ok(resp);
    }
    let mut resp = match inline {
        Some(content) => {
            let body = content.slice(to_usize(start)..to_usize(end));
            raw_response(p, download, status, body)
        }
        None => {
            use http_body_util::BodyExt;
            let body = ContentStream::new(
                state.store.clone(),
                p.rowid,
                &p.content_hash,
                to_usize(start),
                to_usize(end),
            );
            let mut resp = with_body(status, body.boxed());
            raw_headers(&mut resp, p, download);
            resp
        }
    };
    set_header(&mut resp, header::ETAG, &etag);
    if range.is_some() {
        set_header(
            &mut resp,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    Ok(resp)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn raw_response(p: &Paste, download: bool, status: StatusCode, content: Bytes) -> Response<Body> {
    let mut resp = with_bytes(status, content);
    raw_headers(&mut resp, p, download);
    resp
}

/// Headers of a raw response without reading the content (HEAD).
fn raw_head(p: &Paste, download: bool, size: i64) -> Response<Body> {
    let mut resp = empty(StatusCode::OK);
    raw_headers(&mut resp, p, download);
    set_header(&mut resp, header::CONTENT_LENGTH, &size.to_string());
    resp
}

fn raw_headers(resp: &mut Response<Body>, p: &Paste, download: bool) {
    let inline = !download
        && !mime::is_active(&p.mime_type)
        && (p.mime_type.starts_with("text/") || p.mime_type.starts_with("image/"));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&p.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(if inline { "inline" } else { "attachment" }),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(RAW_CSP),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if p.burn_after_read {
        headers.remove(header::ACCEPT_RANGES);
    }
}

/// `"text"`, the form of an entity tag.
fn quoted(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    q.push_str(text);
    q.push('"');
    q
}

fn set_header(resp: &mut Response<Body>, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Loads the live paste `id` for a client that must act as its owner: 400 for a bad id,
/// 401 without credentials, 404, then 403 unless the client owns it.
async fn load_owned(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    headers: &HeaderMap,
) -> Result<(PasteId, Paste), ApiError> {
    let id = parse_id(id)?;
    if ctx.identity.is_none() && header_str(headers, "x-owner-token").is_none() {
        return Err(ApiError::AuthRequired);
    }
    let now = now();
    let lookup = id.clone();
    let p = state
        .store
        .lookup(move |c| paste::get(c, lookup.as_str(), now))
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    authorize_owner(&p, ctx, headers)?;
    Ok((id, p))
}

/// The client may act as owner: its certificate owns the paste, or it presents the token.
fn authorize_owner(p: &Paste, ctx: &Ctx, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = header_str(headers, "x-owner-token");
    let by_cert =
        matches!((&ctx.identity, &p.owner), (Some(me), Some(owner)) if me.as_str() == owner);
    let by_token = match (token, &p.owner_token_hash) {
        (Some(t), Some(stored)) => {
            use subtle::ConstantTimeEq;
            let given = hex(&Sha256::digest(t.as_bytes()));
            bool::from(given.as_bytes().ct_eq(stored.as_bytes()))
        }
        _ => false,
    };
    if by_cert || by_token {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// `DELETE /{id}`: by the owning certificate or the owner token.
///
/// # Errors
/// 400 bad id, 401 no credentials, 403 not the owner, 404.
pub async fn delete(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let (id, _) = load_owned(state, ctx, id, headers).await?;
    if !state
        .store
        .write(move |c| paste::delete(c, id.as_str()))
        .await?
    {
        return Err(ApiError::PasteNotFound);
    }
    Ok(json(StatusCode::OK, &json!({"message": "Paste deleted"})))
}

/// `PUT /{id}`: new content and/or metadata, by the owner.
///
/// # Errors
/// 400 bad id, no updates, burn-after-read, bad headers or content; 401; 403; 404; 413.
pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    req: http::Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config;
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let (id, p) = load_owned(state, ctx, id, headers).await?;
    let now = now();
    if p.burn_after_read {
        return Err(ApiError::BurnNotUpdatable);
    }
    let authenticated = ctx.identity.is_some();
    let max_size = if authenticated {
        cfg.max_auth
    } else {
        cfg.max_anon
    };
    let declared = content_length(headers);
    check_declared(declared, max_size, authenticated)?;
    let opts = options::Update::from_headers(headers, authenticated, cfg)?;
    let raw = read_limited(body, declared, max_size, authenticated).await?;
    let mut changes = Changes::default();
    if !raw.is_empty() {
        let content = content_of(headers, raw)?;
        let mime_type =
            check_content(state, &content, header_str(headers, header::CONTENT_TYPE)).await?;
        let hash = sha256_hex(&content).await?;
        changes.content = Some((content, mime_type, hash));
    }
    if opts.remove_password {
        changes.password_hash = Some(None);
    }
    if let Some(pw) = opts.password {
        changes.password_hash = Some(Some(blocking(move || password::hash(&pw)).await?));
    }
    if opts.remove_display_name {
        changes.display_name = Some(None);
    }
    if let Some(name) = opts.display_name {
        changes.display_name = Some(Some(name));
    }
    if let Some(extra) = opts.extend_expiry {
        let cap = now + i64::try_from(cfg.max_expiry).unwrap_or(i64::MAX / 2);
        changes.expires_at = Some(p.expires_at.saturating_add(extra).min(cap));
    }
    let nothing = changes.content.is_none()
        && changes.password_hash.is_none()
        && changes.display_name.is_none()
        && changes.expires_at.is_none();
    if nothing {
        return Err(ApiError::NoUpdates);
    }
    let updated = state
        .store
        .write(move |c| paste::update(c, id.as_str(), now, &changes))
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    let mut body = Map::new();
    body.insert("id".into(), json!(updated.id));
    body.insert("size".into(), json!(updated.size));
    body.insert("mime_type".into(), json!(updated.mime_type));
    body.insert("expires_at".into(), json!(updated.expires_at));
    if updated.password_hash.is_some() {
        body.insert("password_protected".into(), json!(true));
    }
    if let Some(name) = &updated.display_name {
        body.insert("display_name".into(), json!(name));
    }
    Ok(json(StatusCode::OK, &Value::Object(body)))
}

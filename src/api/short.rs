//! The URL shortener under `/s`: create, list your own, redirect, show, delete. Redirects
//! are counted in memory ([`Redirects`]) and written in batches, so a redirect never waits
//! for a disk sync; what is shown adds the counts not yet written.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::access::{self, Caller};
use super::options;
use super::{AppState, challenge, upload};
use crate::audit::Deleted;
use crate::clock;
use crate::http::error::ApiError;
use crate::http::limit::Verdict;
use crate::http::request::{BodyError, Request, content_length, header_str, read_body};
use crate::http::response::{Body, empty, json};
use crate::ids::{ShortId, hex};
use crate::metrics::Kind;
use crate::security::{mime, target};
use crate::store::pow::{Spend, paying};
use crate::store::short::{self, Hit, Hits, NewShort, Short};
use crate::store::{self as db, Store, insert_fresh};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// Targets kept at most; past this the cache starts over.
const MAX_TARGETS: usize = 4096;

/// Redirect counts gathered in memory, the one writer of them at a time, and the targets
/// of recent redirects.
#[derive(Debug, Default)]
pub struct Redirects {
    hits: Hits,
    writing: tokio::sync::Mutex<()>,
    work: tokio::sync::Notify,
    targets: std::sync::Mutex<Targets>,
}

/// Targets read since the store's last commit: `Location` values and expiry by id. Only
/// a commit can delete a short URL, so while none was made these are what a lookup would
/// find (expiry is checked on every use).
#[derive(Debug, Default)]
struct Targets {
    generation: u64,
    map: std::collections::HashMap<String, (HeaderValue, i64)>,
}

impl Redirects {
    /// The `Location` of the live short URL `id`: from the cache when nothing was committed
    /// since it was read, else from the store.
    async fn location(
        &self,
        store: &Store,
        id: &ShortId,
        now: i64,
    ) -> Result<HeaderValue, ApiError> {
        // Read before the lookup: the lookup's snapshot has every commit counted here.
        let generation = store.commits();
        {
            let targets = self.lock_targets();
            if targets.generation == generation
                && let Some((location, expires_at)) = targets.map.get(id.as_str())
                && *expires_at > now
            {
                return Ok(location.clone());
            }
        }
        let lookup = id.clone();
        let (target, expires_at) = store
            .lookup(move |c| short::target(c, lookup.as_str(), now))
            .await?
            .ok_or(ApiError::ShortNotFound)?;
        let location = HeaderValue::try_from(target)
            .map_err(|e| ApiError::Internal(format!("stored target of {id} is no header: {e}")))?;
        let mut targets = self.lock_targets();
        if generation >= targets.generation {
            if generation > targets.generation || targets.map.len() >= MAX_TARGETS {
                targets.map.clear();
                targets.generation = generation;
            }
            targets
                .map
                .insert(id.as_str().to_owned(), (location.clone(), expires_at));
        }
        Ok(location)
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, Targets> {
        self.targets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one redirect.
    pub fn record(&self, id: &str, now: i64) {
        if self.hits.record(id, now) {
            self.work.notify_one();
        }
    }

    /// Waits until there are counts to write.
    pub async fn wait(&self) {
        if self.hits.is_empty() {
            self.work.notified().await;
        }
    }

    /// Writes every pending count; once it returns, a read sees them all. A failed write
    /// keeps them pending.
    ///
    /// # Errors
    /// The write failed.
    pub async fn write(&self, store: &Store) -> Result<(), db::Error> {
        let _one_writer = self.writing.lock().await;
        let batch = self.hits.take();
        if batch.is_empty() {
            return Ok(());
        }
        let written = batch.clone();
        match store.write(move |c| short::add_hits(c, &written)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.hits.restore(batch);
                Err(e)
            }
        }
    }

    /// Waits for a write of counts in progress; while the guard lives, every count is
    /// either committed or pending, so a read plus [`Redirects::current`] misses none.
    async fn settled(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writing.lock().await
    }

    /// `s` with the redirects not yet written.
    fn current(&self, mut s: Short) -> Short {
        if let Some(Hit { count, last }) = self.hits.pending(&s.id) {
            s.access_count += count;
            s.last_accessed = Some(s.last_accessed.unwrap_or(0).max(last));
        }
        s
    }
}

/// A short URL as the API shows it; a field that is `None` is not in the document.
#[derive(Debug, Serialize)]
struct ShortDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    access_count: Option<i64>,
    created_at: i64,
    expires_at: i64,
    id: &'a str,
    /// Shown as `null` until the first redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_accessed: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_token: Option<&'a str>,
    target_url: &'a str,
    url: String,
}

impl<'a> ShortDoc<'a> {
    /// The 201 of a creation.
    fn created(s: &'a Short, owner_token: Option<&'a str>, prefix: &str) -> ShortDoc<'a> {
        ShortDoc {
            access_count: None,
            created_at: s.created_at,
            expires_at: s.expires_at,
            id: &s.id,
            last_accessed: None,
            owner: s.owner.as_deref(),
            owner_token,
            target_url: &s.target_url,
            url: format!("{prefix}/s/{}", s.id),
        }
    }

    /// `GET /s/{id}/info` and the items of `GET /s`.
    fn info(s: &'a Short, prefix: &str) -> ShortDoc<'a> {
        ShortDoc {
            access_count: Some(s.access_count),
            last_accessed: Some(s.last_accessed),
            owner_token: None,
            ..ShortDoc::created(s, None, prefix)
        }
    }
}

/// `POST /s`: a short URL for the JSON `{"url": ...}` or the raw body.
///
/// # Errors
/// The reference's 400s (no URL, scheme, host, length, proof-of-work) and 429s.
pub async fn create(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config();
    let caller = access::caller(state, req.ctx).await?;
    let verdict = upload::count_rate(state, req.ctx, &caller)?;
    let spend = challenge::demand(state, req.headers()).await?;
    let expiry = options::expiry(req.headers(), cfg);
    let url = read_target(state, req).await?;
    target::check(&url, cfg.short_url_max).map_err(|refused| ApiError::BadTarget {
        refused,
        max: cfg.short_url_max,
    })?;
    let owner_token = (!caller.authenticated()).then(access::new_owner_token);
    let now = clock::now();
    let lifetime = expiry.unwrap_or_else(|| access::default_expiry(cfg, caller.trust()));
    let new = NewShort {
        id: String::new(),
        target_url: url,
        owner: caller.identity().map(|f| f.as_str().to_owned()),
        owner_token_hash: owner_token.as_ref().map(|(_, hash)| hash.clone()),
        created_at: now,
        expires_at: now.saturating_add(lifetime),
    };
    let token = owner_token.as_ref().map(|(token, _)| token.as_str());
    let created = insert(state, new, spend, token, verdict.as_ref()).await?;
    state.metrics.created(Kind::ShortUrl, caller.trust().into());
    Ok(created)
}

/// The target URL of a creation body: the `url` string of JSON, or the raw text without
/// the whitespace around it (as `echo URL | curl --data-binary @-` sends it).
async fn read_target(state: &AppState, req: &mut Request<'_>) -> Result<String, ApiError> {
    let max = state.config().short_url_max;
    let too_long = ApiError::BadTarget {
        refused: target::Refused::TooLong,
        max,
    };
    // Room for JSON around the URL and for escapes inside it.
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_mul(6) + 1024;
    let declared = content_length(req.headers());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_long);
    }
    let raw = read_body(req.take_body()?, limit, declared)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => too_long,
            BodyError::Read(_) => ApiError::NoContent,
            BodyError::Timeout => ApiError::RequestTimeout,
        })?;
    let is_json = header_str(req.headers(), header::CONTENT_TYPE)
        .and_then(mime::essence)
        .is_some_and(|t| t == "application/json");
    target_of(is_json, &raw, max)
}

fn target_of(is_json: bool, raw: &Bytes, max: usize) -> Result<String, ApiError> {
    let bad = |refused| ApiError::BadTarget { refused, max };
    if is_json {
        let value: serde_json::Value =
            serde_json::from_slice(raw).map_err(|_| ApiError::InvalidJson)?;
        return match value.get("url") {
            Some(serde_json::Value::String(url)) => Ok(url.clone()),
            _ => Err(bad(target::Refused::Empty)),
        };
    }
    let text = std::str::from_utf8(raw).map_err(|_| bad(target::Refused::Characters))?;
    Ok(text.trim_ascii().to_owned())
}

/// Inserts under a fresh id, spending the proof-of-work nonce in the same write.
async fn insert(
    state: &AppState,
    mut new: NewShort,
    spend: Option<Spend>,
    owner_token: Option<&str>,
    verdict: Option<&Verdict>,
) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config();
    let (window, max) = (
        cfg.dedup_window.secs_i64(),
        i64::try_from(cfg.dedup_max).unwrap_or(i64::MAX),
    );
    // The throttle's key: not a plain SHA-256 of the bytes, so never a paste's content hash.
    let url_key = format!("url:{}", hex(&Sha256::digest(new.target_url.as_bytes())));
    let mut attempt = new.clone();
    new.id = state
        .store
        .write(move |c| {
            paying(c, spend.as_ref(), |c| {
                insert_fresh(
                    c,
                    || ShortId::generate().to_string(),
                    |c, id| {
                        id.clone_into(&mut attempt.id);
                        short::insert(c, &attempt, &url_key, window, max)
                    },
                )
            })
        })
        .await?
        .map_err(|r| upload::refused(r, cfg))?;
    state.pow.flood.record(new.created_at);
    let stored = new.to_short();
    let doc = ShortDoc::created(&stored, owner_token, &cfg.url_prefix);
    Ok(upload::created(&doc, verdict))
}

/// `GET`/`HEAD /s/{id}`: 302 to the target. Only a GET counts as a redirect.
///
/// # Errors
/// 404 for an unknown or expired id.
pub async fn resolve(
    state: &AppState,
    req: &mut Request<'_>,
    id: ShortId,
) -> Result<Response<Body>, ApiError> {
    let now = clock::now();
    let location = state.redirects.location(&state.store, &id, now).await?;
    if !req.is_head() {
        state.redirects.record(id.as_str(), now);
    }
    let mut resp = empty(StatusCode::FOUND);
    resp.headers_mut().insert(header::LOCATION, location);
    Ok(resp)
}

/// `GET /s/{id}/info`: the metadata, counts included. Not a redirect: counts nothing.
///
/// # Errors
/// 404 for an unknown or expired id.
pub async fn info(
    state: &AppState,
    _req: &mut Request<'_>,
    id: ShortId,
) -> Result<Response<Body>, ApiError> {
    let settled = state.redirects.settled().await;
    let s = state.redirects.current(live(state, &id).await?);
    drop(settled);
    Ok(json(
        StatusCode::OK,
        &ShortDoc::info(&s, &state.config().url_prefix),
    ))
}

/// `GET /s`: the caller's own short URLs, newest first.
///
/// # Errors
/// 401 without a certificate, 400 for a malformed `limit` or `offset`.
pub async fn list(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    let caller = access::caller(state, req.ctx).await?;
    let me = caller.identity().ok_or(ApiError::AuthRequired)?;
    let owner = if options::query_value(req.query(), "all").is_some_and(|v| v == "1") {
        if !caller.admin() {
            return Err(ApiError::AdminRequired);
        }
        None
    } else {
        Some(me.as_str().to_owned())
    };
    let (limit, offset) = options::page(req.query(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let now = clock::now();
    let settled = state.redirects.settled().await;
    let (rows, total) = state
        .store
        .read(move |c| short::list(c, owner.as_deref(), now, limit, offset))
        .await?;
    let rows: Vec<Short> = rows
        .into_iter()
        .map(|s| state.redirects.current(s))
        .collect();
    drop(settled);
    let prefix = &state.config().url_prefix;
    let urls: Vec<ShortDoc<'_>> = rows.iter().map(|s| ShortDoc::info(s, prefix)).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"urls": urls, "count": urls.len(), "total": total, "limit": limit,
                "offset": offset}),
    ))
}

/// `DELETE /s/{id}`: by the owner (certificate, or the token of an anonymous creation) or
/// the admin.
///
/// # Errors
/// 401 without credentials, 404, 403 for someone else's.
pub async fn delete(
    state: &AppState,
    req: &mut Request<'_>,
    id: ShortId,
) -> Result<Response<Body>, ApiError> {
    let caller: Caller = access::caller(state, req.ctx).await?;
    access::require_credentials(&caller, req.headers())?;
    let s = live(state, &id).await?;
    let authority = access::authorize(
        &caller,
        s.owner.as_deref(),
        s.owner_token_hash.as_deref(),
        req.headers(),
        true,
    )?;
    let gone = id.clone();
    if !state
        .store
        .write(move |c| short::delete(c, gone.as_str()))
        .await?
    {
        return Err(ApiError::ShortNotFound);
    }
    let owner = s.owner.as_deref();
    access::record_delete(
        state,
        req.ctx,
        &caller,
        authority,
        Deleted::ShortUrl,
        id.as_str(),
        owner,
    );
    Ok(json(
        StatusCode::OK,
        &json!({"message": "Short URL deleted"}),
    ))
}

/// The live short URL `id`, as stored.
async fn live(state: &AppState, id: &ShortId) -> Result<Short, ApiError> {
    let now = clock::now();
    let lookup = id.clone();
    state
        .store
        .lookup(move |c| short::get(c, lookup.as_str(), now))
        .await?
        .ok_or(ApiError::ShortNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(doc: &ShortDoc<'_>) -> Vec<String> {
        let value = serde_json::to_value(doc).unwrap();
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn documents_have_the_keys_of_the_reference() {
        let s = Short {
            id: "AbCdEfGh".into(),
            target_url: "https://example.com".into(),
            owner: Some("a".repeat(40)),
            owner_token_hash: None,
            created_at: 1,
            expires_at: 2,
            access_count: 3,
            last_accessed: None,
        };
        assert_eq!(
            keys(&ShortDoc::created(&s, None, "")),
            [
                "created_at",
                "expires_at",
                "id",
                "owner",
                "target_url",
                "url"
            ]
        );
        let info = serde_json::to_value(ShortDoc::info(&s, "/p")).unwrap();
        assert_eq!(info["url"], "/p/s/AbCdEfGh");
        assert_eq!(info["access_count"], 3);
        assert!(info["last_accessed"].is_null());
        assert!(info.as_object().unwrap().contains_key("last_accessed"));
    }

    #[test]
    fn a_json_body_gives_its_url_string_and_a_raw_body_its_trimmed_text() {
        let t = |json, body: &str| target_of(json, &Bytes::from(body.to_owned()), 2048);
        assert_eq!(t(true, r#"{"url": "https://a.b"}"#).unwrap(), "https://a.b");
        assert_eq!(t(false, "https://a.b/\n").unwrap(), "https://a.b/");
        assert!(matches!(
            t(true, "{}"),
            Err(ApiError::BadTarget {
                refused: target::Refused::Empty,
                ..
            })
        ));
        assert!(matches!(t(true, "{"), Err(ApiError::InvalidJson)));
        assert!(matches!(
            t(true, r#"{"url": 5}"#),
            Err(ApiError::BadTarget { .. })
        ));
    }
}

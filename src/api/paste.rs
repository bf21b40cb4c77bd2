//! `POST /`, `/{id}` and `/{id}/raw`: create, read metadata, read content, update, delete.
//! Each handler parses its options, asks [`access`] who may act, takes content in through
//! [`upload`], calls the store and responds.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use super::access;
use super::document::PasteDoc;
use super::raw::{self, Content};
use super::stream::CHUNK;
use super::upload::{self, Limit};
use super::{AppState, challenge, options};
use crate::audit::Deleted;
use crate::clock;
use crate::http::error::ApiError;
use crate::http::limit::{Verdict, apply_headers};
use crate::http::request::Request;
use crate::http::response::{Body, json};
use crate::ids::PasteId;
use crate::metrics::{Kind, Reason};
use crate::security::password;
use crate::store::cache::Cached;
use crate::store::paste::{self, Changes, NewPaste, Paste};
use crate::store::pow::{Spend, paying};
use crate::store::usage;
use crate::store::{Refusal, insert_fresh};

/// `POST /`: creates a paste from the raw body or from JSON `{"content": ...}`.
///
/// # Errors
/// The reference's 400, 413 and 429 answers; 500 on storage failure.
pub async fn create(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config();
    let caller = access::caller(state, req.ctx).await?;
    let limit = Limit::check(state, &caller, req.headers())?;
    let verdict = upload::count_rate(state, req.ctx, &caller)?;
    let spend = challenge::demand(state, req.headers()).await?;
    let opts = options::Create::from_headers(req.headers(), caller.authenticated(), cfg)?;
    let raw = limit.read(req.take_body()?).await?;
    let admitted = upload::admit(state, &req.head.headers, raw).await?;
    let password_hash = match opts.password {
        Some(pw) => Some(state.hashing.run(move || password::hash(&pw)).await?),
        None => None,
    };
    let owner_token = (!caller.authenticated()).then(access::new_owner_token);
    let now = clock::now();
    let (expires_at, inactivity) = match opts.expiry {
        Some(secs) => (now + secs, None),
        None => {
            let secs = access::default_expiry(cfg, caller.trust());
            (now + secs, Some(secs))
        }
    };
    let new = NewPaste {
        id: String::new(),
        content: admitted.content,
        mime_type: admitted.mime_type,
        content_hash: admitted.content_hash,
        owner: caller.identity().map(|f| f.as_str().to_owned()),
        owner_token_hash: owner_token.as_ref().map(|(_, hash)| hash.clone()),
        created_at: now,
        expires_at,
        inactivity,
        burn_after_read: opts.burn_after_read,
        burn_confirm: opts.burn_confirm,
        password_hash,
        display_name: opts.display_name,
    };
    let token = owner_token.as_ref().map(|(token, _)| token.as_str());
    let created = insert(state, new, spend, token, verdict.as_ref()).await?;
    state.metrics.created(Kind::Paste, caller.trust().into());
    Ok(created)
}

/// Inserts a new paste under a fresh id, spending the proof-of-work nonce in the same
/// write, and answers its 201.
async fn insert(
    state: &AppState,
    mut new: NewPaste,
    spend: Option<Spend>,
    owner_token: Option<&str>,
    verdict: Option<&Verdict>,
) -> Result<Response<Body>, ApiError> {
    let cfg = &state.config();
    let (window, max) = (
        cfg.dedup_window.secs_i64(),
        i64::try_from(cfg.dedup_max).unwrap_or(i64::MAX),
    );
    let id_length = cfg.id_length;
    let quota = upload::quota(cfg);
    let mut attempt = new.clone();
    new.id = state
        .store
        .write(move |c| {
            paying(c, spend.as_ref(), |c| {
                let size = attempt.content.len() as u64;
                if let Err(exceeded) = usage::admit(c, attempt.owner.as_deref(), size, quota)? {
                    return Ok(Err(Refusal::Quota(exceeded)));
                }
                insert_fresh(
                    c,
                    || PasteId::generate(id_length).to_string(),
                    |c, id| {
                        id.clone_into(&mut attempt.id);
                        paste::insert(c, &attempt, window, max)
                    },
                )
            })
        })
        .await?
        .map_err(|r| upload::refused(r, cfg))?;
    state.pow.flood.record(new.created_at);
    let stored = new.to_paste();
    let doc = PasteDoc::created(&stored, owner_token, &cfg.url_prefix);
    Ok(upload::created(&doc, verdict))
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
/// 401/403 password, 404.
pub async fn get_meta(
    state: &AppState,
    req: &mut Request<'_>,
    id: PasteId,
) -> Result<Response<Body>, ApiError> {
    let now = clock::now();
    let p = access::live_paste(state, &id, now).await?;
    access::check_password(state, req.ctx, &p, req.headers()).await?;
    let expires_at = if p.burn_after_read {
        p.expires_at
    } else {
        touch(state, &p, now).await?
    };
    let doc = PasteDoc::metadata(&p, expires_at, &state.config().url_prefix);
    Ok(json(StatusCode::OK, &doc))
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
    if let Some(hit) = state.cache.get(id.as_str(), generation)
        && hit.paste.expires_at > now
    {
        return Ok(hit);
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
/// 401/403 password, 404, 416 unsatisfiable range.
pub async fn get_raw(
    state: &AppState,
    req: &mut Request<'_>,
    id: PasteId,
) -> Result<Response<Body>, ApiError> {
    let now = clock::now();
    let head = req.is_head();
    let entry = load_raw(state, &id, now, head).await?;
    let p = &entry.paste;
    // Before the password: a link preview gets the way in, and costs no hashing.
    if p.burn_confirm {
        return Err(ApiError::BurnNeedsConfirm {
            password: p.password_hash.is_some(),
        });
    }
    access::check_password(state, req.ctx, p, req.headers()).await?;
    let download = options::query_flag(req.query(), "download");
    if p.burn_after_read {
        if head {
            return Ok(raw::head_only(p, download));
        }
        return burn(state, id, now, download).await;
    }
    touch(state, p, now).await?;
    let content = match &entry.content {
        Some(bytes) => Content::Inline(bytes.clone()),
        None => Content::Stored(state.store.clone()),
    };
    raw::respond(p, content, req.headers(), head, download)
}

/// `POST /{id}/raw`: the deliberate read of a paste created with
/// `X-Burn-After-Read: confirm`, which returns its content and burns it, atomically (of
/// racing readers, one gets it). The password is checked first: a wrong one burns nothing.
///
/// # Errors
/// 401/403 password, 404, 405 for any other paste (read those with GET).
pub async fn confirm_burn(
    state: &AppState,
    req: &mut Request<'_>,
    id: PasteId,
) -> Result<Response<Body>, ApiError> {
    let now = clock::now();
    let p = access::live_paste(state, &id, now).await?;
    if !p.burn_confirm {
        return Err(ApiError::MethodNotAllowed(HeaderValue::from_static(
            "GET, HEAD",
        )));
    }
    access::check_password(state, req.ctx, &p, req.headers()).await?;
    let download = options::query_flag(req.query(), "download");
    burn(state, id, now, download).await
}

/// Reads and deletes a burn-after-read paste in one write: of racing readers, one gets it.
async fn burn(
    state: &AppState,
    id: PasteId,
    now: i64,
    download: bool,
) -> Result<Response<Body>, ApiError> {
    let burned = state
        .store
        .write(move |c| paste::burn(c, id.as_str(), now))
        .await?;
    let (p, content) = burned.ok_or(ApiError::PasteNotFound)?;
    state.metrics.deleted(Kind::Paste, Reason::Burned, 1);
    let mut resp = raw::full(&p, download, StatusCode::OK, Bytes::from(content));
    resp.headers_mut()
        .insert("x-burn-after-read", HeaderValue::from_static("true"));
    Ok(resp)
}

/// `DELETE /{id}`: by the owning certificate or the owner token.
///
/// # Errors
/// 401 no credentials, 403 neither the owner nor the admin, 404.
pub async fn delete(
    state: &AppState,
    req: &mut Request<'_>,
    id: PasteId,
) -> Result<Response<Body>, ApiError> {
    let caller = access::caller(state, req.ctx).await?;
    let (p, authority) = access::load_owned(state, &caller, &id, req.headers(), true).await?;
    let gone = id.clone();
    if !state
        .store
        .write(move |c| paste::delete(c, gone.as_str()))
        .await?
    {
        return Err(ApiError::PasteNotFound);
    }
    let owner = p.owner.as_deref();
    access::record_delete(
        state,
        req.ctx,
        &caller,
        authority,
        Deleted::Paste,
        id.as_str(),
        owner,
    );
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"message": "Paste deleted"}),
    ))
}

/// `PUT /{id}`: new content and/or metadata, by the owner.
///
/// # Errors
/// 400 no updates, burn-after-read, bad headers or content; 401; 403; 404; 413; 429.
pub async fn update(
    state: &AppState,
    req: &mut Request<'_>,
    id: PasteId,
) -> Result<Response<Body>, ApiError> {
    let caller = access::caller(state, req.ctx).await?;
    let (p, _) = access::load_owned(state, &caller, &id, req.headers(), false).await?;
    if p.burn_after_read {
        return Err(ApiError::BurnNotUpdatable);
    }
    let limit = Limit::check(state, &caller, req.headers())?;
    // A content update costs what a creation does: it counts against the same limit.
    let verdict = upload::count_rate(state, req.ctx, &caller)?;
    let opts =
        options::Update::from_headers(req.headers(), caller.authenticated(), &state.config())?;
    let raw = limit.read(req.take_body()?).await?;
    let content = match raw.is_empty() {
        true => None,
        false => Some(upload::admit(state, &req.head.headers, raw).await?),
    };
    let mut changes = changes(state, &p, opts).await?;
    changes.content = content.map(|a| (a.content, a.mime_type, a.content_hash));
    if changes.is_empty() {
        return Err(ApiError::NoUpdates);
    }
    let now = clock::now();
    let quota = upload::quota(&state.config());
    let updated = state
        .store
        .write(move |c| paste::update(c, id.as_str(), now, &changes, quota))
        .await?
        .map_err(ApiError::StorageQuota)?
        .ok_or(ApiError::PasteNotFound)?;
    let mut resp = json(StatusCode::OK, &PasteDoc::updated(&updated));
    if let Some(v) = &verdict {
        apply_headers(resp.headers_mut(), v);
    }
    Ok(resp)
}

/// The metadata changes an update's headers ask for.
async fn changes(state: &AppState, p: &Paste, opts: options::Update) -> Result<Changes, ApiError> {
    let mut changes = Changes::default();
    if opts.remove_password {
        changes.password_hash = Some(None);
    }
    if let Some(pw) = opts.password {
        let hash = state.hashing.run(move || password::hash(&pw)).await?;
        changes.password_hash = Some(Some(hash));
    }
    if opts.remove_display_name {
        changes.display_name = Some(None);
    }
    if let Some(name) = opts.display_name {
        changes.display_name = Some(Some(name));
    }
    if let Some(extra) = opts.extend_expiry {
        let cap = clock::now() + state.config().max_expiry.secs_i64();
        changes.expires_at = Some(p.expires_at.saturating_add(extra).min(cap));
    }
    Ok(changes)
}

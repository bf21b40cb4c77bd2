//! `/admin`: the admin's view of the store (`GET /admin/stats`) and an expiry sweep on
//! demand (`POST /admin/cleanup`). Only the admin; anyone else gets 401 or 403. Knows no SQL.

use http::{Response, StatusCode};
use serde_json::json;

use super::AppState;
use super::access;
use crate::clock;
use crate::http::error::ApiError;
use crate::http::request::Request;
use crate::http::response::{Body, json};
use crate::metrics::{Kind, Reason};
use crate::store::stats;
use crate::store::sweep::Pass;
use crate::store::usage;

/// `GET /admin/stats`: live (unexpired) pastes with their content bytes, live short URLs,
/// the content bytes the storage quota counts (expired pastes too, until swept),
/// the sizes of the database file and its WAL (from the file system; no WAL is 0), and the
/// certificates the PKI issued: all of them (`issued`), those neither revoked nor expired
/// (`active`), and the revoked ones (zeros without the PKI's tables).
///
/// # Errors
/// 401 without a certificate that counts, 403 for anyone but the admin.
pub async fn stats(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    require_admin(state, req).await?;
    let now = clock::now();
    let (counts, stored) = state
        .store
        .read(move |c| Ok((stats::counts(c, now)?, usage::total(c)?)))
        .await?;
    let files = state.store.sizes();
    let certs = counts.certificates;
    Ok(json(
        StatusCode::OK,
        &json!({
            "pastes": {"count": counts.pastes, "bytes": counts.paste_bytes},
            "short_urls": {"count": counts.short_urls},
            "storage": {"bytes": stored, "max_storage": state.config().max_storage},
            "database": {"bytes": files.database, "wal_bytes": files.wal},
            "certificates": {
                "issued": certs.issued, "active": certs.active, "revoked": certs.revoked
            },
        }),
    ))
}

/// `POST /admin/cleanup`: one expiry sweep now, the pass the timer runs: what it deleted,
/// and whether the WAL was truncated after it (a busy or failed checkpoint is retried by the
/// next sweep).
///
/// # Errors
/// 401 without a certificate that counts, 403 for anyone but the admin, 500 when the purge
/// failed.
pub async fn cleanup(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    require_admin(state, req).await?;
    let pass = sweep(state).await;
    let truncated = pass.checkpoint.unwrap_or_else(|e| {
        tracing::error!("[rid={}] checkpoint failed: {e}", req.ctx.rid());
        false
    });
    let swept = pass.purged?;
    tracing::info!(
        "[rid={}] admin cleanup: deleted {} paste(s), {} short URL(s), {} spent nonce(s)",
        req.ctx.rid(),
        swept.pastes,
        swept.short_urls,
        swept.pow_nonces
    );
    Ok(json(
        StatusCode::OK,
        &json!({
            "pastes": swept.pastes,
            "short_urls": swept.short_urls,
            "pow_nonces": swept.pow_nonces,
            "wal_truncated": truncated,
        }),
    ))
}

/// One expiry sweep pass, the timer's and `POST /admin/cleanup`'s: counts what expired in
/// the metrics and, when they are served, refreshes what the store holds.
pub async fn sweep(state: &AppState) -> Pass {
    let now = clock::now();
    let pass = state
        .store
        .sweep(now, state.config().dedup_window.secs_i64())
        .await;
    let metrics = &state.metrics;
    if let Ok(swept) = &pass.purged {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        metrics.deleted(Kind::Paste, Reason::Expired, count(swept.pastes));
        metrics.deleted(Kind::ShortUrl, Reason::Expired, count(swept.short_urls));
    }
    if metrics.enabled() {
        match state.store.read(move |c| stats::counts(c, now)).await {
            Ok(c) => metrics.stored(c.pastes, c.paste_bytes, c.short_urls),
            Err(e) => tracing::warn!("counting the store for the metrics: {e}"),
        }
    }
    pass
}

/// Lets only the admin through: 401 for a caller without a certificate that counts, 403
/// for any other.
async fn require_admin(state: &AppState, req: &Request<'_>) -> Result<(), ApiError> {
    let caller = access::caller(state, req.ctx).await?;
    if !caller.authenticated() {
        return Err(ApiError::AuthRequired);
    }
    if !caller.admin() {
        return Err(ApiError::AdminRequired);
    }
    Ok(())
}

//! Who may act: the caller's trust level (the one definition of "authenticated") and admin
//! standing, from the certificates the PKI issued (looked up only when a certificate header
//! is present, and cached until the next issuance or revocation), ownership by certificate
//! or owner token, the paste password, and the default expiry of each trust level.

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::collections::HashMap;
use std::sync::Mutex;

use super::AppState;
use crate::audit::{AuditEvent, AuthFailureReason, Outcome};
use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::request::{Ctx, header_str};
use crate::ids::{Fingerprint, PasteId, hex};
use crate::metrics;
use crate::security::password;
use crate::store::paste::{self, Paste};
use crate::store::pki::{Standing, standing};

/// Fingerprints whose standing is cached at most; past this the cache starts over.
const MAX_STANDINGS: usize = 10_000;

/// How far a client is trusted; decides size limits and default expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// No certificate (or one that does not count).
    Anonymous,
    /// A certificate not registered through the PKI.
    Untrusted,
    /// A certificate registered through the PKI.
    Trusted,
}

impl From<Trust> for metrics::Trust {
    fn from(trust: Trust) -> metrics::Trust {
        match trust {
            Trust::Anonymous => metrics::Trust::Anonymous,
            Trust::Untrusted => metrics::Trust::Untrusted,
            Trust::Trusted => metrics::Trust::Trusted,
        }
    }
}

/// The client a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    identity: Option<Fingerprint>,
    trust: Trust,
    admin: bool,
}

impl Caller {
    /// The caller's trust level.
    #[must_use]
    pub fn trust(&self) -> Trust {
        self.trust
    }

    /// Authenticated: the certificate counts. The only definition of the word.
    #[must_use]
    pub fn authenticated(&self) -> bool {
        self.trust != Trust::Anonymous
    }

    /// The certificate fingerprint that owns what this caller creates, when authenticated.
    #[must_use]
    pub fn identity(&self) -> Option<&Fingerprint> {
        self.identity.as_ref()
    }

    /// The admin: the first identity registered through the PKI, while its certificate
    /// is valid.
    #[must_use]
    pub fn admin(&self) -> bool {
        self.admin
    }
}

/// The standing of fingerprints as the store last said, until the next issuance or
/// revocation ([`Standings::forget`]): authenticated requests look each up once.
#[derive(Debug, Default)]
pub struct Standings {
    known: Mutex<HashMap<Fingerprint, Option<Standing>>>,
}

impl Standings {
    fn get(&self, fp: &Fingerprint) -> Option<Option<Standing>> {
        self.lock().get(fp).copied()
    }

    fn put(&self, fp: &Fingerprint, standing: Option<Standing>) {
        let mut known = self.lock();
        if known.len() >= MAX_STANDINGS {
            known.clear();
        }
        known.insert(fp.clone(), standing);
    }

    /// Forgets every standing: a certificate was issued or revoked.
    pub fn forget(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, Option<Standing>>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether this daemon serves the PKI (built with it, and `pki_enabled`).
#[must_use]
pub fn pki_active(cfg: &Config) -> bool {
    cfg!(feature = "pki") && cfg.pki_enabled
}

/// Decides the caller of a request. A request without a certificate never awaits anything;
/// with one, the PKI's record of it decides: issued here and valid is trusted, unknown is
/// untrusted, revoked or expired is anonymous (and an `auth_failure` audit event).
///
/// # Errors
/// The lookup of the certificate failed.
pub async fn caller(state: &AppState, ctx: &Ctx) -> Result<Caller, ApiError> {
    let anonymous = Caller {
        identity: None,
        trust: Trust::Anonymous,
        admin: false,
    };
    let Some(identity) = &ctx.identity else {
        return Ok(anonymous);
    };
    let untrusted = Caller {
        identity: Some(identity.clone()),
        trust: Trust::Untrusted,
        admin: false,
    };
    if !pki_active(&state.config()) {
        return Ok(untrusted);
    }
    let found = match state.standings.get(identity) {
        Some(found) => found,
        None => {
            let fp = identity.clone();
            let found = state
                .store
                .lookup(move |c| standing(c, fp.as_str()))
                .await?;
            state.standings.put(identity, found);
            found
        }
    };
    let Some(found) = found else {
        return Ok(untrusted);
    };
    let reason = if found.revoked {
        AuthFailureReason::Revoked
    } else if found.expires_at <= crate::clock::now() {
        AuthFailureReason::Expired
    } else {
        return Ok(Caller {
            trust: Trust::Trusted,
            admin: found.admin,
            ..untrusted
        });
    };
    let event = AuditEvent::AuthFailure {
        fingerprint: identity,
        reason,
    };
    state
        .audit
        .record(event, Outcome::Failure, Some(identity), &ctx.client);
    Ok(anonymous)
}

/// Seconds an untouched paste of this trust level lives when the client sets no expiry.
#[must_use]
pub fn default_expiry(cfg: &Config, trust: Trust) -> i64 {
    match trust {
        Trust::Anonymous => cfg.expiry_anon,
        Trust::Untrusted => cfg.expiry_untrusted,
        Trust::Trusted => cfg.expiry_trusted,
    }
    .secs_i64()
}

/// Checks `X-Paste-Password` against a protected paste. The guess is counted against the
/// client before it is hashed (through the hashing cap), and given back when right.
///
/// # Errors
/// 401 without the header, 400 for an overlong one, 429 past the client's guesses, 503
/// when hashing is saturated, 403 when it is wrong.
pub async fn check_password(
    state: &AppState,
    ctx: &Ctx,
    p: &Paste,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let Some(stored) = p.password_hash.clone() else {
        return Ok(());
    };
    let value = headers
        .get("x-paste-password")
        .ok_or(ApiError::PasswordRequired)?;
    let given = super::options::password_text(value)?;
    state
        .guesses
        .count(&ctx.client, &p.id, crate::clock::now())?;
    match state
        .hashing
        .run(move || password::verify(&given, &stored))
        .await
    {
        Ok(false) => Err(ApiError::InvalidPassword),
        Ok(true) => {
            state.guesses.give_back(&ctx.client, &p.id);
            Ok(())
        }
        Err(e) => {
            state.guesses.give_back(&ctx.client, &p.id);
            Err(e)
        }
    }
}

/// Loads the live paste `id` for a caller that must act as its owner (or, when `admin_may`,
/// as the admin): 401 without credentials, 404, then 403.
///
/// # Errors
/// As above, and storage failures.
pub async fn load_owned(
    state: &AppState,
    caller: &Caller,
    id: &PasteId,
    headers: &HeaderMap,
    admin_may: bool,
) -> Result<(Paste, Authority), ApiError> {
    require_credentials(caller, headers)?;
    let p = live_paste(state, id, crate::clock::now()).await?;
    let authority = authorize(
        caller,
        p.owner.as_deref(),
        p.owner_token_hash.as_deref(),
        headers,
        admin_may,
    )?;
    Ok((p, authority))
}

/// The paste `id` as stored, if it is live at `now`.
///
/// # Errors
/// [`ApiError::PasteNotFound`], or a storage error.
pub async fn live_paste(state: &AppState, id: &PasteId, now: i64) -> Result<Paste, ApiError> {
    let lookup = id.clone();
    state
        .store
        .lookup(move |c| paste::get(c, lookup.as_str(), now))
        .await?
        .ok_or(ApiError::PasteNotFound)
}

/// Records a deletion: in the metrics, and as an `admin_delete` audit event when
/// `authority` is the admin's (an owner deleting their own is no event).
pub fn record_delete(
    state: &AppState,
    ctx: &Ctx,
    caller: &Caller,
    authority: Authority,
    what: crate::audit::Deleted,
    id: &str,
    owner: Option<&str>,
) {
    let kind = match what {
        crate::audit::Deleted::Paste => metrics::Kind::Paste,
        crate::audit::Deleted::ShortUrl => metrics::Kind::ShortUrl,
    };
    let reason = match authority {
        Authority::Owner => metrics::Reason::Owner,
        Authority::Admin => metrics::Reason::Admin,
    };
    state.metrics.deleted(kind, reason, 1);
    if authority == Authority::Admin {
        let event = AuditEvent::AdminDelete { what, id, owner };
        state
            .audit
            .record(event, Outcome::Success, caller.identity(), &ctx.client);
    }
}

/// Why a caller may act on something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// It is theirs.
    Owner,
    /// It is someone else's, and the caller is the admin.
    Admin,
}

/// 401 unless the caller presents a certificate or an owner token.
///
/// # Errors
/// [`ApiError::AuthRequired`].
pub fn require_credentials(caller: &Caller, headers: &HeaderMap) -> Result<(), ApiError> {
    if caller.identity.is_none() && header_str(headers, "x-owner-token").is_none() {
        return Err(ApiError::AuthRequired);
    }
    Ok(())
}

/// The caller may act on something owned by `owner` (a fingerprint) or by whoever holds
/// the token hashed to `token_hash`: as its owner, or (when `admin_may`) as the admin.
///
/// # Errors
/// [`ApiError::PermissionDenied`].
pub fn authorize(
    caller: &Caller,
    owner: Option<&str>,
    token_hash: Option<&str>,
    headers: &HeaderMap,
    admin_may: bool,
) -> Result<Authority, ApiError> {
    let by_cert = matches!(
        (&caller.identity, owner),
        (Some(me), Some(owner)) if me.as_str() == owner
    );
    let by_token = match (header_str(headers, "x-owner-token"), token_hash) {
        (Some(t), Some(stored)) => {
            let given = token_hash_of(t);
            bool::from(given.as_bytes().ct_eq(stored.as_bytes()))
        }
        _ => false,
    };
    if by_cert || by_token {
        Ok(Authority::Owner)
    } else if admin_may && caller.admin {
        Ok(Authority::Admin)
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// A fresh owner token for an anonymous upload: the token to hand out, and the hash to store.
#[must_use]
pub fn new_owner_token() -> (String, String) {
    let token = hex(&crate::ids::random_bytes(16));
    let hash = token_hash_of(&token);
    (token, hash)
}

fn token_hash_of(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

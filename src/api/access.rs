//! Who may act: the caller's trust level (the one definition of "authenticated"), ownership
//! by certificate or owner token, the paste password, and the default expiry of each trust
//! level. A request without a certificate header is decided without any lookup.

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::request::{Ctx, header_str};
use crate::ids::{Fingerprint, PasteId, hex};
use crate::security::password;
use crate::store::paste::{self, Paste};

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

/// The client a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    identity: Option<Fingerprint>,
    trust: Trust,
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
}

/// Decides the caller of a request. Asynchronous because trust will be a store lookup of
/// the certificate; a request without one never awaits anything.
///
/// # Errors
/// None today; a failed trust lookup will be one.
pub async fn caller(_state: &AppState, ctx: &Ctx) -> Result<Caller, ApiError> {
    let Some(identity) = &ctx.identity else {
        return Ok(Caller {
            identity: None,
            trust: Trust::Anonymous,
        });
    };
    // Certificates become trusted once the PKI can register them.
    Ok(Caller {
        identity: Some(identity.clone()),
        trust: Trust::Untrusted,
    })
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

/// Loads the live paste `id` for a caller that must act as its owner: 401 without
/// credentials, 404, then 403 unless the caller owns it.
///
/// # Errors
/// As above, and storage failures.
pub async fn load_owned(
    state: &AppState,
    caller: &Caller,
    id: &PasteId,
    headers: &HeaderMap,
) -> Result<Paste, ApiError> {
    require_credentials(caller, headers)?;
    let now = crate::clock::now();
    let lookup = id.clone();
    let p = state
        .store
        .lookup(move |c| paste::get(c, lookup.as_str(), now))
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    authorize_owner(
        caller,
        p.owner.as_deref(),
        p.owner_token_hash.as_deref(),
        headers,
    )?;
    Ok(p)
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

/// The caller may act as the owner of something owned by `owner` (a fingerprint) or by
/// whoever holds the token hashed to `token_hash`.
///
/// # Errors
/// [`ApiError::PermissionDenied`].
pub fn authorize_owner(
    caller: &Caller,
    owner: Option<&str>,
    token_hash: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
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
        Ok(())
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

//! `GET /challenge` and what creations demand of it: the signing key, the challenge's
//! lifetime and difficulty (raised by the anti-flood counter), and the check of
//! `X-PoW-Token` / `X-PoW-Solution` before a body is read. The spending of the nonce
//! happens in the store, in the write that creates what the work paid for.

use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::Relaxed;

use http::{HeaderMap, Response, StatusCode};
use serde_json::json;

use super::AppState;
use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::request::header_str;
use crate::http::response::{Body, json};
use crate::security::antiflood::AntiFlood;
use crate::security::pow::{self, Rejection};
use crate::store::pow::{Spend, is_spent};

/// Proof-of-work settings and state.
pub struct Pow {
    secret: Vec<u8>,
    /// Seconds a challenge is valid; a reload changes it.
    ttl: AtomicI64,
    /// The server-wide creation counter that raises the difficulty under load.
    pub flood: AntiFlood,
}

impl std::fmt::Debug for Pow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pow")
            .field("ttl", &self.ttl())
            .field("flood", &self.flood)
            .finish_non_exhaustive()
    }
}

impl Pow {
    /// Challenges signed with `secret`, as `cfg` sets them.
    #[must_use]
    pub fn new(cfg: &Config, secret: Vec<u8>) -> Pow {
        Pow {
            secret,
            ttl: AtomicI64::new(cfg.pow_ttl.secs_i64()),
            flood: AntiFlood::new(
                cfg.pow_difficulty,
                cfg.antiflood_threshold,
                cfg.antiflood_window.secs_i64(),
                cfg.antiflood_step,
                cfg.antiflood_max,
            ),
        }
    }

    /// Takes the difficulty, lifetime and anti-flood settings from `cfg`; the signing key
    /// stays, so outstanding challenges stay valid.
    pub fn reconfigure(&self, cfg: &Config) {
        self.ttl.store(cfg.pow_ttl.secs_i64(), Relaxed);
        self.flood.reconfigure(
            cfg.pow_difficulty,
            cfg.antiflood_threshold,
            cfg.antiflood_window.secs_i64(),
            cfg.antiflood_step,
            cfg.antiflood_max,
        );
    }

    fn ttl(&self) -> i64 {
        self.ttl.load(Relaxed)
    }

    /// Whether creations need proof-of-work.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.flood.base() > 0
    }
}

/// `GET /challenge`: a fresh challenge at the difficulty of the moment, or
/// `{"enabled": false, "difficulty": 0}`.
#[must_use]
pub fn get(state: &AppState) -> Response<Body> {
    let pow = &state.pow;
    if !pow.enabled() {
        return json(StatusCode::OK, &json!({"enabled": false, "difficulty": 0}));
    }
    let now = crate::clock::now();
    let difficulty = pow.flood.difficulty(now);
    let c = pow::issue(&pow.secret, difficulty, now, pow.ttl());
    json(
        StatusCode::OK,
        &json!({
            "enabled": true,
            "nonce": c.nonce,
            "difficulty": c.difficulty,
            "base_difficulty": pow.flood.base(),
            "elevated": c.difficulty > pow.flood.base(),
            "expires": c.expires,
            "token": c.token,
        }),
    )
}

/// Checks the proof-of-work headers of a creation: `None` when proof-of-work is off, else
/// the nonce the creation must spend. A nonce already spent is refused here, before the
/// body is read; the store refuses it again if another request spends it meanwhile.
///
/// # Errors
/// 400 "Proof-of-work required" without both headers, "Proof-of-work failed: …" otherwise.
pub async fn demand(state: &AppState, headers: &HeaderMap) -> Result<Option<Spend>, ApiError> {
    demand_at(state, headers, state.pow.flood.base()).await
}

/// `GET /register/challenge`: a challenge of `register_pow` bits, or disabled when that is
/// 0 or the PKI is not served.
#[must_use]
pub fn get_for_registration(state: &AppState) -> Response<Body> {
    let bits = state.config().register_pow;
    if bits == 0 || !super::access::pki_active(&state.config()) {
        return json(StatusCode::OK, &json!({"enabled": false, "difficulty": 0}));
    }
    let c = pow::issue(
        &state.pow.secret,
        bits,
        crate::clock::now(),
        state.pow.ttl(),
    );
    json(
        StatusCode::OK,
        &json!({
            "enabled": true,
            "nonce": c.nonce,
            "difficulty": c.difficulty,
            "expires": c.expires,
            "token": c.token,
        }),
    )
}

/// As [`demand`], for work of at least `bits` (0: none needed).
///
/// # Errors
/// As [`demand`].
pub async fn demand_at(
    state: &AppState,
    headers: &HeaderMap,
    bits: u8,
) -> Result<Option<Spend>, ApiError> {
    let pow = &state.pow;
    if bits == 0 {
        return Ok(None);
    }
    let (Some(token), Some(solution)) = (
        header_str(headers, "x-pow-token"),
        header_str(headers, "x-pow-solution"),
    ) else {
        return Err(ApiError::PowRequired);
    };
    let solved = pow::verify(
        &pow.secret,
        token.trim(),
        solution,
        bits,
        crate::clock::now(),
    )
    .map_err(ApiError::PowFailed)?;
    let spend = Spend {
        nonce: solved.nonce,
        expires: solved.expires,
    };
    let key = spend.clone();
    if state.store.lookup(move |c| is_spent(c, &key)).await? {
        return Err(ApiError::PowFailed(Rejection::Spent));
    }
    Ok(Some(spend))
}

//! Handlers, one file per resource, and what they share: the state, the admission of
//! uploads ([`upload`]), who may act ([`access`]), the raw response ([`raw`]) and the paste
//! document ([`document`]). Knows no routes and no sockets.

pub mod access;
pub mod admin;
pub mod challenge;
pub mod client;
pub mod document;
pub mod guard;
pub mod health;
pub mod info;
pub mod options;
pub mod paste;
pub mod pastes;
#[cfg(feature = "pki")]
pub mod pki;
pub mod raw;
#[cfg(feature = "pki")]
pub mod register;
pub mod short;
pub mod stream;
pub mod upload;

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::http::error::ApiError;
use crate::store::Store;

/// What every handler may use.
pub struct AppState {
    /// The configuration in force; SIGHUP swaps in a new one ([`AppState::reconfigure`]).
    config: ArcSwap<Config>,
    /// The database.
    pub store: Store,
    /// Per-address limit on creations.
    pub limiter: crate::http::limit::RateLimiter,
    /// Small pastes read since the last commit.
    pub cache: crate::store::cache::PasteCache,
    /// The cap on concurrent password hashing; all hashing goes through it.
    pub hashing: guard::Hashing,
    /// Password guesses per client address and paste.
    pub guesses: guard::Guesses,
    /// Proof-of-work: the signing key, challenge lifetime and anti-flood counter.
    pub pow: challenge::Pow,
    /// Short URL redirects counted and not yet written.
    pub redirects: short::Redirects,
    /// Where audit events go.
    pub audit: crate::audit::Audit,
    /// The metrics `metrics_listen` serves (recording nothing without it).
    pub metrics: crate::metrics::Metrics,
    /// What the PKI's records say of the fingerprints seen lately.
    pub standings: access::Standings,
    /// The CA, once opened.
    #[cfg(feature = "pki")]
    pub ca: pki::CaSlot,
}

impl AppState {
    /// The state of a daemon serving `config` from `store`. The challenge-signing key is
    /// `pow_secret`, or else the one kept in the database (made on first start), so that
    /// challenges outstanding at a restart stay valid.
    ///
    /// # Errors
    /// The stored key could not be read or made.
    pub async fn new(
        config: Arc<Config>,
        store: Store,
        metrics: crate::metrics::Metrics,
    ) -> Result<AppState, crate::store::Error> {
        use crate::store::pow::{SECRET_LEN, store_secret, stored_secret};
        let secret = match &config.pow_secret {
            Some(secret) => secret.expose().to_vec(),
            None => match store.lookup(stored_secret).await? {
                Some(secret) => secret,
                // Made with the database; gone only if someone removed it.
                None => {
                    let secret = crate::ids::random_bytes(SECRET_LEN);
                    let kept = secret.clone();
                    store.write(move |c| store_secret(c, &kept)).await?;
                    secret
                }
            },
        };
        Ok(AppState {
            limiter: crate::http::limit::RateLimiter::new(&config),
            cache: crate::store::cache::PasteCache::default(),
            hashing: guard::Hashing::new(),
            guesses: guard::Guesses::new(&config),
            pow: challenge::Pow::new(&config, secret),
            redirects: short::Redirects::default(),
            audit: crate::audit::Audit::new(&config),
            metrics,
            standings: access::Standings::default(),
            #[cfg(feature = "pki")]
            ca: pki::CaSlot::default(),
            config: ArcSwap::new(config),
            store,
        })
    }

    /// The configuration in force. A request holds one for its whole course, so a reload
    /// never changes the rules in the middle of it.
    #[must_use]
    pub fn config(&self) -> arc_swap::Guard<Arc<Config>> {
        self.config.load()
    }

    /// Puts `config` in force for new requests, with the limits, proof-of-work settings
    /// and audit target derived from it. Keys only a restart applies must already hold
    /// their running values (see `config::reload`).
    pub fn reconfigure(&self, config: Arc<Config>) {
        self.limiter.reconfigure(&config);
        self.guesses.reconfigure(&config);
        self.pow.reconfigure(&config);
        self.audit.reconfigure(&config);
        self.config.store(config);
    }
}

/// Runs CPU-heavy work (hashing, measuring large content) off the async workers.
///
/// # Errors
/// [`ApiError::Internal`] when the work panicked.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

//! Handlers, one file per resource, and the state they share.

pub mod health;
pub mod info;
pub mod options;
pub mod paste;
pub mod pastes;
pub mod stream;

use std::sync::Arc;

use crate::config::Config;
use crate::store::Store;

/// What every handler may use.
pub struct AppState {
    /// The frozen configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// Per-address limit on creations.
    pub limiter: crate::http::limit::RateLimiter,
    /// Small pastes read since the last commit.
    pub cache: crate::store::cache::PasteCache,
}

/// Now, in Unix seconds.
#[must_use]
pub fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

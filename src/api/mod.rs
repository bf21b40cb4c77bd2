//! Handlers, one file per resource, and the state they share.

pub mod health;
pub mod info;

use std::sync::Arc;

use crate::config::Config;
use crate::store::Store;

/// What every handler may use.
pub struct AppState {
    /// The frozen configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
}

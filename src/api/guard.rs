//! What keeps password hashing from exhausting the CPU: a cap on concurrent hashing
//! behind a short queue. Knows nothing of passwords themselves.

use std::num::NonZero;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::http::error::ApiError;

/// Hashes that may wait for a core, per core; past them the answer is 503 at once.
const QUEUE_PER_CORE: usize = 4;

/// Runs password hashing on the blocking pool, about one hash per core at a time.
pub struct Hashing {
    /// Hashes running or waiting to run.
    admitted: Arc<Semaphore>,
    /// Hashes running.
    running: Arc<Semaphore>,
}

impl Hashing {
    /// One running hash per core, [`QUEUE_PER_CORE`] waiting per core.
    #[must_use]
    pub fn new() -> Hashing {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        Hashing {
            admitted: Arc::new(Semaphore::new(cores * (1 + QUEUE_PER_CORE))),
            running: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Runs `hash` once a core is free.
    ///
    /// # Errors
    /// [`ApiError::HashingBusy`] when the queue is full, [`ApiError::Internal`] when the
    /// work panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        hash: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| ApiError::HashingBusy)?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        // The permits go with the work: a caller that hangs up does not free a core that
        // is still hashing.
        tokio::task::spawn_blocking(move || {
            let _permits = (admitted, running);
            hash()
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

impl Default for Hashing {
    fn default() -> Self {
        Self::new()
    }
}

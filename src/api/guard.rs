//! What keeps password hashing from exhausting the CPU or guessing quickly: a cap on
//! concurrent hashing behind a short queue, and a limit on password guesses per client
//! address and paste. Knows nothing of passwords themselves.

use std::collections::HashMap;
use std::num::NonZero;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::config::Config;
use crate::http::error::ApiError;

/// Hashes that may wait for a core, per core; past them the answer is 503 at once.
const QUEUE_PER_CORE: usize = 4;

/// Client-and-paste pairs remembered at most; past it, expired windows are dropped and,
/// if none had expired, the oldest.
const MAX_TRACKED: usize = 50_000;

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

/// One client's guesses at one paste in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u64,
}

/// Password guesses per client address and paste, in fixed windows. A guess counts before
/// it is hashed (so refused guesses cost no CPU, and concurrent ones cannot outrun the
/// count) and is given back when it was right.
pub struct Guesses {
    // Atomics: a reload changes them while guesses are counted.
    max: AtomicU64,
    window: AtomicI64,
    tracked: Mutex<HashMap<(String, String), Window>>,
}

impl Guesses {
    /// `password_fail_max` guesses per `password_fail_window`; a max of 0 counts nothing.
    #[must_use]
    pub fn new(cfg: &Config) -> Guesses {
        let guesses = Guesses {
            max: AtomicU64::default(),
            window: AtomicI64::default(),
            tracked: Mutex::new(HashMap::new()),
        };
        guesses.reconfigure(cfg);
        guesses
    }

    /// Takes `password_fail_max` and `password_fail_window` from `cfg`; the guesses
    /// counted so far stay.
    pub fn reconfigure(&self, cfg: &Config) {
        self.max.store(cfg.password_fail_max, Relaxed);
        self.window
            .store(cfg.password_fail_window.secs_i64().max(1), Relaxed);
    }

    /// Counts one guess of `client` at `paste`.
    ///
    /// # Errors
    /// [`ApiError::TooManyGuesses`] when the window's guesses are used up.
    pub fn count(&self, client: &str, paste: &str, now: i64) -> Result<(), ApiError> {
        let (max, window) = (self.max.load(Relaxed), self.window.load(Relaxed));
        if max == 0 {
            return Ok(());
        }
        let mut tracked = self.lock();
        let key = (client.to_owned(), paste.to_owned());
        if tracked.len() >= MAX_TRACKED && !tracked.contains_key(&key) {
            make_room(&mut tracked, now, window);
        }
        let w = tracked.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= w.start + window {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        if w.count >= max {
            return Err(ApiError::TooManyGuesses {
                retry_after: (w.start + window - now).max(1),
            });
        }
        w.count += 1;
        Ok(())
    }

    /// Gives back a guess that was right or was never hashed.
    pub fn give_back(&self, client: &str, paste: &str) {
        let key = (client.to_owned(), paste.to_owned());
        if let Some(w) = self.lock().get_mut(&key) {
            w.count = w.count.saturating_sub(1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Window>> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops ended windows; when all are current, the oldest.
fn make_room(tracked: &mut HashMap<(String, String), Window>, now: i64, window: i64) {
    tracked.retain(|_, w| now < w.start + window);
    if tracked.len() >= MAX_TRACKED {
        let oldest = tracked
            .iter()
            .min_by_key(|(_, w)| w.start)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            tracked.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guesses(max: u64, window: u64) -> Guesses {
        Guesses::new(&Config {
            password_fail_max: max,
            password_fail_window: crate::config::Seconds::saturating(window),
            ..Config::default()
        })
    }

    #[test]
    fn guesses_are_limited_per_client_and_paste_until_the_window_ends() {
        let g = guesses(2, 60);
        assert!(g.count("a", "p", 100).is_ok());
        assert!(g.count("a", "p", 101).is_ok());
        assert!(matches!(
            g.count("a", "p", 110),
            Err(ApiError::TooManyGuesses { retry_after: 50 })
        ));
        assert!(g.count("a", "q", 110).is_ok(), "another paste");
        assert!(g.count("b", "p", 110).is_ok(), "another client");
        assert!(g.count("a", "p", 160).is_ok(), "a new window");
    }

    #[test]
    fn a_right_guess_is_given_back() {
        let g = guesses(1, 60);
        g.count("a", "p", 100).unwrap();
        g.give_back("a", "p");
        assert!(g.count("a", "p", 100).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let g = guesses(1, 60);
        for i in 0..MAX_TRACKED + 10 {
            g.count(&i.to_string(), "p", 100).unwrap();
        }
        assert!(g.lock().len() <= MAX_TRACKED);
        assert!(g.count("fresh", "p", 100).is_ok());
    }
}

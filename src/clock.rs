//! The one clock of handlers, the sweep and store callers: Unix seconds. Never sleeps.

/// Now, in Unix seconds.
#[must_use]
pub fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

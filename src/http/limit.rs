//! Per-client-address rate limiting of creations: fixed windows in memory, bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::Config;

/// Past this many tracked addresses, expired windows are dropped.
const PRUNE_AT: usize = 10_000;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Requests allowed per window for this client.
    pub limit: u64,
    /// Requests left in the current window.
    pub remaining: u64,
    /// Unix time the window ends.
    pub reset: i64,
}

/// Counts creations per client address in fixed windows.
pub struct RateLimiter {
    enabled: bool,
    max: u64,
    auth_mult: u64,
    window: i64,
    windows: Mutex<HashMap<String, (i64, u64)>>,
}

impl RateLimiter {
    /// A limiter configured by `rate_limit`, `rate_max`, `rate_auth_mult`, `rate_window`.
    #[must_use]
    pub fn new(cfg: &Config) -> RateLimiter {
        RateLimiter {
            enabled: cfg.rate_limit,
            max: cfg.rate_max,
            auth_mult: cfg.rate_auth_mult.max(1),
            window: cfg.rate_window.secs_i64(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `client`; `None` when rate limiting is off.
    pub fn check(&self, client: &str, authenticated: bool, now: i64) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let limit = if authenticated {
            self.max.saturating_mul(self.auth_mult)
        } else {
            self.max
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, (start, _)| now < *start + self.window);
        }
        let entry = windows.entry(client.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Some(Verdict {
            allowed,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset: entry.0 + self.window,
        })
    }
}

/// Adds the `X-RateLimit-*` headers of a verdict.
pub fn apply_headers(headers: &mut http::HeaderMap, v: &Verdict) {
    headers.insert("x-ratelimit-limit", http::HeaderValue::from(v.limit));
    headers.insert(
        "x-ratelimit-remaining",
        http::HeaderValue::from(v.remaining),
    );
    headers.insert("x-ratelimit-reset", http::HeaderValue::from(v.reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max: u64, mult: u64, window: u64) -> RateLimiter {
        let cfg = Config {
            rate_max: max,
            rate_auth_mult: mult,
            rate_window: crate::config::Seconds::saturating(window),
            ..Config::default()
        };
        RateLimiter::new(&cfg)
    }

    #[test]
    fn a_window_allows_max_then_refuses_until_it_resets() {
        let l = limiter(2, 5, 60);
        assert_eq!(l.check("a", false, 100).unwrap().remaining, 1);
        assert!(l.check("a", false, 110).unwrap().allowed);
        let refused = l.check("a", false, 120).unwrap();
        assert_eq!(
            (refused.allowed, refused.remaining, refused.reset),
            (false, 0, 160)
        );
        assert!(
            l.check("b", false, 120).unwrap().allowed,
            "addresses are separate"
        );
        assert!(l.check("a", false, 160).unwrap().allowed, "a new window");
    }

    #[test]
    fn authenticated_clients_get_the_multiplier() {
        let l = limiter(2, 5, 60);
        for _ in 0..10 {
            assert!(l.check("a", true, 100).unwrap().allowed);
        }
        assert!(!l.check("a", true, 100).unwrap().allowed);
    }

    #[test]
    fn disabled_limiter_counts_nothing() {
        let cfg = Config {
            rate_limit: false,
            ..Config::default()
        };
        assert!(RateLimiter::new(&cfg).check("a", false, 1).is_none());
    }
}

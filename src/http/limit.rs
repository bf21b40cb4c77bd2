//! Per-client-address rate limiting of creations: fixed windows in memory, bounded in size.
//! IPv6 clients are counted per network of `rate_ipv6_prefix` bits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

use super::peer::client_network;
use crate::config::Config;

/// Most client addresses tracked at once; new ones beyond share one overflow window, so
/// memory stays bounded and a flood from many addresses is still limited.
const MAX_TRACKED: usize = 100_000;

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

/// What a client is counted as: an address (an IPv6 one cut to its network), or the text
/// of a peer without one (`unix`, `stdio`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Name(Box<str>),
}

/// A window's start (Unix time) and the requests counted in it.
type Window = (i64, u64);

#[derive(Default)]
struct Windows {
    tracked: HashMap<Key, Window>,
    /// Shared by new addresses while `tracked` is full.
    overflow: Window,
}

/// Counts creations per client address in fixed windows.
pub struct RateLimiter {
    // Atomics: a reload changes them while requests are counted.
    enabled: AtomicBool,
    max: AtomicU64,
    auth_mult: AtomicU64,
    window: AtomicI64,
    ipv6_prefix: u8,
    cap: usize,
    windows: Mutex<Windows>,
}

impl RateLimiter {
    /// A limiter configured by `rate_limit`, `rate_max`, `rate_auth_mult`, `rate_window`,
    /// `rate_ipv6_prefix`.
    #[must_use]
    pub fn new(cfg: &Config) -> RateLimiter {
        let limiter = RateLimiter {
            enabled: AtomicBool::default(),
            max: AtomicU64::default(),
            auth_mult: AtomicU64::default(),
            window: AtomicI64::default(),
            ipv6_prefix: cfg.rate_ipv6_prefix.min(128),
            cap: MAX_TRACKED,
            windows: Mutex::new(Windows::default()),
        };
        limiter.reconfigure(cfg);
        limiter
    }

    /// Takes `rate_limit`, `rate_max`, `rate_auth_mult` and `rate_window` from `cfg`; the
    /// windows counted so far stay. `rate_ipv6_prefix` keeps the value it started with.
    pub fn reconfigure(&self, cfg: &Config) {
        self.max.store(cfg.rate_max, Relaxed);
        self.auth_mult.store(cfg.rate_auth_mult.max(1), Relaxed);
        self.window.store(cfg.rate_window.secs_i64(), Relaxed);
        self.enabled.store(cfg.rate_limit, Relaxed);
    }

    /// Counts one request from `client`; `None` when rate limiting is off. Takes time
    /// independent of how many addresses are tracked: ended windows go in [`Self::prune`].
    pub fn check(&self, client: &str, authenticated: bool, now: i64) -> Option<Verdict> {
        if !self.enabled.load(Relaxed) {
            return None;
        }
        let (max, window) = (self.max.load(Relaxed), self.window.load(Relaxed));
        let limit = if authenticated {
            max.saturating_mul(self.auth_mult.load(Relaxed))
        } else {
            max
        };
        let key = self.key(client);
        let mut windows = self.lock();
        let Windows { tracked, overflow } = &mut *windows;
        let entry = if tracked.len() < self.cap || tracked.contains_key(&key) {
            tracked.entry(key).or_insert((now, 0))
        } else {
            overflow
        };
        if now >= entry.0 + window {
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
            reset: entry.0 + window,
        })
    }

    /// Drops the windows that have ended by `now`; run on a timer, not per request.
    pub fn prune(&self, now: i64) {
        let window = self.window.load(Relaxed);
        self.lock()
            .tracked
            .retain(|_, (start, _)| now < *start + window);
    }

    /// Addresses tracked now.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.lock().tracked.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key(&self, client: &str) -> Key {
        match client.parse::<IpAddr>() {
            Ok(ip) => Key::Ip(client_network(ip, self.ipv6_prefix)),
            Err(_) => Key::Name(client.into()),
        }
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
    fn ipv6_clients_count_per_prefix() {
        let l = limiter(1, 1, 60);
        assert!(l.check("2001:db8:1:2::1", false, 100).unwrap().allowed);
        assert!(!l.check("2001:db8:1:2:ffff::9", false, 100).unwrap().allowed);
        assert!(l.check("2001:db8:1:3::1", false, 100).unwrap().allowed);
        assert!(l.check("198.51.100.1", false, 100).unwrap().allowed);
        assert!(!l.check("::ffff:198.51.100.1", false, 100).unwrap().allowed);
        let whole = RateLimiter {
            ipv6_prefix: 128,
            ..limiter(1, 1, 60)
        };
        assert!(whole.check("2001:db8::1", false, 100).unwrap().allowed);
        assert!(whole.check("2001:db8::2", false, 100).unwrap().allowed);
    }

    #[test]
    fn prune_drops_only_ended_windows() {
        let l = limiter(2, 1, 60);
        l.check("a", false, 100);
        l.check("b", false, 130);
        assert_eq!(l.tracked(), 2);
        l.prune(159);
        assert_eq!(l.tracked(), 2);
        l.prune(160);
        assert_eq!(l.tracked(), 1);
        l.prune(190);
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn past_the_cap_new_addresses_share_one_window() {
        let l = RateLimiter {
            cap: 3,
            ..limiter(2, 1, 60)
        };
        for client in ["a", "b", "c"] {
            assert!(l.check(client, false, 100).unwrap().allowed);
        }
        assert!(l.check("d", false, 100).unwrap().allowed);
        assert!(l.check("e", false, 100).unwrap().allowed);
        assert!(
            !l.check("f", false, 100).unwrap().allowed,
            "one shared window"
        );
        assert_eq!(l.tracked(), 3, "memory stays bounded");
        assert!(
            l.check("a", false, 100).unwrap().allowed,
            "tracked ones go on"
        );
        l.prune(160);
        assert!(l.check("f", false, 160).unwrap().allowed, "room again");
        assert_eq!(l.tracked(), 1);
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

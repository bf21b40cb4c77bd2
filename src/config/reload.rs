//! What a reload (SIGHUP) may change: a freshly loaded configuration is compared with the
//! running one, key by key; keys only a restart can apply keep their running value and are
//! named, so that the caller can warn. Never logs.

use super::{Config, Secret};

/// Keys a running daemon cannot apply: what was bound, opened and dropped at start, and
/// what the accept loop, the timers and the subscriber were built with.
pub const RESTART_ONLY: &[&str] = &[
    "listen",
    "metrics_listen",
    "db",
    "user",
    "group",
    "socket_mode",
    "log_target",
    "syslog_socket",
    "max_connections",
    "max_connections_per_ip",
    "trusted_proxies",
    "rate_ipv6_prefix",
    "shutdown_timeout",
    "idle_timeout",
    "cleanup_interval",
    "pow_secret",
    "pki_enabled",
    "pki_ca_password",
];

/// The configuration to put in force, and what differs from the running one.
#[derive(Debug)]
pub struct Reloaded {
    /// The new configuration, with the restart-only keys at their running values.
    pub config: Config,
    /// Keys whose new values take effect now.
    pub applied: Vec<String>,
    /// Restart-only keys whose new values were not applied.
    pub kept: Vec<&'static str>,
}

/// Compares `new` with `running` and keeps the running value of every restart-only key.
#[must_use]
pub fn reload(running: &Config, mut new: Config) -> Reloaded {
    let changed = changed_keys(running, &new);
    let mut applied = Vec::new();
    let mut kept = Vec::new();
    for key in changed {
        match RESTART_ONLY.iter().find(|k| **k == key) {
            Some(k) => {
                keep(&mut new, running, k);
                kept.push(*k);
            }
            None => applied.push(key),
        }
    }
    Reloaded {
        config: new,
        applied,
        kept,
    }
}

/// The keys whose values differ, by name (secrets last).
fn changed_keys(a: &Config, b: &Config) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a_map)), Ok(serde_json::Value::Object(b_map))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Vec::new();
    };
    let mut keys: Vec<String> = a_map
        .keys()
        .chain(b_map.keys().filter(|k| !a_map.contains_key(*k)))
        .filter(|k| a_map.get(*k) != b_map.get(*k))
        .cloned()
        .collect();
    // Secrets serialize redacted: compare what they hold.
    for (key, x, y) in [
        ("proxy_secret", &a.proxy_secret, &b.proxy_secret),
        ("pow_secret", &a.pow_secret, &b.pow_secret),
        ("pki_ca_password", &a.pki_ca_password, &b.pki_ca_password),
    ] {
        if differ(x.as_ref(), y.as_ref()) && !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

fn differ(a: Option<&Secret>, b: Option<&Secret>) -> bool {
    a.map(Secret::expose) != b.map(Secret::expose)
}

/// Sets `key` of `new` to its value in `running`.
fn keep(new: &mut Config, running: &Config, key: &str) {
    let r = running;
    match key {
        "listen" => new.listen.clone_from(&r.listen),
        "metrics_listen" => new.metrics_listen.clone_from(&r.metrics_listen),
        "db" => new.db.clone_from(&r.db),
        "user" => new.user.clone_from(&r.user),
        "group" => new.group.clone_from(&r.group),
        "socket_mode" => new.socket_mode = r.socket_mode,
        "log_target" => new.log_target = r.log_target,
        "syslog_socket" => new.syslog_socket.clone_from(&r.syslog_socket),
        "max_connections" => new.max_connections = r.max_connections,
        "max_connections_per_ip" => new.max_connections_per_ip = r.max_connections_per_ip,
        "trusted_proxies" => new.trusted_proxies.clone_from(&r.trusted_proxies),
        "rate_ipv6_prefix" => new.rate_ipv6_prefix = r.rate_ipv6_prefix,
        "shutdown_timeout" => new.shutdown_timeout = r.shutdown_timeout,
        "idle_timeout" => new.idle_timeout = r.idle_timeout,
        "cleanup_interval" => new.cleanup_interval = r.cleanup_interval,
        "pow_secret" => new.pow_secret.clone_from(&r.pow_secret),
        "pki_enabled" => new.pki_enabled = r.pki_enabled,
        "pki_ca_password" => new.pki_ca_password.clone_from(&r.pki_ca_password),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_keys_apply_and_restart_only_keys_keep_their_running_value() {
        let running = Config::default();
        let mut new = Config {
            max_anon: 1234,
            rate_max: 7,
            db: "/elsewhere.db".into(),
            cleanup_interval: crate::config::Seconds::saturating(5),
            ..Config::default()
        };
        new.pow_secret = Some(Secret::new("changed".into()));
        let r = reload(&running, new);
        assert_eq!(r.applied, ["max_anon", "rate_max"]);
        assert_eq!(r.kept, ["cleanup_interval", "db", "pow_secret"]);
        assert_eq!(r.config.max_anon, 1234);
        assert_eq!(r.config.db, running.db);
        assert_eq!(r.config.cleanup_interval, running.cleanup_interval);
        assert!(r.config.pow_secret.is_none());
        assert!(
            changed_keys(&running, &r.config)
                .iter()
                .all(|k| k == "max_anon" || k == "rate_max")
        );
    }

    #[test]
    fn every_restart_only_key_is_a_key() {
        for key in RESTART_ONLY {
            assert!(super::super::KEYS.contains(key), "{key}");
        }
        let same = reload(&Config::default(), Config::default());
        assert!(same.applied.is_empty() && same.kept.is_empty());
    }
}

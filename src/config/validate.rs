//! Validation of a deserialized configuration: rules on one key, and rules across keys that
//! name every key involved. Runs once, after all layers are merged. Never reads files or the
//! environment; only `url_prefix` is normalised in place, and an empty `pow_secret` means
//! none (the seeds' "auto-generated if empty").

use tokio_listener::ListenerAddress;

use super::{Config, Error};

/// Checks `config`, normalising `url_prefix` (no trailing `/`).
///
/// # Errors
/// The first rule broken, naming its key (or keys).
pub(super) fn validate(config: &mut Config) -> Result<(), Error> {
    check_serving(config)?;
    normalise_url_prefix(config)?;
    check_pastes(config)?;
    check_timers(config)?;
    check_pow(config)
}

fn check_pow(config: &mut Config) -> Result<(), Error> {
    // The same bound as security::pow::MAX_DIFFICULTY (a lower layer cannot be asked).
    const MAX_DIFFICULTY: u8 = 64;
    if config
        .pow_secret
        .as_ref()
        .is_some_and(|s| s.expose().is_empty())
    {
        config.pow_secret = None;
    }
    if config
        .pki_ca_password
        .as_ref()
        .is_some_and(|s| s.expose().is_empty())
    {
        config.pki_ca_password = None;
    }
    for (key, bits) in [
        ("pow_difficulty", config.pow_difficulty),
        ("antiflood_max", config.antiflood_max),
        ("register_pow", config.register_pow),
    ] {
        if bits > MAX_DIFFICULTY {
            return Err(Error::Invalid {
                key,
                reason: format!("must be at most {MAX_DIFFICULTY} bits"),
            });
        }
    }
    for (key, secs) in [
        ("pow_ttl", config.pow_ttl),
        ("antiflood_window", config.antiflood_window),
    ] {
        if secs.is_zero() {
            return Err(Error::Invalid {
                key,
                reason: "must be at least 1 second".into(),
            });
        }
    }
    for (key, days) in [
        ("pki_cert_days", config.pki_cert_days),
        ("pki_ca_days", config.pki_ca_days),
    ] {
        // X.509 times end in 9999; 100 years is far enough.
        if !(1..=36_500).contains(&days) {
            return Err(Error::Invalid {
                key,
                reason: "must be 1 to 36500 days".into(),
            });
        }
    }
    if !(16..=65_536).contains(&config.short_url_max) {
        return Err(Error::Invalid {
            key: "short_url_max",
            reason: "must be 16 to 65536 bytes".into(),
        });
    }
    Ok(())
}

fn check_serving(config: &Config) -> Result<(), Error> {
    if config.listen.is_empty() {
        return Err(Error::Invalid {
            key: "listen",
            reason: "at least one address is required".into(),
        });
    }
    for addr in &config.metrics_listen {
        let reason = match addr {
            ListenerAddress::FromFd(_) => {
                "sd-listen takes every inherited socket; name the metrics one: sd-listen:NAME"
            }
            ListenerAddress::Inetd => "inetd serves one connection on stdin; give an address",
            _ => continue,
        };
        return Err(Error::Invalid {
            key: "metrics_listen",
            reason: reason.into(),
        });
    }
    if config.max_connections == 0 {
        return Err(Error::Invalid {
            key: "max_connections",
            reason: "must be at least 1".into(),
        });
    }
    if config.db.as_os_str().is_empty() {
        return Err(Error::Invalid {
            key: "db",
            reason: "must name a file".into(),
        });
    }
    if config.client_path.as_os_str().is_empty() {
        return Err(Error::Invalid {
            key: "client_path",
            reason: "must name a file".into(),
        });
    }
    Ok(())
}

fn normalise_url_prefix(config: &mut Config) -> Result<(), Error> {
    let prefix = config.url_prefix.trim_end_matches('/');
    if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.contains(['?', '#', ' '])) {
        return Err(Error::Invalid {
            key: "url_prefix",
            reason: format!(
                "{:?} must be empty or a path starting with `/`",
                config.url_prefix
            ),
        });
    }
    config.url_prefix = prefix.to_owned();
    Ok(())
}

fn check_pastes(config: &Config) -> Result<(), Error> {
    check_size_limits(config)?;
    if !(6..=32).contains(&config.id_length) {
        return Err(Error::Invalid {
            key: "id_length",
            reason: "must be between 6 and 32 hex characters".into(),
        });
    }
    if !(0.0..=8.0).contains(&config.min_entropy) {
        return Err(Error::Invalid {
            key: "min_entropy",
            reason: "must be between 0 and 8 bits per byte".into(),
        });
    }
    Ok(())
}

/// A zero limit would refuse every paste; an anonymous limit above the authenticated one
/// would make a certificate cost size.
fn check_size_limits(config: &Config) -> Result<(), Error> {
    for (key, value) in [("max_anon", config.max_anon), ("max_auth", config.max_auth)] {
        if value == 0 {
            return Err(Error::Invalid {
                key,
                reason: "must be at least 1 byte".into(),
            });
        }
    }
    if config.max_anon > config.max_auth {
        return Err(Error::Conflict {
            key: "max_anon",
            other: "max_auth",
            reason: format!(
                "max_anon ({}) must not exceed max_auth ({})",
                config.max_anon, config.max_auth
            ),
        });
    }
    Ok(())
}

fn check_timers(config: &Config) -> Result<(), Error> {
    if !(1..=128).contains(&config.rate_ipv6_prefix) {
        return Err(Error::Invalid {
            key: "rate_ipv6_prefix",
            reason: "must be 1 to 128".into(),
        });
    }
    if config.rate_window.is_zero() {
        return Err(Error::Invalid {
            key: "rate_window",
            reason: "must be at least 1 second".into(),
        });
    }
    if config.cleanup_interval.is_zero() {
        return Err(Error::Invalid {
            key: "cleanup_interval",
            reason: "must be at least 1 second".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{cli, env, toml_file};
    use crate::config::{Error, load_with};

    fn load_toml(text: &str) -> Result<crate::config::Config, Error> {
        let f = toml_file(text);
        load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[]).map(|l| l.config)
    }

    #[test]
    fn max_anon_above_max_auth_names_both_keys() {
        let err = load_toml("max_anon = 200\nmax_auth = 100\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Conflict {
                    key: "max_anon",
                    other: "max_auth",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid values for keys `max_anon` and `max_auth`: \
             max_anon (200) must not exceed max_auth (100)"
        );
        let c = load_toml("max_anon = 100\nmax_auth = 100\n").unwrap();
        assert_eq!((c.max_anon, c.max_auth), (100, 100));
    }

    #[test]
    fn max_anon_above_max_auth_is_caught_across_layers() {
        let f = toml_file("max_auth = 1000\n");
        let vars = env(&[("FLASKPASTE_MAX_ANON", "1001")]);
        let err = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars).unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err}");
    }

    #[test]
    fn zero_max_anon_is_an_error() {
        let err = load_toml("max_anon = 0\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    key: "max_anon",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("`max_anon`"), "{err}");
    }

    #[test]
    fn zero_max_auth_is_an_error_not_a_conflict() {
        let err = load_toml("max_auth = 0\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    key: "max_auth",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("`max_auth`"), "{err}");
    }

    #[test]
    fn empty_client_path_is_an_error() {
        let err = load_toml("client_path = \"\"\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    key: "client_path",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn url_prefix_is_normalised_and_checked() {
        let f = toml_file("url_prefix = \"/paste/\"\n");
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[])
            .unwrap()
            .config;
        assert_eq!(c.url_prefix, "/paste");
        let f = toml_file("url_prefix = \"paste\"\n");
        assert!(load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[]).is_err());
    }
}

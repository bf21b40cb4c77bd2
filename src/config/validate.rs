//! Validation of a deserialized configuration: rules on one key, and rules across keys that
//! name every key involved. Runs once, after all layers are merged. Never reads files or the
//! environment; only `url_prefix` is normalised in place.

use super::{Config, Error};

/// Checks `config`, normalising `url_prefix` (no trailing `/`).
///
/// # Errors
/// The first rule broken, naming its key (or keys).
pub(super) fn validate(config: &mut Config) -> Result<(), Error> {
    check_serving(config)?;
    normalise_url_prefix(config)?;
    check_pastes(config)?;
    check_timers(config)
}

fn check_serving(config: &Config) -> Result<(), Error> {
    if config.listen.is_empty() {
        return Err(Error::Invalid {
            key: "listen",
            reason: "at least one address is required".into(),
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

fn check_timers(config: &Config) -> Result<(), Error> {
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
    use crate::config::load_with;
    use crate::config::test_support::{cli, toml_file};

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

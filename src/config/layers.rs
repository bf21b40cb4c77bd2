//! The figment layers above the defaults: the TOML file, the known `FLASKPASTE_*` variables
//! (with aliases), secrets from `*_FILE` and `$CREDENTIALS_DIRECTORY`, and the warnings for
//! unknown variables. Never validates values and never logs: warnings go back to the caller.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::{Error, KEYS};

/// Environment prefix shared by every configuration key.
pub(super) const PREFIX: &str = "FLASKPASTE_";

/// Old names kept working: (alias, key). `FLASKPASTE_EXPIRY` is `expiry_anon`.
pub(super) const ALIASES: &[(&str, &str)] = &[("expiry", "expiry_anon")];

/// Keys whose values may come from `FLASKPASTE_<NAME>_FILE` or `$CREDENTIALS_DIRECTORY/<name>`.
const SECRET_KEYS: &[&str] = &["proxy_secret", "pow_secret", "pki_ca_password"];

/// The client's own variables: the daemon ignores them silently.
const CLIENT_VARS: &[&str] = &[
    "SERVER",
    "CERT_SHA1",
    "CLIENT_CERT",
    "CLIENT_KEY",
    "CA_CERT",
];

/// Adds secrets from `$CREDENTIALS_DIRECTORY/<name>` (below the environment) and from
/// `FLASKPASTE_<NAME>_FILE` (at the environment's level).
pub(super) fn merge_secrets(
    mut figment: Figment,
    vars: &[(String, String)],
    env: &EnvLayer,
) -> Result<Figment, Error> {
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    for &key in SECRET_KEYS {
        if !KEYS.contains(&key) {
            continue; // a secret of a feature not built yet has no behaviour to feed
        }
        if let Some(dir) = lookup("CREDENTIALS_DIRECTORY") {
            let path = Path::new(dir).join(key);
            if path.exists() {
                let value = read_secret("$CREDENTIALS_DIRECTORY", &path)?;
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        let var = format!("{PREFIX}{}", key.to_ascii_uppercase());
        if let Some(path) = lookup(&format!("{var}_FILE")) {
            if env.0.iter().any(|(k, _)| k == key) {
                return Err(Error::SecretTwice(var));
            }
            let value = read_secret(&format!("{var}_FILE"), Path::new(path))?;
            figment = figment.merge(Serialized::default(key, value));
        }
    }
    Ok(figment)
}

/// The TOML file layer, named in errors by its absolute path and with plain key names.
pub(super) struct TomlFile {
    path: PathBuf,
}

impl TomlFile {
    pub(super) fn new(path: &Path) -> TomlFile {
        TomlFile {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
        }
    }
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("TOML file {}", self.path.display()))
            .interpolater(|_, keys| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Toml::file_exact(&self.path)
            .data()
            .map_err(|e| figment::Error::from(format!("{}: {e}", self.path.display())))
    }
}

/// The known `FLASKPASTE_*` variables of an environment, typed the way figment's `Env` does
/// it, and named by their variable in errors.
pub(super) struct EnvLayer(Vec<(String, String)>);

impl EnvLayer {
    pub(super) fn new(vars: &[(String, String)]) -> EnvLayer {
        let mut known: Vec<(String, String)> = vars
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix(PREFIX)?.to_ascii_lowercase();
                KEYS.contains(&key.as_str()).then(|| (key, v.clone()))
            })
            .collect();
        // An alias applies only where its key is not set itself.
        for (alias, key) in ALIASES {
            let var = format!("{PREFIX}{}", alias.to_ascii_uppercase());
            let aliased = vars.iter().find(|(k, _)| *k == var);
            if let Some((_, value)) = aliased
                && !known.iter().any(|(k, _)| k == key)
            {
                known.push(((*key).to_owned(), value.clone()));
            }
        }
        EnvLayer(known)
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("`{PREFIX}` environment variable(s)"))
            .interpolater(|_, keys| format!("{PREFIX}{}", keys.join(".").to_ascii_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict: Dict = self
            .0
            .iter()
            .map(|(k, v)| {
                // A secret is the bytes given: `00123` must not become the number 123.
                let value = if SECRET_KEYS.contains(&k.as_str()) {
                    Value::from(v.clone())
                } else {
                    match v.parse::<Value>() {
                        Ok(value) => value,
                        Err(never) => match never {},
                    }
                };
                (k.clone(), value)
            })
            .collect();
        Ok(Profile::Default.collect(dict))
    }
}

fn read_secret(var: &str, path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::SecretFile {
        var: var.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    // A file written by `echo` ends in a newline that is not part of the secret.
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.strip_suffix('\r').unwrap_or(text).to_owned())
}

/// interface.md: an unknown `FLASKPASTE_*` variable is a warning naming it.
pub(super) fn unknown_env_warnings(vars: &[(String, String)]) -> Vec<String> {
    let mut warnings: Vec<String> = vars
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(PREFIX).map(|rest| (k, rest)))
        .filter(|(_, rest)| {
            let lower = rest.to_ascii_lowercase();
            let secret_file = lower
                .strip_suffix("_file")
                .is_some_and(|s| SECRET_KEYS.contains(&s) && KEYS.contains(&s));
            let alias = ALIASES.iter().any(|(a, _)| *a == lower);
            !KEYS.contains(&lower.as_str()) && !CLIENT_VARS.contains(rest) && !secret_file && !alias
        })
        .map(|(k, _)| format!("ignoring unknown environment variable {k}"))
        .collect();
    warnings.sort();
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{cli, env, toml_file};
    use crate::config::{load_with, to_redacted_toml};

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let f = toml_file("shutdown_timeout = 5\nidle_timeout = 7\nlisten = [\"/f.sock\"]\n");
        let path = f.path().to_str().unwrap();
        let vars = env(&[
            ("FLASKPASTE_IDLE_TIMEOUT", "9"),
            ("FLASKPASTE_LISTEN", "/e.sock,@e"),
        ]);
        let c = load_with(&cli(&["--config", path]), &vars).unwrap().config;
        assert_eq!(c.shutdown_timeout, 5);
        assert_eq!(c.idle_timeout, 9);
        assert_eq!(c.listen.len(), 2);
        let c = load_with(&cli(&["--config", path, "--listen", "/c.sock"]), &vars)
            .unwrap()
            .config;
        assert_eq!(c.listen[0].to_string(), "/c.sock");
    }

    #[test]
    fn unknown_file_key_is_named() {
        let f = toml_file("lisen = [\"/x\"]\n");
        let err = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[]).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn wrong_type_names_key_and_layer() {
        let f = toml_file("");
        let vars = env(&[("FLASKPASTE_SHUTDOWN_TIMEOUT", "soon")]);
        let err = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("FLASKPASTE_SHUTDOWN_TIMEOUT") && text.contains("environment"),
            "{text}"
        );
        let f = toml_file("max_connections = \"many\"\n");
        let path = f.path().to_str().unwrap();
        let text = load_with(&cli(&["--config", path]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("max_connections") && text.contains(path),
            "{text}"
        );
    }

    #[test]
    fn unknown_env_is_a_warning_but_client_vars_are_not() {
        let vars = env(&[
            ("FLASKPASTE_MAX_ANNON", "1"),
            ("FLASKPASTE_SERVER", "https://x"),
            ("FLASKPASTE_PROXY_SECRET_FILE", "/nonexistent"),
        ]);
        assert_eq!(
            unknown_env_warnings(&vars),
            vec!["ignoring unknown environment variable FLASKPASTE_MAX_ANNON".to_owned()]
        );
    }

    #[test]
    fn secret_from_file_strips_newline_and_is_redacted() {
        let secret = toml_file("hunter2\n");
        let f = toml_file("");
        let vars = env(&[(
            "FLASKPASTE_PROXY_SECRET_FILE",
            secret.path().to_str().unwrap(),
        )]);
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars)
            .unwrap()
            .config;
        assert_eq!(c.proxy_secret.as_ref().unwrap().expose(), b"hunter2");
        let dump = to_redacted_toml(&c).unwrap();
        assert!(dump.contains("proxy_secret = \"<redacted>\"") && !dump.contains("hunter2"));
    }

    #[test]
    fn secrets_from_the_environment_are_taken_as_written() {
        let f = toml_file("");
        for raw in ["00123", "1e3", "true", "0x10", "[1]"] {
            let vars = env(&[("FLASKPASTE_PROXY_SECRET", raw)]);
            let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars)
                .unwrap()
                .config;
            assert_eq!(c.proxy_secret.unwrap().expose(), raw.as_bytes(), "{raw}");
        }
    }

    #[test]
    fn secret_from_credentials_directory_is_below_env() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("proxy_secret"), "cred").unwrap();
        let f = toml_file("proxy_secret = \"file\"\n");
        let args = cli(&["--config", f.path().to_str().unwrap()]);
        let d = dir.path().to_str().unwrap();
        let c = load_with(&args, &env(&[("CREDENTIALS_DIRECTORY", d)]))
            .unwrap()
            .config;
        assert_eq!(c.proxy_secret.unwrap().expose(), b"cred");
        let vars = env(&[
            ("CREDENTIALS_DIRECTORY", d),
            ("FLASKPASTE_PROXY_SECRET", "env"),
        ]);
        let c = load_with(&args, &vars).unwrap().config;
        assert_eq!(c.proxy_secret.unwrap().expose(), b"env");
    }

    #[test]
    fn secret_set_twice_is_an_error() {
        let secret = toml_file("a");
        let f = toml_file("");
        let vars = env(&[
            ("FLASKPASTE_PROXY_SECRET", "b"),
            (
                "FLASKPASTE_PROXY_SECRET_FILE",
                secret.path().to_str().unwrap(),
            ),
        ]);
        let err = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars).unwrap_err();
        assert!(matches!(err, Error::SecretTwice(_)), "{err}");
    }

    #[test]
    fn expiry_is_an_alias_of_expiry_anon_that_yields_to_it() {
        let f = toml_file("");
        let path = f.path().to_str().unwrap();
        let c = load_with(
            &cli(&["--config", path]),
            &env(&[("FLASKPASTE_EXPIRY", "60")]),
        )
        .unwrap();
        assert_eq!(c.config.expiry_anon, 60);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let vars = env(&[
            ("FLASKPASTE_EXPIRY", "60"),
            ("FLASKPASTE_EXPIRY_ANON", "70"),
        ]);
        let c = load_with(&cli(&["--config", path]), &vars).unwrap().config;
        assert_eq!(c.expiry_anon, 70);
    }
}

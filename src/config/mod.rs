//! The configuration: compiled-in defaults < TOML file < `FLASKPASTE_*` environment (with
//! `*_FILE` and `$CREDENTIALS_DIRECTORY` secrets) < command-line flags, validated once and
//! frozen. This file owns `Config`, its defaults, the list of keys, loading and the redacted
//! dump; `layers` reads the sources, `types` the values, `validate` the rules. Never binds,
//! opens sockets or logs: warnings are returned to the caller.

mod layers;
mod reload;
mod types;
mod validate;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::Serialized;
use serde::{Deserialize, Serialize};
use tokio_listener::ListenerAddress;

use crate::cli::Cli;

pub use reload::{RESTART_ONLY, Reloaded, reload};
pub use types::{
    AuditTarget, LogFormat, LogLevel, LogTarget, Seconds, Secret, SocketMode, TrustedProxy,
};

/// Configuration file read when `--config` is not given (if it exists).
pub const DEFAULT_CONFIG_PATH: &str = match option_env!("FLASKPASTE_DEFAULT_CONFIG") {
    Some(p) => p,
    None => "./flaskpaste.toml",
};

/// Database path when the configuration names none.
pub const DEFAULT_DB_PATH: &str = match option_env!("FLASKPASTE_DEFAULT_DB") {
    Some(p) => p,
    None => "./data/pastes.db",
};

/// Client file `GET /client` serves when the configuration names none, if the build fixed
/// one (packaged builds: `/usr/bin/fpaste`).
pub const DEFAULT_CLIENT_PATH: Option<&str> = option_env!("FLASKPASTE_DEFAULT_CLIENT");

/// Client file `GET /client` serves when the configuration names none: the compiled-in
/// path, or else the `fpaste` next to the running daemon binary.
#[must_use]
pub fn default_client_path() -> PathBuf {
    match DEFAULT_CLIENT_PATH {
        Some(path) => PathBuf::from(path),
        // Without /proc the daemon's own path is unknown, and a path that is not UTF-8
        // cannot pass through the TOML layers: the bare name then answers 404 (unless the
        // working directory holds a client), as any missing client does.
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("fpaste")))
            .filter(|path| path.to_str().is_some())
            .unwrap_or_else(|| PathBuf::from("fpaste")),
    }
}

/// Every key the daemon reads, as TOML keys (env: upper-cased, with the prefix).
const KEYS: &[&str] = &[
    "listen",
    "db",
    "user",
    "group",
    "socket_mode",
    "log_target",
    "log_format",
    "log_level",
    "syslog_socket",
    "audit",
    "idle_timeout",
    "shutdown_timeout",
    "max_connections",
    "write_timeout",
    "max_connections_per_ip",
    "url_prefix",
    "proxy_secret",
    "id_length",
    "max_anon",
    "max_auth",
    "min_size",
    "max_storage",
    "max_storage_per_identity",
    "expiry_anon",
    "expiry_untrusted",
    "expiry_trusted",
    "max_expiry",
    "dedup_window",
    "dedup_max",
    "min_entropy",
    "min_entropy_size",
    "require_binary",
    "cleanup_interval",
    "rate_limit",
    "rate_window",
    "rate_max",
    "rate_auth_mult",
    "password_fail_max",
    "password_fail_window",
    "trusted_proxies",
    "rate_ipv6_prefix",
    "metrics_listen",
    "pow_difficulty",
    "pow_ttl",
    "pow_secret",
    "antiflood_threshold",
    "antiflood_window",
    "antiflood_step",
    "antiflood_max",
    "short_url_max",
    "client_path",
    "pki_enabled",
    "pki_ca_password",
    "pki_cert_days",
    "pki_ca_days",
    "register_pow",
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A layer could not be read or a value did not fit its key; the text names key and layer.
    #[error("{0}")]
    Figment(String),
    /// The file named by `--config` cannot be read.
    #[error("cannot read configuration file {path}: {source}")]
    ConfigFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A secret file named by the environment or the credentials directory could not be read.
    #[error("cannot read {var} ({path}): {source}")]
    SecretFile {
        var: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Both `FLASKPASTE_<NAME>` and `FLASKPASTE_<NAME>_FILE` are set.
    #[error("both {0} and {0}_FILE are set; set only one")]
    SecretTwice(String),
    /// A value passed type checks but is not acceptable.
    #[error("invalid value for key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    /// Two values are acceptable alone but not together.
    #[error("invalid values for keys `{key}` and `{other}`: {reason}")]
    Conflict {
        key: &'static str,
        other: &'static str,
        reason: String,
    },
}

impl From<figment::Error> for Error {
    fn from(err: figment::Error) -> Self {
        // Keep figment's text whole: it names the key and the layer each value came from.
        Error::Figment(
            err.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }
}

/// The effective configuration. Field name = TOML key = env name without prefix, lower-cased.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to listen on.
    #[serde(deserialize_with = "types::de_listen")]
    pub listen: Vec<ListenerAddress>,
    /// SQLite database path.
    pub db: PathBuf,
    /// User to run as after binding and opening the database.
    #[serde(
        default,
        deserialize_with = "types::de_opt_lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user: Option<String>,
    /// Group to run as after binding and opening the database.
    #[serde(
        default,
        deserialize_with = "types::de_opt_lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<String>,
    /// Permission bits of Unix sockets the daemon creates.
    pub socket_mode: SocketMode,
    /// Where log lines go.
    pub log_target: LogTarget,
    /// Text or JSON log lines.
    pub log_format: LogFormat,
    /// Least severe level logged.
    pub log_level: LogLevel,
    /// The syslog socket used when `log_target = "syslog"` or `audit = "syslog"`.
    pub syslog_socket: PathBuf,
    /// Where audit events go.
    pub audit: AuditTarget,
    /// Seconds without a connection after which a socket-activated daemon exits (0: never).
    pub idle_timeout: Seconds,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Seconds,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one client address may hold at once (0: no cap); loopback, Unix-socket
    /// and `trusted_proxies` peers are not counted.
    pub max_connections_per_ip: usize,
    /// Seconds a response write may make no progress before the connection is dropped (0: never).
    pub write_timeout: Seconds,
    /// Path prefix the API is served under (`""` or `/something`).
    #[serde(deserialize_with = "types::de_lenient_string")]
    pub url_prefix: String,
    /// Shared secret a trusted proxy sends in `X-Proxy-Secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret: Option<Secret>,
    /// Length of paste ids in hex characters.
    pub id_length: usize,
    /// Largest paste an anonymous client may create, in bytes.
    pub max_anon: u64,
    /// Largest paste an authenticated client may create, in bytes.
    pub max_auth: u64,
    /// Smallest paste accepted, in bytes (0: no minimum).
    pub min_size: u64,
    /// Bytes of stored content above which creations and updates are refused (0: off).
    pub max_storage: u64,
    /// The same limit per client-certificate fingerprint (0: off).
    pub max_storage_per_identity: u64,
    /// Inactivity expiry of anonymous pastes, in seconds.
    pub expiry_anon: Seconds,
    /// Inactivity expiry of pastes by clients with an unregistered certificate.
    pub expiry_untrusted: Seconds,
    /// Inactivity expiry of pastes by clients with a registered certificate.
    pub expiry_trusted: Seconds,
    /// Upper bound of `X-Expiry`, in seconds.
    pub max_expiry: Seconds,
    /// Window of the duplicate-content throttle, in seconds.
    pub dedup_window: Seconds,
    /// Identical submissions allowed per window.
    pub dedup_max: u64,
    /// Minimum Shannon entropy in bits per byte (0: off).
    pub min_entropy: f64,
    /// Content shorter than this is exempt from the entropy check.
    pub min_entropy_size: u64,
    /// Reject content that is recognisable (text or a known format).
    #[serde(deserialize_with = "types::de_lenient_bool")]
    pub require_binary: bool,
    /// Seconds between expiry sweeps (also run once at start).
    pub cleanup_interval: Seconds,
    /// Per-client-address limit on creating pastes.
    #[serde(deserialize_with = "types::de_lenient_bool")]
    pub rate_limit: bool,
    /// Length of a rate-limit window, in seconds.
    pub rate_window: Seconds,
    /// Creations per window for an anonymous client address.
    pub rate_max: u64,
    /// Multiplier of `rate_max` for clients with a certificate.
    pub rate_auth_mult: u64,
    /// Password guesses per client address and paste per window; 0 counts none.
    pub password_fail_max: u64,
    /// Length of a password-guess window, in seconds.
    pub password_fail_window: Seconds,
    /// Peers whose `X-Forwarded-For` names the client: CIDRs, addresses, or `unix`.
    #[serde(deserialize_with = "types::de_trusted_proxies")]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// IPv6 clients are counted per network of this prefix length (1 to 128).
    pub rate_ipv6_prefix: u8,
    /// Addresses that serve `GET /metrics` (Prometheus text) and nothing else; empty: off.
    #[serde(deserialize_with = "types::de_listen")]
    pub metrics_listen: Vec<ListenerAddress>,
    /// Leading zero bits a proof-of-work solution needs (0: no proof-of-work).
    pub pow_difficulty: u8,
    /// Seconds a challenge stays valid.
    pub pow_ttl: Seconds,
    /// Key that signs challenges; without one, a key is generated once and kept in the
    /// database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow_secret: Option<Secret>,
    /// Creations per `antiflood_window`, server-wide, above which challenges get harder
    /// (0: off).
    pub antiflood_threshold: u64,
    /// Length of the anti-flood window, in seconds.
    pub antiflood_window: Seconds,
    /// Bits added per threshold exceeded.
    pub antiflood_step: u8,
    /// Most bits an elevated challenge asks for.
    pub antiflood_max: u8,
    /// Longest target URL of a short URL, in bytes.
    pub short_url_max: usize,
    /// The file `GET /client` serves (the `fpaste` binary); read per request.
    pub client_path: PathBuf,
    /// Serve the PKI: a CA, certificates, registration (builds with the `pki` feature).
    #[serde(deserialize_with = "types::de_lenient_bool")]
    pub pki_enabled: bool,
    /// Password that encrypts the CA's private key at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pki_ca_password: Option<Secret>,
    /// Validity of issued client certificates, in days.
    pub pki_cert_days: u32,
    /// Validity of the CA certificate, in days.
    pub pki_ca_days: u32,
    /// Leading zero bits a registration's proof-of-work needs (0: none).
    pub register_pow: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec![ListenerAddress::Tcp(([127, 0, 0, 1], 5000).into())],
            db: PathBuf::from(DEFAULT_DB_PATH),
            user: None,
            group: None,
            socket_mode: SocketMode(0o660),
            log_target: LogTarget::Stderr,
            log_format: LogFormat::Text,
            log_level: LogLevel::Info,
            syslog_socket: PathBuf::from("/dev/log"),
            audit: AuditTarget::Syslog,
            idle_timeout: Seconds::saturating(0),
            shutdown_timeout: Seconds::saturating(30),
            max_connections: 1024,
            write_timeout: Seconds::saturating(30),
            max_connections_per_ip: 32,
            url_prefix: String::new(),
            proxy_secret: None,
            id_length: 12,
            max_anon: 3 * 1024 * 1024,
            max_auth: 50 * 1024 * 1024,
            min_size: 0,
            max_storage: 0,
            max_storage_per_identity: 0,
            expiry_anon: Seconds::saturating(86_400),
            expiry_untrusted: Seconds::saturating(604_800),
            expiry_trusted: Seconds::saturating(2_592_000),
            max_expiry: Seconds::saturating(7_776_000),
            dedup_window: Seconds::saturating(3600),
            dedup_max: 3,
            min_entropy: 0.0,
            min_entropy_size: 256,
            require_binary: false,
            cleanup_interval: Seconds::saturating(3600),
            rate_limit: true,
            rate_window: Seconds::saturating(60),
            rate_max: 10,
            rate_auth_mult: 5,
            password_fail_max: 10,
            password_fail_window: Seconds::saturating(60),
            trusted_proxies: Vec::new(),
            rate_ipv6_prefix: 64,
            metrics_listen: Vec::new(),
            pow_difficulty: 20,
            pow_ttl: Seconds::saturating(300),
            pow_secret: None,
            antiflood_threshold: 0,
            antiflood_window: Seconds::saturating(60),
            antiflood_step: 2,
            antiflood_max: 28,
            short_url_max: 2048,
            client_path: default_client_path(),
            pki_enabled: false,
            pki_ca_password: None,
            pki_cert_days: 365,
            pki_ca_days: 3650,
            register_pow: 24,
        }
    }
}

/// A loaded configuration and the warnings met while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Human-readable warnings (unknown `FLASKPASTE_*` variables), for the caller to log.
    pub warnings: Vec<String>,
}

/// Where the environment comes from: the real one, or a fixed list (tests).
pub type EnvVars = Vec<(String, String)>;

/// Loads all layers for `cli`, reading the process environment.
///
/// # Errors
/// Any layer that cannot be read, any unknown key or wrongly typed value, any invalid value.
pub fn load(cli: &Cli) -> Result<Loaded, Error> {
    let vars: EnvVars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    load_with(cli, &vars)
}

/// Loads all layers for `cli` with the given environment.
///
/// # Errors
/// As [`load`].
pub fn load_with(cli: &Cli, vars: &[(String, String)]) -> Result<Loaded, Error> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    figment = match &cli.config {
        // interface.md: a missing explicit file is an error, a missing default one is not.
        Some(path) => {
            std::fs::File::open(path).map_err(|source| Error::ConfigFile {
                path: path.clone(),
                source,
            })?;
            figment.merge(layers::TomlFile::new(path))
        }
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            figment.merge(layers::TomlFile::new(Path::new(DEFAULT_CONFIG_PATH)))
        }
        None => figment,
    };
    let env = layers::EnvLayer::new(vars);
    figment = layers::merge_secrets(figment, vars, &env)?;
    figment = figment.merge(env);
    if !cli.listen.is_empty() {
        figment = figment.merge(Serialized::default("listen", &cli.listen));
    }
    let mut config: Config = figment.extract()?;
    validate::validate(&mut config)?;
    Ok(Loaded {
        config,
        warnings: layers::unknown_env_warnings(vars),
    })
}

/// Renders the configuration as TOML with secrets redacted (for `--check-config`).
///
/// # Errors
/// Only if a value cannot be represented in TOML, which the types rule out.
pub fn to_redacted_toml(config: &Config) -> Result<String, toml::ser::Error> {
    toml::to_string(config)
}

/// Helpers shared by the configuration's unit tests.
#[cfg(test)]
mod test_support {
    use std::io::Write;

    use super::EnvVars;
    use crate::cli::Cli;

    pub(super) fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["flaskpaste"];
        all.extend_from_slice(args);
        crate::cli::parse_from(all).unwrap()
    }

    pub(super) fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub(super) fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }
}

#[cfg(test)]
mod tests {
    use serde::de::{self, Deserializer, Visitor};

    use super::test_support::{cli, toml_file};
    use super::*;

    #[test]
    fn defaults_match_interface_md() {
        let c = load_with(
            &cli(&["--config", toml_file("").path().to_str().unwrap()]),
            &[],
        )
        .unwrap()
        .config;
        assert_eq!(c.listen[0].to_string(), "127.0.0.1:5000");
        assert_eq!(c.socket_mode, SocketMode(0o660));
        assert_eq!(c.shutdown_timeout, 30);
        assert_eq!(c.max_connections, 1024);
        assert_eq!(c.idle_timeout, 0);
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.audit, AuditTarget::Syslog);
    }

    #[test]
    fn client_path_defaults_to_the_build_choice_or_fpaste_beside_the_daemon() {
        let f = toml_file("");
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[])
            .unwrap()
            .config;
        let expected = match DEFAULT_CLIENT_PATH {
            Some(path) => PathBuf::from(path),
            None => std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .join("fpaste"),
        };
        assert_eq!(c.client_path, expected);
    }

    #[test]
    fn client_path_comes_from_file_and_environment() {
        let f = toml_file("client_path = \"/srv/file/fpaste\"\n");
        let path = f.path().to_str().unwrap();
        let c = load_with(&cli(&["--config", path]), &[]).unwrap().config;
        assert_eq!(c.client_path, Path::new("/srv/file/fpaste"));
        let vars = super::test_support::env(&[("FLASKPASTE_CLIENT_PATH", "/srv/env/fpaste")]);
        let loaded = load_with(&cli(&["--config", path]), &vars).unwrap();
        assert_eq!(loaded.config.client_path, Path::new("/srv/env/fpaste"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    /// A deserializer that only records the field names serde asks a struct for.
    struct FieldNames<'a>(&'a mut Vec<&'static str>);

    impl<'de> Deserializer<'de> for FieldNames<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom(
                "only a struct's field names are recorded",
            ))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(de::Error::custom("field names recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    /// `Config`'s keys, as serde's derive names them.
    fn config_fields() -> Vec<&'static str> {
        let mut fields = Vec::new();
        assert!(Config::deserialize(FieldNames(&mut fields)).is_err());
        assert!(!fields.is_empty(), "Config is no longer a plain struct");
        fields
    }

    /// Keys introduced in a `.TP` paragraph of flaskpaste.toml(5): `.BR key " (..."` or
    /// `.BR first ", " second " (..."`.
    fn man_page_keys(man: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        let mut previous = "";
        for line in man.lines() {
            if let Some(mut rest) = line.strip_prefix(".BR ").filter(|_| previous == ".TP") {
                loop {
                    let (key, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                    keys.push(key);
                    match tail.strip_prefix("\", \" ") {
                        Some(next) => rest = next,
                        None => break,
                    }
                }
            }
            previous = line;
        }
        keys
    }

    /// Keys set or shown commented out in flaskpaste.toml.example: `key =` or `# key =`.
    fn example_keys(example: &str) -> Vec<&str> {
        example
            .lines()
            .filter_map(|l| l.trim_start_matches('#').trim_start().split_once(" ="))
            .map(|(key, _)| key)
            .filter(|key| !key.is_empty() && !key.contains(char::is_whitespace))
            .collect()
    }

    #[test]
    fn every_config_key_is_known_and_documented() {
        let root = env!("CARGO_MANIFEST_DIR");
        let man = std::fs::read_to_string(format!("{root}/man/flaskpaste.toml.5")).unwrap();
        let example = std::fs::read_to_string(format!("{root}/flaskpaste.toml.example")).unwrap();
        let (man, example) = (man_page_keys(&man), example_keys(&example));
        let fields = config_fields();
        for field in &fields {
            assert!(
                KEYS.contains(field),
                "`{field}` is missing from config::KEYS"
            );
            assert!(
                man.contains(field),
                "`{field}` is missing from flaskpaste.toml(5)"
            );
            assert!(
                example.contains(field),
                "`{field}` is missing from flaskpaste.toml.example"
            );
        }
        for key in KEYS {
            assert!(
                fields.contains(key),
                "config::KEYS names `{key}`, not a key"
            );
        }
        for (alias, key) in layers::ALIASES {
            assert!(
                fields.contains(key),
                "alias `{alias}` names `{key}`, not a key"
            );
        }
    }

    #[test]
    fn documentation_key_scanners_find_keys_and_only_keys() {
        let man = ".TP\n.BR a \" (x)\"\n.TP\n.BR b \", \" c \" (y)\"\nText\n.BR d .\n";
        assert_eq!(man_page_keys(man), ["a", "b", "c"]);
        let example = "e = 1\n#f = 2\n# g = 3\n# h is off (0 = none)\n";
        assert_eq!(example_keys(example), ["e", "f", "g"]);
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load_with(&cli(&["--config", "/nonexistent/fp.toml"]), &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/fp.toml"), "{err}");
    }
}

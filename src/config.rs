//! The configuration: compiled-in defaults < TOML file < `FLASKPASTE_*` environment (with
//! `*_FILE` and `$CREDENTIALS_DIRECTORY` secrets) < command-line flags, validated once and
//! frozen. Never binds, opens sockets or logs: warnings are returned to the caller.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tokio_listener::ListenerAddress;

use crate::cli::Cli;

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

/// Environment prefix shared by every configuration key.
const PREFIX: &str = "FLASKPASTE_";

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
    "idle_timeout",
    "shutdown_timeout",
    "max_connections",
    "url_prefix",
    "proxy_secret",
    "id_length",
    "max_anon",
    "max_auth",
    "min_size",
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
    "trusted_proxies",
];

/// Old names kept working: (alias, key). `FLASKPASTE_EXPIRY` is `expiry_anon`.
const ALIASES: &[(&str, &str)] = &[("expiry", "expiry_anon")];

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

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    Stderr,
    Syslog,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The least severe level that is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Permission bits for Unix sockets the daemon creates, written in octal (`"0660"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketMode(pub u32);

/// A secret value: never printed, serialized as `"<redacted>"`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(#[serde(deserialize_with = "de_lenient_string")] String);

impl Secret {
    /// The secret's bytes, for constant-time comparison.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// The effective configuration. Field name = TOML key = env name without prefix, lower-cased.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to listen on.
    #[serde(deserialize_with = "de_listen")]
    pub listen: Vec<ListenerAddress>,
    /// SQLite database path.
    pub db: PathBuf,
    /// User to run as after binding and opening the database.
    #[serde(
        default,
        deserialize_with = "de_opt_lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user: Option<String>,
    /// Group to run as after binding and opening the database.
    #[serde(
        default,
        deserialize_with = "de_opt_lenient_string",
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
    /// The syslog socket used when `log_target = "syslog"`.
    pub syslog_socket: PathBuf,
    /// Seconds without a connection after which a socket-activated daemon exits (0: never).
    pub idle_timeout: u64,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: u64,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Path prefix the API is served under (`""` or `/something`).
    #[serde(deserialize_with = "de_lenient_string")]
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
    /// Inactivity expiry of anonymous pastes, in seconds.
    pub expiry_anon: u64,
    /// Inactivity expiry of pastes by clients with an unregistered certificate.
    pub expiry_untrusted: u64,
    /// Inactivity expiry of pastes by clients with a registered certificate.
    pub expiry_trusted: u64,
    /// Upper bound of `X-Expiry`, in seconds.
    pub max_expiry: u64,
    /// Window of the duplicate-content throttle, in seconds.
    pub dedup_window: u64,
    /// Identical submissions allowed per window.
    pub dedup_max: u64,
    /// Minimum Shannon entropy in bits per byte (0: off).
    pub min_entropy: f64,
    /// Content shorter than this is exempt from the entropy check.
    pub min_entropy_size: u64,
    /// Reject content that is recognisable (text or a known format).
    #[serde(deserialize_with = "de_lenient_bool")]
    pub require_binary: bool,
    /// Seconds between expiry sweeps (also run once at start).
    pub cleanup_interval: u64,
    /// Per-client-address limit on creating pastes.
    #[serde(deserialize_with = "de_lenient_bool")]
    pub rate_limit: bool,
    /// Length of a rate-limit window, in seconds.
    pub rate_window: u64,
    /// Creations per window for an anonymous client address.
    pub rate_max: u64,
    /// Multiplier of `rate_max` for clients with a certificate.
    pub rate_auth_mult: u64,
    /// Peers whose `X-Forwarded-For` names the client: CIDRs, addresses, or `unix`.
    #[serde(deserialize_with = "de_trusted_proxies")]
    pub trusted_proxies: Vec<TrustedProxy>,
}

/// A peer allowed to say who the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedProxy {
    /// Any Unix-socket peer (a reverse proxy on the same host).
    Unix,
    /// Peers in this network.
    Net(ipnet::IpNet),
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unix") {
            return Ok(TrustedProxy::Unix);
        }
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(TrustedProxy::Net(net.trunc()));
        }
        s.parse::<std::net::IpAddr>()
            .map(|ip| TrustedProxy::Net(ipnet::IpNet::from(ip)))
            .map_err(|_| format!("{s:?} is not a CIDR, an address or `unix`"))
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedProxy::Unix => f.write_str("unix"),
            TrustedProxy::Net(net) => write!(f, "{net}"),
        }
    }
}

impl Serialize for TrustedProxy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
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
            idle_timeout: 0,
            shutdown_timeout: 30,
            max_connections: 1024,
            url_prefix: String::new(),
            proxy_secret: None,
            id_length: 12,
            max_anon: 3 * 1024 * 1024,
            max_auth: 50 * 1024 * 1024,
            min_size: 0,
            expiry_anon: 86_400,
            expiry_untrusted: 604_800,
            expiry_trusted: 2_592_000,
            max_expiry: 7_776_000,
            dedup_window: 3600,
            dedup_max: 3,
            min_entropy: 0.0,
            min_entropy_size: 256,
            require_binary: false,
            cleanup_interval: 3600,
            rate_limit: true,
            rate_window: 60,
            rate_max: 10,
            rate_auth_mult: 5,
            trusted_proxies: Vec::new(),
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
            figment.merge(TomlFile::new(path))
        }
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            figment.merge(TomlFile::new(Path::new(DEFAULT_CONFIG_PATH)))
        }
        None => figment,
    };
    let env = EnvLayer::new(vars);
    figment = merge_secrets(figment, vars, &env)?;
    figment = figment.merge(env);
    if !cli.listen.is_empty() {
        figment = figment.merge(Serialized::default("listen", &cli.listen));
    }
    let mut config: Config = figment.extract()?;
    validate(&mut config)?;
    Ok(Loaded {
        config,
        warnings: unknown_env_warnings(vars),
    })
}

/// Adds secrets from `$CREDENTIALS_DIRECTORY/<name>` (below the environment) and from
/// `FLASKPASTE_<NAME>_FILE` (at the environment's level).
fn merge_secrets(
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
struct TomlFile {
    path: PathBuf,
}

impl TomlFile {
    fn new(path: &Path) -> TomlFile {
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
struct EnvLayer(Vec<(String, String)>);

impl EnvLayer {
    fn new(vars: &[(String, String)]) -> EnvLayer {
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
            if let Some((_, value)) = aliased {
                if !known.iter().any(|(k, _)| k == key) {
                    known.push(((*key).to_owned(), value.clone()));
                }
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
                let value = match v.parse::<Value>() {
                    Ok(value) => value,
                    Err(never) => match never {},
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
fn unknown_env_warnings(vars: &[(String, String)]) -> Vec<String> {
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

fn validate(config: &mut Config) -> Result<(), Error> {
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
    if config.rate_window == 0 {
        return Err(Error::Invalid {
            key: "rate_window",
            reason: "must be at least 1 second".into(),
        });
    }
    if config.cleanup_interval == 0 {
        return Err(Error::Invalid {
            key: "cleanup_interval",
            reason: "must be at least 1 second".into(),
        });
    }
    Ok(())
}

/// Renders the configuration as TOML with secrets redacted (for `--check-config`).
///
/// # Errors
/// Only if a value cannot be represented in TOML, which the types rule out.
pub fn to_redacted_toml(config: &Config) -> Result<String, toml::ser::Error> {
    toml::to_string(config)
}

impl Serialize for SocketMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for SocketMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The environment layer turns "0660" into the number 660: read its digits as octal.
        let text = de_lenient_string(d)?;
        let digits = text.strip_prefix("0o").unwrap_or(&text);
        match u32::from_str_radix(digits, 8) {
            Ok(mode) if !digits.is_empty() && mode <= 0o777 => Ok(SocketMode(mode)),
            _ => Err(de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"octal permission bits such as \"0660\"",
            )),
        }
    }
}

struct LenientString;

impl Visitor<'_> for LenientString {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A string that the environment layer may have typed as a number or boolean.
fn de_lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(LenientString)
}

/// A boolean that the environment may spell `1`, `0`, `yes`, `no`, `true`, `false`, `on`, `off`.
fn de_lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = de_lenient_string(d)?;
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(de::Error::invalid_value(
            de::Unexpected::Str(&text),
            &"a boolean (true/false, 1/0, yes/no, on/off)",
        )),
    }
}

fn de_opt_lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_lenient_string(d).map(Some)
}

/// A list as a TOML array, or (environment) one comma-separated string.
fn de_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Form::deserialize(d)? {
        Form::One(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        Form::Many(v) => v,
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect())
}

fn de_trusted_proxies<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TrustedProxy>, D::Error> {
    de_list(d)?
        .iter()
        .map(|s| s.parse().map_err(de::Error::custom))
        .collect()
}

/// `listen` as a TOML array, or (environment) one comma-separated string.
fn de_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ListenerAddress>, D::Error> {
    de_list(d)?
        .iter()
        .map(|s| crate::cli::parse_listen(s).map_err(de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["flaskpaste"];
        all.extend_from_slice(args);
        crate::cli::parse_from(all).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

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
    }

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
    fn env_socket_mode_keeps_octal_meaning() {
        let vars = env(&[("FLASKPASTE_SOCKET_MODE", "0600")]);
        let c = load_with(
            &cli(&["--config", toml_file("").path().to_str().unwrap()]),
            &vars,
        )
        .unwrap()
        .config;
        assert_eq!(c.socket_mode, SocketMode(0o600));
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
    fn url_prefix_is_normalised_and_checked() {
        let f = toml_file("url_prefix = \"/paste/\"\n");
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[])
            .unwrap()
            .config;
        assert_eq!(c.url_prefix, "/paste");
        let f = toml_file("url_prefix = \"paste\"\n");
        assert!(load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[]).is_err());
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

    #[test]
    fn booleans_accept_the_spellings_of_the_environment() {
        let f = toml_file("");
        let path = f.path().to_str().unwrap();
        for (v, want) in [("1", true), ("yes", true), ("0", false), ("false", false)] {
            let vars = env(&[("FLASKPASTE_REQUIRE_BINARY", v)]);
            assert_eq!(
                load_with(&cli(&["--config", path]), &vars)
                    .unwrap()
                    .config
                    .require_binary,
                want
            );
        }
        let vars = env(&[("FLASKPASTE_REQUIRE_BINARY", "maybe")]);
        assert!(load_with(&cli(&["--config", path]), &vars).is_err());
    }

    #[test]
    fn trusted_proxies_take_cidrs_addresses_and_unix() {
        let f = toml_file("");
        let vars = env(&[(
            "FLASKPASTE_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.1.7,unix,::1",
        )]);
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars)
            .unwrap()
            .config;
        let shown: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.168.1.7/32", "unix", "::1/128"]);
        let vars = env(&[("FLASKPASTE_TRUSTED_PROXIES", "10.0.0.0/33")]);
        let err = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars).unwrap_err();
        assert!(
            err.to_string().contains("FLASKPASTE_TRUSTED_PROXIES"),
            "{err}"
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load_with(&cli(&["--config", "/nonexistent/fp.toml"]), &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/fp.toml"), "{err}");
    }
}

//! The value types of configuration keys and their serde: what a value may look like in the
//! TOML file and in the environment. Never reads files or the environment, never validates
//! one key against another.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tokio_listener::ListenerAddress;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    Stderr,
    Syslog,
}

/// Where audit events (certificates issued and revoked, refused certificates, admin
/// deletions) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditTarget {
    /// `syslog_socket`, facility authpriv, one JSON message per event.
    Syslog,
    /// The main log, one line per event.
    Log,
    /// Nowhere.
    Off,
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

/// A number of seconds from the configuration, at most [`Seconds::MAX`] (100 years), so
/// that every conversion is exact and adding one to a Unix time cannot overflow. Written as
/// a plain integer in TOML, and as digits in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(u32);

impl Seconds {
    /// The largest accepted value: 100 years of 365.25 days.
    pub const MAX: Seconds = Seconds(3_155_760_000);

    /// `secs`, or `None` above [`Seconds::MAX`].
    #[must_use]
    pub fn new(secs: u64) -> Option<Seconds> {
        u32::try_from(secs)
            .ok()
            .map(Seconds)
            .filter(|s| *s <= Seconds::MAX)
    }

    /// `secs`, or [`Seconds::MAX`] above it (for defaults and tests; loading refuses instead).
    #[must_use]
    pub fn saturating(secs: u64) -> Seconds {
        Seconds::new(secs).unwrap_or(Seconds::MAX)
    }

    /// The number of seconds.
    #[must_use]
    pub fn get(self) -> u64 {
        u64::from(self.0)
    }

    /// The number of seconds, for arithmetic on Unix times.
    #[must_use]
    pub fn secs_i64(self) -> i64 {
        i64::from(self.0)
    }

    /// The same span as a [`Duration`], for timers.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.get())
    }

    /// Whether this is no time at all (for keys where 0 means "off").
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl PartialEq<u64> for Seconds {
    fn eq(&self, other: &u64) -> bool {
        self.get() == *other
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as the plain integer it was, so type errors keep their wording.
        let secs = u64::deserialize(d)?;
        Seconds::new(secs).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Unsigned(secs),
                &"at most 3155760000 seconds (100 years)",
            )
        })
    }
}

/// A secret value: never printed, serialized as `"<redacted>"`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(#[serde(deserialize_with = "de_lenient_string")] String);

impl Secret {
    /// A secret holding `value`.
    #[must_use]
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

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
pub(super) fn de_lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(LenientString)
}

/// A boolean that the environment may spell `1`, `0`, `yes`, `no`, `true`, `false`, `on`, `off`.
pub(super) fn de_lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
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

pub(super) fn de_opt_lenient_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
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

pub(super) fn de_trusted_proxies<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<TrustedProxy>, D::Error> {
    de_list(d)?
        .iter()
        .map(|s| s.parse().map_err(de::Error::custom))
        .collect()
}

/// `listen` as a TOML array, or (environment) one comma-separated string.
pub(super) fn de_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ListenerAddress>, D::Error> {
    de_list(d)?
        .iter()
        .map(|s| crate::cli::parse_listen(s).map_err(de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{cli, env, toml_file};
    use crate::config::{load_with, to_redacted_toml};

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
    fn seconds_read_as_integers_from_file_and_environment() {
        let f = toml_file("max_expiry = 120\nshutdown_timeout = 0\n");
        let vars = env(&[("FLASKPASTE_DEDUP_WINDOW", "90")]);
        let c = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars)
            .unwrap()
            .config;
        assert_eq!(c.max_expiry.get(), 120);
        assert_eq!(c.max_expiry.secs_i64(), 120);
        assert_eq!(c.dedup_window.duration(), Duration::from_secs(90));
        assert!(c.shutdown_timeout.is_zero() && !c.max_expiry.is_zero());
        let dump = to_redacted_toml(&c).unwrap();
        assert!(
            dump.contains("max_expiry = 120\n") && dump.contains("dedup_window = 90\n"),
            "{dump}"
        );
    }

    #[test]
    fn seconds_above_100_years_are_refused_naming_key_and_layer() {
        let f = toml_file("max_expiry = 3155760000\n");
        let path = f.path().to_str().unwrap();
        let c = load_with(&cli(&["--config", path]), &[]).unwrap().config;
        assert_eq!(c.max_expiry, Seconds::MAX);
        assert_eq!(Seconds::MAX.secs_i64(), 3_155_760_000);

        let f = toml_file("max_expiry = 3155760001\n");
        let path = f.path().to_str().unwrap();
        let text = load_with(&cli(&["--config", path]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("max_expiry") && text.contains(path) && text.contains("100 years"),
            "{text}"
        );
        let f = toml_file("");
        let vars = env(&[("FLASKPASTE_RATE_WINDOW", "18446744073709551615")]);
        let text = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &vars)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("FLASKPASTE_RATE_WINDOW") && text.contains("environment"),
            "{text}"
        );
        let f = toml_file("idle_timeout = -1\n");
        let text = load_with(&cli(&["--config", f.path().to_str().unwrap()]), &[])
            .unwrap_err()
            .to_string();
        assert!(text.contains("idle_timeout"), "{text}");
    }

    #[test]
    fn seconds_construct_checked_or_saturating() {
        assert_eq!(Seconds::new(60).map(Seconds::get), Some(60));
        assert_eq!(Seconds::new(3_155_760_001), None);
        assert_eq!(Seconds::new(u64::MAX), None);
        assert_eq!(Seconds::saturating(u64::MAX), Seconds::MAX);
        assert_eq!(Seconds::MAX.duration(), Duration::from_secs(3_155_760_000));
    }
}

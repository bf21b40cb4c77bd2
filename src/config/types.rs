//! The value types of configuration keys and their serde: what a value may look like in the
//! TOML file and in the environment. Never reads files or the environment, never validates
//! one key against another.

use std::fmt;

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
    use crate::config::load_with;
    use crate::config::test_support::{cli, env, toml_file};

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
}

//! Who and where: the server and the identity, layered flags > environment > config file
//! (`~/.config/fpaste/config`, `key = value` lines), and the XDG directories fpaste keeps
//! its files in. Reads and writes only fpaste's own config file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use etcetera::BaseStrategy;

/// The server when nothing names one: the daemon's own default listener.
pub const DEFAULT_SERVER: &str = "http://localhost:5000";

/// The keys of the config file, each also `FLASKPASTE_` + upper case in the environment.
pub const KEYS: [&str; 5] = [
    "server",
    "cert_sha1",
    "client_cert",
    "client_key",
    "ca_cert",
];

/// What the command line says about identity (each `None` defers to the environment).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub server: Option<String>,
    pub cert_sha1: Option<String>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL without a trailing slash.
    pub server: String,
    /// Sent as `X-SSL-Client-SHA1` (for a server that trusts the header, e.g. locally).
    pub cert_sha1: Option<String>,
    /// Client certificate and key for mTLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The CA that signs the server's certificate, instead of the system roots.
    pub ca_cert: Option<PathBuf>,
}

/// fpaste's config directory (`$XDG_CONFIG_HOME/fpaste`).
///
/// # Errors
/// Without a home directory.
pub fn config_dir() -> Result<PathBuf> {
    let base = etcetera::choose_base_strategy().context("no home directory")?;
    Ok(base.config_dir().join("fpaste"))
}

/// fpaste's data directory (`$XDG_DATA_HOME/fpaste`), home of the owner-token history.
///
/// # Errors
/// Without a home directory.
pub fn data_dir() -> Result<PathBuf> {
    let base = etcetera::choose_base_strategy().context("no home directory")?;
    Ok(base.data_dir().join("fpaste"))
}

/// The config file: `--config`, else `config` in [`config_dir`].
///
/// # Errors
/// Without a home directory.
pub fn config_file(flags: &Flags) -> Result<PathBuf> {
    match &flags.config {
        Some(p) => Ok(p.clone()),
        None => Ok(config_dir()?.join("config")),
    }
}

/// Layers flags over the environment over the file.
///
/// # Errors
/// An unreadable or malformed config file (a missing one is fine).
pub fn load(flags: &Flags) -> Result<Settings> {
    let path = config_file(flags)?;
    let file = match fs::read_to_string(&path) {
        Ok(text) => parse(&text).with_context(|| format!("config file {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let pick = |flag: Option<String>, key: &str| -> Option<String> {
        flag.or_else(|| {
            std::env::var(format!("FLASKPASTE_{}", key.to_ascii_uppercase()))
                .ok()
                .filter(|v| !v.is_empty())
        })
        .or_else(|| {
            file.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        })
    };
    let path_of = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let server = pick(flags.server.clone(), "server").unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    Ok(Settings {
        server: server.trim_end_matches('/').to_owned(),
        cert_sha1: pick(flags.cert_sha1.clone(), "cert_sha1"),
        client_cert: pick(path_of(&flags.client_cert), "client_cert").map(PathBuf::from),
        client_key: pick(path_of(&flags.client_key), "client_key").map(PathBuf::from),
        ca_cert: pick(path_of(&flags.ca_cert), "ca_cert").map(PathBuf::from),
    })
}

/// The `key = value` pairs of a config file; `#` starts a comment line.
///
/// # Errors
/// A line without `=`, or an unknown key (a typo must not pass silently).
pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected `key = value`", n + 1);
        };
        let key = key.trim();
        if !KEYS.contains(&key) {
            bail!(
                "line {}: unknown key `{key}` (known: {})",
                n + 1,
                KEYS.join(", ")
            );
        }
        let value = value.trim().trim_matches('"');
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

/// Sets `keys` in the config file at `path`, keeping its other lines and comments; creates
/// it (and its directory) when missing. The file is left with mode 0600.
///
/// # Errors
/// When the file cannot be read or written.
pub fn set_keys(path: &Path, keys: &[(&str, &str)]) -> Result<()> {
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = String::new();
    let mut done = vec![false; keys.len()];
    for line in old.lines() {
        let key = line.split_once('=').map(|(k, _)| k.trim());
        match keys.iter().position(|(k, _)| Some(*k) == key) {
            Some(i) if !done[i] => {
                out.push_str(&format!("{} = {}\n", keys[i].0, keys[i].1));
                done[i] = true;
            }
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (i, (k, v)) in keys.iter().enumerate() {
        if !done[i] {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    write_private(path, out.as_bytes())
}

/// Writes a file readable by its owner only (certificates' keys, the config, the history),
/// through a temporary file and a rename, so a crash leaves the old or the new file whole.
///
/// # Errors
/// When the directory or the file cannot be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    // An existing temporary file keeps its mode through open(): set it.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_readme_form_and_refuses_typos() {
        let pairs = parse("# mine\nserver = https://paste.example.com\n\ncert_sha1=abc\n").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("server".into(), "https://paste.example.com".into()),
                ("cert_sha1".into(), "abc".into())
            ]
        );
        assert!(
            parse("sever = x")
                .unwrap_err()
                .to_string()
                .contains("sever")
        );
        assert!(parse("server").is_err());
    }

    #[test]
    fn set_keys_replaces_and_appends_keeping_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "# keep me\nserver = http://a\ncert_sha1 = old\n").unwrap();
        set_keys(&path, &[("cert_sha1", "new"), ("client_key", "/k")]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# keep me\nserver = http://a\ncert_sha1 = new\nclient_key = /k\n"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

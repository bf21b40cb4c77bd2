//! What `get`, `delete` and `update` are pointed at: a paste's full URL (perhaps with its
//! `#key`, perhaps ending in `/raw`) or a bare id. No I/O.

use anyhow::{Result, bail};

/// A paste named on the command line.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// The server of a full URL; `None` for a bare id (the configured server).
    pub server: Option<String>,
    pub id: String,
    /// The text after `#`, when present.
    pub key: Option<String>,
}

/// Parses `https://host/prefix/ID[/raw][#KEY]` or `ID[#KEY]`.
///
/// # Errors
/// When no paste id can be found.
pub fn parse(text: &str) -> Result<Target> {
    let text = text.trim();
    let (rest, key) = match text.split_once('#') {
        Some((rest, key)) => (rest, Some(key.to_owned())),
        None => (text, None),
    };
    let (server, id) = if rest.contains("://") {
        let path = rest.trim_end_matches('/');
        let path = path.strip_suffix("/raw").unwrap_or(path);
        match path.rsplit_once('/') {
            Some((server, id)) if !server.ends_with(':') && !server.ends_with('/') => {
                (Some(server.to_owned()), id)
            }
            _ => bail!("no paste id in the URL {rest}"),
        }
    } else {
        (None, rest)
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("not a paste URL or id: {text:?}");
    }
    Ok(Target {
        server,
        id: id.to_owned(),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_bare_ids() {
        let t = parse("https://p.example.com/abc123#KEY").unwrap();
        assert_eq!(t.server.as_deref(), Some("https://p.example.com"));
        assert_eq!((t.id.as_str(), t.key.as_deref()), ("abc123", Some("KEY")));
        let t = parse("http://127.0.0.1:5000/pre/fix/abc/raw").unwrap();
        assert_eq!(t.server.as_deref(), Some("http://127.0.0.1:5000/pre/fix"));
        assert_eq!(t.id, "abc");
        let t = parse("abc12345").unwrap();
        assert_eq!((t.server, t.id.as_str(), t.key), (None, "abc12345", None));
        assert!(parse("https://host").is_err());
        assert!(parse("https://host/").is_err());
        assert!(parse("../etc").is_err());
        assert!(parse("").is_err());
    }
}

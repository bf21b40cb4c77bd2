//! Short URL targets: what may be redirected to. Only `http` and `https` with a host, at most
//! `short_url_max` bytes, and only visible ASCII: no space, control character, CR or LF can
//! reach the `Location` header, and the target is sent exactly as it was submitted.

/// Why a target URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("No URL provided")]
    Empty,
    #[error("URL too long")]
    TooLong,
    /// A space, a control character (CR and LF too) or a byte beyond ASCII.
    #[error("Invalid URL: contains invalid characters")]
    Characters,
    #[error("Invalid URL scheme (only http/https allowed)")]
    Scheme,
    #[error("Invalid URL: missing host")]
    Host,
}

/// Checks `url` as a redirect target of at most `max` bytes.
///
/// # Errors
/// The first rule it breaks, in the order of [`Refused`].
pub fn check(url: &str, max: usize) -> Result<(), Refused> {
    if url.is_empty() {
        return Err(Refused::Empty);
    }
    if url.len() > max {
        return Err(Refused::TooLong);
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refused::Characters);
    }
    let (scheme, rest) = url.split_once(':').ok_or(Refused::Scheme)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(Refused::Scheme);
    }
    // Browsers read `http:host` and `http:\\host` as `http://host`; a target must say it.
    let Some(after) = rest.strip_prefix("//") else {
        return Err(Refused::Host);
    };
    let authority = after
        .split(['/', '?', '#', '\\'])
        .next()
        .unwrap_or_default();
    let uri: http::Uri = url.parse().map_err(|_| Refused::Host)?;
    match uri.host() {
        Some(host) if !host.is_empty() && !authority.is_empty() => Ok(()),
        _ => Err(Refused::Host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_pass_as_they_are() {
        for url in [
            "https://example.com/some/long/path?query=value",
            "http://example.com",
            "HTTPS://EXAMPLE.COM/",
            "https://user:pw@example.com:8443/a#frag",
            "http://[2001:db8::1]:8080/x",
            "http://127.0.0.1/",
            "https://xn--bcher-kva.example/%C3%A9",
        ] {
            assert_eq!(check(url, 2048), Ok(()), "{url}");
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        for url in [
            "javascript:alert(1)",
            "data:text/html,<script>",
            "file:///etc/passwd",
            "ftp://example.com/",
            "example.com",
            "//example.com/x",
            "httpx://example.com",
        ] {
            assert_eq!(check(url, 2048), Err(Refused::Scheme), "{url}");
        }
    }

    #[test]
    fn a_url_without_a_host_is_refused() {
        for url in [
            "http://",
            "https:///path",
            "http:example.com",
            "http:\\\\example.com",
            "https://:443/",
            "http://user@/x",
            "http://?q",
        ] {
            assert_eq!(check(url, 2048), Err(Refused::Host), "{url}");
        }
    }

    #[test]
    fn nothing_can_be_smuggled_into_the_location_header() {
        for url in [
            "https://example.com/\r\nSet-Cookie: a=b",
            "https://example.com/\n",
            "https://exa mple.com/",
            "https://example.com/\t",
            "https://example.com/\u{0}",
            "https://example.com/\u{7f}",
            "https://exämple.com/",
        ] {
            assert_eq!(check(url, 2048), Err(Refused::Characters), "{url:?}");
        }
    }

    #[test]
    fn length_is_counted_in_bytes_and_empty_is_no_url() {
        let long = format!("https://example.com/{}", "a".repeat(2028));
        assert_eq!(long.len(), 2048);
        assert_eq!(check(&long, 2048), Ok(()));
        assert_eq!(check(&format!("{long}a"), 2048), Err(Refused::TooLong));
        assert_eq!(check("", 2048), Err(Refused::Empty));
    }
}

//! Request headers and query parameters of the paste endpoints, turned into typed options.
//! Pure: no I/O.

use http::{HeaderMap, HeaderValue};

use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::request::header_str;
use crate::security::password;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 128;

/// Options of `POST /`.
#[derive(Debug, Default)]
pub struct Create {
    pub burn_after_read: bool,
    /// `X-Burn-After-Read: confirm`: burnt only by `POST /{id}/raw`.
    pub burn_confirm: bool,
    /// A valid `X-Expiry`, capped at `max_expiry`; `None` means the trust level's default.
    pub expiry: Option<i64>,
    pub password: Option<String>,
    pub display_name: Option<String>,
}

impl Create {
    /// Reads the creation headers.
    ///
    /// # Errors
    /// A password or display name the reference refuses.
    pub fn from_headers(
        h: &HeaderMap,
        authenticated: bool,
        cfg: &Config,
    ) -> Result<Create, ApiError> {
        let burn = header_str(h, "x-burn-after-read");
        let burn_confirm = burn.is_some_and(|v| v.trim().eq_ignore_ascii_case("confirm"));
        Ok(Create {
            burn_after_read: burn_confirm || burn.is_some_and(is_true),
            burn_confirm,
            expiry: expiry(h, cfg),
            password: password_header(h)?,
            display_name: display_name(h, authenticated)?,
        })
    }
}

/// Options of `PUT /{id}`.
#[derive(Debug, Default)]
pub struct Update {
    pub password: Option<String>,
    pub remove_password: bool,
    pub extend_expiry: Option<i64>,
    pub display_name: Option<String>,
    pub remove_display_name: bool,
}

impl Update {
    /// Reads the update headers.
    ///
    /// # Errors
    /// A password or display name the reference refuses.
    pub fn from_headers(
        h: &HeaderMap,
        authenticated: bool,
        cfg: &Config,
    ) -> Result<Update, ApiError> {
        Ok(Update {
            password: password_header(h)?,
            remove_password: header_str(h, "x-remove-password").is_some_and(is_true),
            extend_expiry: header_str(h, "x-extend-expiry")
                .and_then(|v| positive_seconds(v, cfg.max_expiry.get())),
            display_name: display_name(h, authenticated)?,
            remove_display_name: header_str(h, "x-remove-display-name").is_some_and(is_true),
        })
    }
}

/// `X-Expiry`: whole seconds above zero, capped at `max_expiry`; anything else is `None`
/// (the trust level's default).
#[must_use]
pub fn expiry(h: &HeaderMap, cfg: &Config) -> Option<i64> {
    header_str(h, "x-expiry").and_then(|v| positive_seconds(v, cfg.max_expiry.get()))
}

/// The reference's spellings of yes: `true`, `1`, `yes`, in any case.
fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// Whole seconds above zero, capped at `max`; anything else is `None` (use the default).
fn positive_seconds(v: &str, max: u64) -> Option<i64> {
    let secs: u64 = v.trim().parse().ok().filter(|&s| s > 0)?;
    i64::try_from(secs.min(max)).ok()
}

fn password_header(h: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = h.get("x-paste-password") else {
        return Ok(None);
    };
    let text = password_text(value)?;
    Ok((!text.is_empty()).then_some(text))
}

/// The text of an `X-Paste-Password` value, read the same way when it is set and when it
/// is checked: UTF-8 only (a lossy decoding would let different bytes open the same paste),
/// at most [`password::MAX_CHARS`] characters.
///
/// # Errors
/// 400 for bytes that are not UTF-8 or an overlong password.
pub fn password_text(value: &HeaderValue) -> Result<String, ApiError> {
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| ApiError::PasswordInvalid)?;
    if text.chars().count() > password::MAX_CHARS {
        return Err(ApiError::PasswordTooLong);
    }
    Ok(text.to_owned())
}

/// `X-Display-Name`: only for authenticated clients (ignored otherwise), printable, short.
fn display_name(h: &HeaderMap, authenticated: bool) -> Result<Option<String>, ApiError> {
    let Some(value) = h.get("x-display-name").filter(|_| authenticated) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| ApiError::DisplayNameInvalid)?;
    if text.chars().count() > MAX_DISPLAY_NAME {
        return Err(ApiError::DisplayNameTooLong);
    }
    if text.chars().any(hidden_or_breaking) {
        return Err(ApiError::DisplayNameInvalid);
    }
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Characters a display name must not hold: controls, format characters (bidi overrides,
/// zero-width characters, the BOM), which can make a name read as something else, and line
/// or paragraph separators.
fn hidden_or_breaking(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Control | G::Format | G::LineSeparator | G::ParagraphSeparator
    )
}

/// `limit` (default `default`, at most `max`) and `offset` of a listing.
///
/// # Errors
/// 400 for a `limit` below 1, a negative `offset`, or either not a number.
pub fn page(query: Option<&str>, default: i64, max: i64) -> Result<(i64, i64), ApiError> {
    let limit = query_number(query, "limit", "Invalid limit")?.unwrap_or(default);
    let offset = query_number(query, "offset", "Invalid offset")?.unwrap_or(0);
    if limit < 1 {
        return Err(ApiError::InvalidParameter("Invalid limit"));
    }
    if offset < 0 {
        return Err(ApiError::InvalidParameter("Invalid offset"));
    }
    Ok((limit.min(max), offset))
}

/// The integer value of `name` in a query string, if present.
///
/// # Errors
/// 400 with `error` when it is not an integer.
pub fn query_number(
    query: Option<&str>,
    name: &str,
    error: &'static str,
) -> Result<Option<i64>, ApiError> {
    query_value(query, name)
        .map(|v| v.parse().map_err(|_| ApiError::InvalidParameter(error)))
        .transpose()
}

/// The value of `name` in a query string (no percent-decoding: values here are plain).
#[must_use]
pub fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A query flag such as `?download=1`.
#[must_use]
pub fn query_flag(query: Option<&str>, name: &str) -> bool {
    query_value(query, name).is_some_and(is_true)
}

/// What a `Range` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Not a single byte range: serve everything.
    Full,
    /// Bytes `start..end` (half-open).
    Part(u64, u64),
    /// The range lies wholly outside the content.
    Unsatisfiable,
}

/// Reads a `Range: bytes=...` header over `size` bytes (RFC 9110, one range only).
#[must_use]
pub fn parse_range(header: &str, size: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Range::Full;
    };
    let Some((first, last)) = spec.trim().split_once('-').filter(|_| !spec.contains(',')) else {
        return Range::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => (a, b.saturating_add(1).min(size)),
        (Ok(a), Err(_)) if last.is_empty() => (a, size),
        (Err(_), Ok(n)) if first.is_empty() && n > 0 => (size.saturating_sub(n), size),
        (Err(_), Ok(0)) if first.is_empty() => return Range::Unsatisfiable,
        _ => return Range::Full,
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    Range::Part(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn expiry_is_capped_and_bad_values_mean_default() {
        assert_eq!(positive_seconds("3600", 7200), Some(3600));
        assert_eq!(positive_seconds("99999", 7200), Some(7200));
        for bad in ["-5", "0", "soon", "", "1.5"] {
            assert_eq!(positive_seconds(bad, 7200), None, "{bad}");
        }
    }

    #[test]
    fn burn_accepts_the_reference_spellings() {
        for yes in ["true", "TRUE", "1", "yes", "Yes"] {
            assert!(is_true(yes), "{yes}");
        }
        for no in ["false", "0", "no", "", "on"] {
            assert!(!is_true(no), "{no}");
        }
    }

    #[test]
    fn display_names_are_for_authenticated_clients_printable_and_short() {
        let h = headers(&[("x-display-name", "my notes")]);
        assert_eq!(display_name(&h, false).unwrap(), None);
        assert_eq!(display_name(&h, true).unwrap().as_deref(), Some("my notes"));
        let long: &'static str = Box::leak("x".repeat(129).into_boxed_str());
        assert!(matches!(
            display_name(&headers(&[("x-display-name", long)]), true),
            Err(ApiError::DisplayNameTooLong)
        ));
        assert!(matches!(
            display_name(&headers(&[("x-display-name", "a\tb")]), true),
            Err(ApiError::DisplayNameInvalid)
        ));
        for hidden in [
            "evil\u{202e}gpj.exe",
            "zero\u{200b}width",
            "\u{feff}bom",
            "line\u{2028}break",
            "para\u{2029}break",
            "join\u{2060}er",
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-display-name", HeaderValue::from_str(hidden).unwrap());
            assert!(
                matches!(display_name(&h, true), Err(ApiError::DisplayNameInvalid)),
                "{hidden:?}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            "x-display-name",
            HeaderValue::from_str("Zoë's notes 📝").unwrap(),
        );
        assert_eq!(
            display_name(&h, true).unwrap().as_deref(),
            Some("Zoë's notes 📝")
        );
    }

    #[test]
    fn passwords_that_are_not_utf8_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-paste-password",
            HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        assert!(matches!(
            password_header(&h),
            Err(ApiError::PasswordInvalid)
        ));
    }

    #[test]
    fn passwords_over_1024_characters_are_refused() {
        let ok: &'static str = Box::leak("é".repeat(1024).into_boxed_str());
        let mut h = HeaderMap::new();
        h.insert(
            "x-paste-password",
            HeaderValue::from_bytes(ok.as_bytes()).unwrap(),
        );
        assert!(password_header(&h).unwrap().is_some());
        let long = "p".repeat(1025);
        h.insert("x-paste-password", HeaderValue::from_str(&long).unwrap());
        assert!(matches!(
            password_header(&h),
            Err(ApiError::PasswordTooLong)
        ));
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-4", 10), Range::Part(0, 5));
        assert_eq!(parse_range("bytes=5-", 10), Range::Part(5, 10));
        assert_eq!(parse_range("bytes=-3", 10), Range::Part(7, 10));
        assert_eq!(parse_range("bytes=-30", 10), Range::Part(0, 10));
        assert_eq!(parse_range("bytes=8-100", 10), Range::Part(8, 10));
        assert_eq!(parse_range("bytes=10-", 10), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Range::Full);
        assert_eq!(parse_range("items=0-1", 10), Range::Full);
        assert_eq!(parse_range("bytes=5-2", 10), Range::Full);
        assert_eq!(parse_range("bytes=x-y", 10), Range::Full);
    }

    #[test]
    fn any_range_header_yields_a_part_inside_the_content_or_none() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let atoms = [
            "bytes=",
            "-",
            ",",
            "0",
            "1",
            "9",
            "18446744073709551615",
            " ",
            "x",
            "=",
        ];
        for _ in 0..20_000 {
            let n = usize::try_from(next() % 6).unwrap();
            let header: String = (0..n)
                .map(|_| atoms[usize::try_from(next() % atoms.len() as u64).unwrap()])
                .collect();
            let size = next() % 20;
            if let Range::Part(start, end) = parse_range(&header, size) {
                assert!(
                    start < end && end <= size,
                    "{header:?} over {size}: {start}..{end}"
                );
            }
        }
    }

    #[test]
    fn query_values_and_flags() {
        assert_eq!(query_value(Some("a=1&download=1"), "download"), Some("1"));
        assert!(query_flag(Some("download=1"), "download"));
        assert!(!query_flag(Some("download=0"), "download"));
        assert!(!query_flag(None, "download"));
        assert_eq!(query_value(Some("flag"), "flag"), Some(""));
    }
}

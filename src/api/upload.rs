//! What may come in: the size limit of the caller's trust level, the declared
//! `Content-Length`, the bounded body read, the rate verdict, the content rules (minimum
//! size, required binary, entropy) and the content's type and hash. Every creation and
//! content update goes through here, in that order.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};
use hyper::body::Incoming;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

use super::access::Caller;
use super::{AppState, blocking};
use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::limit::{Verdict, apply_headers};
use crate::http::request::{BodyError, Ctx, content_length, header_str, read_body};
use crate::http::response::{Body, json};
use crate::ids::hex;
use crate::security::pow::Rejection;
use crate::security::{entropy, mime};
use crate::store::Refusal;

/// Bodies larger than this are examined on the blocking pool; smaller ones cost less than
/// the hand-over.
const INLINE_WORK: usize = 64 * 1024;

/// The size limit of one upload, checked against the declared length before the body is
/// read and against the bytes as they arrive.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    max_size: u64,
    authenticated: bool,
    declared: Option<u64>,
}

impl Limit {
    /// The caller's limit; refuses a declared `Content-Length` over it before a byte of the
    /// body is read.
    ///
    /// # Errors
    /// 413 with the reference's facts.
    pub fn check(
        state: &AppState,
        caller: &Caller,
        headers: &HeaderMap,
    ) -> Result<Limit, ApiError> {
        let authenticated = caller.authenticated();
        let max_size = if authenticated {
            state.config().max_auth
        } else {
            state.config().max_anon
        };
        let limit = Limit {
            max_size,
            authenticated,
            declared: content_length(headers),
        };
        match limit.declared {
            Some(size) if size > max_size => Err(limit.too_large(size)),
            _ => Ok(limit),
        }
    }

    /// Reads the body, holding at most the limit.
    ///
    /// # Errors
    /// 413 past the limit, 408 when the body is too slow, 400 when it cannot be read.
    pub async fn read(&self, body: Incoming) -> Result<Bytes, ApiError> {
        read_body(body, self.max_size, self.declared)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { received } => self.too_large(received),
                BodyError::Read(_) => ApiError::NoContent,
                BodyError::Timeout => ApiError::RequestTimeout,
            })
    }

    fn too_large(&self, size: u64) -> ApiError {
        ApiError::TooLarge {
            size,
            max_size: self.max_size,
            authenticated: self.authenticated,
        }
    }
}

/// Counts one creation against the client's rate limit; `None` when rate limiting is off.
/// Every attempt counts, refused ones too: the limit is on what a client asks for.
///
/// # Errors
/// 429 once the window is used up.
pub fn count_rate(
    state: &AppState,
    ctx: &Ctx,
    caller: &Caller,
) -> Result<Option<Verdict>, ApiError> {
    let now = crate::clock::now();
    let verdict = state
        .limiter
        .check(&ctx.client, caller.authenticated(), now);
    match verdict {
        Some(v) if !v.allowed => Err(ApiError::RateLimited(v, now)),
        _ => Ok(verdict),
    }
}

/// The 201 of a creation, with the rate verdict's headers.
#[must_use]
pub fn created(doc: &impl serde::Serialize, verdict: Option<&Verdict>) -> Response<Body> {
    let mut resp = json(StatusCode::CREATED, doc);
    if let Some(v) = verdict {
        apply_headers(resp.headers_mut(), v);
    }
    resp
}

/// The storage limits in force.
#[must_use]
pub fn quota(cfg: &Config) -> crate::store::usage::Quota {
    crate::store::usage::Quota {
        total: cfg.max_storage,
        per_identity: cfg.max_storage_per_identity,
    }
}

/// The answer to a creation the store refused.
#[must_use]
pub fn refused(refusal: Refusal, cfg: &Config) -> ApiError {
    match refusal {
        Refusal::Duplicate { count } => ApiError::Duplicate {
            count,
            window_seconds: cfg.dedup_window.get(),
        },
        Refusal::Spent => ApiError::PowFailed(Rejection::Spent),
        Refusal::Quota(exceeded) => ApiError::StorageQuota(exceeded),
        Refusal::IdTaken => ApiError::Internal("an id was taken after it was checked".into()),
    }
}

/// Content that passed the rules, with what the store keeps about it.
#[derive(Debug)]
pub struct Admitted {
    pub content: Bytes,
    pub mime_type: String,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
}

/// Takes the content out of a body (raw, or the `content` string of a JSON body) and
/// applies the content rules. Bodies over [`INLINE_WORK`] are examined on the blocking pool,
/// so the async workers keep answering while a large upload is parsed, sniffed and hashed.
///
/// # Errors
/// 400 for empty content, bad JSON or content a rule refuses.
pub async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    raw: Bytes,
) -> Result<Admitted, ApiError> {
    let declared_type = header_str(headers, header::CONTENT_TYPE).map(str::to_owned);
    let cfg = Arc::clone(&state.config());
    if raw.len() <= INLINE_WORK {
        examine(&cfg, declared_type.as_deref(), raw)
    } else {
        blocking(move || examine(&cfg, declared_type.as_deref(), raw)).await?
    }
}

/// Every check of one upload, synchronously: content, rules, type and hash.
fn examine(cfg: &Config, declared_type: Option<&str>, raw: Bytes) -> Result<Admitted, ApiError> {
    let content = content_of(declared_type, raw)?;
    check_rules(cfg, &content)?;
    let mime_type = mime::sniff(&content, declared_type);
    let content_hash = hex(&Sha256::digest(&content));
    Ok(Admitted {
        content,
        mime_type,
        content_hash,
    })
}

/// The paste content: the `content` string of a JSON body, or the body itself.
fn content_of(content_type: Option<&str>, raw: Bytes) -> Result<Bytes, ApiError> {
    let is_json = content_type
        .and_then(mime::essence)
        .is_some_and(|t| t == "application/json");
    let content = if is_json {
        let content = json_content(&raw).map_err(|_| ApiError::InvalidJson)?;
        Bytes::from(content.ok_or(ApiError::NoContent)?)
    } else {
        raw
    };
    if content.is_empty() {
        return Err(ApiError::NoContent);
    }
    Ok(content)
}

/// The content rules: minimum size, required binary, entropy.
fn check_rules(cfg: &Config, content: &Bytes) -> Result<(), ApiError> {
    let size = content.len() as u64;
    if size < cfg.min_size {
        return Err(ApiError::TooSmall {
            size,
            min_size: cfg.min_size,
        });
    }
    if cfg.require_binary {
        let detected = mime::sniff(content, None);
        if detected != "application/octet-stream" {
            return Err(ApiError::RecognizableFormat { detected });
        }
    }
    if cfg.min_entropy > 0.0 && size >= cfg.min_entropy_size {
        let bits = entropy::bits_per_byte(content);
        if bits < cfg.min_entropy {
            return Err(ApiError::EntropyTooLow {
                entropy: bits,
                min_entropy: cfg.min_entropy,
            });
        }
    }
    Ok(())
}

/// What of a JSON body is being read: the body (only an object can carry content) or the
/// value of its `content` key (only a string is content). Everything else is skipped with
/// [`IgnoredAny`], which keeps nothing: a huge array or a huge non-string `content` costs
/// no memory (a generic `serde_json::Value` would hold all of it). Never a derived struct:
/// serde's derive also accepts an array as a struct.
#[derive(Clone, Copy)]
enum Part {
    Body,
    Content,
}

impl<'de> DeserializeSeed<'de> for Part {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Part {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut content = None;
        while let Some(key) = map.next_key::<String>()? {
            if matches!(self, Part::Body) && key == "content" {
                // A repeated key counts as its last value, as in a parsed JSON object.
                content = map.next_value_seed(Part::Content)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(content)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<String>, E> {
        Ok(matches!(self, Part::Content).then(|| s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Option<String>, E> {
        Ok(matches!(self, Part::Content).then_some(s))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

/// The `content` string of a JSON body; `Ok(None)` for valid JSON without one.
fn json_content(raw: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let content = Part::Body.deserialize(&mut de)?;
    de.end()?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(body: &str) -> Result<Bytes, ApiError> {
        content_of(Some("application/json"), Bytes::from(body.to_owned()))
    }

    #[test]
    fn json_content_is_the_content_string_of_an_object() {
        assert_eq!(content(r#"{"content": "hi"}"#).unwrap(), "hi");
        assert_eq!(
            content(r#"{"a": [1, {"b": 2}], "content": "h\u00e9"}"#).unwrap(),
            "hé"
        );
        assert_eq!(
            content(r#"{"content": 1, "content": "last"}"#).unwrap(),
            "last"
        );
    }

    #[test]
    fn json_without_content_string_is_no_content_and_bad_json_is_invalid() {
        for body in [
            "[]",
            r#"["content", "x"]"#,
            r#"[{"content": "x"}]"#,
            "\"text\"",
            "1",
            "null",
            "{}",
            r#"{"content": ""}"#,
            r#"{"content": null}"#,
            r#"{"content": ["x"]}"#,
            r#"{"content": {"content": "x"}}"#,
            r#"{"content": "x", "content": 2}"#,
        ] {
            assert!(matches!(content(body), Err(ApiError::NoContent)), "{body}");
        }
        for body in [
            "",
            "{",
            r#"{"content": "x"} trailing"#,
            "[1,]",
            &"[".repeat(500),
        ] {
            assert!(
                matches!(content(body), Err(ApiError::InvalidJson)),
                "{body}"
            );
        }
    }
}

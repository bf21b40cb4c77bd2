//! `GET /pastes`: the authenticated client's own pastes, filtered and paged.

use http::{Response, StatusCode};
use serde_json::json;

use super::AppState;
use super::access;
use super::document::PasteDoc;
use super::options::{page, query_number, query_value};
use crate::http::error::ApiError;
use crate::http::request::Request;
use crate::http::response::{Body, json};
use crate::store::paste::{self, ListQuery};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// Lists the client's pastes, newest first.
///
/// # Errors
/// 401 without a certificate, 403 for `all=1` unless the caller is the admin, 400 for a
/// malformed parameter.
pub async fn list(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    let caller = access::caller(state, req.ctx).await?;
    let me = caller.identity().ok_or(ApiError::AuthRequired)?;
    let query = req.query();
    let all = query_value(query, "all").is_some_and(|v| v == "1");
    if all && !caller.admin() {
        return Err(ApiError::AdminRequired);
    }
    let (limit, offset) = page(query, DEFAULT_LIMIT, MAX_LIMIT)?;
    let q = ListQuery {
        owner: (!all).then(|| me.as_str().to_owned()),
        mime_glob: query_value(query, "type")
            .map(percent_decode)
            .filter(|t| !t.is_empty()),
        after: query_number(query, "after", "Invalid after timestamp")?,
        before: query_number(query, "before", "Invalid before timestamp")?,
        limit,
        offset,
    };
    let now = crate::clock::now();
    let (limit, offset) = (q.limit, q.offset);
    let (rows, total) = state.store.read(move |c| paste::list(c, &q, now)).await?;
    let pastes: Vec<PasteDoc<'_>> = rows.iter().map(PasteDoc::listed).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"pastes": pastes, "total": total, "limit": limit, "offset": offset}),
    ))
}

/// Decodes `%XX` escapes (`image%2F*` is `image/*`); malformed escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("image%2F*"), "image/*");
        assert_eq!(percent_decode("text/plain"), "text/plain");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }
}

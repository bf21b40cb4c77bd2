//! `GET /`: the API information document.

use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::http::response::{Body, json};

/// The info document, with this build's version and `routes`, the endpoints it serves
/// (method, path below the prefix, description) as the route table lists them.
#[must_use]
pub fn get(state: &AppState, routes: &[(&str, String, &str)]) -> Response<Body> {
    let prefix = &state.config().url_prefix;
    let endpoints: Map<String, Value> = routes
        .iter()
        .map(|(method, path, what)| (format!("{method} {prefix}{path}"), json!(what)))
        .collect();
    json(
        StatusCode::OK,
        &json!({
            "name": "FlaskPaste",
            "version": env!("CARGO_PKG_VERSION"),
            "endpoints": endpoints,
            "usage": {
                "raw": "curl --data-binary @file.txt http://host/",
                "pipe": "cat file.txt | curl --data-binary @- http://host/",
                "json": "curl -H 'Content-Type: application/json' -d '{\"content\":\"...\"}' http://host/",
            },
            "note": "Use --data-binary (not -d) to preserve newlines",
        }),
    )
}

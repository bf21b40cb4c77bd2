//! `GET /`: the API information document.

use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::http::response::{Body, json};

/// Endpoints this build serves, as (method and path below the prefix, description).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("GET", "/", "API information"),
    ("GET", "/health", "Health check"),
    ("POST", "/", "Create paste"),
    ("GET", "/<id>", "Retrieve paste metadata"),
    ("GET", "/<id>/raw", "Retrieve raw paste content"),
    ("PUT", "/<id>", "Update paste"),
    ("DELETE", "/<id>", "Delete paste"),
    ("GET", "/pastes", "List your pastes"),
];

/// The info document, with this build's version and the endpoints it really serves.
#[must_use]
pub fn get(state: &AppState) -> Response<Body> {
    let prefix = &state.config.url_prefix;
    let endpoints: Map<String, Value> = ENDPOINTS
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

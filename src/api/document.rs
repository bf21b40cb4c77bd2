//! The paste document, one serde type for all four of its shapes: the 201 of a creation,
//! the metadata of `GET /{id}`, the answer to `PUT /{id}` and an item of `GET /pastes`.
//! Keys are in alphabetical order, as the reference's maps are written.

use serde::Serialize;

use crate::store::paste::Paste;

/// A paste as the API shows it; a field that is `None` is not in the document.
#[derive(Debug, Default, Serialize)]
pub struct PasteDoc<'a> {
    /// `"confirm"` for a paste only `POST /{id}/raw` burns.
    #[serde(skip_serializing_if = "Option::is_none")]
    burn: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_after_read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    expires_at: i64,
    id: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_protected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// `Some(true)` or nothing: flags the reference shows only when set.
fn only_true(flag: bool) -> Option<bool> {
    flag.then_some(true)
}

impl<'a> PasteDoc<'a> {
    /// The fields every shape has.
    fn base(p: &'a Paste, expires_at: i64) -> PasteDoc<'a> {
        PasteDoc {
            display_name: p.display_name.as_deref(),
            expires_at,
            id: &p.id,
            mime_type: &p.mime_type,
            size: p.size,
            ..PasteDoc::default()
        }
    }

    /// With its `url` and `raw` links under `prefix`.
    fn linked(mut self, prefix: &str) -> PasteDoc<'a> {
        self.url = Some(format!("{prefix}/{}", self.id));
        self.raw = Some(format!("{prefix}/{}/raw", self.id));
        self
    }

    /// The metadata of `GET /{id}`, with the expiry in force.
    #[must_use]
    pub fn metadata(p: &'a Paste, expires_at: i64, prefix: &str) -> PasteDoc<'a> {
        PasteDoc {
            burn: p.burn_confirm.then_some("confirm"),
            burn_after_read: only_true(p.burn_after_read),
            created_at: Some(p.created_at),
            password_protected: only_true(p.password_hash.is_some()),
            ..PasteDoc::base(p, expires_at)
        }
        .linked(prefix)
    }

    /// The 201 of a creation: the metadata, the owner and (anonymous uploads) the token.
    #[must_use]
    pub fn created(p: &'a Paste, owner_token: Option<&'a str>, prefix: &str) -> PasteDoc<'a> {
        PasteDoc {
            owner: p.owner.as_deref(),
            owner_token,
            ..PasteDoc::metadata(p, p.expires_at, prefix)
        }
    }

    /// The answer to `PUT /{id}`.
    #[must_use]
    pub fn updated(p: &'a Paste) -> PasteDoc<'a> {
        PasteDoc {
            password_protected: only_true(p.password_hash.is_some()),
            ..PasteDoc::base(p, p.expires_at)
        }
    }

    /// An item of `GET /pastes`: both flags always shown, and the owner.
    #[must_use]
    pub fn listed(p: &'a Paste) -> PasteDoc<'a> {
        PasteDoc {
            burn: p.burn_confirm.then_some("confirm"),
            burn_after_read: Some(p.burn_after_read),
            created_at: Some(p.created_at),
            owner: p.owner.as_deref(),
            password_protected: Some(p.password_hash.is_some()),
            ..PasteDoc::base(p, p.expires_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paste() -> Paste {
        Paste {
            rowid: 1,
            id: "abcdef123456".into(),
            mime_type: "text/plain".into(),
            size: 5,
            content_hash: "00".into(),
            owner: None,
            owner_token_hash: Some("ff".into()),
            created_at: 100,
            expires_at: 200,
            inactivity: Some(100),
            burn_after_read: false,
            burn_confirm: false,
            password_hash: None,
            display_name: None,
        }
    }

    fn keys(doc: &PasteDoc<'_>) -> Vec<String> {
        let value = serde_json::to_value(doc).unwrap();
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn each_shape_has_the_keys_of_the_reference() {
        let p = paste();
        assert_eq!(
            keys(&PasteDoc::created(&p, Some("tok"), "/x")),
            [
                "created_at",
                "expires_at",
                "id",
                "mime_type",
                "owner_token",
                "raw",
                "size",
                "url"
            ]
        );
        assert_eq!(
            keys(&PasteDoc::metadata(&p, 300, "")),
            [
                "created_at",
                "expires_at",
                "id",
                "mime_type",
                "raw",
                "size",
                "url"
            ]
        );
        assert_eq!(
            keys(&PasteDoc::updated(&p)),
            ["expires_at", "id", "mime_type", "size"]
        );
        assert_eq!(
            keys(&PasteDoc::listed(&p)),
            [
                "burn_after_read",
                "created_at",
                "expires_at",
                "id",
                "mime_type",
                "password_protected",
                "size"
            ]
        );
    }

    #[test]
    fn flags_and_names_appear_when_set() {
        let p = Paste {
            owner: Some("a".repeat(40)),
            burn_after_read: true,
            password_hash: Some("h".into()),
            display_name: Some("notes".into()),
            ..paste()
        };
        let doc = serde_json::to_value(PasteDoc::created(&p, None, "/x")).unwrap();
        assert_eq!(doc["burn_after_read"], true);
        assert_eq!(doc["password_protected"], true);
        assert_eq!(doc["display_name"], "notes");
        assert_eq!(doc["owner"], "a".repeat(40));
        assert_eq!(doc["url"], "/x/abcdef123456");
        assert_eq!(doc["raw"], "/x/abcdef123456/raw");
        let listed = serde_json::to_value(PasteDoc::listed(&paste())).unwrap();
        assert_eq!(listed["burn_after_read"], false);
        assert_eq!(listed["password_protected"], false);
    }
}

//! Recently read small pastes, kept in memory only while the writer has made no commit
//! since they were read: nothing a write could have changed is ever served from here.
//! Knows nothing of HTTP; callers pass the store's generation in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::lock;
use super::paste::Paste;

/// Largest content kept.
pub const MAX_CONTENT: usize = 64 * 1024;
/// Content bytes kept in all; past this the cache starts over.
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Pastes kept in all; past this the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// A paste and, when it was read with it, its whole content (only those are kept).
#[derive(Debug)]
pub struct Cached {
    pub paste: Paste,
    pub content: Option<Bytes>,
}

/// See the module documentation.
#[derive(Default)]
pub struct PasteCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// The store generation every entry was read at.
    generation: u64,
    map: HashMap<String, Arc<Cached>>,
    bytes: usize,
}

impl PasteCache {
    /// The paste `id` as read at `generation`, if that is the current one.
    #[must_use]
    pub fn get(&self, id: &str, generation: u64) -> Option<Arc<Cached>> {
        let entries = lock(&self.inner);
        if entries.generation != generation {
            return None;
        }
        entries.map.get(id).cloned()
    }

    /// Keeps `cached`, read from a snapshot taken when the store was at `generation` (the
    /// value read before the read began). Dropped when a later generation is known.
    pub fn put(&self, generation: u64, cached: Arc<Cached>) {
        let Some(size) = cached.content.as_ref().map(Bytes::len) else {
            return;
        };
        if size > MAX_CONTENT {
            return;
        }
        let mut entries = lock(&self.inner);
        if generation < entries.generation {
            return;
        }
        let full = entries.bytes + size > MAX_BYTES || entries.map.len() >= MAX_ENTRIES;
        if generation > entries.generation || full {
            entries.map.clear();
            entries.bytes = 0;
            entries.generation = generation;
        }
        let id = cached.paste.id.clone();
        if let Some(old) = entries.map.insert(id, cached) {
            entries.bytes -= old.content.as_ref().map_or(0, Bytes::len);
        }
        entries.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(id: &str, size: usize) -> Arc<Cached> {
        Arc::new(Cached {
            paste: Paste {
                rowid: 1,
                id: id.into(),
                mime_type: "text/plain".into(),
                size: i64::try_from(size).unwrap(),
                content_hash: "h".into(),
                owner: None,
                owner_token_hash: None,
                created_at: 1,
                expires_at: 2,
                inactivity: None,
                burn_after_read: false,
                burn_confirm: false,
                password_hash: None,
                display_name: None,
            },
            content: Some(Bytes::from(vec![b'x'; size])),
        })
    }

    #[test]
    fn entries_are_served_only_at_the_generation_they_were_read_at() {
        let cache = PasteCache::default();
        cache.put(5, cached("aaaaaa", 10));
        assert!(cache.get("aaaaaa", 5).is_some());
        assert!(cache.get("bbbbbb", 5).is_none());
        // A commit happened: nothing read before it is served.
        assert!(cache.get("aaaaaa", 6).is_none());
        // A read that began before the commit finishes after it: not kept.
        cache.put(6, cached("bbbbbb", 10));
        cache.put(5, cached("aaaaaa", 10));
        assert!(cache.get("aaaaaa", 6).is_none());
        assert!(cache.get("bbbbbb", 6).is_some());
    }

    #[test]
    fn large_content_is_not_kept_and_the_total_is_bounded() {
        let cache = PasteCache::default();
        cache.put(1, cached("big000", MAX_CONTENT + 1));
        assert!(cache.get("big000", 1).is_none());
        for i in 0..=MAX_BYTES / MAX_CONTENT {
            cache.put(1, cached(&format!("p{i:05}"), MAX_CONTENT));
        }
        let entries = lock(&cache.inner);
        assert!(entries.bytes <= MAX_BYTES, "{} bytes kept", entries.bytes);
        let kept: usize = entries
            .map
            .values()
            .filter_map(|c| c.content.as_ref())
            .map(Bytes::len)
            .sum();
        assert_eq!(entries.bytes, kept);
    }
}

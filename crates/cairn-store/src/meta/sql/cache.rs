//! Parsed manifest pages by their content digest. Pages never change once stored, so a cached
//! page is never stale: downloading a 10,000-file version parses each of its pages once, not
//! once per file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cairn_core::Manifest;

/// Pages kept (each up to 4,096 entries: a few MiB in all).
const CAPACITY: usize = 16;

/// A small cache of parsed pages, shared by a store's connections.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    pages: Mutex<HashMap<String, Arc<Manifest>>>,
}

impl PageCache {
    /// The parsed page `digest`, if cached.
    pub(crate) fn get(&self, digest: &str) -> Option<Arc<Manifest>> {
        self.pages.lock().ok()?.get(digest).cloned()
    }

    /// Keep `page`; when full, start over (the pages in use come back at once).
    pub(crate) fn put(&self, digest: &str, page: Arc<Manifest>) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= CAPACITY {
                pages.clear();
            }
            pages.insert(digest.to_owned(), page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_capacity_pages() {
        let cache = PageCache::default();
        for i in 0..CAPACITY + 3 {
            cache.put(&format!("p{i}"), Arc::new(Manifest::new()));
            assert!(cache.pages.lock().unwrap().len() <= CAPACITY);
        }
        assert!(cache.get(&format!("p{}", CAPACITY + 2)).is_some());
        assert!(cache.get("absent").is_none());
    }
}

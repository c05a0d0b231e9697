//! The packs an upload to a project sent, kept in IndexedDB until its blobs are assembled: a
//! page reloaded mid-upload offers them to the registry (which answers which chunks they hold)
//! instead of sending them again. The same idea as the CLI's journal (`docs/chunking.md`).

use cairn_core::pack::PackId;
use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::idb;

fn key(entity: &str, project: &str) -> String {
    format!("{entity}/{project}")
}

/// The packs noted for this project (oldest first).
pub async fn packs(entity: &str, project: &str) -> Vec<PackId> {
    let Some(list) = idb::get(idb::PACKS, &key(entity, project))
        .await
        .and_then(|v| v.dyn_into::<Array>().ok())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| v.as_string()?.parse().ok())
        .collect()
}

/// Keep `all` as the packs noted for this project (the uploader keeps the list and saves it
/// whole after each pack, one save at a time).
pub async fn save(entity: &str, project: &str, all: &[PackId]) {
    let list: Array = all
        .iter()
        .map(|p| JsValue::from_str(&p.to_string()))
        .collect();
    idb::put(idb::PACKS, &key(entity, project), &list).await;
}

/// The upload finished: its packs are part of blobs the project holds.
pub async fn clear(entity: &str, project: &str) {
    idb::delete(idb::PACKS, &key(entity, project)).await;
}

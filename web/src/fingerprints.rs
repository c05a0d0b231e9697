//! Large files hashed before, remembered across page loads in IndexedDB: (name, size, last
//! modified) → digest and chunk list. Dropping the same file again after a reload skips hashing
//! it and goes straight to the registry, which already has the packs the interrupted upload
//! sent (see [`crate::journal`]). A stale entry (the file changed without its size or time
//! changing) shows up when the registry checks a pack or the assembled blob, and is forgotten
//! then.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::files::Hashed;
use crate::idb;

fn key(file: &web_sys::File) -> String {
    format!(
        "{}\u{0}{}\u{0}{}",
        file.name(),
        file.size(),
        file.last_modified()
    )
}

/// The digest and chunks this file had when it was hashed before, if it looks unchanged.
pub async fn recall(file: &web_sys::File) -> Option<Hashed> {
    // entries from before chunking (a bare digest) are not arrays: hashed again
    let value: Array = idb::get(idb::FINGERPRINTS, &key(file))
        .await?
        .dyn_into()
        .ok()?;
    let digest = value.get(0).as_string()?.parse().ok()?;
    let chunks: Uint8Array = value.get(1).dyn_into().ok()?;
    Hashed::from_parts(digest, &chunks.to_vec()).ok()
}

/// Remember the digest and chunks of a file just hashed.
pub async fn remember(file: &web_sys::File, hashed: &Hashed) {
    let value = Array::of2(
        &JsValue::from_str(&hashed.digest.to_string()),
        &Uint8Array::from(&hashed.chunk_list()[..]),
    );
    idb::put(idb::FINGERPRINTS, &key(file), &value).await;
}

/// Forget a file whose remembered digest turned out wrong.
pub async fn forget(file: &web_sys::File) {
    idb::delete(idb::FINGERPRINTS, &key(file)).await;
}

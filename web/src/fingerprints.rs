//! Large files hashed before, remembered across page loads in IndexedDB: (name, size, last
//! modified) → digest. Dropping the same file again after a reload skips hashing it and goes
//! straight to the registry, which resumes the upload session it keeps for that digest. A stale
//! entry (the file changed without its size or time changing) shows up as a digest mismatch when
//! the upload completes, and is forgotten then. Best effort: without IndexedDB (some private
//! modes) files are simply hashed again.

use cairn_core::Digest;
use futures::channel::oneshot;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DB: &str = "cairn";
const STORE: &str = "fingerprints";

fn key(file: &web_sys::File) -> JsValue {
    JsValue::from_str(&format!(
        "{}\u{0}{}\u{0}{}",
        file.name(),
        file.size(),
        file.last_modified()
    ))
}

/// Wait for `req` to succeed (its result) or fail.
async fn done(req: &IdbRequest) -> Option<JsValue> {
    let (tx, rx) = oneshot::channel::<bool>();
    let tx = std::rc::Rc::new(std::cell::RefCell::new(Some(tx)));
    let (ok, err) = (tx.clone(), tx);
    let on_ok = Closure::<dyn Fn()>::new(move || {
        if let Some(tx) = ok.borrow_mut().take() {
            let _ = tx.send(true);
        }
    });
    let on_err = Closure::<dyn Fn()>::new(move || {
        if let Some(tx) = err.borrow_mut().take() {
            let _ = tx.send(false);
        }
    });
    req.set_onsuccess(Some(on_ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(on_err.as_ref().unchecked_ref()));
    let succeeded = rx.await.unwrap_or(false);
    req.set_onsuccess(None);
    req.set_onerror(None);
    if succeeded { req.result().ok() } else { None }
}

async fn open() -> Option<IdbDatabase> {
    let factory = web_sys::window()?.indexed_db().ok().flatten()?;
    let request: IdbOpenDbRequest = factory.open_with_u32(DB, 1).ok()?;
    let on_upgrade = Closure::<dyn Fn(web_sys::Event)>::new(|e: web_sys::Event| {
        let db = e
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|db| db.dyn_into::<IdbDatabase>().ok());
        if let Some(db) = db {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = done(&request).await;
    request.set_onupgradeneeded(None);
    db?.dyn_into().ok()
}

async fn store(mode: IdbTransactionMode) -> Option<web_sys::IdbObjectStore> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, mode).ok()?;
    tx.object_store(STORE).ok()
}

/// The digest this file had when it was hashed before, if it looks unchanged.
pub async fn recall(file: &web_sys::File) -> Option<Digest> {
    let store = store(IdbTransactionMode::Readonly).await?;
    let value = done(&store.get(&key(file)).ok()?).await?;
    value.as_string()?.parse().ok()
}

/// Remember the digest of a file just hashed.
pub async fn remember(file: &web_sys::File, digest: &Digest) {
    if let Some(store) = store(IdbTransactionMode::Readwrite).await
        && let Ok(req) = store.put_with_key(&JsValue::from_str(&digest.to_string()), &key(file))
    {
        done(&req).await;
    }
}

/// Forget a file whose remembered digest turned out wrong.
pub async fn forget(file: &web_sys::File) {
    if let Some(store) = store(IdbTransactionMode::Readwrite).await
        && let Ok(req) = store.delete(&key(file))
    {
        done(&req).await;
    }
}

//! The page's IndexedDB database `cairn`: one object store per use (`fingerprints`: large files
//! hashed before; `packs`: packs an unfinished upload sent). Best effort: without IndexedDB
//! (some private modes) every call answers nothing and nothing is kept.

use futures::channel::oneshot;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DB: &str = "cairn";
/// Version 2 added `packs`.
const VERSION: u32 = 2;
/// The object stores.
pub const FINGERPRINTS: &str = "fingerprints";
pub const PACKS: &str = "packs";

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
    let request: IdbOpenDbRequest = factory.open_with_u32(DB, VERSION).ok()?;
    let on_upgrade = Closure::<dyn Fn(web_sys::Event)>::new(|e: web_sys::Event| {
        let db = e
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|db| db.dyn_into::<IdbDatabase>().ok());
        if let Some(db) = db {
            // a store that exists already (an upgrade from version 1) is an error to ignore
            for store in [FINGERPRINTS, PACKS] {
                let _ = db.create_object_store(store);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = done(&request).await;
    request.set_onupgradeneeded(None);
    db?.dyn_into().ok()
}

async fn store(name: &str, mode: IdbTransactionMode) -> Option<IdbObjectStore> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(name, mode).ok()?;
    tx.object_store(name).ok()
}

/// The value under `key`, if any.
pub async fn get(name: &str, key: &str) -> Option<JsValue> {
    let store = store(name, IdbTransactionMode::Readonly).await?;
    done(&store.get(&JsValue::from_str(key)).ok()?)
        .await
        .filter(|v| !v.is_undefined())
}

/// Keep `value` under `key`.
pub async fn put(name: &str, key: &str, value: &JsValue) {
    if let Some(store) = store(name, IdbTransactionMode::Readwrite).await
        && let Ok(req) = store.put_with_key(value, &JsValue::from_str(key))
    {
        done(&req).await;
    }
}

/// Forget what is under `key`.
pub async fn delete(name: &str, key: &str) {
    if let Some(store) = store(name, IdbTransactionMode::Readwrite).await
        && let Ok(req) = store.delete(&JsValue::from_str(key))
    {
        done(&req).await;
    }
}

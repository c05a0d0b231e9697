//! The hashing Web Worker: receives `{id, files}` (one large file, or many small ones in one
//! message), hashes and chunks each slice by slice with cairn-core, posts `{id, done}` progress
//! (bytes of the whole message) and finally `{id, results}`, one `{digest, chunks}` (the chunk
//! list as bytes) or `{error}` per file. Posts `{ready: true}` once it listens (messages sent
//! before that would be lost).

#[cfg(target_arch = "wasm32")]
fn main() {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn set(o: &Object, k: &str, v: JsValue) {
        let _ = Reflect::set(o, &JsValue::from_str(k), &v);
    }

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let replies = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
        let data = msg.data();
        let id = Reflect::get(&data, &"id".into()).unwrap_or(JsValue::NULL);
        let files: Vec<web_sys::File> = Reflect::get(&data, &"files".into())
            .ok()
            .and_then(|f| f.dyn_into::<Array>().ok())
            .map(|a| a.iter().filter_map(|f| f.dyn_into().ok()).collect())
            .unwrap_or_default();
        let scope = replies.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let results = Array::new();
            let mut before = 0.0;
            for file in &files {
                let (progress_scope, progress_id) = (scope.clone(), id.clone());
                // one progress message per slice read, counting the files before this one
                let result = cairn_web::files::hash(
                    file,
                    move |done| {
                        let p = Object::new();
                        set(&p, "id", progress_id.clone());
                        set(&p, "done", JsValue::from_f64(before + done as f64));
                        let _ = progress_scope.post_message(&p);
                    },
                    || false,
                )
                .await;
                before += file.size();
                let one = Object::new();
                match result {
                    Ok(h) => {
                        set(&one, "digest", h.digest.to_string().into());
                        set(&one, "chunks", Uint8Array::from(&h.chunk_list()[..]).into());
                    }
                    Err(e) => set(&one, "error", e.into()),
                }
                results.push(&one);
            }
            let out = Object::new();
            set(&out, "id", id);
            set(&out, "results", results.into());
            let _ = scope.post_message(&out);
        });
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let ready = Object::new();
    set(&ready, "ready", JsValue::TRUE);
    let _ = scope.post_message(&ready);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("cairn-hash-worker runs in a browser only (built by Trunk)");
}

//! The hashing Web Worker: receives `{id, files, sizes: true}` and answers `{id, sizes}`;
//! receives `{id, files}` (one large file, or many small ones in one message), hashes and chunks each slice by slice with cairn-core, posts `{id, done}` progress
//! (bytes of the whole message) and finally `{id, results}`, one `{digest, chunks, bytes?}` (the
//! chunk list as bytes; a small file's own bytes) or `{error}` per file. Posts `{ready: true}` once it listens (messages sent
//! before that would be lost).

/// Files of one message read at once.
#[cfg(target_arch = "wasm32")]
const READS_AT_ONCE: usize = 16;
/// Bytes between progress messages for a message of many small files.
#[cfg(target_arch = "wasm32")]
const PROGRESS_STEP: f64 = (4 << 20) as f64;

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
        if Reflect::get(&data, &"sizes".into()).is_ok_and(|v| v.is_truthy()) {
            let sizes: Array = files.iter().map(|f| JsValue::from_f64(f.size())).collect();
            let out = Object::new();
            set(&out, "id", id);
            set(&out, "sizes", sizes.into());
            let _ = scope.post_message(&out);
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            use futures::StreamExt;
            // small files are read several at a time (each read waits on the browser's file
            // system); one large file reports progress per slice
            let single = files.len() == 1;
            let done = std::rc::Rc::new(std::cell::Cell::new(0.0));
            let post_done = |scope: &DedicatedWorkerGlobalScope, id: &JsValue, bytes: f64| {
                let p = Object::new();
                set(&p, "id", id.clone());
                set(&p, "done", JsValue::from_f64(bytes));
                let _ = scope.post_message(&p);
            };
            let hashed: Vec<_> = futures::stream::iter(files.iter())
                .map(|file| {
                    let (scope, id, done) = (scope.clone(), id.clone(), done.clone());
                    async move {
                        let result = cairn_web::files::hash(
                            file,
                            |d| {
                                if single {
                                    post_done(&scope, &id, d as f64);
                                }
                            },
                            || false,
                        )
                        .await;
                        // every 4 MiB or so: each message costs the page a render
                        let before = done.get();
                        done.set(before + file.size());
                        if !single
                            && (done.get() / PROGRESS_STEP).floor()
                                > (before / PROGRESS_STEP).floor()
                        {
                            post_done(&scope, &id, done.get());
                        }
                        result
                    }
                })
                .buffered(READS_AT_ONCE)
                .collect()
                .await;
            let results = Array::new();
            for result in hashed {
                let one = Object::new();
                match result {
                    Ok(h) => {
                        set(&one, "digest", h.digest.to_string().into());
                        set(&one, "chunks", Uint8Array::from(&h.chunk_list()[..]).into());
                        if let Some(bytes) = &h.kept {
                            set(&one, "bytes", bytes.into());
                        }
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

//! The hashing Web Worker: receives `{id, file}`, hashes the file slice by slice with
//! cairn-core, posts `{id, done}` progress and finally `{id, digest}` (or `{id, error}`).
//! Posts `{ready: true}` once it listens (messages sent before that would be lost).

#[cfg(target_arch = "wasm32")]
fn main() {
    use js_sys::{Object, Reflect};
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
        let file: Option<web_sys::File> = Reflect::get(&data, &"file".into())
            .ok()
            .and_then(|f| f.dyn_into().ok());
        let scope = replies.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let out = Object::new();
            set(&out, "id", id.clone());
            let Some(file) = file else {
                set(&out, "error", "no file in the message".into());
                let _ = scope.post_message(&out);
                return;
            };
            let progress_scope = scope.clone();
            let progress_id = id.clone();
            // one progress message per slice read
            let result = cairn_web::files::hash(
                &file,
                move |done| {
                    let p = Object::new();
                    set(&p, "id", progress_id.clone());
                    set(&p, "done", JsValue::from_f64(done as f64));
                    let _ = progress_scope.post_message(&p);
                },
                || false,
            )
            .await;
            match result {
                Ok(d) => set(&out, "digest", d.to_string().into()),
                Err(e) => set(&out, "error", e.into()),
            }
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

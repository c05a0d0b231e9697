//! The hashing Web Worker: answers `Sizes` with the files' sizes; hashes and chunks the files of
//! `Hash` (one large file, or many small ones in one message) slice by slice with cairn-core,
//! posting `Progress` (bytes of the whole message) and finally `Hashed`, one outcome per file
//! (the chunk list as bytes; a small file's own bytes). Posts `Ready` once it listens (messages
//! sent before that would be lost). The messages are `cairn_web::message`.

/// Files of one message read at once.
#[cfg(target_arch = "wasm32")]
const READS_AT_ONCE: usize = 16;
/// Bytes between progress messages for a message of many small files.
#[cfg(target_arch = "wasm32")]
const PROGRESS_STEP: f64 = (4 << 20) as f64;

#[cfg(target_arch = "wasm32")]
fn main() {
    use cairn_web::message::{Digested, FromWorker, ToWorker};
    use js_sys::Array;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent};

    fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
        let _ = scope.post_message(&message.to_js());
    }
    fn files_of(list: Array) -> Vec<File> {
        list.iter().filter_map(|f| f.dyn_into().ok()).collect()
    }

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let replies = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
        let scope = replies.clone();
        let (id, files) = match ToWorker::from_js(&msg.data()) {
            Some(ToWorker::Sizes { id, files }) => {
                let sizes = files_of(files).iter().map(|f| f.size()).collect();
                post(&scope, &FromWorker::Sizes { id, sizes });
                return;
            }
            Some(ToWorker::Hash { id, files }) => (id, files_of(files)),
            None => return,
        };
        wasm_bindgen_futures::spawn_local(async move {
            use futures::StreamExt;
            // small files are read several at a time (each read waits on the browser's file
            // system); one large file reports progress per slice
            let single = files.len() == 1;
            let done = std::rc::Rc::new(std::cell::Cell::new(0.0));
            let hashed: Vec<_> = futures::stream::iter(files.iter())
                .map(|file| {
                    let (scope, done) = (scope.clone(), done.clone());
                    async move {
                        let result = cairn_web::files::hash(
                            file,
                            |d| {
                                if single {
                                    post(&scope, &FromWorker::Progress { id, done: d as f64 });
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
                            post(
                                &scope,
                                &FromWorker::Progress {
                                    id,
                                    done: done.get(),
                                },
                            );
                        }
                        result
                    }
                })
                .buffered(READS_AT_ONCE)
                .collect()
                .await;
            let results = hashed
                .iter()
                .map(|r| r.as_ref().map(Digested::from).map_err(Clone::clone))
                .collect();
            post(&scope, &FromWorker::Hashed { id, results });
        });
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&scope, &FromWorker::Ready);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("cairn-hash-worker runs in a browser only (built by Trunk)");
}

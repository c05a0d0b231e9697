//! A pool of hashing Web Workers, one per core: files are hashed off the main thread, several at
//! once. Falls back to hashing on the page when workers cannot start (no worker script served).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use cairn_core::Digest;
use futures::channel::oneshot;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, BlobPropertyBag, File, MessageEvent, Url, Worker};

type Progress = Box<dyn FnMut(u64)>;

struct Job {
    id: u32,
    file: File,
    progress: Progress,
    done: oneshot::Sender<Result<Digest, String>>,
}

struct Running {
    progress: Progress,
    done: oneshot::Sender<Result<Digest, String>>,
}

#[derive(Default)]
struct State {
    idle: Vec<Worker>,
    queue: VecDeque<Job>,
    running: HashMap<u32, (Worker, Running)>,
    next_id: u32,
}

/// The pool (one per page; cheap to clone).
#[derive(Clone)]
pub struct Pool {
    state: Rc<RefCell<State>>,
    size: usize,
}

fn worker_url() -> Result<String, JsValue> {
    let origin = web_sys::window().ok_or("no window")?.location().origin()?;
    let script = Array::of1(&JsValue::from_str(&format!(
        "importScripts('{origin}/cairn-hash-worker.js');wasm_bindgen('{origin}/cairn-hash-worker_bg.wasm');"
    )));
    let options = BlobPropertyBag::new();
    options.set_type("text/javascript");
    Url::create_object_url_with_blob(&Blob::new_with_str_sequence_and_options(&script, &options)?)
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("size", &self.size).finish()
    }
}

impl Pool {
    /// Start `size` workers (default: one per core, at most 8). They announce themselves when
    /// ready; jobs wait in the queue until then.
    pub fn start(size: Option<usize>) -> Option<Self> {
        let cores = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
        let size = size.unwrap_or((cores as usize).clamp(1, 8));
        let url = worker_url().ok()?;
        let pool = Self {
            state: Rc::new(RefCell::new(State::default())),
            size,
        };
        for _ in 0..size {
            let worker = Worker::new(&url).ok()?;
            let me = pool.clone();
            let w = worker.clone();
            let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
                me.on_message(&w, msg.data())
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
        }
        Some(pool)
    }

    /// Workers in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    fn on_message(&self, worker: &Worker, data: JsValue) {
        if get(&data, "ready").is_truthy() {
            self.state.borrow_mut().idle.push(worker.clone());
            self.dispatch();
            return;
        }
        let Some(id) = get(&data, "id").as_f64().map(|i| i as u32) else {
            return;
        };
        let done = get(&data, "done");
        if let Some(bytes) = done.as_f64() {
            if let Some((_, job)) = self.state.borrow_mut().running.get_mut(&id) {
                (job.progress)(bytes as u64);
            }
            return;
        }
        let finished = self.state.borrow_mut().running.remove(&id);
        if let Some((worker, job)) = finished {
            let result = match get(&data, "digest").as_string() {
                Some(d) => d.parse::<Digest>().map_err(|e| e.to_string()),
                None => Err(get(&data, "error")
                    .as_string()
                    .unwrap_or_else(|| "hashing failed".into())),
            };
            let _ = job.done.send(result);
            self.state.borrow_mut().idle.push(worker);
            self.dispatch();
        }
    }

    fn dispatch(&self) {
        loop {
            let mut s = self.state.borrow_mut();
            if s.idle.is_empty() || s.queue.is_empty() {
                return;
            }
            let (Some(worker), Some(job)) = (s.idle.pop(), s.queue.pop_front()) else {
                return;
            };
            let msg = Object::new();
            let _ = Reflect::set(&msg, &"id".into(), &JsValue::from(job.id));
            let _ = Reflect::set(&msg, &"file".into(), &job.file);
            if let Err(e) = worker.post_message(&msg) {
                let _ = job.done.send(Err(format!("{e:?}")));
                s.idle.push(worker);
                continue;
            }
            s.running.insert(
                job.id,
                (
                    worker,
                    Running {
                        progress: job.progress,
                        done: job.done,
                    },
                ),
            );
        }
    }

    /// Hash `file` on a worker; `progress` gets the bytes done so far.
    pub async fn hash(
        &self,
        file: File,
        progress: impl FnMut(u64) + 'static,
    ) -> Result<Digest, String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state.borrow_mut();
            s.next_id += 1;
            let id = s.next_id;
            s.queue.push_back(Job {
                id,
                file,
                progress: Box::new(progress),
                done: tx,
            });
        }
        self.dispatch();
        rx.await
            .map_err(|_| "the hashing worker stopped".to_owned())?
    }
}

//! A pool of hashing Web Workers, one per core: files are hashed and chunked off the main
//! thread, several at once (small files many to a message). A worker that fails (its script did not load, it crashed) leaves the pool and its file
//! goes back to the queue; when no worker is left, queued files are hashed on the page. Cancel
//! terminates the busy workers at once (mid-file) and starts fresh ones.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, BlobPropertyBag, File, MessageEvent, Url, Worker};

use crate::files::Hashed;
use crate::message::{FromWorker, ToWorker};

/// Files per size job.
const STAT_BATCH: usize = 500;

type Progress = Box<dyn FnMut(u64)>;
/// `Err` for the job when its worker could not run it.
type Done = oneshot::Sender<Result<Answer, String>>;

/// What a job asks of a worker.
#[derive(Clone, Copy, PartialEq)]
enum Ask {
    /// Hash and chunk the files.
    Hash,
    /// Only their sizes (the first `File.size` of a file makes the browser stat it: ~0.5 ms
    /// each, which would freeze the page for thousands of files).
    Size,
}

/// A job's answer: one result per file.
enum Answer {
    Hashed(Vec<Result<Hashed, String>>),
    Sizes(Vec<f64>),
}

struct Job {
    id: u32,
    ask: Ask,
    files: Vec<File>,
    progress: Progress,
    done: Done,
}

#[derive(Default)]
struct State {
    /// Workers started and not failed (ready or not).
    alive: usize,
    /// Every worker started and not terminated (to close the pool).
    all: Vec<Worker>,
    idle: Vec<Worker>,
    queue: VecDeque<Job>,
    running: HashMap<u32, (Worker, Job)>,
    next_id: u32,
}

/// The pool (one per page; cheap to clone).
#[derive(Clone)]
pub struct Pool {
    state: Rc<RefCell<State>>,
    url: Rc<str>,
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

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("size", &self.size).finish()
    }
}

impl Pool {
    /// Start `size` workers (default: one per core, at most 8). They announce themselves when
    /// ready; jobs wait in the queue until then.
    pub fn start(size: Option<usize>) -> Option<Self> {
        Self::start_with(size, worker_url().ok()?)
    }

    /// Start a pool on a given worker script URL (tests use a broken one).
    pub fn start_with(size: Option<usize>, url: String) -> Option<Self> {
        let cores = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
        let size = size.unwrap_or((cores as usize).clamp(1, 8));
        let pool = Self {
            state: Rc::new(RefCell::new(State::default())),
            url: url.into(),
            size,
        };
        for _ in 0..size {
            pool.spawn()?;
        }
        Some(pool)
    }

    fn spawn(&self) -> Option<()> {
        let worker = Worker::new(&self.url).ok()?;
        let (me, w) = (self.clone(), worker.clone());
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
            me.on_message(&w, msg.data())
        });
        let (me, w) = (self.clone(), worker.clone());
        let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            ev.prevent_default();
            me.on_error(&w)
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // the closures live as long as the worker; a pool starts a handful in a page's life
        on_message.forget();
        on_error.forget();
        let mut s = self.state.borrow_mut();
        s.alive += 1;
        s.all.push(worker);
        Some(())
    }

    /// Workers in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Workers that have not failed.
    pub fn alive(&self) -> usize {
        self.state.borrow().alive
    }

    fn on_message(&self, worker: &Worker, data: JsValue) {
        let (id, answer) = match FromWorker::from_js(&data) {
            Some(FromWorker::Ready) => {
                self.state.borrow_mut().idle.push(worker.clone());
                self.dispatch();
                return;
            }
            Some(FromWorker::Progress { id, done }) => {
                if let Some((_, job)) = self.state.borrow_mut().running.get_mut(&id) {
                    (job.progress)(done as u64);
                }
                return;
            }
            Some(FromWorker::Sizes { id, sizes }) => (id, Answer::Sizes(sizes)),
            Some(FromWorker::Hashed { id, results }) => (
                id,
                Answer::Hashed(
                    results
                        .into_iter()
                        .map(|r| r.and_then(Hashed::try_from))
                        .collect(),
                ),
            ),
            // not a message of ours
            None => return,
        };
        let finished = self.state.borrow_mut().running.remove(&id);
        if let Some((worker, job)) = finished {
            let count = match &answer {
                Answer::Hashed(r) => r.len(),
                Answer::Sizes(s) => s.len(),
            };
            let result = if count == job.files.len() {
                Ok(answer)
            } else {
                Err("the hashing worker answered for other files".to_owned())
            };
            let _ = job.done.send(result);
            self.state.borrow_mut().idle.push(worker);
            self.dispatch();
        }
    }

    /// A worker failed: it leaves the pool, its file goes back to the queue.
    fn on_error(&self, worker: &Worker) {
        worker.terminate();
        {
            let mut s = self.state.borrow_mut();
            s.alive = s.alive.saturating_sub(1);
            s.idle.retain(|w| w != worker);
            s.all.retain(|w| w != worker);
            let id = s
                .running
                .iter()
                .find(|(_, (w, _))| w == worker)
                .map(|(id, _)| *id);
            if let Some((_, job)) = id.and_then(|id| s.running.remove(&id)) {
                s.queue.push_front(job);
            }
        }
        self.dispatch();
    }

    fn dispatch(&self) {
        if self.state.borrow().alive == 0 {
            self.drain_on_page();
            return;
        }
        loop {
            let mut s = self.state.borrow_mut();
            if s.idle.is_empty() || s.queue.is_empty() {
                return;
            }
            let (Some(worker), Some(job)) = (s.idle.pop(), s.queue.pop_front()) else {
                return;
            };
            let (id, files) = (job.id, job.files.iter().collect::<Array>());
            let msg = match job.ask {
                Ask::Size => ToWorker::Sizes { id, files },
                Ask::Hash => ToWorker::Hash { id, files },
            };
            let sent = worker
                .post_message(&msg.to_js())
                .map_err(|e| format!("{e:?}"));
            if let Err(e) = sent {
                let _ = job.done.send(Err(e));
                s.idle.push(worker);
                continue;
            }
            s.running.insert(job.id, (worker, job));
        }
    }

    /// No worker is left: hash what is queued on the page, one file after another.
    fn drain_on_page(&self) {
        let jobs: Vec<Job> = self.state.borrow_mut().queue.drain(..).collect();
        if jobs.is_empty() {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            for mut job in jobs {
                if job.ask == Ask::Size {
                    let sizes = job.files.iter().map(|f| f.size()).collect();
                    let _ = job.done.send(Ok(Answer::Sizes(sizes)));
                    continue;
                }
                let mut results = Vec::with_capacity(job.files.len());
                let mut before = 0;
                for file in &job.files {
                    let progress = &mut job.progress;
                    results
                        .push(crate::files::hash(file, |d| progress(before + d), || false).await);
                    before += file.size() as u64;
                }
                let _ = job.done.send(Ok(Answer::Hashed(results)));
            }
        });
    }

    /// Stop everything: queued files fail as cancelled, busy workers are terminated mid-file
    /// and replaced by fresh ones.
    pub fn cancel(&self) {
        let (queued, running): (Vec<Job>, Vec<(Worker, Job)>) = {
            let mut s = self.state.borrow_mut();
            let running: Vec<_> = s.running.drain().map(|(_, r)| r).collect();
            s.alive = s.alive.saturating_sub(running.len());
            (s.queue.drain(..).collect(), running)
        };
        for job in queued {
            let _ = job.done.send(Err("cancelled".into()));
        }
        for (worker, job) in running {
            worker.terminate();
            self.state.borrow_mut().all.retain(|w| w != &worker);
            let _ = job.done.send(Err("cancelled".into()));
            let _ = self.spawn();
        }
    }

    /// Fail every job as cancelled and terminate every worker (the pool hashes on the page
    /// afterwards).
    pub fn close(&self) {
        let (jobs, workers) = {
            let mut s = self.state.borrow_mut();
            s.alive = 0;
            s.idle.clear();
            let mut jobs: Vec<Job> = s.queue.drain(..).collect();
            jobs.extend(s.running.drain().map(|(_, (_, job))| job));
            (jobs, std::mem::take(&mut s.all))
        };
        for w in workers {
            w.terminate();
        }
        for job in jobs {
            let _ = job.done.send(Err("cancelled".into()));
        }
    }

    /// Hash and chunk `files` on one worker (small files go many to a job: one message, one
    /// answer); `progress` gets the bytes of all of them done so far.
    pub async fn hash_many(
        &self,
        files: Vec<File>,
        progress: impl FnMut(u64) + 'static,
    ) -> Result<Vec<Result<Hashed, String>>, String> {
        match self.run(Ask::Hash, files, Box::new(progress)).await? {
            Answer::Hashed(results) => Ok(results),
            Answer::Sizes(_) => Err("the hashing worker answered sizes".into()),
        }
    }

    /// The sizes of `files`, asked of the workers (many files to a job) so the page does not
    /// stat them one by one.
    pub async fn sizes(&self, files: &[File]) -> Result<Vec<f64>, String> {
        let jobs = files.chunks(STAT_BATCH).map(|batch| async move {
            match self
                .run(Ask::Size, batch.to_vec(), Box::new(|_| {}))
                .await?
            {
                Answer::Sizes(sizes) => Ok(sizes),
                Answer::Hashed(_) => Err("the hashing worker answered digests".to_string()),
            }
        });
        let all = futures::future::try_join_all(jobs).await?;
        Ok(all.into_iter().flatten().collect())
    }

    async fn run(&self, ask: Ask, files: Vec<File>, progress: Progress) -> Result<Answer, String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state.borrow_mut();
            s.next_id += 1;
            let id = s.next_id;
            s.queue.push_back(Job {
                id,
                ask,
                files,
                progress,
                done: tx,
            });
        }
        self.dispatch();
        rx.await
            .map_err(|_| "the hashing worker stopped".to_owned())?
    }

    /// Hash and chunk one file on a worker.
    pub async fn hash(
        &self,
        file: File,
        progress: impl FnMut(u64) + 'static,
    ) -> Result<Hashed, String> {
        self.hash_many(vec![file], progress)
            .await?
            .pop()
            .unwrap_or_else(|| Err("the hashing worker answered nothing".into()))
    }
}

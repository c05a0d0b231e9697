//! The messages between the page and its hashing workers (`pool.rs` and `bin/hash_worker.rs`),
//! typed on both sides and turned into JS objects here, in one place. Files and a small file's
//! kept bytes pass as the browser's own objects (never copied through Rust), chunk lists as a
//! `Uint8Array`. Converted by hand, not with serde-wasm-bindgen as the app's other JS values
//! are: it made the worker 24 KB gzipped larger (76 → 100 KB, BENCHMARKS.md "Web app size").

use cairn_core::Digest;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::files::Hashed;

/// What the page asks of a worker.
#[derive(Debug)]
pub enum ToWorker {
    /// The sizes of `files` (the first `File.size` of a file makes the browser stat it).
    Sizes { id: u32, files: Array },
    /// Hash and chunk `files` (one large file, or many small ones).
    Hash { id: u32, files: Array },
}

/// What a worker answers.
#[derive(Debug)]
pub enum FromWorker {
    /// It listens (messages sent before this would be lost).
    Ready,
    /// Bytes of job `id` hashed so far.
    Progress { id: u32, done: f64 },
    /// One size per file of job `id`.
    Sizes { id: u32, sizes: Vec<f64> },
    /// One outcome per file of job `id`.
    Hashed {
        id: u32,
        results: Vec<Result<Digested, String>>,
    },
}

/// One file hashed.
#[derive(Debug)]
pub struct Digested {
    pub digest: Digest,
    /// Its chunk list ([`Hashed::chunk_list`]).
    pub chunks: Vec<u8>,
    /// A small file's own bytes.
    pub bytes: Option<Uint8Array>,
}

impl From<&Hashed> for Digested {
    fn from(h: &Hashed) -> Self {
        Self {
            digest: h.digest,
            chunks: h.chunk_list(),
            bytes: h.kept.clone(),
        }
    }
}

impl TryFrom<Digested> for Hashed {
    type Error = String;

    fn try_from(d: Digested) -> Result<Self, String> {
        let mut hashed = Hashed::from_parts(d.digest, &d.chunks)?;
        hashed.kept = d.bytes;
        Ok(hashed)
    }
}

fn object(kind: &str, id: Option<u32>) -> Object {
    let o = Object::new();
    set(&o, "kind", kind.into());
    if let Some(id) = id {
        set(&o, "id", id.into());
    }
    o
}

fn set(o: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn id_of(o: &JsValue) -> Option<u32> {
    get(o, "id").as_f64().map(|i| i as u32)
}

impl ToWorker {
    pub fn to_js(&self) -> JsValue {
        let (kind, id, files) = match self {
            Self::Sizes { id, files } => ("sizes", id, files),
            Self::Hash { id, files } => ("hash", id, files),
        };
        let o = object(kind, Some(*id));
        set(&o, "files", files.into());
        o.into()
    }

    /// `None` for anything that is not such a message.
    pub fn from_js(value: &JsValue) -> Option<Self> {
        let (id, files) = (id_of(value)?, get(value, "files").dyn_into::<Array>().ok()?);
        match get(value, "kind").as_string()?.as_str() {
            "sizes" => Some(Self::Sizes { id, files }),
            "hash" => Some(Self::Hash { id, files }),
            _ => None,
        }
    }
}

impl FromWorker {
    pub fn to_js(&self) -> JsValue {
        match self {
            Self::Ready => object("ready", None),
            Self::Progress { id, done } => {
                let o = object("progress", Some(*id));
                set(&o, "done", (*done).into());
                o
            }
            Self::Sizes { id, sizes } => {
                let o = object("sizes", Some(*id));
                let list: Array = sizes.iter().map(|s| JsValue::from_f64(*s)).collect();
                set(&o, "sizes", list.into());
                o
            }
            Self::Hashed { id, results } => {
                let o = object("hashed", Some(*id));
                let list = Array::new();
                for result in results {
                    let one = Object::new();
                    match result {
                        Ok(d) => {
                            set(&one, "digest", d.digest.to_string().into());
                            set(&one, "chunks", Uint8Array::from(&d.chunks[..]).into());
                            if let Some(bytes) = &d.bytes {
                                set(&one, "bytes", bytes.into());
                            }
                        }
                        Err(e) => set(&one, "error", e.as_str().into()),
                    }
                    list.push(&one);
                }
                set(&o, "results", list.into());
                o
            }
        }
        .into()
    }

    /// `None` for anything that is not such a message.
    pub fn from_js(value: &JsValue) -> Option<Self> {
        Some(match get(value, "kind").as_string()?.as_str() {
            "ready" => Self::Ready,
            "progress" => Self::Progress {
                id: id_of(value)?,
                done: get(value, "done").as_f64()?,
            },
            "sizes" => Self::Sizes {
                id: id_of(value)?,
                sizes: get(value, "sizes")
                    .dyn_into::<Array>()
                    .ok()?
                    .iter()
                    .map(|n| n.as_f64().unwrap_or(0.0))
                    .collect(),
            },
            "hashed" => Self::Hashed {
                id: id_of(value)?,
                results: get(value, "results")
                    .dyn_into::<Array>()
                    .ok()?
                    .iter()
                    .map(|one| digested(&one))
                    .collect(),
            },
            _ => return None,
        })
    }
}

/// One file's outcome: `{digest, chunks, bytes?}` or `{error}`.
fn digested(one: &JsValue) -> Result<Digested, String> {
    let digest = get(one, "digest").as_string();
    let chunks = get(one, "chunks").dyn_into::<Uint8Array>().ok();
    match (digest, chunks) {
        (Some(d), Some(chunks)) => Ok(Digested {
            digest: d.parse().map_err(|e: cairn_core::Error| e.to_string())?,
            chunks: chunks.to_vec(),
            bytes: get(one, "bytes").dyn_into::<Uint8Array>().ok(),
        }),
        _ => Err(get(one, "error")
            .as_string()
            .unwrap_or_else(|| "hashing failed".into())),
    }
}

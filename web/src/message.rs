//! The messages between the page and its hashing workers (`pool.rs` and `bin/hash_worker.rs`):
//! typed on both sides and carried as JS values by `serde-wasm-bindgen`. Files and a small
//! file's kept bytes pass as the browser's own objects (never copied through Rust), chunk lists
//! as a `Uint8Array`.

use cairn_core::Digest;
use js_sys::{Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::files::Hashed;

/// What the page asks of a worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// The sizes of `files` (the first `File.size` of a file makes the browser stat it).
    Sizes {
        id: u32,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        files: Array,
    },
    /// Hash and chunk `files` (one large file, or many small ones).
    Hash {
        id: u32,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        files: Array,
    },
}

/// What a worker answers.
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
pub struct Digested {
    pub digest: Digest,
    /// Its chunk list ([`Hashed::chunk_list`]).
    #[serde(with = "serde_bytes")]
    pub chunks: Vec<u8>,
    /// A small file's own bytes (a `Uint8Array`), or `undefined`.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub bytes: JsValue,
}

impl From<&Hashed> for Digested {
    fn from(h: &Hashed) -> Self {
        Self {
            digest: h.digest,
            chunks: h.chunk_list(),
            bytes: h.kept.clone().map_or(JsValue::UNDEFINED, JsValue::from),
        }
    }
}

impl TryFrom<Digested> for Hashed {
    type Error = String;

    fn try_from(d: Digested) -> Result<Self, String> {
        let mut hashed = Hashed::from_parts(d.digest, &d.chunks)?;
        hashed.kept = d.bytes.dyn_into::<Uint8Array>().ok();
        Ok(hashed)
    }
}

/// A message as a JS value.
pub fn to_js<T: Serialize>(message: &T) -> Result<JsValue, String> {
    serde_wasm_bindgen::to_value(message).map_err(|e| e.to_string())
}

/// A JS value as a message.
pub fn from_js<T: for<'de> Deserialize<'de>>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

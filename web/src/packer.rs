//! Chunks into packs, and packs to the registry, two at a time. A pack's body is a `Blob` of
//! its header and slices of the dropped files themselves, so the browser streams the bytes from
//! disk: nothing is copied into wasm memory, however large the upload. The registry checks every
//! chunk against its hash (a file changed since it was hashed is a 422 naming the chunk).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use cairn_core::chunk::ChunkHash;
use cairn_core::pack::{MAX_PACK_CHUNKS, PackEntry, PackHeader, PackId, StreamId};
use cairn_core::wire::PackReceipt;
use futures::StreamExt;
use futures::channel::oneshot;
use futures::stream::FuturesUnordered;
use js_sys::{Array, Uint8Array};
use web_sys::{Blob, BlobPropertyBag, File};

use crate::api;
use crate::journal::Journal;

/// A pack is sent once it holds this much (as the CLI's).
const TARGET: u64 = 32 << 20;
/// Packs uploading at once.
const IN_FLIGHT: usize = 2;

type Sending = oneshot::Receiver<(usize, Result<PackReceipt, String>)>;

/// Where a blob's bytes are.
#[derive(Clone, Debug)]
pub enum Source {
    /// A dropped file, read when its pack is sent.
    File(File),
    /// A small file's bytes, kept from hashing.
    Bytes(Uint8Array),
}

/// The same file, or the same bytes (the same JavaScript object).
impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::File(a), Self::File(b)) => a == b,
            (Self::Bytes(a), Self::Bytes(b)) => {
                let (a, b): (&wasm_bindgen::JsValue, &wasm_bindgen::JsValue) = (a, b);
                a == b
            }
            _ => false,
        }
    }
}

impl Source {
    fn slice(&self, start: u64, end: u64) -> Result<wasm_bindgen::JsValue, String> {
        match self {
            Self::File(f) => f
                .slice_with_f64_and_f64(start as f64, end as f64)
                .map(Into::into)
                .map_err(|_| format!("cannot read {}", f.name())),
            Self::Bytes(b) => Ok(b.subarray(start as u32, end as u32).into()),
        }
    }
}

/// Where a pack's bytes come from: runs of adjacent chunks of one source.
struct Run {
    source: Source,
    start: u64,
    end: u64,
}

/// A random stream id (the browser's `crypto.getRandomValues`).
pub fn new_stream() -> Option<StreamId> {
    let mut id = [0u8; 32];
    let crypto = web_sys::window()?.crypto().ok()?;
    crypto.get_random_values_with_u8_array(&mut id).ok()?;
    Some(StreamId(id))
}

/// Chunks on their way into packs, and packs on their way to the registry.
pub struct Packer {
    entity: String,
    project: String,
    entries: Vec<PackEntry>,
    runs: Vec<Run>,
    data_len: u64,
    /// The pack (by number) each chunk went into.
    slot_of: HashMap<ChunkHash, usize>,
    /// The id of each pack the registry acknowledged, by number.
    ids: Vec<Option<PackId>>,
    sending: FuturesUnordered<Sending>,
    /// Bytes of packs in flight, by number (for progress).
    moving: Rc<RefCell<HashMap<usize, f64>>>,
    /// Bytes of packs acknowledged.
    sent: Rc<Cell<f64>>,
    /// Every pack noted for the project (an interrupted upload's, then this one's).
    journal: Journal,
    report: Rc<dyn Fn(f64)>,
    cancelled: Rc<dyn Fn() -> bool>,
    /// The stream the chunks pushed go into, and its bytes so far.
    stream: Option<(StreamId, u64)>,
    /// Where the stream stood when the pack being filled began.
    pack_at: u64,
}

impl Packer {
    /// A packer for a project; `report` gets the pack bytes sent so far (acknowledged or in
    /// flight); `journal` notes each pack as the registry acknowledges it.
    pub fn new(
        entity: &str,
        project: &str,
        journal: Journal,
        report: Rc<dyn Fn(f64)>,
        cancelled: Rc<dyn Fn() -> bool>,
    ) -> Self {
        Self {
            entity: entity.to_owned(),
            project: project.to_owned(),
            entries: Vec::new(),
            runs: Vec::new(),
            data_len: 0,
            slot_of: HashMap::new(),
            ids: vec![None],
            sending: FuturesUnordered::new(),
            moving: Rc::default(),
            sent: Rc::default(),
            journal,
            report,
            cancelled,
            stream: None,
            pack_at: 0,
        }
    }

    /// Send what follows as one stream of packs (a large file's chunks, in order, which the
    /// registry hashes as they arrive: `docs/chunking.md`), or end it (`None`); either sends
    /// the pack being filled first.
    pub async fn stream(&mut self, stream: Option<StreamId>) -> Result<(), String> {
        self.flush().await?;
        self.stream = stream.map(|id| (id, 0));
        self.pack_at = 0;
        Ok(())
    }

    /// Whether the chunk is in a pack already (sent, or on its way).
    pub fn knows(&self, hash: &ChunkHash) -> bool {
        self.slot_of.contains_key(hash)
    }

    /// The pack a chunk went into, once the registry acknowledged it.
    pub fn pack_of(&self, hash: &ChunkHash) -> Option<PackId> {
        self.slot_of.get(hash).and_then(|s| self.ids[*s])
    }

    /// Forget a chunk (the registry lost its pack): it will be packed again.
    pub fn forget(&mut self, hash: &ChunkHash) {
        self.slot_of.remove(hash);
    }

    /// Pack bytes the registry acknowledged.
    pub fn sent_bytes(&self) -> f64 {
        self.sent.get()
    }

    /// Add the chunk at `offset` of `source`, sending the pack first if it is full.
    pub async fn push(
        &mut self,
        hash: ChunkHash,
        len: u32,
        source: &Source,
        offset: u64,
    ) -> Result<(), String> {
        if self.knows(&hash) {
            return Ok(());
        }
        if self.data_len + len as u64 > TARGET || self.entries.len() == MAX_PACK_CHUNKS {
            self.flush().await?;
        }
        self.entries.push(PackEntry { hash, len });
        let end = offset + len as u64;
        match self.runs.last_mut() {
            Some(run) if run.end == offset && &run.source == source => run.end = end,
            _ => self.runs.push(Run {
                source: source.clone(),
                start: offset,
                end,
            }),
        }
        self.data_len += len as u64;
        if let Some((_, at)) = &mut self.stream {
            *at += len as u64;
        }
        self.slot_of.insert(hash, self.ids.len() - 1);
        Ok(())
    }

    /// Start sending the pack being filled (waiting for a free slot).
    async fn flush(&mut self) -> Result<(), String> {
        if self.entries.is_empty() {
            return Ok(());
        }
        while self.sending.len() >= IN_FLIGHT {
            self.join_one().await?;
        }
        let header = PackHeader {
            entries: std::mem::take(&mut self.entries),
        }
        .encode();
        let parts = Array::new();
        parts.push(&Uint8Array::from(&header[..]));
        for run in std::mem::take(&mut self.runs) {
            parts.push(&run.source.slice(run.start, run.end)?);
        }
        self.data_len = 0;
        let options = BlobPropertyBag::new();
        options.set_type("application/vnd.cairn.pack");
        let body = Blob::new_with_blob_sequence_and_options(&parts, &options)
            .map_err(|_| "cannot build a pack".to_string())?;
        let slot = self.ids.len() - 1;
        self.ids.push(None);
        let mut url = api::project_api(&self.entity, &self.project, "/packs");
        if let Some((id, at)) = self.stream {
            url = format!("{url}?stream={id}&at={}", self.pack_at);
            self.pack_at = at;
        }
        let (moving, report, sent) = (self.moving.clone(), self.report.clone(), self.sent.clone());
        let on_progress: Rc<dyn Fn(f64)> = Rc::new(move |n| {
            let now = {
                let mut m = moving.borrow_mut();
                m.insert(slot, n);
                m.values().sum::<f64>()
            };
            report(sent.get() + now);
        });
        let (cancelled, journal) = (self.cancelled.clone(), self.journal.clone());
        let (tx, rx) = oneshot::channel();
        wasm_bindgen_futures::spawn_local(async move {
            let call = || {
                let (url, body, on_progress) = (url.clone(), body.clone(), on_progress.clone());
                async move {
                    let text = api::xhr_send(
                        "POST",
                        &url,
                        &body,
                        "application/vnd.cairn.pack",
                        on_progress,
                    )
                    .await?;
                    serde_json::from_str::<PackReceipt>(&text)
                        .map_err(|e| format!("unexpected answer: {e}"))
                }
            };
            let receipt = api::patient(call, &*cancelled).await;
            // noted at once: a reload right after still knows this pack
            if let Ok(r) = &receipt {
                journal.note(r.pack);
            }
            let _ = tx.send((slot, receipt));
        });
        self.sending.push(rx);
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), String> {
        let Some(done) = self.sending.next().await else {
            return Ok(());
        };
        let (slot, receipt) = done.map_err(|_| "a pack upload stopped".to_string())?;
        let receipt = receipt.map_err(|e| format!("sending a pack: {e}"))?;
        self.moving.borrow_mut().remove(&slot);
        self.ids[slot] = Some(receipt.pack);
        self.sent.set(self.sent.get() + receipt.bytes as f64);
        (self.report)(self.sent.get() + self.moving.borrow().values().sum::<f64>());
        Ok(())
    }

    /// Send the pack being filled and wait for every upload.
    pub async fn drain(&mut self) -> Result<(), String> {
        self.flush().await?;
        while !self.sending.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }
}

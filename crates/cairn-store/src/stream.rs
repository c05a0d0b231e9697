//! Streams: the registry hashes a large file's bytes while its packs arrive, so assembling it
//! afterwards re-reads almost nothing (`docs/chunking.md`, "Hashing while packs arrive").
//!
//! A client sending one file's chunks in order tags each pack with a random [`StreamId`] and the
//! number of stream bytes before it (`at`). Once a pack is verified and stored, its chunks'
//! bytes — which the pack check has just matched against their BLAKE3 hashes — go through the
//! stream's SHA-256, in `at` order, noting a checkpoint every
//! [`CHECKPOINT_EVERY`](crate::content::CHECKPOINT_EVERY) bytes. A stream is thus a list of
//! chunks with checkpoints the registry computed itself over exactly those chunks' bytes,
//! which is what a base's recipe offers: an assembly naming the stream's packs inherits its
//! checkpoints over the leading chunks the blob shares with it ([`crate::assembly`]) and hashes
//! only what follows the last one.
//!
//! Nothing here is trusted from the client: a stream whose packs do not follow one another, skip
//! bytes or come from another file only describes other bytes, which then share no prefix with
//! the blob, and the assembly verifies from an earlier checkpoint or from the start. Streams are
//! held in this replica's memory only, bounded in count, chunks and bytes waiting to be hashed;
//! one that is evicted, restarted or split across replicas behind a load balancer costs a full
//! verification, never a wrong answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_core::Hasher;
use cairn_core::checkpoint::Checkpoint;
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::{PackHeader, PackId, StreamId};
use tokio::sync::Notify;

use crate::content::CHECKPOINT_EVERY;

/// Streams held at once.
const MAX_STREAMS: usize = 256;
/// Chunks listed over all streams (36 bytes each: about 72 MB).
const MAX_CHUNKS: usize = 2_000_000;
/// Pack bytes held in memory, waiting to be hashed, over all streams.
const MAX_WAITING: u64 = 512 << 20;
/// How long a pack waits for the packs before it that are on their way to this replica.
const WAIT: Duration = Duration::from_secs(30);
/// A stream untouched this long is dropped.
const IDLE: Duration = Duration::from_secs(3600);

type Key = (String, StreamId);

/// What a stream has hashed: its chunks (hash, length) in order, and the checkpoints over them.
#[derive(Clone, Debug)]
pub struct Hashed {
    /// The stream.
    pub stream: StreamId,
    /// Its chunks, in order.
    pub chunks: Vec<(ChunkHash, u32)>,
    /// SHA-256 checkpoints over their bytes.
    pub checkpoints: Vec<Checkpoint>,
}

/// The streams this replica is hashing (see the module docs).
#[derive(Default)]
pub struct Streams {
    table: Mutex<Table>,
    changed: Notify,
    waiting: AtomicU64,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.lock();
        f.debug_struct("Streams")
            .field("streams", &t.streams.len())
            .field("chunks", &t.chunks)
            .finish()
    }
}

#[derive(Default)]
struct Table {
    streams: HashMap<Key, Stream>,
    /// The stream each hashed pack went into.
    packs: HashMap<PackId, Key>,
    /// Chunks listed over all streams.
    chunks: usize,
}

struct Stream {
    /// `None` while a pack is being hashed.
    hasher: Option<Hasher>,
    /// Bytes hashed.
    offset: u64,
    chunks: Vec<(ChunkHash, u32)>,
    checkpoints: Vec<Checkpoint>,
    /// Where the packs on their way (received, stored, or waiting their turn) start.
    arriving: Vec<u64>,
    packs: Vec<PackId>,
    /// No more packs are taken (its list reached the bound).
    full: bool,
    used: Instant,
}

impl Stream {
    fn new() -> Self {
        Self {
            hasher: Some(Hasher::new()),
            offset: 0,
            chunks: Vec::new(),
            checkpoints: Vec::new(),
            arriving: Vec::new(),
            packs: Vec::new(),
            full: false,
            used: Instant::now(),
        }
    }

    fn idle(&self) -> bool {
        self.hasher.is_some() && self.arriving.is_empty()
    }
}

/// A pack on its way into a stream: [`Streams::feed`] it once stored, or drop it.
#[derive(Debug)]
pub struct Arrival {
    streams: Arc<Streams>,
    key: Key,
    at: u64,
    /// Bytes of the pack body, while they are held.
    held: Vec<Bytes>,
    held_len: u64,
    /// Holding stopped: the pack was larger than the memory left for waiting packs.
    dropped: bool,
}

impl Arrival {
    /// Keep a piece of the pack body (header and data, in order) to hash once it is stored.
    pub fn keep(&mut self, piece: &Bytes) {
        if self.dropped {
            return;
        }
        let n = piece.len() as u64;
        let total = self.streams.waiting.fetch_add(n, Ordering::Relaxed) + n;
        if total > MAX_WAITING {
            self.streams.waiting.fetch_sub(n, Ordering::Relaxed);
            self.release();
            self.dropped = true;
            return;
        }
        self.held.push(piece.clone());
        self.held_len += n;
    }

    fn release(&mut self) {
        self.streams
            .waiting
            .fetch_sub(self.held_len, Ordering::Relaxed);
        self.held.clear();
        self.held_len = 0;
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        self.release();
        let mut t = self.streams.lock();
        if let Some(s) = t.streams.get_mut(&self.key)
            && let Some(i) = s.arriving.iter().position(|a| *a == self.at)
        {
            s.arriving.swap_remove(i);
        }
        drop(t);
        self.streams.changed.notify_waiters();
    }
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .expect("no panic while holding the stream table")
    }

    /// A pack of `stream` (in project `owner`) starting `at` bytes into it is arriving; keep
    /// its body with [`Arrival::keep`].
    pub fn arriving(self: &Arc<Self>, owner: &str, stream: StreamId, at: u64) -> Arrival {
        let key = (owner.to_owned(), stream);
        let mut t = self.lock();
        if !t.streams.contains_key(&key) {
            t.make_room();
        }
        let s = t.streams.entry(key.clone()).or_insert_with(Stream::new);
        s.arriving.push(at);
        s.used = Instant::now();
        drop(t);
        Arrival {
            streams: self.clone(),
            key,
            at,
            held: Vec::new(),
            held_len: 0,
            dropped: false,
        }
    }

    /// The pack `id` with `header` was stored: hash its data into its stream once the packs
    /// before it that are on their way here have been. Gives up (the stream then ends before
    /// this pack) when its turn cannot come: the packs before it went elsewhere, or did not come
    /// within a while.
    pub async fn feed(&self, mut arrival: Arrival, id: PackId, header: &PackHeader) {
        if arrival.dropped {
            return;
        }
        let Some(mut hasher) = self.turn(&arrival).await else {
            return;
        };
        let start = PackHeader::encoded_len(header.entries.len());
        let pieces = std::mem::take(&mut arrival.held);
        let hashed = tokio::task::spawn_blocking(move || {
            let mut noted = Vec::new();
            let mut skip = start;
            for piece in &pieces {
                let from = skip.min(piece.len() as u64) as usize;
                skip -= from as u64;
                hasher.update_noting(&piece[from..], CHECKPOINT_EVERY, &mut noted);
            }
            (hasher, noted)
        })
        .await;
        let mut t = self.lock();
        let Table {
            streams,
            packs,
            chunks,
        } = &mut *t;
        let Some(s) = streams.get_mut(&arrival.key) else {
            return;
        };
        match hashed {
            Ok((hasher, noted)) if hasher.len() == arrival.at + header.data_len() => {
                metrics::counter!("cairn_stream_hashed_bytes_total").increment(header.data_len());
                s.offset = hasher.len();
                s.hasher = Some(hasher);
                s.chunks
                    .extend(header.entries.iter().map(|e| (e.hash, e.len)));
                s.checkpoints.extend(noted);
                s.packs.push(id);
                s.full = *chunks + header.entries.len() > MAX_CHUNKS;
                *chunks += header.entries.len();
                packs.insert(id, arrival.key.clone());
            }
            // the body held was not the stored pack's (cannot happen) or hashing panicked:
            // the stream stops here
            _ => {
                s.hasher = Some(Hasher::new());
                s.full = true;
            }
        }
        s.used = Instant::now();
        // `arrival` drops here: off the arriving list, and the waiting packs are woken
    }

    /// Wait for the stream to reach `arrival.at` and take its hasher; `None`: give up.
    async fn turn(&self, arrival: &Arrival) -> Option<Hasher> {
        let deadline = Instant::now() + WAIT;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut t = self.lock();
                let s = t.streams.get_mut(&arrival.key)?;
                if s.full || s.offset > arrival.at {
                    return None;
                }
                if s.offset == arrival.at && s.hasher.is_some() {
                    return s.hasher.take();
                }
                // wait only for packs before this one that are on their way to this replica
                let before = s.hasher.is_none()
                    || s.arriving.iter().any(|a| *a >= s.offset && *a < arrival.at);
                if !before {
                    return None;
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if tokio::time::timeout(left, notified).await.is_err() {
                return None;
            }
        }
    }

    /// What the stream pack `id` of project `owner` went into has hashed, if it has any
    /// checkpoint.
    pub fn prefix_of(&self, owner: &str, id: &PackId) -> Option<Hashed> {
        let t = self.lock();
        let key = t.packs.get(id)?;
        if key.0 != owner {
            return None;
        }
        let s = t.streams.get(key)?;
        if s.checkpoints.is_empty() {
            return None;
        }
        Some(Hashed {
            stream: key.1,
            chunks: s.chunks.clone(),
            checkpoints: s.checkpoints.clone(),
        })
    }
}

impl Table {
    /// Drop idle streams past [`IDLE`], then the least recently used idle ones while the table
    /// is at its bounds.
    fn make_room(&mut self) {
        let now = Instant::now();
        let stale: Vec<Key> = self
            .streams
            .iter()
            .filter(|(_, s)| s.idle() && now.duration_since(s.used) > IDLE)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.remove(&k);
        }
        while self.streams.len() >= MAX_STREAMS || self.chunks >= MAX_CHUNKS {
            let Some(oldest) = self
                .streams
                .iter()
                .filter(|(_, s)| s.idle())
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            self.remove(&oldest);
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(s) = self.streams.remove(key) {
            self.chunks -= s.chunks.len();
            for p in s.packs {
                self.packs.remove(&p);
            }
        }
    }
}

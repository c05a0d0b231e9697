//! Fills packs with chunks and uploads them, a few at once, while the caller goes on chunking.
//! A pack's data is the chunks' bytes as the caller read them (no copy into a pack buffer); the
//! chunks of one large file can go as a stream, which the registry hashes as the packs arrive
//! (`docs/chunking.md`, "Hashing while packs arrive").

use std::collections::HashMap;

use bytes::Bytes;
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::{MAX_PACK_CHUNKS, MAX_PACK_DATA, PackEntry, PackHeader, PackId, StreamId};
use cairn_core::wire::PackReceipt;
use reqwest::Method;
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::http::{Http, ProjectRef};
use crate::journal::Journal;
use crate::progress::{Phase, Progress};

/// A pack is sent once it holds this much.
const TARGET: u64 = 32 << 20;
/// Packs uploading at once.
const IN_FLIGHT: usize = 2;

/// Chunks on their way into packs.
pub(crate) struct Packer {
    http: Http,
    project: ProjectRef,
    /// The pack being filled: its chunks and their bytes.
    entries: Vec<PackEntry>,
    parts: Vec<Bytes>,
    data_len: u64,
    /// The stream the chunks pushed go into, and its bytes so far.
    stream: Option<(StreamId, u64)>,
    /// Where the stream stood when the pack being filled began.
    pack_at: u64,
    /// The pack (by number) each chunk went into.
    slot_of: HashMap<ChunkHash, usize>,
    /// The id of each pack uploaded so far, by number.
    ids: Vec<Option<PackId>>,
    tasks: JoinSet<Result<(usize, PackReceipt)>>,
    sent: u64,
    journal: Journal,
}

impl Packer {
    pub(crate) fn new(http: &Http, project: &ProjectRef, journal: Journal) -> Self {
        Self {
            http: http.clone(),
            project: project.clone(),
            entries: Vec::new(),
            parts: Vec::new(),
            data_len: 0,
            stream: None,
            pack_at: 0,
            slot_of: HashMap::new(),
            ids: vec![None],
            tasks: JoinSet::new(),
            sent: 0,
            journal,
        }
    }

    /// Whether the chunk is in a pack already (sent, or on its way).
    pub(crate) fn knows(&self, hash: &ChunkHash) -> bool {
        self.slot_of.contains_key(hash)
    }

    /// The pack a chunk went into, once it is uploaded.
    pub(crate) fn pack_of(&self, hash: &ChunkHash) -> Option<PackId> {
        self.slot_of.get(hash).and_then(|s| self.ids[*s])
    }

    /// Forget a chunk (the registry lost its pack): it will be packed again.
    pub(crate) fn forget(&mut self, hash: &ChunkHash) {
        self.slot_of.remove(hash);
    }

    /// Chunk bytes uploaded.
    pub(crate) fn sent_bytes(&self) -> u64 {
        self.sent
    }

    /// Send what follows as one stream of packs (a large file's chunks, in order), or end the
    /// stream (`None`); either sends the pack being filled first.
    pub(crate) async fn stream(
        &mut self,
        stream: Option<StreamId>,
        progress: &dyn Progress,
    ) -> Result<()> {
        self.flush(progress).await?;
        self.stream = stream.map(|id| (id, 0));
        self.pack_at = 0;
        Ok(())
    }

    /// Add a chunk, sending the pack first if it is full.
    pub(crate) async fn push(
        &mut self,
        hash: ChunkHash,
        bytes: Bytes,
        progress: &dyn Progress,
    ) -> Result<()> {
        if self.knows(&hash) {
            return Ok(());
        }
        if self.entries.len() >= MAX_PACK_CHUNKS
            || self.data_len + bytes.len() as u64 > MAX_PACK_DATA
            || self.data_len >= TARGET
        {
            self.flush(progress).await?;
        }
        self.entries.push(PackEntry {
            hash,
            len: bytes.len() as u32,
        });
        self.data_len += bytes.len() as u64;
        if let Some((_, at)) = &mut self.stream {
            *at += bytes.len() as u64;
        }
        self.parts.push(bytes);
        self.slot_of.insert(hash, self.ids.len() - 1);
        Ok(())
    }

    /// Start uploading the pack being filled (waiting for a slot).
    async fn flush(&mut self, progress: &dyn Progress) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        while self.tasks.len() >= IN_FLIGHT {
            self.join_one(progress).await?;
        }
        let header = PackHeader {
            entries: std::mem::take(&mut self.entries),
        };
        let mut body = vec![Bytes::from(header.encode())];
        body.append(&mut self.parts);
        let len: u64 = body.iter().map(|b| b.len() as u64).sum();
        self.data_len = 0;
        let mut path = self.project.api("/packs");
        if let Some((id, at)) = self.stream {
            path = format!("{path}?stream={id}&at={}", self.pack_at);
            self.pack_at = at;
        }
        let slot = self.ids.len() - 1;
        self.ids.push(None);
        let http = self.http.clone();
        let journal = self.journal.clone();
        self.tasks.spawn(async move {
            let res = http
                .send(
                    |r| {
                        // the header, then the chunks as read: no copy, and again on a retry
                        let parts = body.iter().cloned().map(Ok::<_, std::io::Error>);
                        let parts: Vec<_> = parts.collect();
                        Ok(
                            r.header(reqwest::header::CONTENT_TYPE, "application/vnd.cairn.pack")
                                .header(reqwest::header::CONTENT_LENGTH, len)
                                .body(reqwest::Body::wrap_stream(futures::stream::iter(parts))),
                        )
                    },
                    Method::POST,
                    &path,
                )
                .await?;
            let receipt = res.json::<PackReceipt>().await?;
            journal.add(receipt.pack);
            Ok((slot, receipt))
        });
        Ok(())
    }

    async fn join_one(&mut self, progress: &dyn Progress) -> Result<()> {
        let Some(done) = self.tasks.join_next().await else {
            return Ok(());
        };
        let (slot, receipt) = done.map_err(|e| Error::Config(format!("pack upload: {e}")))??;
        self.ids[slot] = Some(receipt.pack);
        self.sent += receipt.bytes;
        progress.advance(Phase::Upload, receipt.bytes);
        Ok(())
    }

    /// Send the pack being filled and wait for every upload.
    pub(crate) async fn drain(&mut self, progress: &dyn Progress) -> Result<()> {
        self.flush(progress).await?;
        while !self.tasks.is_empty() {
            self.join_one(progress).await?;
        }
        Ok(())
    }
}

//! Fills packs with chunks and uploads them, a few at once, while the caller goes on chunking.

use std::collections::HashMap;

use bytes::Bytes;
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::{PackBuilder, PackId};
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
    building: PackBuilder,
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
            building: PackBuilder::with_capacity(TARGET as usize),
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

    /// Add a chunk, sending the pack first if it is full.
    pub(crate) async fn push(
        &mut self,
        hash: ChunkHash,
        bytes: &[u8],
        progress: &dyn Progress,
    ) -> Result<()> {
        if self.knows(&hash) {
            return Ok(());
        }
        if self.building.would_overflow(bytes.len()) || self.building.data_len() >= TARGET {
            self.flush(progress).await?;
        }
        self.building.push_hashed(hash, bytes);
        self.slot_of.insert(hash, self.ids.len() - 1);
        Ok(())
    }

    /// Start uploading the pack being filled (waiting for a slot).
    async fn flush(&mut self, progress: &dyn Progress) -> Result<()> {
        if self.building.is_empty() {
            return Ok(());
        }
        while self.tasks.len() >= IN_FLIGHT {
            self.join_one(progress).await?;
        }
        let full = std::mem::replace(
            &mut self.building,
            PackBuilder::with_capacity(TARGET as usize),
        );
        let (header, data) = full.into_parts();
        let (header, data) = (Bytes::from(header), Bytes::from(data));
        let slot = self.ids.len() - 1;
        self.ids.push(None);
        let http = self.http.clone();
        let path = self.project.api("/packs");
        let journal = self.journal.clone();
        self.tasks.spawn(async move {
            let res = http
                .send(
                    |r| {
                        // the header, then the data: no copy of the data, and again on a retry
                        let parts = [Ok::<_, std::io::Error>(header.clone()), Ok(data.clone())];
                        Ok(
                            r.header(reqwest::header::CONTENT_TYPE, "application/vnd.cairn.pack")
                                .header(reqwest::header::CONTENT_LENGTH, header.len() + data.len())
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
